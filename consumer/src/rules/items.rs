//! One YAML item of a rules file, read key by key: which keys each item
//! kind accepts, typed values with their positions, and `override:`.

use std::sync::Arc;

use serde_yaml::Value as Yaml;

use super::source::{CondText, ItemAt, Pos, RuleError, SourceFile};
/// The keys each item kind accepts.
pub(super) const RULE_KEYS: &[&str] = &[
    "rule",
    "desc",
    "condition",
    "output",
    "priority",
    "tags",
    "enabled",
    "source",
    "exceptions",
    "append",
    "override",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];
pub(super) const MACRO_KEYS: &[&str] = &["macro", "condition", "append", "override", "source"];
pub(super) const LIST_KEYS: &[&str] = &["list", "items", "append", "override", "source"];
pub(super) const RULE_APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
pub(super) const RULE_REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
];

pub(super) struct ItemCtx<'a> {
    pub(super) file: &'a Arc<SourceFile>,
    pub(super) at: &'a ItemAt,
    pub(super) map: &'a serde_yaml::Mapping,
    pub(super) errors: &'a mut Vec<RuleError>,
}

impl ItemCtx<'_> {
    pub(super) fn item_pos(&self) -> Pos {
        self.file.pos(self.at.start)
    }

    pub(super) fn key_pos(&self, key: &str) -> Pos {
        match self.at.keys.get(key) {
            Some(k) => self.file.pos(k.pos),
            None => self.item_pos(),
        }
    }

    pub(super) fn value_pos(&self, key: &str) -> Pos {
        match self.at.keys.get(key) {
            Some(k) => self.file.pos(k.value_at),
            None => self.item_pos(),
        }
    }

    pub(super) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(RuleError {
            pos,
            message: message.into(),
        });
    }

    pub(super) fn get(&self, key: &str) -> Option<&Yaml> {
        self.map.get(key)
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub(super) fn string(&mut self, key: &str) -> Option<String> {
        match self.get(key)? {
            Yaml::String(s) => Some(s.clone()),
            Yaml::Number(n) => Some(n.to_string()),
            Yaml::Bool(b) => Some(b.to_string()),
            other => {
                let what = describe(other);
                self.error(
                    self.value_pos(key),
                    format!("expected text for '{key}', found {what}"),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Yaml::Bool(b) => Some(*b),
            other => {
                let what = describe(other);
                self.error(
                    self.value_pos(key),
                    format!("expected true or false for '{key}', found {what}"),
                );
                None
            }
        }
    }

    pub(super) fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        match self.get(key)? {
            Yaml::Sequence(seq) => {
                let mut out = Vec::new();
                for v in seq {
                    match scalar_text(v) {
                        Some(s) => out.push(s),
                        None => {
                            let what = describe(v);
                            self.error(
                                self.value_pos(key),
                                format!(
                                    "expected a list of text items for '{key}', found {what} in it"
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Yaml::Null => Some(Vec::new()),
            other => {
                let what = describe(other);
                self.error(
                    self.value_pos(key),
                    format!("expected a list for '{key}', found {what}"),
                );
                None
            }
        }
    }

    pub(super) fn check_keys(&mut self, allowed: &[&str], kind: &str) -> bool {
        let mut ok = true;
        let keys: Vec<Yaml> = self.map.keys().cloned().collect();
        for k in keys {
            match &k {
                Yaml::String(s) if allowed.contains(&s.as_str()) => {}
                Yaml::String(s) => {
                    ok = false;
                    self.error(
                        self.key_pos(s),
                        format!(
                            "unknown key '{s}' in {kind} (expected one of: {})",
                            allowed.join(", ")
                        ),
                    );
                }
                other => {
                    ok = false;
                    let what = describe(other);
                    self.error(
                        self.item_pos(),
                        format!("expected a key name in {kind}, found {what}"),
                    );
                }
            }
        }
        ok
    }

    pub(super) fn cond(&mut self, key: &str) -> Option<CondText> {
        let text = self.string(key)?;
        let value_at = self.at.keys.get(key).map_or(self.at.start, |k| k.value_at);
        Some(CondText::new(text, self.file, value_at))
    }

    /// `override:` as key → append/replace, checked against what the item
    /// defines and what each kind allows.
    /// How a list or macro item with the one amendable key `key` amends an
    /// earlier one: `(append, amends)`, from `append: true` or an
    /// `override:` of `key`.  `None` (with an error) when both are given.
    pub(super) fn amend_mode(&mut self, key: &str, kind: &str) -> Option<(bool, bool)> {
        let append = self.boolean("append").unwrap_or(false);
        let overrides = self.overrides(&[key], &[key], kind);
        if append && overrides.is_some() {
            self.error(
                self.key_pos("append"),
                "'append' and 'override' cannot be used together",
            );
            return None;
        }
        let append = append
            || overrides
                .as_ref()
                .is_some_and(|o| o.iter().any(|(_, a)| *a));
        Some((append, append || overrides.is_some()))
    }

    pub(super) fn overrides(
        &mut self,
        appendable: &[&str],
        replaceable: &[&str],
        name_key: &str,
    ) -> Option<Vec<(String, bool)>> {
        let map = match self.get("override")? {
            Yaml::Mapping(m) => m.clone(),
            other => {
                let what = describe(other);
                self.error(
                    self.value_pos("override"),
                    format!(
                        "expected a mapping of key: append|replace for 'override', found {what}"
                    ),
                );
                return Some(Vec::new());
            }
        };
        let mut out = Vec::new();
        for (k, v) in &map {
            let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                self.error(
                    self.value_pos("override"),
                    "expected key: append or key: replace in 'override'",
                );
                continue;
            };
            let append = match v {
                "append" => true,
                "replace" => false,
                other => {
                    self.error(
                        self.value_pos("override"),
                        format!(
                            "expected append or replace for '{k}' in 'override', found '{other}'"
                        ),
                    );
                    continue;
                }
            };
            let allowed = if append { appendable } else { replaceable };
            if !allowed.contains(&k) {
                self.error(
                    self.value_pos("override"),
                    format!(
                        "'{k}' cannot be {} by override (allowed: {})",
                        if append { "appended" } else { "replaced" },
                        allowed.join(", ")
                    ),
                );
                continue;
            }
            if !self.has(k) {
                self.error(
                    self.value_pos("override"),
                    format!("override names '{k}' but the item does not define it"),
                );
                continue;
            }
            out.push((k.to_string(), append));
        }
        let keys: Vec<String> = self
            .map
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect();
        for k in keys {
            if k != name_key && k != "override" && !out.iter().any(|(o, _)| *o == k) {
                self.error(
                    self.key_pos(&k),
                    format!("'{k}' is defined beside 'override' but not overridden (add '{k}: append' or '{k}: replace')"),
                );
            }
        }
        Some(out)
    }
}

pub(super) fn describe(v: &Yaml) -> &'static str {
    match v {
        Yaml::Null => "nothing",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "text",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

pub(super) fn scalar_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let parts: Vec<&str> = text.trim().split('.').collect();
    match parts.as_slice() {
        // Falco's old integer engine versions mean 0.N.0.
        [n] => Some((0, n.parse().ok()?, 0)),
        [a, b] => Some((a.parse().ok()?, b.parse().ok()?, 0)),
        [a, b, c] => Some((a.parse().ok()?, b.parse().ok()?, c.parse().ok()?)),
        _ => None,
    }
}
