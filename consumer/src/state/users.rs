//! User and group names from the passwd and group files of a process's own
//! root, so a container's users are named as the container names them.
//!
//! One database per root (the host, each container), read on first use and
//! re-read when the files' mtime or size changed; the check is a `stat`
//! made at most once per refresh interval per root.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Default time between two checks of one root's files.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(30);

/// Most roots kept; past it the cache starts over.
pub const MAX_ROOTS: usize = 4096;

/// One passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    /// `user.name`.
    pub name: Arc<str>,
    /// Primary gid.
    pub gid: u32,
    /// `user.homedir`.
    pub home: Arc<str>,
    /// `user.shell`.
    pub shell: Arc<str>,
}

/// The users and groups of one root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDb {
    users: HashMap<u32, UserEntry>,
    groups: HashMap<u32, Arc<str>>,
}

impl UserDb {
    /// Parses passwd (`name:x:uid:gid:gecos:home:shell`) and group
    /// (`name:x:gid:members`) texts; malformed lines are skipped.  The
    /// first entry for an id wins, as with getpwuid.
    pub fn parse(passwd: &str, group: &str) -> UserDb {
        let mut db = UserDb::default();
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0].is_empty() || line.starts_with('#') {
                continue;
            }
            let (Ok(uid), Ok(gid)) = (f[2].parse::<u32>(), f[3].parse::<u32>()) else {
                continue;
            };
            db.users.entry(uid).or_insert(UserEntry {
                name: f[0].into(),
                gid,
                home: f[5].into(),
                shell: f[6].into(),
            });
        }
        for line in group.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 3 || f[0].is_empty() || line.starts_with('#') {
                continue;
            }
            if let Ok(gid) = f[2].parse::<u32>() {
                db.groups.entry(gid).or_insert_with(|| f[0].into());
            }
        }
        db
    }

    /// The user with this uid.
    pub fn user(&self, uid: u32) -> Option<&UserEntry> {
        self.users.get(&uid)
    }

    /// The name of the group with this gid.
    pub fn group(&self, gid: u32) -> Option<&Arc<str>> {
        self.groups.get(&gid)
    }
}

/// A file's mtime and size, or `None` when it cannot be read.
type FileStamp = Option<(SystemTime, u64)>;

#[derive(Debug)]
struct Cached {
    db: Arc<UserDb>,
    stamp: (FileStamp, FileStamp),
    checked: Instant,
}

