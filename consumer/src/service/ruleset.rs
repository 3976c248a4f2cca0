//! A rule set ready to run: the rules files a configuration names,
//! loaded and compiled, with its `append_output` entries prepared per rule
//! and the syscall mask the module needs.  Built aside (at start, or on a
//! reload on another thread) and swapped in whole.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kestrel_abi::SyscallMask;
use serde_json::Value as Json;

use crate::config::{Config, ExtraField};
use crate::rules::fields::FieldSource;
use crate::rules::format::Alert;
use crate::rules::{Engine, EngineOptions, OutputFormat, Rule, Selection};

/// What an `append_output` entry adds to one rule's alerts.
#[derive(Debug)]
struct Append {
    /// Appended to the output, after a space.
    extra_output: Option<OutputFormat>,
    /// (name, value, typed) added to `output_fields`: a field named alone
    /// keeps its JSON type; a `name: format` pair is text.
    extra_fields: Vec<(String, OutputFormat, bool)>,
}

/// A loaded rule set.
#[derive(Debug)]
pub struct RuleSet {
    /// The compiled rules.
    pub engine: Engine,
    /// Appends per rule name (only rules some entry matches).
    appends: HashMap<String, Vec<Append>>,
    /// What the module must record.
    pub mask: SyscallMask,
    /// The files read (directories expanded), to watch for changes.
    pub files: Vec<PathBuf>,
}

/// Why a rule set was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError(pub String);

impl std::fmt::Display for RulesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The files `paths` stand for: a directory's `*.yaml`/`*.yml` in name
/// order; an entry that does not exist and is not named as a YAML file
/// (a `rules.d` directory not made yet) is skipped.
pub fn expand_rules_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RulesError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| {
                    RulesError(format!("{}: cannot read the directory: {e}", p.display()))
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            inside.sort();
            out.extend(inside);
        } else if !p.exists() && !is_yaml_name(p) {
            log::info!("rules: {} does not exist; skipped", p.display());
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        return Err(RulesError(format!(
            "no rules file found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(out)
}

fn is_yaml_name(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "yaml" || x == "yml")
}

impl RuleSet {
    /// Loads `rules_files` (or the configuration's) with the
    /// configuration's priority, matching, append_output and syscalls.
    /// Warnings are logged; errors name file:line:column.
    pub fn load(config: &Config) -> Result<RuleSet, RulesError> {
        RuleSet::load_selected(config, &Selection::default())
    }

    /// [`RuleSet::load`], running only the rules `selection` keeps
    /// (Falco's `-D`, `-T`, `-t`).
    pub fn load_selected(config: &Config, selection: &Selection) -> Result<RuleSet, RulesError> {
        let files = expand_rules_paths(&config.rules_files)?;
        let engine = Engine::load_files_selected(
            &files,
            EngineOptions {
                min_priority: config.min_priority(),
                matching: config.matching(),
            },
            selection,
        )
        .map_err(|e| RulesError(format!("rules refused:\n{e}")))?;
        for w in engine.warnings() {
            log::warn!("{w}");
        }
        let mut appends: HashMap<String, Vec<Append>> = HashMap::new();
        for entry in &config.append_output {
            for rule in engine.rules() {
                let m = &entry.matches;
                let wanted = m.rule.as_ref().is_none_or(|r| *r == rule.name)
                    && m.tags.iter().all(|t| rule.tags.contains(t));
                if !wanted {
                    continue;
                }
                // The configuration was validated: these parse.
                let extra_output = (!entry.extra_output.trim().is_empty())
                    .then(|| OutputFormat::parse(&entry.extra_output).ok())
                    .flatten();
                let mut extra_fields = Vec::new();
                for f in &entry.extra_fields {
                    match f {
                        ExtraField::Field(name) => {
                            if let Ok(fmt) = OutputFormat::parse(&format!("%{name}")) {
                                extra_fields.push((name.clone(), fmt, true));
                            }
                        }
                        ExtraField::Named(map) => {
                            for (name, value) in map {
                                if let Ok(fmt) = OutputFormat::parse(value) {
                                    extra_fields.push((name.clone(), fmt, false));
                                }
                            }
                        }
                    }
                }
                appends.entry(rule.name.clone()).or_default().push(Append {
                    extra_output,
                    extra_fields,
                });
            }
        }
        let mask = syscall_mask(config, &engine).map_err(RulesError)?;
        Ok(RuleSet {
            engine,
            appends,
            mask,
            files,
        })
    }

    /// Active rules.
    pub fn active_rules(&self) -> usize {
        self.engine.rules().iter().filter(|r| r.active).count()
    }

    /// The alert for `rule` on the event `src`, with `append_output` applied.
    pub fn alert<S: FieldSource + ?Sized>(
        &self,
        rule: &Rule,
        src: &S,
        time_ns: i128,
        hostname: &str,
    ) -> Alert {
        let mut alert = rule.alert(src, time_ns, hostname);
        if let Some(list) = self.appends.get(&rule.name) {
            for a in list {
                if let Some(extra) = &a.extra_output {
                    alert.output.push(' ');
                    alert.output.push_str(&extra.render(src));
                }
                for (name, fmt, typed) in &a.extra_fields {
                    let value = match fmt.values(src).into_iter().next() {
                        Some((_, v)) if *typed => v,
                        _ => Json::String(fmt.render(src)),
                    };
                    alert.output_fields.insert(name.clone(), value);
                }
            }
        }
        alert
    }
}

/// The mask for `engine` under `config`: the configured syscalls, or what
/// the rules need plus what keeps the state current.
pub fn syscall_mask(config: &Config, engine: &Engine) -> Result<SyscallMask, String> {
    let names = &config.engine.kmod.syscalls;
    if names.is_empty() {
        let mut mask = engine.needed_syscalls();
        for nr in crate::state::needed_syscalls().iter() {
            mask.insert(nr);
        }
        return Ok(mask);
    }
    if names.iter().any(|n| n == "all") {
        return Ok(crate::cli::detection_set());
    }
    let mut mask = SyscallMask::default();
    for n in names {
        let nr = kestrel_abi::syscall_number(n)
            .ok_or_else(|| format!("engine.kmod.syscalls: unknown syscall '{n}'"))?;
        if !mask.insert(nr) {
            return Err(format!(
                "engine.kmod.syscalls: '{n}' ({nr}) is beyond the {} syscalls the module can record",
                kestrel_abi::MAX_SYSCALLS
            ));
        }
    }
    Ok(mask)
}
