//! `container.id` from cgroup paths.
//!
//! Recognized layouts (cgroup v1 lines `N:controllers:/path` and v2 lines
//! `0::/path`):
//!
//! - Docker: `/docker/<id>`, `/system.slice/docker-<id>.scope`;
//! - Kubernetes with the cgroupfs driver: `/kubepods/.../pod<uid>/<id>`;
//! - containerd CRI with systemd: `.../cri-containerd-<id>.scope`;
//! - CRI-O: `.../crio-<id>.scope`, `/crio/<id>` (and not `crio-conmon-`,
//!   the monitor, which is a host process);
//! - Podman: `.../libpod-<id>.scope` (possibly followed by `/container`),
//!   `/libpod_parent/libpod-<id>`;
//! - plain containerd: `/<namespace>/<id>`.
//!
//! An id is 64 hex digits; the short id (`container.id`) is its first 12,
//! as Falco prints it.  Anything else is `host`.

/// `container.id` of host processes.
pub const HOST: &str = "host";

/// Which runtime a cgroup path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeKind {
    /// Docker (moby).
    Docker,
    /// containerd, through CRI or directly.
    Containerd,
    /// CRI-O.
    Crio,
    /// Podman (libpod).
    Podman,
    /// A 64-hex id under an unrecognized parent (e.g. kubepods with the
    /// cgroupfs driver, runtime unknown until its state is found).
    Unknown,
}

impl RuntimeKind {
    /// The runtime's name as `container.type` reports it.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Docker => "docker",
            RuntimeKind::Containerd => "containerd",
            RuntimeKind::Crio => "cri-o",
            RuntimeKind::Podman => "podman",
            RuntimeKind::Unknown => "unknown",
        }
    }
}

/// A container found in a cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupContainer {
    /// The full 64-hex id.
    pub full_id: String,
    /// Which runtime the path names.
    pub runtime: RuntimeKind,
}

