//! Rules files → definitions: YAML items with their positions, then the
//! merge of every file in order (later items amend earlier ones, as in
//! Falco: redefinition, `append: true`, `override:`).
//!
//! Positions come from [`super::source`]; reading one item's keys from
//! `super::items`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_yaml::Value as Yaml;

use super::items::*;
use super::source::{documents, locate_items};
pub use super::source::{CondText, Pos, RuleError, SourceFile, Warning};
use super::Priority;

/// Version of the rule language this engine implements, compared with
/// `required_engine_version` (Falco's engine numbering).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 57, 0);

/// Falco plugins whose fields Kestrel provides itself: a rules file that
/// requires them loads without a word.
pub const BUILT_IN_PLUGINS: &[&str] = &["container"];

/// One list after merging.
#[derive(Debug, Clone)]
pub struct ListDef {
    /// Name.
    pub name: String,
    /// Items (strings; numbers are kept as written).
    pub items: Vec<String>,
    /// Where it was first defined.
    pub pos: Pos,
}

/// One macro after merging.
#[derive(Debug, Clone)]
pub struct MacroDef {
    /// Name.
    pub name: String,
    /// Condition.
    pub cond: CondText,
    /// Where it was first defined.
    pub pos: Pos,
}

/// Field list of an exception.
#[derive(Debug, Clone, PartialEq)]
pub enum ExceptionFields {
    /// `fields: proc.name` — values are a list of values, comps one
    /// operator (default `in`).
    One(String),
    /// `fields: [a, b]` — values are tuples, comps one operator per field
    /// (default `=`).
    Many(Vec<String>),
}

/// One exception of a rule.
#[derive(Debug, Clone)]
pub struct ExceptionDef {
    /// Name (unique within the rule).
    pub name: String,
    /// Fields compared.
    pub fields: ExceptionFields,
    /// Operators, one per field (or one for the single-field form).
    pub comps: Vec<String>,
    /// Values (tuples for the many-field form).
    pub values: Vec<Yaml>,
    /// Where it was written.
    pub pos: Pos,
}

/// One rule after merging.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Condition.
    pub cond: CondText,
    /// Output format.
    pub output: String,
    /// Where the output was written.
    pub output_pos: Pos,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether it runs.
    pub enabled: bool,
    /// Exceptions.
    pub exceptions: Vec<ExceptionDef>,
    /// Warn when it matches every event type.
    pub warn_evttypes: bool,
    /// Skip (rather than refuse) when it names an unknown field.
    pub skip_if_unknown_filter: bool,
    /// Where it was first defined.
    pub pos: Pos,
}

/// Everything loaded from a set of files, merged.
#[derive(Debug, Default)]
pub struct Definitions {
    /// Lists, in definition order.
    pub lists: Vec<ListDef>,
    /// Macros, in definition order.
    pub macros: Vec<MacroDef>,
    /// Rules, in definition order.
    pub rules: Vec<RuleDef>,
    /// Warnings so far.
    pub warnings: Vec<Warning>,
    list_ix: HashMap<String, usize>,
    macro_ix: HashMap<String, usize>,
    rule_ix: HashMap<String, usize>,
    /// Rules skipped for their source: later amendments are skipped too.
    skipped_rules: HashMap<String, ()>,
}

