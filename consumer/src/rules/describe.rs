//! Rules and fields described for people, as Falco's `--list`, `-L` and
//! `-l RULE` describe them.

use std::fmt::Write;

use super::fields::{ArgKind, Provider, FIELDS};
use super::Engine;

/// Every field with its type and description (Falco's `--list`); fields
/// nothing fills on this engine say so.
pub fn fields_listing() -> String {
    let mut out = String::new();
    let mut class = "";
    for f in FIELDS {
        let this = f.name.split('.').next().unwrap_or("");
        if this != class {
            if !class.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "Field class: {this}");
            class = this;
        }
        let arg = match f.arg {
            ArgKind::None => "",
            ArgKind::Index => "[N]",
            ArgKind::OptionalIndex => "[N]?",
            ArgKind::Key => "[KEY]",
            ArgKind::KeyOrIndex => "[KEY|N]",
            ArgKind::OptionalKey => "[KEY]?",
        };
        let name = format!("{}{arg}", f.name);
        let _ = write!(out, "{name:<42} {:<17} {}", f.ty.describe(), f.desc);
        if let Provider::Missing(why) = f.provider {
            let _ = write!(out, " (never filled here: {why})");
        }
        out.push('\n');
    }
    out
}

/// One line per rule: name and description (Falco's `-L`).
pub fn rules_with_descriptions(engine: &Engine) -> String {
    let mut out = String::new();
    for r in engine.rules() {
        let desc = r.desc.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "{:<50} {desc}", r.name);
    }
    out
}

/// Everything about one rule (Falco's `-l RULE`); `None` if no rule has
/// that name.
pub fn describe_rule(engine: &Engine, name: &str) -> Option<String> {
    let r = engine.rules().iter().find(|r| r.name == name)?;
    let mut out = String::new();
    let _ = writeln!(out, "Rule:        {}", r.name);
    let _ = writeln!(out, "Defined at:  {}", r.pos);
    let _ = writeln!(out, "Description: {}", r.desc.trim());
    let _ = writeln!(out, "Priority:    {}", r.priority);
    let _ = writeln!(out, "Tags:        {}", r.tags.join(", "));
    let _ = writeln!(
        out,
        "State:       {}",
        match (r.enabled, r.active) {
            (true, true) => "enabled, runs",
            (false, true) => "disabled in the files, run by -t (its tag)",
            (true, false) => "enabled in the files, not run (priority or selection)",
            _ => "disabled in the files",
        }
    );
    let _ = writeln!(
        out,
        "Events:      {}",
        match &r.event_types {
            Some(t) => t.iter().cloned().collect::<Vec<_>>().join(", "),
            None => "every event".into(),
        }
    );
    let _ = writeln!(out, "Condition:   {}", r.condition_text.trim());
    let _ = writeln!(out, "Output:      {}", r.output_text.trim());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::{Engine, EngineOptions};
    use super::*;

    #[test]
    fn describes_rules_and_fields() {
        let text = "- macro: sh\n  condition: proc.name = bash\n- rule: Shell\n  desc: a shell\n  condition: evt.type = execve and sh\n  output: shell %proc.name\n  priority: warning\n  tags: [host]\n";
        let e = Engine::load_texts(&[("t.yaml", text)], EngineOptions::default()).unwrap();
        let d = describe_rule(&e, "Shell").unwrap();
        assert!(d.contains("Condition:   evt.type = execve and sh"), "{d}");
        assert!(d.contains("Defined at:  t.yaml:3:1"), "{d}");
        assert!(d.contains("Events:      execve"), "{d}");
        assert!(describe_rule(&e, "Nope").is_none());
        assert!(rules_with_descriptions(&e).starts_with("Shell"));
        let f = fields_listing();
        assert!(f.contains("Field class: proc"));
        assert!(f
            .lines()
            .any(|l| l.starts_with("proc.aname[N]?") && l.contains("ancestor")));
        assert!(f.contains("k8s.pod.ip") && f.contains("never filled here"));
    }
}