impl CgroupContainer {
    /// `container.id`: the first 12 hex digits.
    pub fn short_id(&self) -> &str {
        &self.full_id[..12]
    }
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The container one path component names.
fn component(c: &str, parent: &str) -> Option<CgroupContainer> {
    // Every form below holds a 64-digit id.
    if c.len() < 64 {
        return None;
    }
    let scoped = |prefix: &str| {
        c.strip_prefix(prefix)
            .map(|rest| rest.strip_suffix(".scope").unwrap_or(rest))
            .filter(|id| is_id(id))
            .map(str::to_string)
    };
    let found = |id: String, runtime| {
        Some(CgroupContainer {
            full_id: id.to_ascii_lowercase(),
            runtime,
        })
    };
    if let Some(id) = scoped("docker-") {
        return found(id, RuntimeKind::Docker);
    }
    if let Some(id) = scoped("cri-containerd-") {
        return found(id, RuntimeKind::Containerd);
    }
    if let Some(id) = scoped("crio-") {
        return found(id, RuntimeKind::Crio);
    }
    if let Some(id) = scoped("libpod-") {
        return found(id, RuntimeKind::Podman);
    }
    if is_id(c) {
        let runtime = match parent {
            "docker" => RuntimeKind::Docker,
            "crio" => RuntimeKind::Crio,
            p if p.starts_with("pod") || p.starts_with("kubepods") => RuntimeKind::Unknown,
            "" => RuntimeKind::Unknown,
            _ => RuntimeKind::Containerd,
        };
        return found(c.to_string(), runtime);
    }
    None
}

/// The container a cgroup path names, if any (the innermost match).
pub fn from_cgroup_path(path: &str) -> Option<CgroupContainer> {
    // Innermost first; each component's parent is the one before it.
    let mut parts = path.rsplit('/').filter(|c| !c.is_empty()).peekable();
    while let Some(c) = parts.next() {
        let parent = parts.peek().copied().unwrap_or("");
        if let Some(found) = component(c, parent) {
            return Some(found);
        }
    }
    None
}

/// The container named by any line of `/proc/PID/cgroup` (v1 or v2), or
/// by `controller=path` items (as an exec event may carry them, separated
/// by NUL or newline).
pub fn from_cgroup_text(text: &str) -> Option<CgroupContainer> {
    text.split(['\n', '\0'])
        .filter_map(cgroup_line_path)
        .find_map(from_cgroup_path)
}

/// The path of one cgroup line: `N:ctl:/path`, `ctl=/path`, or `/path`.
pub fn cgroup_line_path(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    if line.starts_with('/') {
        return Some(line);
    }
    // `split_once("::")` would set up a substring searcher per line.
    if let Some(i) = line.as_bytes().windows(2).position(|w| w == b"::") {
        return Some(&line[i + 2..]);
    }
    let mut it = line.splitn(3, ':');
    if let (Some(_), Some(_), Some(p)) = (it.next(), it.next(), it.next()) {
        return Some(p);
    }
    line.split_once('=').map(|(_, p)| p)
}

/// The cgroup path worth keeping for a process: the v2 path (`0::`), else
/// the first path naming a container, else the first path.
pub fn main_cgroup_path(text: &str) -> String {
    let lines = || text.split(['\n', '\0']);
    let paths = || lines().filter_map(cgroup_line_path);
    lines()
        .find_map(|l| l.trim().strip_prefix("0::"))
        .or_else(|| paths().find(|p| from_cgroup_path(p).is_some()))
        .or_else(|| paths().next())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f1e6b0c2a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";

    fn id_of(text: &str) -> Option<(String, RuntimeKind)> {
        from_cgroup_text(text).map(|c| (c.short_id().to_string(), c.runtime))
    }

    #[test]
    fn recognizes_each_runtime_layout() {
        let short = ID[..12].to_string();
        let cases = [
            (format!("12:memory:/docker/{ID}"), RuntimeKind::Docker),
            (
                format!("0::/system.slice/docker-{ID}.scope"),
                RuntimeKind::Docker,
            ),
            (
                format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_5678.slice/cri-containerd-{ID}.scope"),
                RuntimeKind::Containerd,
            ),
            (
                format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podab_cd.slice/crio-{ID}.scope"),
                RuntimeKind::Crio,
            ),
            (
                format!("4:cpu,cpuacct:/kubepods/burstable/pod0f3b9e5e-1111-2222-3333-444455556666/{ID}"),
                RuntimeKind::Unknown,
            ),
            (
                format!("0::/machine.slice/libpod-{ID}.scope/container"),
                RuntimeKind::Podman,
            ),
            (
                format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
                RuntimeKind::Podman,
            ),
            (format!("1:name=systemd:/libpod_parent/libpod-{ID}"), RuntimeKind::Podman),
            (format!("0::/default/{ID}"), RuntimeKind::Containerd),
            (format!("3:pids:/crio/{ID}"), RuntimeKind::Crio),
        ];
        for (text, rt) in cases {
            assert_eq!(id_of(&text), Some((short.clone(), rt)), "{text}");
        }
    }

    #[test]
    fn host_paths_and_monitors_name_no_container() {
        for text in [
            "0::/init.scope",
            "0::/user.slice/user-1000.slice/session-3.scope",
            "0::/system.slice/containerd.service",
            &format!("0::/system.slice/crio-conmon-{ID}.scope"),
            &format!("0::/system.slice/docker-{}.scope", &ID[..63]),
            "12:memory:/\n11:cpu:/",
            "",
            "garbage without structure",
        ] {
            assert_eq!(id_of(text), None, "{text}");
        }
    }

    #[test]
    fn v1_file_with_many_lines_and_event_style_lists() {
        let v1 = format!("12:devices:/\n11:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n");
        assert_eq!(id_of(&v1).unwrap().1, RuntimeKind::Docker);
        let ev = format!("cpuset=/\0memory=/kubepods/pod1/{ID}\0");
        assert!(id_of(&ev).is_some());
        assert_eq!(
            main_cgroup_path(&v1),
            format!("/docker/{ID}"),
            "the path that names the container"
        );
        assert_eq!(
            main_cgroup_path("2:cpu:/a\n0::/b/c\n"),
            "/b/c",
            "the unified path first"
        );
        let upper = ID.to_ascii_uppercase();
        assert_eq!(
            from_cgroup_path(&format!("/docker/{upper}"))
                .unwrap()
                .full_id,
            ID
        );
    }
}