impl Definitions {
    /// Loads one more file, amending what earlier files defined.  A file
    /// with any error changes nothing and returns every error found.
    pub fn load_file(&mut self, name: &str, text: String) -> Result<(), Vec<RuleError>> {
        let mut staged = self.clone_for_staging();
        let mut errors = Vec::new();
        for doc in documents(&text) {
            errors.extend(staged.load_into(name, doc));
        }
        if errors.is_empty() {
            *self = staged;
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn clone_for_staging(&self) -> Definitions {
        Definitions {
            lists: self.lists.clone(),
            macros: self.macros.clone(),
            rules: self.rules.clone(),
            warnings: self.warnings.clone(),
            list_ix: self.list_ix.clone(),
            macro_ix: self.macro_ix.clone(),
            rule_ix: self.rule_ix.clone(),
            skipped_rules: self.skipped_rules.clone(),
        }
    }

    fn load_into(&mut self, name: &str, text: String) -> Vec<RuleError> {
        let file = Arc::new(SourceFile::new(name, text));
        let mut errors = Vec::new();
        let doc: Yaml = match serde_yaml::from_str(&file.text) {
            Ok(d) => d,
            Err(e) => {
                let pos = match e.location() {
                    Some(l) => Pos {
                        file: file.name.clone(),
                        line: l.line(),
                        col: l.column(),
                    },
                    None => file.pos(0),
                };
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                errors.push(RuleError {
                    pos,
                    message: format!("invalid YAML: {msg}"),
                });
                return errors;
            }
        };
        let seq = match doc {
            Yaml::Sequence(s) => s,
            Yaml::Null => return errors, // an empty file defines nothing
            other => {
                errors.push(RuleError {
                    pos: file.pos(0),
                    message: format!(
                        "expected a list of rule, macro and list items, found {}",
                        describe(&other)
                    ),
                });
                return errors;
            }
        };
        let located = locate_items(&file.text);
        for (i, item) in seq.iter().enumerate() {
            let at = located.get(i).cloned().unwrap_or_default();
            let Yaml::Mapping(map) = item else {
                errors.push(RuleError {
                    pos: file.pos(at.start),
                    message: format!(
                        "expected an item (a mapping with rule, macro, list, required_engine_version or required_plugin_versions), found {}",
                        describe(item)
                    ),
                });
                continue;
            };
            let mut ctx = ItemCtx {
                file: &file,
                at: &at,
                map,
                errors: &mut errors,
            };
            if ctx.has("rule") {
                self.rule_item(&mut ctx);
            } else if ctx.has("macro") {
                self.macro_item(&mut ctx);
            } else if ctx.has("list") {
                self.list_item(&mut ctx);
            } else if ctx.has("required_engine_version") {
                if let Some(v) = ctx.string("required_engine_version") {
                    match parse_version(&v) {
                        Some(req) if req > ENGINE_VERSION => {
                            let (a, b, c) = ENGINE_VERSION;
                            ctx.error(
                                ctx.value_pos("required_engine_version"),
                                format!("the rules need engine version {v}; this engine implements {a}.{b}.{c}"),
                            );
                        }
                        Some(_) => {}
                        None => ctx.error(
                            ctx.value_pos("required_engine_version"),
                            format!("expected a version such as 0.31.0, found '{v}'"),
                        ),
                    }
                }
            } else if ctx.has("required_plugin_versions") {
                let names: Vec<String> = match ctx.get("required_plugin_versions") {
                    Some(Yaml::Sequence(s)) => s
                        .iter()
                        .filter_map(|p| p.get("name").and_then(scalar_text))
                        .collect(),
                    _ => Vec::new(),
                };
                // Kestrel fills the fields of Falco's container plugin
                // itself (container.*, k8s.pod.*, k8s.ns.name).
                let others: Vec<String> = names
                    .into_iter()
                    .filter(|n| !BUILT_IN_PLUGINS.contains(&n.as_str()))
                    .collect();
                if !others.is_empty() {
                    self.warnings.push(Warning {
                        pos: ctx.item_pos(),
                        message: format!(
                            "the rules ask for plugins ({}); Kestrel runs no plugins, so rules of their sources are skipped",
                            others.join(", ")
                        ),
                    });
                }
            } else {
                ctx.error(
                    ctx.item_pos(),
                    "expected an item with one of the keys rule, macro, list, required_engine_version, required_plugin_versions",
                );
            }
        }
        errors
    }

    fn name_of(ctx: &mut ItemCtx<'_>, key: &str) -> Option<String> {
        let name = ctx.string(key)?;
        if name.trim().is_empty() {
            ctx.error(ctx.value_pos(key), format!("expected a name for the {key}"));
            return None;
        }
        Some(name)
    }

    fn source_ok(&mut self, ctx: &mut ItemCtx<'_>, kind: &str, name: &str) -> bool {
        match ctx.string("source") {
            None => true,
            Some(s) if s == "syscall" => true,
            Some(s) => {
                self.warnings.push(Warning {
                    pos: ctx.value_pos("source"),
                    message: format!(
                        "{kind} '{name}' is for event source '{s}', which Kestrel does not have: skipped"
                    ),
                });
                false
            }
        }
    }

    fn list_item(&mut self, ctx: &mut ItemCtx<'_>) {
        if !ctx.check_keys(LIST_KEYS, "a list") {
            return;
        }
        let Some(name) = Self::name_of(ctx, "list") else {
            return;
        };
        if !self.source_ok(ctx, "list", &name) {
            return;
        }
        let items = if ctx.has("items") {
            ctx.strings("items")
        } else {
            None
        };
        let Some((append, is_amend)) = ctx.amend_mode("items", "list") else {
            return;
        };
        let Some(items) = items else {
            if !ctx.has("items") {
                ctx.error(ctx.item_pos(), format!("list '{name}' needs 'items'"));
            }
            return;
        };
        match self.list_ix.get(&name) {
            Some(&i) if append => self.lists[i].items.extend(items),
            Some(&i) => self.lists[i].items = items,
            None if is_amend => ctx.error(
                ctx.item_pos(),
                format!("list '{name}' amends a list that no earlier item defines"),
            ),
            None => {
                self.list_ix.insert(name.clone(), self.lists.len());
                self.lists.push(ListDef {
                    name,
                    items,
                    pos: ctx.item_pos(),
                });
            }
        }
    }

    fn macro_item(&mut self, ctx: &mut ItemCtx<'_>) {
        if !ctx.check_keys(MACRO_KEYS, "a macro") {
            return;
        }
        let Some(name) = Self::name_of(ctx, "macro") else {
            return;
        };
        if !self.source_ok(ctx, "macro", &name) {
            return;
        }
        let cond = if ctx.has("condition") {
            ctx.cond("condition")
        } else {
            ctx.error(
                ctx.item_pos(),
                format!("macro '{name}' needs a 'condition'"),
            );
            None
        };
        let Some((append, is_amend)) = ctx.amend_mode("condition", "macro") else {
            return;
        };
        let Some(cond) = cond else { return };
        match self.macro_ix.get(&name) {
            Some(&i) if append => self.macros[i].cond.append(&cond),
            Some(&i) => self.macros[i].cond = cond,
            None if is_amend => ctx.error(
                ctx.item_pos(),
                format!("macro '{name}' amends a macro that no earlier item defines"),
            ),
            None => {
                self.macro_ix.insert(name.clone(), self.macros.len());
                self.macros.push(MacroDef {
                    name,
                    cond,
                    pos: ctx.item_pos(),
                });
            }
        }
    }

    fn exceptions(ctx: &mut ItemCtx<'_>) -> Option<Vec<ExceptionDef>> {
        let pos = ctx.value_pos("exceptions");
        let seq = match ctx.get("exceptions")? {
            Yaml::Sequence(s) => s.clone(),
            Yaml::Null => return Some(Vec::new()),
            other => {
                let what = describe(other);
                ctx.error(pos, format!("expected a list of exceptions, found {what}"));
                return None;
            }
        };
        let mut out = Vec::new();
        for ex in &seq {
            let Some(m) = ex.as_mapping() else {
                ctx.error(
                    pos.clone(),
                    "expected an exception (a mapping with name, fields, comps, values)",
                );
                return None;
            };
            for k in m.keys() {
                if !matches!(k.as_str(), Some("name" | "fields" | "comps" | "values")) {
                    ctx.error(
                        pos.clone(),
                        format!(
                            "unknown key '{}' in an exception (expected name, fields, comps, values)",
                            k.as_str().unwrap_or("?")
                        ),
                    );
                    return None;
                }
            }
            let Some(name) = m.get("name").and_then(scalar_text) else {
                ctx.error(pos.clone(), "expected a 'name' for each exception");
                return None;
            };
            let fields = match m.get("fields") {
                None => ExceptionFields::Many(Vec::new()),
                Some(Yaml::String(s)) => ExceptionFields::One(s.clone()),
                Some(Yaml::Sequence(s)) => {
                    let f: Option<Vec<String>> = s.iter().map(scalar_text).collect();
                    match f {
                        Some(f) => ExceptionFields::Many(f),
                        None => {
                            ctx.error(
                                pos.clone(),
                                format!("exception '{name}': expected field names in 'fields'"),
                            );
                            return None;
                        }
                    }
                }
                Some(_) => {
                    ctx.error(
                        pos.clone(),
                        format!(
                            "exception '{name}': expected a field or a list of fields in 'fields'"
                        ),
                    );
                    return None;
                }
            };
            let comps = match m.get("comps") {
                None => Vec::new(),
                Some(Yaml::Sequence(s)) => {
                    let c: Option<Vec<String>> = s.iter().map(scalar_text).collect();
                    match c {
                        Some(c) => c,
                        None => {
                            ctx.error(
                                pos.clone(),
                                format!("exception '{name}': expected operators in 'comps'"),
                            );
                            return None;
                        }
                    }
                }
                Some(v) => match scalar_text(v) {
                    Some(c) => vec![c],
                    None => {
                        ctx.error(pos.clone(), format!("exception '{name}': expected an operator or a list of operators in 'comps'"));
                        return None;
                    }
                },
            };
            let values = match m.get("values") {
                None | Some(Yaml::Null) => Vec::new(),
                Some(Yaml::Sequence(s)) => s.clone(),
                Some(_) => {
                    ctx.error(
                        pos.clone(),
                        format!("exception '{name}': expected a list in 'values'"),
                    );
                    return None;
                }
            };
            out.push(ExceptionDef {
                name,
                fields,
                comps,
                values,
                pos: pos.clone(),
            });
        }
        Some(out)
    }

    fn rule_item(&mut self, ctx: &mut ItemCtx<'_>) {
        if !ctx.check_keys(RULE_KEYS, "a rule") {
            return;
        }
        let Some(name) = Self::name_of(ctx, "rule") else {
            return;
        };
        if !self.source_ok(ctx, "rule", &name) {
            self.skipped_rules.insert(name, ());
            return;
        }
        if self.skipped_rules.contains_key(&name) {
            return;
        }
        let errors_before = ctx.errors.len();
        let desc = ctx.string("desc");
        let cond = if ctx.has("condition") {
            ctx.cond("condition")
        } else {
            None
        };
        let output = ctx.string("output");
        let priority = match ctx.string("priority") {
            Some(p) => match Priority::parse(&p) {
                Some(p) => Some(p),
                None => {
                    ctx.error(
                        ctx.value_pos("priority"),
                        format!("expected a priority (emergency, alert, critical, error, warning, notice, informational, debug), found '{p}'"),
                    );
                    None
                }
            },
            None => None,
        };
        let tags = ctx.strings("tags");
        let enabled = ctx.boolean("enabled");
        let warn_evttypes = ctx.boolean("warn_evttypes");
        let skip_unknown = ctx.boolean("skip-if-unknown-filter");
        let exceptions = Self::exceptions(ctx);
        let append = ctx.boolean("append").unwrap_or(false);
        let overrides = ctx.overrides(RULE_APPENDABLE, RULE_REPLACEABLE, "rule");
        if ctx.errors.len() > errors_before {
            return;
        }
        if append && overrides.is_some() {
            ctx.error(
                ctx.key_pos("append"),
                "'append' and 'override' cannot be used together",
            );
            return;
        }
        let existing = self.rule_ix.get(&name).copied();
        let only_enabled = ctx.map.len() == 2 && ctx.has("enabled");
        if let Some(overrides) = overrides {
            let Some(i) = existing else {
                ctx.error(
                    ctx.item_pos(),
                    format!("rule '{name}' overrides a rule that no earlier item defines"),
                );
                return;
            };
            let r = &mut self.rules[i];
            for (key, app) in overrides {
                match (key.as_str(), app) {
                    ("condition", true) => r.cond.append(cond.as_ref().expect("checked present")),
                    ("condition", false) => r.cond = cond.clone().expect("checked present"),
                    ("output", true) => {
                        r.output.push(' ');
                        r.output.push_str(output.as_deref().unwrap_or(""));
                    }
                    ("output", false) => {
                        r.output = output.clone().unwrap_or_default();
                        r.output_pos = ctx.value_pos("output");
                    }
                    ("desc", true) => {
                        r.desc.push(' ');
                        r.desc.push_str(desc.as_deref().unwrap_or(""));
                    }
                    ("desc", false) => r.desc = desc.clone().unwrap_or_default(),
                    ("tags", true) => r.tags.extend(tags.clone().unwrap_or_default()),
                    ("tags", false) => r.tags = tags.clone().unwrap_or_default(),
                    ("exceptions", true) => {
                        merge_exceptions(&mut r.exceptions, exceptions.clone().unwrap_or_default())
                    }
                    ("exceptions", false) => r.exceptions = exceptions.clone().unwrap_or_default(),
                    ("priority", _) => r.priority = priority.expect("checked present"),
                    ("enabled", _) => r.enabled = enabled.expect("checked present"),
                    ("warn_evttypes", _) => r.warn_evttypes = warn_evttypes.expect("checked"),
                    ("skip-if-unknown-filter", _) => {
                        r.skip_if_unknown_filter = skip_unknown.expect("checked")
                    }
                    _ => {}
                }
            }
            return;
        }
        if append || only_enabled {
            let Some(i) = existing else {
                ctx.error(
                    ctx.item_pos(),
                    format!("rule '{name}' amends a rule that no earlier item defines"),
                );
                return;
            };
            if append {
                for k in ["output", "desc", "priority", "tags", "enabled"] {
                    if ctx.has(k) {
                        ctx.error(
                            ctx.key_pos(k),
                            format!("'append: true' adds only to condition and exceptions; use 'override: {{{k}: replace}}' to change '{k}'"),
                        );
                        return;
                    }
                }
            }
            let r = &mut self.rules[i];
            if let Some(c) = &cond {
                r.cond.append(c);
            }
            if let Some(ex) = exceptions {
                merge_exceptions(&mut r.exceptions, ex);
            }
            if let Some(e) = enabled {
                r.enabled = e;
            }
            return;
        }
        let mut missing = Vec::new();
        if cond.is_none() {
            missing.push("condition");
        }
        if output.is_none() {
            missing.push("output");
        }
        if desc.is_none() {
            missing.push("desc");
        }
        if priority.is_none() {
            missing.push("priority");
        }
        if !missing.is_empty() {
            ctx.error(
                ctx.item_pos(),
                format!("rule '{name}' needs {}", missing.join(", ")),
            );
            return;
        }
        let def = RuleDef {
            name: name.clone(),
            desc: desc.unwrap_or_default(),
            cond: cond.expect("checked"),
            output: output.unwrap_or_default(),
            output_pos: ctx.value_pos("output"),
            priority: priority.expect("checked"),
            tags: tags.unwrap_or_default(),
            enabled: enabled.unwrap_or(true),
            exceptions: exceptions.unwrap_or_default(),
            warn_evttypes: warn_evttypes.unwrap_or(true),
            skip_if_unknown_filter: skip_unknown.unwrap_or(false),
            pos: ctx.item_pos(),
        };
        match existing {
            Some(i) => self.rules[i] = def,
            None => {
                self.rule_ix.insert(name, self.rules.len());
                self.rules.push(def);
            }
        }
    }
}

/// Appends exceptions: values of a known name are added to it, new names
/// become new exceptions.
fn merge_exceptions(into: &mut Vec<ExceptionDef>, more: Vec<ExceptionDef>) {
    for ex in more {
        match into.iter_mut().find(|e| e.name == ex.name) {
            Some(e) => e.values.extend(ex.values),
            None => into.push(ex),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Result<Definitions, Vec<RuleError>> {
        let mut d = Definitions::default();
        for (n, t) in files {
            d.load_file(n, t.to_string())?;
        }
        Ok(d)
    }

    const BASE: &str = "\
- list: shells
  items: [bash, sh]

- macro: spawned
  condition: evt.type = execve

# a comment
- rule: Shell
  desc: a shell ran
  condition: >
    spawned and
    proc.name in (shells)
  output: shell %proc.name
  priority: WARNING
  tags: [a]
";

    #[test]
    fn finds_items_and_keys() {
        let items = locate_items(BASE);
        assert_eq!(items.len(), 3);
        let f = SourceFile::new("f", BASE.to_string());
        assert_eq!(f.pos(items[2].start).line, 8);
        let cond = &items[2].keys["condition"];
        assert_eq!(f.pos(cond.pos).line, 10);
        let v = f.pos(cond.value_at);
        assert_eq!((v.line, v.col), (11, 5));
        assert_eq!(f.pos(items[0].keys["items"].value_at).col, 10);
    }

    #[test]
    fn condition_offsets_map_to_file_positions() {
        let d = load(&[("base.yaml", BASE)]).unwrap();
        let c = &d.rules[0].cond;
        let off = c.text.find("proc.name").unwrap();
        let p = c.pos(off);
        assert_eq!((p.line, p.col), (12, 5), "{p}");
        let quoted = "- macro: m\n  condition: \"a and  b\"\n";
        let d = load(&[("q", quoted)]).unwrap();
        let c = &d.macros[0].cond;
        let p = c.pos(c.text.find('b').unwrap());
        assert_eq!((p.line, p.col), (2, 22));
    }

    #[test]
    fn multi_document_files_load_every_document() {
        // Falco reads every YAML document of a rules file.
        let text = "# header\n---\n- list: a\n  items: [x]\n--- \n- list: b\n  items: [a, y]\n...\n---\n- macro: m\n  condition: proc.name in (b)\n  colour: red\n";
        let errs = load(&[("multi.yaml", text)]).unwrap_err();
        // The error in the third document points at its own line.
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].pos.line, 12, "{}", errs[0]);
        let fixed = text.replace("  colour: red\n", "");
        let d = load(&[("multi.yaml", &fixed)]).unwrap();
        assert_eq!(d.lists.len(), 2);
        assert_eq!(d.macros.len(), 1);
        assert_eq!(d.lists[1].pos.line, 6);
        assert_eq!(d.macros[0].pos.line, 10);
        assert_eq!(documents("- list: a\n  items: []\n").len(), 1);
    }

    #[test]
    fn later_files_amend_earlier_ones() {
        let more = "\
- list: shells
  items: [zsh]
  append: true
- macro: spawned
  condition: and evt.dir = <
  override:
    condition: append
- rule: Shell
  output: changed %proc.name
  priority: error
  override:
    output: replace
    priority: replace
- rule: Shell
  condition: and not proc.pname = sshd
  append: true
";
        let d = load(&[("base.yaml", BASE), ("more.yaml", more)]).unwrap();
        assert_eq!(d.lists[0].items, ["bash", "sh", "zsh"]);
        assert_eq!(d.macros[0].cond.text, "evt.type = execve and evt.dir = <");
        let r = &d.rules[0];
        assert_eq!(r.output, "changed %proc.name");
        assert_eq!(r.priority, Priority::Error);
        assert!(r
            .cond
            .text
            .ends_with("proc.name in (shells)\n and not proc.pname = sshd"));
        // The appended part maps into the second file.
        let p = r.cond.pos(r.cond.text.find("sshd").unwrap());
        assert_eq!((&*p.file, p.line, p.col), ("more.yaml", 15, 35), "{p}");
        let off = "- rule: Shell\n  enabled: false\n";
        let d = load(&[("base.yaml", BASE), ("off.yaml", off)]).unwrap();
        assert!(!d.rules[0].enabled);
    }

    #[test]
    fn bad_items_are_refused_with_positions() {
        let cases: &[(&str, &str, (usize, usize))] = &[
            (
                "- rule: x\n  conditon: a\n",
                "unknown key 'conditon'",
                (2, 3),
            ),
            (
                "- rule: x\n  condition: a\n",
                "needs output, desc, priority",
                (1, 1),
            ),
            (
                "- list: l\n  items: [a]\n  append: true\n",
                "no earlier item",
                (1, 1),
            ),
            (
                "- rule: x\n  desc: d\n  condition: a\n  output: o\n  priority: loud\n",
                "expected a priority",
                (5, 13),
            ),
            ("- foo: 1\n", "expected an item", (1, 1)),
            ("key: value\n", "expected a list", (1, 1)),
            ("- rule: [unclosed\n", "invalid YAML", (2, 1)),
            (
                "- required_engine_version: 99.0.0\n",
                "engine version",
                (1, 28),
            ),
            (
                "- macro: m\n  condition: a\n  override:\n    condition: bogus\n",
                "append or replace",
                (4, 5),
            ),
            ("- list: l\n  items: [a, [b]]\n", "text items", (2, 10)),
        ];
        for (text, what, (line, col)) in cases {
            let errs = load(&[("bad.yaml", text)]).unwrap_err();
            assert!(errs[0].message.contains(what), "{text}: {errs:?}");
            assert_eq!(
                (errs[0].pos.line, errs[0].pos.col),
                (*line, *col),
                "{text}: {}",
                errs[0]
            );
        }
    }

    #[test]
    fn a_bad_file_changes_nothing() {
        let mut d = Definitions::default();
        d.load_file("a", BASE.into()).unwrap();
        let bad = "- list: shells\n  items: [evil]\n- rule: y\n";
        assert!(d.load_file("b", bad.into()).is_err());
        assert_eq!(d.lists[0].items, ["bash", "sh"]);
    }

    #[test]
    fn other_sources_and_plugins_warn_and_skip() {
        let text = "\
- required_plugin_versions:
    - name: k8saudit
      version: 0.1.0
- rule: Audit
  desc: d
  condition: ka.verb = create
  output: o
  priority: info
  source: k8s_audit
- rule: Audit
  condition: and x
  append: true
";
        let d = load(&[("p.yaml", text)]).unwrap();
        assert!(d.rules.is_empty());
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
        assert!(d.warnings[0].message.contains("k8saudit"));
        assert!(d.warnings[1].message.contains("k8s_audit"));
    }

    #[test]
    fn exceptions_parse_and_merge() {
        let text = "\
- rule: R
  desc: d
  condition: evt.type = open
  output: o
  priority: info
  exceptions:
    - name: known
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [a, /tmp]
- rule: R
  exceptions:
    - name: known
      values:
        - [b, /var]
    - name: by_name
      fields: proc.name
      values: [x, y]
  append: true
";
        let d = load(&[("e.yaml", text)]).unwrap();
        let ex = &d.rules[0].exceptions;
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].values.len(), 2);
        assert_eq!(ex[1].fields, ExceptionFields::One("proc.name".into()));
    }
}