fn stamp_of(p: &Path) -> FileStamp {
    let m = fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Databases per root, refreshed on change.
#[derive(Debug)]
pub struct UserCache {
    roots: HashMap<String, Cached>,
    refresh: Duration,
    /// Times a database was (re)read from disk.
    pub loads: u64,
}

impl UserCache {
    /// A cache checking each root at most once per `refresh`.
    pub fn new(refresh: Duration) -> UserCache {
        UserCache {
            roots: HashMap::new(),
            refresh,
            loads: 0,
        }
    }

    /// The database of the root `key` (e.g. a container id or `host`),
    /// whose files are under `root_dir` (`<proc>/<pid>/root`).  `root_dir`
    /// is only read when the key is new or due for a check; a root that
    /// cannot be read gives an empty database (not cached, so a later call
    /// with a readable `root_dir` fills it).
    pub fn db(&mut self, key: &str, root_dir: &Path) -> Arc<UserDb> {
        let now = Instant::now();
        let passwd = root_dir.join("etc/passwd");
        let group = root_dir.join("etc/group");
        if let Some(c) = self.roots.get_mut(key) {
            if now.duration_since(c.checked) < self.refresh {
                return c.db.clone();
            }
            let stamp = (stamp_of(&passwd), stamp_of(&group));
            if stamp.0.is_none() && stamp.1.is_none() {
                // The root went away with its process: keep what we knew.
                c.checked = now;
                return c.db.clone();
            }
            if stamp == c.stamp {
                c.checked = now;
                return c.db.clone();
            }
        }
        let stamp = (stamp_of(&passwd), stamp_of(&group));
        if stamp.0.is_none() && stamp.1.is_none() {
            return Arc::new(UserDb::default());
        }
        let text = |p: &PathBuf| {
            fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let db = Arc::new(UserDb::parse(&text(&passwd), &text(&group)));
        self.loads += 1;
        if self.roots.len() >= MAX_ROOTS && !self.roots.contains_key(key) {
            self.roots.clear();
        }
        self.roots.insert(
            key.to_string(),
            Cached {
                db: db.clone(),
                stamp,
                checked: now,
            },
        );
        db
    }

    /// The cached database of `key` if it was checked less than the
    /// refresh interval ago: what [`UserCache::db`] would return without
    /// touching the disk, found without building any path.
    pub fn fresh(&self, key: &str) -> Option<Arc<UserDb>> {
        let c = self.roots.get(key)?;
        (c.checked.elapsed() < self.refresh).then(|| c.db.clone())
    }

    /// The cached database of `key`, without touching the disk.
    pub fn cached(&self, key: &str) -> Option<Arc<UserDb>> {
        self.roots.get(key).map(|c| c.db.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::TempDir;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        # a comment\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        broken line\n\
        alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh\n\
        toor:x:0:0:dup:/:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nadm:x:4:alice\nbad:x:notanumber:\nalice:x:1000:\n";

    #[test]
    fn parses_passwd_and_group() {
        let db = UserDb::parse(PASSWD, GROUP);
        let alice = db.user(1000).unwrap();
        assert_eq!(&*alice.name, "alice");
        assert_eq!(
            (&*alice.home, &*alice.shell, alice.gid),
            ("/home/alice", "/bin/zsh", 1000)
        );
        assert_eq!(&*db.user(0).unwrap().name, "root", "first entry wins");
        assert!(db.user(2).is_none());
        assert_eq!(db.group(4).map(|g| &**g), Some("adm"));
        assert!(db.group(7).is_none());
    }

    #[test]
    fn a_fresh_database_is_answered_without_its_root() {
        let root = TempDir::new("users-fresh");
        fs::create_dir_all(root.path().join("etc")).unwrap();
        fs::write(
            root.path().join("etc/passwd"),
            "web:x:33:33::/:/bin/false\n",
        )
        .unwrap();
        let mut cache = UserCache::new(Duration::from_secs(3600));
        assert!(cache.fresh("c1").is_none(), "nothing read yet");
        cache.db("c1", root.path());
        // Within the refresh interval the database comes back even with
        // the root gone (what the read path relies on to skip looking
        // for one).
        drop(root);
        assert_eq!(&*cache.fresh("c1").unwrap().user(33).unwrap().name, "web");
        assert!(cache.fresh("c2").is_none());
        // Past the interval it is not fresh: the caller checks the disk.
        let mut stale = UserCache::new(Duration::ZERO);
        let root = TempDir::new("users-stale");
        fs::create_dir_all(root.path().join("etc")).unwrap();
        fs::write(
            root.path().join("etc/passwd"),
            "web:x:33:33::/:/bin/false\n",
        )
        .unwrap();
        stale.db("c1", root.path());
        assert!(stale.fresh("c1").is_none());
    }

    #[test]
    fn each_root_has_its_own_names_and_changes_are_seen() {
        let host = TempDir::new("users-host");
        let ctr = TempDir::new("users-ctr");
        for (d, pw) in [
            (&host, "root:x:0:0::/root:/bin/sh\n"),
            (&ctr, "appuser:x:0:0::/app:/bin/sh\n"),
        ] {
            fs::create_dir_all(d.path().join("etc")).unwrap();
            fs::write(d.path().join("etc/passwd"), pw).unwrap();
        }
        let mut cache = UserCache::new(Duration::ZERO);
        assert_eq!(
            &*cache.db("host", host.path()).user(0).unwrap().name,
            "root"
        );
        assert_eq!(
            &*cache.db("c1", ctr.path()).user(0).unwrap().name,
            "appuser"
        );
        assert_eq!(cache.loads, 2);
        // Unchanged: no reload.
        cache.db("c1", ctr.path());
        assert_eq!(cache.loads, 2);
        // Changed (size differs): reloaded.
        fs::write(
            ctr.path().join("etc/passwd"),
            "appuser:x:0:0::/app:/bin/sh\nweb:x:33:33::/:/bin/false\n",
        )
        .unwrap();
        assert_eq!(&*cache.db("c1", ctr.path()).user(33).unwrap().name, "web");
        assert_eq!(cache.loads, 3);
        // The root vanished (its process exited): the names stay.
        let gone = ctr.path().join("nonexistent");
        assert_eq!(&*cache.db("c1", &gone).user(0).unwrap().name, "appuser");
        // An unknown root that cannot be read is empty and not cached.
        assert!(cache.db("c2", &gone).user(0).is_none());
        assert!(cache.cached("c2").is_none());
    }

    #[test]
    fn checks_are_rate_limited() {
        let d = TempDir::new("users-rate");
        fs::create_dir_all(d.path().join("etc")).unwrap();
        fs::write(d.path().join("etc/passwd"), "a:x:1:1::/:/bin/sh\n").unwrap();
        let mut cache = UserCache::new(Duration::from_secs(3600));
        cache.db("k", d.path());
        fs::write(
            d.path().join("etc/passwd"),
            "b:x:1:1::/:/bin/sh\nc:x:2:2::/:/x\n",
        )
        .unwrap();
        assert_eq!(
            &*cache.db("k", d.path()).user(1).unwrap().name,
            "a",
            "within the interval the cached names are used"
        );
        assert_eq!(cache.loads, 1);
    }
}
