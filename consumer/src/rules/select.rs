//! Which loaded rules run, chosen on the command line as Falco chooses
//! them: `-D SUBSTRING` disables every rule whose name contains it, `-T TAG`
//! every rule with that tag, `-t TAG` runs only rules with one of the
//! given tags.  A rule the files disable stays disabled.

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
    /// Whether a rule called `name` with `tags` is selected.
    pub fn keeps(&self, name: &str, tags: &[String]) -> bool {
        if self.disable_names.iter().any(|s| name.contains(s.as_str())) {
            return false;
        }
        if tags.iter().any(|t| self.disable_tags.contains(t)) {
            return false;
        }
        self.only_tags.is_empty() || tags.iter().any(|t| self.only_tags.contains(t))
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
        assert!(all.keeps("Terminal shell in container", &tags(&["shell"])));
        let d = Selection {
            disable_names: vec!["shell".into()],
            ..Selection::default()
        };
        assert!(!d.keeps("Terminal shell in container", &[]));
        assert!(d.keeps("Read sensitive file", &[]));
        let t = Selection {
            disable_tags: vec!["network".into()],
            ..Selection::default()
        };
        assert!(!t.keeps("Outbound", &tags(&["host", "network"])));
        assert!(t.keeps("Shell", &tags(&["host"])));
        let only = Selection {
            only_tags: vec!["container".into(), "k8s".into()],
            ..Selection::default()
        };
        assert!(only.keeps("Shell", &tags(&["k8s"])));
        assert!(!only.keeps("Sudo", &tags(&["host"])));
        assert!(!only.keeps("Untagged", &[]));
    }
}
