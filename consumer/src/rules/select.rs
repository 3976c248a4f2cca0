//! Which loaded rules run, chosen on the command line as Falco chooses
//! them: `-D SUBSTRING` disables every rule whose name contains it, `-T TAG`
//! every rule with that tag, `-t TAG` runs only rules with one of the
//! given tags.  As in Falco (which disables every rule, then enables the
//! tagged ones), `-t` also runs a tagged rule the files disable
//! (`enabled: false`); `-D` and `-T` only ever turn rules off.

use clap::Args;

/// Rule selection flags, shared by `run`, `replay` and `rules`.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Disable rules whose names contain SUBSTRING (Falco's -D); repeatable.
    #[arg(short = 'D', long = "disable-rule", value_name = "SUBSTRING")]
    pub disable_names: Vec<String>,
    /// Disable rules with TAG (Falco's -T); repeatable.
    #[arg(short = 'T', long = "disable-tag", value_name = "TAG")]
    pub disable_tags: Vec<String>,
    /// Run only rules with TAG (Falco's -t); repeatable, any one tag is
    /// enough.  Cannot be combined with -D or -T, as in Falco.
    #[arg(short = 't', long = "only-tag", value_name = "TAG", conflicts_with_all = ["disable_names", "disable_tags"])]
    pub only_tags: Vec<String>,
}

impl Selection {
    /// Whether a rule called `name` with `tags`, enabled in the files or
    /// not (`enabled_in_files`), is selected to run.
    pub fn runs(&self, name: &str, tags: &[String], enabled_in_files: bool) -> bool {
        if !self.only_tags.is_empty() {
            return tags.iter().any(|t| self.only_tags.contains(t));
        }
        enabled_in_files
            && !self.disable_names.iter().any(|s| name.contains(s.as_str()))
            && !tags.iter().any(|t| self.disable_tags.contains(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selects_as_falco_flags_do() {
        let all = Selection::default();
        assert!(all.runs("Terminal shell in container", &tags(&["shell"]), true));
        assert!(!all.runs("Disabled in its file", &tags(&["shell"]), false));
        let d = Selection {
            disable_names: vec!["shell".into()],
            ..Selection::default()
        };
        assert!(!d.runs("Terminal shell in container", &[], true));
        assert!(d.runs("Read sensitive file", &[], true));
        assert!(!d.runs("Read sensitive file", &[], false));
        let t = Selection {
            disable_tags: vec!["network".into()],
            ..Selection::default()
        };
        assert!(!t.runs("Outbound", &tags(&["host", "network"]), true));
        assert!(t.runs("Shell", &tags(&["host"]), true));
        let only = Selection {
            only_tags: vec!["container".into(), "k8s".into()],
            ..Selection::default()
        };
        assert!(only.runs("Shell", &tags(&["k8s"]), true));
        assert!(!only.runs("Sudo", &tags(&["host"]), true));
        assert!(!only.runs("Untagged", &[], true));
        // Falco's -t disables every rule, then enables the tagged ones,
        // those the files disable included.
        assert!(only.runs("Disabled in its file", &tags(&["container"]), false));
    }
}
