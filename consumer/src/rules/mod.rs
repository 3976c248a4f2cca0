//! The rule engine: Falco's YAML rule language, compiled and indexed by
//! event type.
//!
//! Modules follow the data path:
//!
//! - [`source`]: positions in rules files, the item re-scan, YAML
//!   documents; `items` reads one item's keys;
//! - [`load`]: rules files → items → definitions merged across files
//!   (`append`, `override`, redefinition);
//! - [`condition`]: condition text → syntax tree;
//! - [`fields`]: the field catalogue (with who provides each field) and
//!   the [`FieldSource`] trait the evaluator reads values through;
//!   [`event`] answers from the event itself, [`dns`] keeps the names that
//!   `fd.*ip.name` compare with;
//! - [`compile`]: macros inlined, lists expanded, operators prepared,
//!   exceptions folded in, event types worked out;
//! - [`eval`]: compiled conditions and their evaluation;
//! - [`format`]: outputs and alerts (text line, Falco's JSON);
//! - [`select`] and [`describe`]: Falco's -D/-T/-t and --list/-L/-l.
//!
//! [`Engine`] ties them together: load files, then ask which rules an
//! event matches, or which syscalls the module must record.

pub mod cases;
pub mod compile;
pub mod condition;
pub mod describe;
pub mod dns;
pub mod eval;
pub mod event;
pub mod fields;
pub mod format;
mod items;
pub mod load;
pub mod select;
mod slots;
pub mod source;
pub mod transform;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

pub use fields::{Field, FieldArg, FieldRef, FieldSource, FieldValue};
pub use format::{Alert, OutputFormat};
pub use load::{Pos, RuleError, Warning};
pub use select::Selection;

use compile::{Compiler, EventTypes};
use eval::Node;
use load::Definitions;

/// Default rules file, relative to the working directory.
pub const DEFAULT_RULES: &str = "rules/kestrel_rules.yaml";

/// Alert severity, in Falco's names and order (most severe first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// System is unusable.
    Emergency,
    /// Act now.
    Alert,
    /// Critical.
    Critical,
    /// Error.
    Error,
    /// Warning.
    Warning,
    /// Normal but significant.
    Notice,
    /// Informational.
    Informational,
    /// Debug.
    Debug,
}

impl Priority {
    /// Every priority, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// Parses a priority, case-insensitively (`info` is Informational).
    pub fn parse(s: &str) -> Option<Priority> {
        let l = s.trim().to_ascii_lowercase();
        if l == "info" {
            return Some(Priority::Informational);
        }
        Priority::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(&l))
    }

    /// Falco's spelling (`Warning`).
    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every event name a condition may test: the `evt.type` names of the
/// ABI's event table (syscalls and the tracepoint events such as
/// `procexit`).
pub fn known_event_names() -> BTreeSet<String> {
    kestrel_abi::schemas()
        .iter()
        .filter(|s| s.name != "pad")
        .map(|s| s.name.to_string())
        .collect()
}

/// Whether an event matches only the first rule (Falco's default) or every
/// rule that matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matching {
    /// Stop at the first matching rule, in load order.
    #[default]
    First,
    /// Report every matching rule.
    All,
}

/// Load options.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Rules less severe than this are loaded (and checked) but never run.
    pub min_priority: Priority,
    /// First or all matching rules.
    pub matching: Matching,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            min_priority: Priority::Debug,
            matching: Matching::First,
        }
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether it runs: at or above the priority threshold, and enabled
    /// in the files and not turned off by -D/-T, or tagged as -t asks.
    pub active: bool,
    /// Enabled in the files.
    pub enabled: bool,
    /// Event names it can match; `None` means every event.
    pub event_types: Option<BTreeSet<String>>,
    /// Output format.
    pub output: OutputFormat,
    /// Where it was defined.
    pub pos: Pos,
    /// Its condition.
    pub condition: Node,
    /// Its condition as written (appends joined), for `-l`.
    pub condition_text: String,
    /// Its output format as written.
    pub output_text: String,
}

impl Rule {
    /// Builds the alert for an event this rule matched.
    pub fn alert<S: FieldSource + ?Sized>(&self, src: &S, time_ns: i128, hostname: &str) -> Alert {
        Alert {
            rule: self.name.clone(),
            priority: self.priority,
            output: self.output.render(src),
            time_ns,
            output_fields: self.output.values(src),
            tags: self.tags.clone(),
            hostname: hostname.to_string(),
            source: format::SOURCE_SYSCALL,
        }
    }
}

/// A rules load that failed: every error found, each with file:line:column.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// The errors.
    pub errors: Vec<RuleError>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Loaded, compiled and indexed rules.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Rule>,
    /// Rule indices per event name (active rules only, load order, rules
    /// for every event type merged in).
    by_name: HashMap<Box<str>, Box<[u32]>>,
    /// Active rules that can match any event.
    any: Box<[u32]>,
    /// Dense index by event type number, filled by [`Engine::bind_event_types`].
    by_type: Vec<Option<Box<[u32]>>>,
    warnings: Vec<Warning>,
    notes: Vec<Warning>,
    options: EngineOptions,
    lists: usize,
    macros: usize,
}

impl Engine {
    /// Loads rules files in order (later ones amend earlier ones); a
    /// directory stands for its `.yaml`/`.yml` files in name order, as
    /// Falco's `rules.d`.
    pub fn load_files<P: AsRef<Path>>(
        paths: &[P],
        options: EngineOptions,
    ) -> Result<Engine, LoadError> {
        Engine::load_files_selected(paths, options, &Selection::default())
    }

    /// [`Engine::load_files`], running only the rules `selection` keeps.
    pub fn load_files_selected<P: AsRef<Path>>(
        paths: &[P],
        options: EngineOptions,
        selection: &Selection,
    ) -> Result<Engine, LoadError> {
        let mut files = Vec::new();
        for p in paths {
            let p = p.as_ref();
            if p.is_dir() {
                let mut inside: Vec<std::path::PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| LoadError {
                        errors: vec![RuleError {
                            pos: Pos {
                                file: p.display().to_string().into(),
                                line: 0,
                                col: 0,
                            },
                            message: format!("cannot read the directory: {e}"),
                        }],
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                    .collect();
                inside.sort();
                files.extend(inside);
            } else {
                files.push(p.to_path_buf());
            }
        }
        let mut texts = Vec::new();
        for p in &files {
            let name = p.display().to_string();
            match std::fs::read(p) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => texts.push((name, t)),
                    Err(e) => {
                        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                        let file = load::SourceFile::new(
                            &name,
                            String::from_utf8_lossy(good).into_owned(),
                        );
                        return Err(LoadError {
                            errors: vec![RuleError {
                                pos: file.pos(good.len()),
                                message: "expected UTF-8 text".into(),
                            }],
                        });
                    }
                },
                Err(e) => {
                    return Err(LoadError {
                        errors: vec![RuleError {
                            pos: Pos {
                                file: name.into(),
                                line: 0,
                                col: 0,
                            },
                            message: format!("cannot read: {e}"),
                        }],
                    })
                }
            }
        }
        let refs: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Engine::load_texts_selected(&refs, options, selection)
    }

    /// Loads rules from (name, text) pairs, in order.
    pub fn load_texts(files: &[(&str, &str)], options: EngineOptions) -> Result<Engine, LoadError> {
        Engine::load_texts_selected(files, options, &Selection::default())
    }

    /// [`Engine::load_texts`], running only the rules `selection` keeps.
    pub fn load_texts_selected(
        files: &[(&str, &str)],
        options: EngineOptions,
        selection: &Selection,
    ) -> Result<Engine, LoadError> {
        let mut defs = Definitions::default();
        let mut errors = Vec::new();
        for (name, text) in files {
            if let Err(e) = defs.load_file(name, text.to_string()) {
                errors.extend(e);
            }
        }
        if !errors.is_empty() {
            return Err(LoadError { errors });
        }
        let universe = known_event_names();
        let mut compiler = Compiler::new(&defs, &universe);
        let mut rules = Vec::new();
        let mut warnings = std::mem::take(&mut defs.warnings.clone());
        for def in &defs.rules {
            let errors_before = compiler.errors.len();
            let condition = match compiler.rule_condition(&def.cond, &def.exceptions) {
                Ok(n) => n,
                Err(only_unknown_fields) => {
                    if only_unknown_fields && def.skip_if_unknown_filter {
                        // Falco: such a rule is accepted and never run.
                        compiler.errors.truncate(errors_before);
                    }
                    continue;
                }
            };
            let output = match OutputFormat::parse(def.output.trim_end()) {
                Ok(o) => o,
                Err((offset, msg)) => {
                    let mut pos = def.output_pos.clone();
                    pos.col += def.output[..offset.min(def.output.len())].chars().count();
                    compiler.errors.push(RuleError { pos, message: msg });
                    continue;
                }
            };
            let types = EventTypes::of(&condition, &universe);
            if def.enabled && def.warn_evttypes && types.names.is_none() {
                warnings.push(Warning {
                    pos: def.pos.clone(),
                    message: format!(
                        "rule '{}' does not restrict evt.type, so it is tested against every event",
                        def.name
                    ),
                });
            }
            rules.push(Rule {
                name: def.name.clone(),
                desc: def.desc.clone(),
                priority: def.priority,
                tags: def.tags.clone(),
                active: def.priority <= options.min_priority
                    && selection.runs(&def.name, &def.tags, def.enabled),
                enabled: def.enabled,
                event_types: types.names,
                output,
                pos: def.pos.clone(),
                condition,
                condition_text: def.cond.text.clone(),
                output_text: def.output.clone(),
            });
        }
        if !compiler.errors.is_empty() {
            return Err(LoadError {
                errors: compiler.errors,
            });
        }
        warnings.append(&mut compiler.warnings);
        for (i, m) in defs.macros.iter().enumerate() {
            if !compiler.used_macros.contains(&i) {
                warnings.push(Warning {
                    pos: m.pos.clone(),
                    message: format!("macro '{}' is not used by any rule", m.name),
                });
            }
        }
        // Lists used by macros that no rule uses still count as used
        // (the unused macro is reported instead).
        for i in 0..defs.macros.len() {
            if !compiler.used_macros.contains(&i) {
                compiler.mark_references(&defs.macros[i].cond);
            }
        }
        for (i, l) in defs.lists.iter().enumerate() {
            if !compiler.used_lists.contains(&i) {
                warnings.push(Warning {
                    pos: l.pos.clone(),
                    message: format!("list '{}' is not used by any rule or macro", l.name),
                });
            }
        }
        let mut engine = Engine {
            rules,
            by_name: HashMap::new(),
            any: Box::new([]),
            by_type: Vec::new(),
            warnings,
            notes: std::mem::take(&mut compiler.notes),
            options,
            lists: defs.lists.len(),
            macros: defs.macros.len(),
        };
        engine.build_index();
        eval::share_checks(
            &mut engine
                .rules
                .iter_mut()
                .filter(|r| r.active)
                .map(|r| &mut r.condition)
                .collect::<Vec<_>>(),
        );
        engine.bind_event_types(
            kestrel_abi::schemas()
                .iter()
                .map(|s| (s.event_type, s.name)),
        );
        Ok(engine)
    }

    fn build_index(&mut self) {
        let any: Vec<u32> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.active && r.event_types.is_none())
            .map(|(i, _)| i as u32)
            .collect();
        let mut by_name: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (i, r) in self.rules.iter().enumerate() {
            if let (true, Some(types)) = (r.active, &r.event_types) {
                for t in types {
                    by_name.entry(t.as_str().into()).or_default().push(i as u32);
                }
            }
        }
        self.by_name = by_name
            .into_iter()
            .map(|(k, mut v)| {
                v.extend(&any);
                v.sort_unstable();
                (k, v.into())
            })
            .collect();
        self.any = any.into();
    }

    /// Fills the dense index for event type numbers, so that matching
    /// needs no name lookup: `types` maps each type number to its name.
    pub fn bind_event_types<'n>(&mut self, types: impl IntoIterator<Item = (u16, &'n str)>) {
        for (ty, name) in types {
            let ty = ty as usize;
            if self.by_type.len() <= ty {
                self.by_type.resize(ty + 1, None);
            }
            self.by_type[ty] = Some(self.rules_for_name(name).into());
        }
    }

    fn rules_for_name(&self, name: &str) -> &[u32] {
        self.by_name.get(name).map_or(&self.any, |v| v)
    }

    /// The indices of the rules an event can match, cheapest lookup first.
    #[inline]
    fn candidates<S: FieldSource + ?Sized>(&self, src: &S) -> &[u32] {
        match self.by_type.get(src.event_type() as usize) {
            Some(Some(list)) => list,
            _ => self.rules_for_name(src.event_name()),
        }
    }

    /// Calls `on_match` for each rule the event matches (only the first
    /// with [`Matching::First`]); returns how many matched.
    #[inline]
    pub fn matches<S: FieldSource + ?Sized>(
        &self,
        src: &S,
        mut on_match: impl FnMut(&Rule),
    ) -> usize {
        let mut n = 0;
        let memo = eval::Memo::default();
        for &i in self.candidates(src) {
            let rule = &self.rules[i as usize];
            if rule.condition.eval_memo(src, &memo) {
                n += 1;
                on_match(rule);
                if self.options.matching == Matching::First {
                    break;
                }
            }
        }
        n
    }

    /// Every rule, enabled or not, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Warnings from loading.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Where Kestrel will behave differently from Falco on these rules
    /// without the rules being wrong (events kestrel.ko does not record,
    /// fields nothing fills here), one line each with its file:line.
    pub fn notes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .notes
            .iter()
            .map(|n| format!("{}: note: {}", n.pos, n.message))
            .collect();
        let mut missing = BTreeSet::new();
        for r in self.rules.iter().filter(|r| r.enabled || r.active) {
            r.condition.for_each_field(&mut |f| {
                if let fields::Provider::Missing(why) = f.info().provider {
                    missing.insert((f.name(), why));
                }
            });
        }
        for (name, why) in missing {
            out.push(format!("note: {name} is never filled here ({why})"));
        }
        out
    }

    /// Number of lists and macros defined.
    pub fn list_and_macro_counts(&self) -> (usize, usize) {
        (self.lists, self.macros)
    }

    /// The event names active rules need, or `None` if some rule needs
    /// every event.
    pub fn needed_events(&self) -> Option<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        for r in self.rules.iter().filter(|r| r.active) {
            match &r.event_types {
                None => return None,
                Some(t) => out.extend(t.iter().cloned()),
            }
        }
        Some(out)
    }

    /// The syscall mask the module needs for the active rules (every
    /// syscall Kestrel decodes if some rule needs every event).
    /// Tracepoint events (procexit, ...) need no syscall.
    pub fn needed_syscalls(&self) -> kestrel_abi::SyscallMask {
        let all = known_event_names();
        let names = self.needed_events().unwrap_or(all);
        // Every name comes from the event table or was warned about.
        let known = known_event_names();
        kestrel_abi::syscalls_for_events(
            names
                .iter()
                .filter(|n| known.contains(*n))
                .map(|n| n.as_str()),
        )
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
