//! Container metadata from the runtimes' own state on disk, under a
//! configurable host root (`/` on the host, e.g. `/host` in a DaemonSet):
//!
//! - containerd (CRI and plain): the OCI bundle
//!   `run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json`
//!   (or `...runtime.v1.linux/...`), annotations `io.kubernetes.cri.*`:
//!   `container-name`, `image-name`, `sandbox-name`, `sandbox-namespace`,
//!   `sandbox-uid`, `sandbox-id`, `container-type`;
//! - CRI-O (and Podman): `run/containers/storage/overlay-containers/<id>/userdata/config.json`
//!   (or under `var/lib/containers/...`), annotations `io.kubernetes.cri-o.*`
//!   (`ImageName`, `ContainerName`, `Labels`, `SandboxID`) and
//!   `io.kubernetes.pod.*` / `io.kubernetes.container.name`; the pod's
//!   labels are the sandbox bundle's `io.kubernetes.cri-o.Labels`;
//! - Docker: `var/lib/docker/containers/<id>/config.v2.json` (`Name`,
//!   `Config.Image`, `Config.Labels`) and `hostconfig.json` (`Privileged`).
//!
//! Each id is looked up once; the answer, found or not, is cached.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::bolt;
use super::container::{CgroupContainer, RuntimeKind};

/// Most container ids kept; past it the cache starts over (processes keep
/// their own references).
pub const MAX_CACHED_CONTAINERS: usize = 16_384;

/// What is known about a container.  `None` fields are unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// `container.id`: the 12-digit short id.
    pub id: String,
    /// The full 64-digit id.
    pub full_id: String,
    /// `container.type`.
    pub runtime: RuntimeKind,
    /// Whether any runtime state described it.
    pub metadata_found: bool,
    /// `container.name`.
    pub name: Option<String>,
    /// `container.image` as the user asked for it (`repo:tag`).
    pub image: Option<String>,
    /// `container.image.repository`.
    pub image_repository: Option<String>,
    /// `container.image.tag`.
    pub image_tag: Option<String>,
    /// `container.privileged`.
    pub privileged: Option<bool>,
    /// `k8s.pod.name`.
    pub pod_name: Option<String>,
    /// `k8s.ns.name`.
    pub pod_namespace: Option<String>,
    /// `k8s.pod.uid`.
    pub pod_uid: Option<String>,
    /// `k8s.pod.labels`, sorted by key.
    pub pod_labels: Option<Vec<(String, String)>>,
    /// `container.image.id`: the image's id (12 hex digits, no `sha256:`).
    pub image_id: Option<String>,
    /// `container.image.digest`: the `sha256:...` digest the image was
    /// asked for by, if it was.
    pub image_digest: Option<String>,
    /// `container.mounts`, in the runtime's order.
    pub mounts: Option<Vec<Mount>>,
}

/// One mount of a container (`container.mount.*`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mount {
    /// Path (or name) outside the container.
    pub source: String,
    /// Path inside the container.
    pub dest: String,
    /// Mount options as the runtime lists them (`rbind,ro`), or Docker's mode.
    pub mode: String,
    /// Writable.
    pub rdwr: bool,
    /// Propagation (`rprivate`, `shared`, ...), empty if not given.
    pub propagation: String,
}

impl Mount {
    /// `source:dest:mode:rdwr:propagation`, as `container.mount` shows it.
    pub fn describe(&self) -> String {
        format!(
            "{}:{}:{}:{}:{}",
            self.source, self.dest, self.mode, self.rdwr, self.propagation
        )
    }

    /// A mount of an OCI runtime spec's `mounts` array.
    fn from_oci(m: &Value) -> Option<Mount> {
        let options: Vec<&str> = m
            .get("options")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        const PROPAGATIONS: &[&str] = &[
            "private", "rprivate", "shared", "rshared", "slave", "rslave",
        ];
        Some(Mount {
            source: str_at(m, "source").unwrap_or("").to_string(),
            dest: str_at(m, "destination")?.to_string(),
            mode: options.join(","),
            rdwr: !options.contains(&"ro"),
            propagation: options
                .iter()
                .find(|o| PROPAGATIONS.contains(o))
                .map_or(String::new(), |o| o.to_string()),
        })
    }

    /// A mount of Docker's `MountPoints` map.
    fn from_docker(m: &Value) -> Option<Mount> {
        Some(Mount {
            source: str_at(m, "Source").unwrap_or("").to_string(),
            dest: str_at(m, "Destination")?.to_string(),
            mode: str_at(m, "Mode").unwrap_or("").to_string(),
            rdwr: m.get("RW").and_then(Value::as_bool).unwrap_or(false),
            propagation: str_at(m, "Propagation").unwrap_or("").to_string(),
        })
    }
}

/// The mounts of an OCI runtime spec.
fn oci_mounts(spec: &Value) -> Option<Vec<Mount>> {
    Some(
        spec.get("mounts")?
            .as_array()?
            .iter()
            .filter_map(Mount::from_oci)
            .collect(),
    )
}

impl ContainerInfo {
    /// A container known only by its id.
    pub fn unknown(c: &CgroupContainer) -> ContainerInfo {
        ContainerInfo {
            id: c.short_id().to_string(),
            full_id: c.full_id.clone(),
            runtime: c.runtime,
            metadata_found: false,
            name: None,
            image: None,
            image_repository: None,
            image_tag: None,
            privileged: None,
            pod_name: None,
            pod_namespace: None,
            pod_uid: None,
            pod_labels: None,
            image_id: None,
            image_digest: None,
            mounts: None,
        }
    }

    /// The mount `container.mount*[key]` names: by index, or the first
    /// whose source (for `container.mount.source`: destination) matches
    /// the glob `key`.
    pub fn mount(&self, index: Option<usize>, key: &str, by_dest: bool) -> Option<&Mount> {
        let mounts = self.mounts.as_ref()?;
        if let Some(i) = index {
            return mounts.get(i);
        }
        let glob = crate::rules::eval::Glob::new(key, false);
        mounts
            .iter()
            .find(|m| glob.matches(if by_dest { &m.dest } else { &m.source }.as_bytes()))
    }

    /// `k8s.pod.label[KEY]`.
    pub fn pod_label(&self, key: &str) -> Option<&str> {
        self.pod_labels
            .as_ref()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn set_image(&mut self, image: &str) {
        if image.is_empty() {
            return;
        }
        let (repo, tag) = split_image(image);
        self.image_digest = image
            .split_once('@')
            .map(|(_, d)| d.to_string())
            .filter(|d| !d.is_empty());
        self.image = Some(image.to_string());
        self.image_repository = Some(repo.to_string());
        self.image_tag = tag.map(str::to_string);
    }
}

/// Splits `registry:5000/ns/app:1.2@sha256:...` into repository
/// (`registry:5000/ns/app`) and tag (`1.2`); a digest is dropped.
pub fn split_image(image: &str) -> (&str, Option<&str>) {
    let no_digest = image.split_once('@').map_or(image, |(a, _)| a);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[last_slash..].rfind(':') {
        Some(i) => (
            &no_digest[..last_slash + i],
            Some(&no_digest[last_slash + i + 1..]),
        ),
        None => (no_digest, None),
    }
}

/// A file's bytes, if it is no larger than `max`.
fn read_bounded(path: &Path, max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(max + 1)
        .read_to_end(&mut data)
        .ok()?;
    if data.len() as u64 > max {
        log::warn!("{}: larger than {max} bytes, not read", path.display());
        return None;
    }
    Some(data)
}

fn read_json(path: &Path) -> Option<Value> {
    let text = fs::read(path).ok()?;
    match serde_json::from_slice(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            log::warn!("{}: not valid JSON: {e}", path.display());
            None
        }
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str().filter(|s| !s.is_empty())
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

fn labels_of(v: Option<&Value>) -> Option<Vec<(String, String)>> {
    let obj = v?.as_object()?;
    let mut out: Vec<(String, String)> = obj
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    out.sort();
    Some(out)
}

/// Pod labels from a label map: the `io.kubernetes.*` bookkeeping keys the
/// runtimes add are not the pod's labels.
fn pod_labels_only(all: Vec<(String, String)>) -> Vec<(String, String)> {
    all.into_iter()
        .filter(|(k, _)| !k.starts_with("io.kubernetes."))
        .collect()
}

/// An OCI runtime spec (`config.json`) looks privileged: CAP_SYS_ADMIN in
/// the bounding set and no masked paths (what Docker, containerd and CRI-O
/// generate for `privileged: true`).  Unknown without capabilities.
fn oci_privileged(spec: &Value) -> Option<bool> {
    let bounding = spec.get("process")?.get("capabilities")?.get("bounding")?;
    let has_admin = bounding
        .as_array()?
        .iter()
        .any(|c| c.as_str() == Some("CAP_SYS_ADMIN"));
    let masked = spec
        .get("linux")
        .and_then(|l| l.get("maskedPaths"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    Some(has_admin && !masked)
}

/// Looks containers up on disk, once per id.
#[derive(Debug)]
pub struct ContainerCache {
    host_root: PathBuf,
    known: HashMap<String, Arc<ContainerInfo>>,
    /// Lookups that went to disk.
    pub disk_lookups: u64,
    /// Of those, how many found runtime state.
    pub found: u64,
}

impl ContainerCache {
    /// A cache reading runtime state under `host_root`.
    pub fn new(host_root: impl Into<PathBuf>) -> ContainerCache {
        ContainerCache {
            host_root: host_root.into(),
            known: HashMap::new(),
            disk_lookups: 0,
            found: 0,
        }
    }

    /// The container's metadata: from the cache, or looked up on disk the
    /// first time the id is seen (an id with no state stays known by id).
    pub fn get(&mut self, c: &CgroupContainer) -> Arc<ContainerInfo> {
        if let Some(info) = self.known.get(&c.full_id) {
            return info.clone();
        }
        self.disk_lookups += 1;
        let info = Arc::new(self.lookup(c));
        if info.metadata_found {
            self.found += 1;
        }
        if self.known.len() >= MAX_CACHED_CONTAINERS {
            self.known.clear();
        }
        self.known.insert(c.full_id.clone(), info.clone());
        info
    }

    /// The cached entry for a short or full id (no disk access).
    pub fn cached(&self, id: &str) -> Option<Arc<ContainerInfo>> {
        if let Some(i) = self.known.get(id) {
            return Some(i.clone());
        }
        self.known
            .values()
            .find(|i| i.id == id || i.full_id.starts_with(id))
            .cloned()
    }

    /// Number of ids cached.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    fn lookup(&self, c: &CgroupContainer) -> ContainerInfo {
        let mut info = ContainerInfo::unknown(c);
        let order: &[RuntimeKind] = match c.runtime {
            RuntimeKind::Docker => &[RuntimeKind::Docker, RuntimeKind::Containerd],
            RuntimeKind::Crio | RuntimeKind::Podman => &[RuntimeKind::Crio],
            _ => &[
                RuntimeKind::Containerd,
                RuntimeKind::Crio,
                RuntimeKind::Docker,
            ],
        };
        for rt in order {
            let found = match rt {
                RuntimeKind::Docker => self.docker(&mut info),
                RuntimeKind::Containerd => self.containerd(&mut info),
                _ => self.crio(&mut info),
            };
            if found {
                info.metadata_found = true;
                break;
            }
        }
        info
    }

    fn containerd_bundle(&self, id: &str) -> Option<PathBuf> {
        for task_dir in [
            "run/containerd/io.containerd.runtime.v2.task",
            "run/containerd/io.containerd.runtime.v1.linux",
        ] {
            let dir = self.host_root.join(task_dir);
            // Namespaces: k8s.io for CRI, moby for Docker, default, ...
            let Ok(namespaces) = fs::read_dir(&dir) else {
                continue;
            };
            for ns in namespaces.flatten().take(64) {
                let cfg = ns.path().join(id).join("config.json");
                if cfg.is_file() {
                    return Some(cfg);
                }
            }
        }
        None
    }

    fn containerd(&self, info: &mut ContainerInfo) -> bool {
        let Some(path) = self.containerd_bundle(&info.full_id) else {
            return false;
        };
        let Some(spec) = read_json(&path) else {
            return false;
        };
        let empty = Value::Null;
        let ann = spec.get("annotations").unwrap_or(&empty);
        let a = |k: &str| owned(str_at(ann, k));
        if info.runtime == RuntimeKind::Unknown {
            info.runtime = RuntimeKind::Containerd;
        }
        info.name = a("io.kubernetes.cri.container-name").or_else(|| {
            (a("io.kubernetes.cri.container-type").as_deref() == Some("sandbox"))
                .then(|| a("io.kubernetes.cri.sandbox-name"))
                .flatten()
        });
        if let Some(img) = str_at(ann, "io.kubernetes.cri.image-name")
            .or_else(|| str_at(ann, "io.containerd.image.name"))
        {
            info.set_image(img);
        }
        info.pod_name = a("io.kubernetes.cri.sandbox-name");
        info.pod_namespace = a("io.kubernetes.cri.sandbox-namespace");
        info.pod_uid = a("io.kubernetes.cri.sandbox-uid");
        info.privileged = oci_privileged(&spec);
        info.mounts = oci_mounts(&spec);
        if info.image.is_none() {
            // Plain containerd (ctr, nerdctl): no CRI annotations; the image
            // and labels are only in the metadata store.  The bundle's
            // parent folder is the namespace.
            let namespace = path
                .parent()
                .and_then(Path::parent)
                .and_then(Path::file_name)
                .and_then(|n| n.to_str());
            if let Some(ns) = namespace {
                self.containerd_metadata(info, ns);
            }
        }
        true
    }

    /// Image and name of a plain containerd container from containerd's
    /// metadata store (bucket `v1/<namespace>/containers/<id>`): `image`,
    /// and nerdctl's `nerdctl/name` label for the name, else the id, the
    /// only name `ctr run` records.
    fn containerd_metadata(&self, info: &mut ContainerInfo, namespace: &str) {
        let db_path = self
            .host_root
            .join("var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db");
        let Some(data) = read_bounded(&db_path, bolt::MAX_FILE) else {
            return;
        };
        let Some(db) = bolt::BoltFile::open(&data) else {
            log::warn!("{}: not a bbolt file", db_path.display());
            return;
        };
        let full_id = info.full_id.clone();
        let id = full_id.as_bytes();
        let container: [&[u8]; 4] = [b"v1", namespace.as_bytes(), b"containers", id];
        let text = |v: &[u8]| String::from_utf8(v.to_vec()).ok().filter(|s| !s.is_empty());
        if let Some(image) = db.get(&container, b"image").and_then(text) {
            info.set_image(&image);
        }
        if info.name.is_none() && db.has_bucket(&container) {
            let labels: [&[u8]; 5] = [b"v1", namespace.as_bytes(), b"containers", id, b"labels"];
            info.name = db
                .get(&labels, b"nerdctl/name")
                .and_then(text)
                .or_else(|| Some(full_id.clone()));
        }
    }

    fn crio_bundle(&self, id: &str) -> Option<PathBuf> {
        [
            "run/containers/storage/overlay-containers",
            "var/lib/containers/storage/overlay-containers",
        ]
        .iter()
        .map(|d| self.host_root.join(d).join(id).join("userdata/config.json"))
        .find(|p| p.is_file())
    }

    fn crio(&self, info: &mut ContainerInfo) -> bool {
        let Some(bundle) = self.crio_bundle(&info.full_id) else {
            return false;
        };
        let Some(spec) = read_json(&bundle) else {
            return false;
        };
        let empty = Value::Null;
        let ann = spec.get("annotations").unwrap_or(&empty);
        let labels: Option<Value> =
            str_at(ann, "io.kubernetes.cri-o.Labels").and_then(|s| serde_json::from_str(s).ok());
        let from = |k: &str| {
            owned(str_at(ann, k)).or_else(|| owned(labels.as_ref().and_then(|l| str_at(l, k))))
        };
        if str_at(ann, "io.container.manager") == Some("libpod") {
            info.runtime = RuntimeKind::Podman;
        } else if info.runtime == RuntimeKind::Unknown {
            info.runtime = RuntimeKind::Crio;
        }
        info.name = from("io.kubernetes.container.name")
            .or_else(|| from("io.kubernetes.cri-o.ContainerName"));
        if let Some(img) = str_at(ann, "io.kubernetes.cri-o.ImageName") {
            info.set_image(img);
        }
        info.pod_name = from("io.kubernetes.pod.name");
        info.pod_namespace = from("io.kubernetes.pod.namespace");
        info.pod_uid = from("io.kubernetes.pod.uid");
        // The pod's labels live on its sandbox.
        let sandbox_labels = str_at(ann, "io.kubernetes.cri-o.SandboxID")
            .filter(|s| *s != info.full_id && !s.contains('/'))
            .and_then(|sid| self.crio_bundle(sid))
            .and_then(|p| read_json(&p))
            .and_then(|sb| {
                let s = str_at(sb.get("annotations")?, "io.kubernetes.cri-o.Labels")?;
                serde_json::from_str::<Value>(s).ok()
            });
        if let Some(l) = labels_of(sandbox_labels.as_ref()) {
            info.pod_labels = Some(pod_labels_only(l));
        }
        info.privileged = oci_privileged(&spec);
        info.mounts = oci_mounts(&spec);
        if info.name.is_none() || info.image.is_none() {
            // Podman puts neither in the bundle: containers/storage keeps
            // them in `overlay-containers/containers.json` (or
            // `volatile-containers.json`) beside the container folders.
            if let Some(store) = bundle.ancestors().nth(3) {
                self.storage_containers(info, store);
            }
        }
        true
    }

    /// Name and image from containers/storage's container list: an array
    /// of `{"id", "names": [...], "metadata": "<JSON text>"}` whose
    /// metadata (written by libpod) has `image-name` and `name`.
    fn storage_containers(&self, info: &mut ContainerInfo, store: &Path) {
        for list in ["containers.json", "volatile-containers.json"] {
            let Some(all) = read_json(&store.join(list)) else {
                continue;
            };
            let Some(entry) = all.as_array().and_then(|a| {
                a.iter()
                    .find(|c| str_at(c, "id") == Some(info.full_id.as_str()))
            }) else {
                continue;
            };
            let meta: Option<Value> =
                str_at(entry, "metadata").and_then(|m| serde_json::from_str(m).ok());
            if info.name.is_none() {
                info.name = meta
                    .as_ref()
                    .and_then(|m| owned(str_at(m, "name")))
                    .or_else(|| {
                        owned(
                            entry
                                .get("names")
                                .and_then(Value::as_array)
                                .and_then(|n| n.first())
                                .and_then(Value::as_str),
                        )
                    });
            }
            if info.image.is_none() {
                if let Some(img) = meta.as_ref().and_then(|m| str_at(m, "image-name")) {
                    let img = img.to_string();
                    info.set_image(&img);
                }
            }
            if info.image_id.is_none() {
                info.image_id = meta
                    .as_ref()
                    .and_then(|m| str_at(m, "image-id"))
                    .or_else(|| str_at(entry, "image"))
                    .map(|i| i.chars().take(12).collect());
            }
            return;
        }
    }

    fn docker(&self, info: &mut ContainerInfo) -> bool {
        let dir = self
            .host_root
            .join("var/lib/docker/containers")
            .join(&info.full_id);
        let Some(cfg) = read_json(&dir.join("config.v2.json")) else {
            return false;
        };
        info.runtime = RuntimeKind::Docker;
        info.name = str_at(&cfg, "Name").map(|n| n.trim_start_matches('/').to_string());
        let config = cfg.get("Config");
        if let Some(img) = config.and_then(|c| str_at(c, "Image")) {
            info.set_image(img);
        }
        let labels = labels_of(config.and_then(|c| c.get("Labels")));
        if let Some(l) = &labels {
            let get = |k: &str| l.iter().find(|(lk, _)| lk == k).map(|(_, v)| v.clone());
            // Kubernetes through dockershim/cri-dockerd labels its containers.
            if let Some(n) = get("io.kubernetes.container.name") {
                info.name = Some(n);
            }
            info.pod_name = get("io.kubernetes.pod.name");
            info.pod_namespace = get("io.kubernetes.pod.namespace");
            info.pod_uid = get("io.kubernetes.pod.uid");
        }
        info.image_id = str_at(&cfg, "Image").map(|i| {
            let hex = i.strip_prefix("sha256:").unwrap_or(i);
            hex[..hex.len().min(12)].to_string()
        });
        info.mounts = cfg.get("MountPoints").and_then(Value::as_object).map(|m| {
            let mut v: Vec<Mount> = m.values().filter_map(Mount::from_docker).collect();
            v.sort_by(|a, b| a.dest.cmp(&b.dest));
            v
        });
        info.privileged = read_json(&dir.join("hostconfig.json"))
            .and_then(|h| h.get("Privileged").and_then(Value::as_bool));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::TempDir;
    use serde_json::json;

    const ID: &str = "aaaabbbbccccddddeeeeffff00001111222233334444555566667777888899990";

    fn id(n: char) -> String {
        let mut s = ID[..63].to_string();
        s.push(n);
        s
    }

    fn write(path: &Path, v: &Value) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }

    fn cg(full: &str, runtime: RuntimeKind) -> CgroupContainer {
        CgroupContainer {
            full_id: full.to_string(),
            runtime,
        }
    }

    #[test]
    fn splits_image_references() {
        assert_eq!(split_image("nginx:1.25"), ("nginx", Some("1.25")));
        assert_eq!(split_image("nginx"), ("nginx", None));
        assert_eq!(
            split_image("registry:5000/team/app:v2@sha256:abcd"),
            ("registry:5000/team/app", Some("v2"))
        );
        assert_eq!(
            split_image("registry:5000/team/app"),
            ("registry:5000/team/app", None)
        );
        assert_eq!(
            split_image("docker.io/library/busybox@sha256:ff"),
            ("docker.io/library/busybox", None)
        );
    }

    #[test]
    fn containerd_cri_bundle_annotations() {
        let tmp = TempDir::new("rt-containerd");
        let cid = id('1');
        write(
            &tmp.path()
                .join("run/containerd/io.containerd.runtime.v2.task/k8s.io")
                .join(&cid)
                .join("config.json"),
            &json!({
                "ociVersion": "1.1.0",
                "process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"]}},
                "linux": {"maskedPaths": ["/proc/kcore"]},
                "annotations": {
                    "io.kubernetes.cri.container-type": "container",
                    "io.kubernetes.cri.container-name": "web",
                    "io.kubernetes.cri.image-name": "registry.local/shop/web:3.1",
                    "io.kubernetes.cri.sandbox-id": id('9'),
                    "io.kubernetes.cri.sandbox-name": "web-7d4b9c-xz2kq",
                    "io.kubernetes.cri.sandbox-namespace": "shop",
                    "io.kubernetes.cri.sandbox-uid": "0f3b9e5e-1111-2222-3333-444455556666"
                }
            }),
        );
        let mut cache = ContainerCache::new(tmp.path());
        let info = cache.get(&cg(&cid, RuntimeKind::Containerd));
        assert!(info.metadata_found);
        assert_eq!(info.id, &cid[..12]);
        assert_eq!(info.name.as_deref(), Some("web"));
        assert_eq!(info.image.as_deref(), Some("registry.local/shop/web:3.1"));
        assert_eq!(
            info.image_repository.as_deref(),
            Some("registry.local/shop/web")
        );
        assert_eq!(info.image_tag.as_deref(), Some("3.1"));
        assert_eq!(info.pod_name.as_deref(), Some("web-7d4b9c-xz2kq"));
        assert_eq!(info.pod_namespace.as_deref(), Some("shop"));
        assert_eq!(
            info.pod_uid.as_deref(),
            Some("0f3b9e5e-1111-2222-3333-444455556666")
        );
        assert_eq!(info.privileged, Some(false));
        assert_eq!(info.pod_labels, None, "containerd bundles carry no labels");
    }

    #[test]
    fn crio_bundle_with_sandbox_labels_and_privilege() {
        let tmp = TempDir::new("rt-crio");
        let (cid, sid) = (id('2'), id('3'));
        let base = tmp.path().join("run/containers/storage/overlay-containers");
        write(
            &base.join(&sid).join("userdata/config.json"),
            &json!({"annotations": {
                "io.kubernetes.cri-o.ContainerType": "sandbox",
                "io.kubernetes.cri-o.Labels":
                    "{\"app\":\"db\",\"tier\":\"data\",\"io.kubernetes.pod.name\":\"db-0\"}"
            }}),
        );
        write(
            &base.join(&cid).join("userdata/config.json"),
            &json!({
                "process": {"capabilities": {"bounding": ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]}},
                "linux": {},
                "annotations": {
                    "io.kubernetes.cri-o.ContainerName": "k8s_postgres_db-0_data_u1_0",
                    "io.kubernetes.cri-o.ImageName": "quay.io/pg/postgres:16",
                    "io.kubernetes.cri-o.SandboxID": sid,
                    "io.kubernetes.cri-o.Labels": "{\"io.kubernetes.container.name\":\"postgres\",\"io.kubernetes.pod.name\":\"db-0\",\"io.kubernetes.pod.namespace\":\"data\",\"io.kubernetes.pod.uid\":\"u1\"}",
                    "io.kubernetes.pod.name": "db-0"
                }
            }),
        );
        let mut cache = ContainerCache::new(tmp.path());
        let info = cache.get(&cg(&cid, RuntimeKind::Crio));
        assert!(info.metadata_found);
        assert_eq!(info.name.as_deref(), Some("postgres"));
        assert_eq!(info.image_tag.as_deref(), Some("16"));
        assert_eq!(info.pod_name.as_deref(), Some("db-0"));
        assert_eq!(info.pod_namespace.as_deref(), Some("data"));
        assert_eq!(info.pod_uid.as_deref(), Some("u1"));
        assert_eq!(info.privileged, Some(true));
        assert_eq!(
            info.pod_labels,
            Some(vec![
                ("app".to_string(), "db".to_string()),
                ("tier".to_string(), "data".to_string())
            ])
        );
        assert_eq!(info.pod_label("tier"), Some("data"));
    }

    #[test]
    fn docker_config_v2_and_hostconfig() {
        let tmp = TempDir::new("rt-docker");
        let cid = id('4');
        let dir = tmp.path().join("var/lib/docker/containers").join(&cid);
        write(
            &dir.join("config.v2.json"),
            &json!({"ID": cid, "Name": "/thirsty_hopper",
                    "Config": {"Image": "nginx:1.25", "Labels": {"maintainer": "x"}}}),
        );
        write(&dir.join("hostconfig.json"), &json!({"Privileged": true}));
        let mut cache = ContainerCache::new(tmp.path());
        let info = cache.get(&cg(&cid, RuntimeKind::Docker));
        assert_eq!(info.runtime, RuntimeKind::Docker);
        assert_eq!(info.name.as_deref(), Some("thirsty_hopper"));
        assert_eq!(info.image_repository.as_deref(), Some("nginx"));
        assert_eq!(info.privileged, Some(true));
        assert_eq!(info.pod_name, None);
    }

    #[test]
    fn podman_name_and_image_come_from_the_storage_container_list() {
        // What podman 4.3 writes: its bundle has libpod's annotations but
        // no name or image; containers/storage's list has both.
        let tmp = TempDir::new("rt-podman");
        let (cid, other) = (id('6'), id('7'));
        let base = tmp
            .path()
            .join("var/lib/containers/storage/overlay-containers");
        write(
            &base.join(&cid).join("userdata/config.json"),
            &json!({"annotations": {
                "io.container.manager": "libpod",
                "io.podman.annotations.privileged": "FALSE",
                "org.opencontainers.image.stopSignal": "15"
            }}),
        );
        write(
            &base.join("containers.json"),
            &json!([
                {"id": other, "names": ["other"], "metadata": "{\"image-name\":\"x:1\"}"},
                {"id": cid, "names": ["kt-podman"], "image": "f00dfeed0123456789",
                 "metadata": "{\"image-name\":\"localhost/kestrel-test:1\",\"image-id\":\"0123456789abcdef\",\"name\":\"kt-podman\",\"created-at\":1}"}
            ]),
        );
        let mut cache = ContainerCache::new(tmp.path());
        let info = cache.get(&cg(&cid, RuntimeKind::Podman));
        assert!(info.metadata_found);
        assert_eq!(info.runtime, RuntimeKind::Podman);
        assert_eq!(info.name.as_deref(), Some("kt-podman"));
        assert_eq!(info.image.as_deref(), Some("localhost/kestrel-test:1"));
        assert_eq!(
            info.image_repository.as_deref(),
            Some("localhost/kestrel-test")
        );
        assert_eq!(info.image_tag.as_deref(), Some("1"));
        assert_eq!(info.image_id.as_deref(), Some("0123456789ab"));
        // a container missing from the list keeps what the bundle said
        write(
            &base.join(&other).join("userdata/config.json"),
            &json!({"annotations": {"io.container.manager": "libpod"}}),
        );
        let gone = id('8');
        write(
            &base.join(&gone).join("userdata/config.json"),
            &json!({"annotations": {"io.container.manager": "libpod"}}),
        );
        let info = cache.get(&cg(&gone, RuntimeKind::Podman));
        assert!(info.metadata_found);
        assert_eq!((info.name.as_deref(), info.image.as_deref()), (None, None));
    }

    #[test]
    fn plain_containerd_image_and_name_come_from_the_metadata_store() {
        use super::bolt::tests::{kv, val, Builder, Item};
        let tmp = TempDir::new("rt-ctr");
        let (cid, nerd) = (id('9'), id('a'));
        let tasks = tmp
            .path()
            .join("run/containerd/io.containerd.runtime.v2.task/default");
        for c in [&cid, &nerd] {
            write(&tasks.join(c).join("config.json"), &json!({"process": {}}));
        }
        let db = Builder::new().build(
            vec![kv(
                "v1",
                Item::Paged(vec![kv(
                    "default",
                    Item::Paged(vec![kv(
                        "containers",
                        Item::Paged(vec![
                            kv(
                                &cid,
                                Item::Inline(vec![
                                    kv("image", val("docker.io/library/kestrel-test:1")),
                                    kv("snapshotter", val("overlayfs")),
                                ]),
                            ),
                            kv(
                                &nerd,
                                Item::Inline(vec![
                                    kv("image", val("docker.io/library/nginx:1.25")),
                                    kv(
                                        "labels",
                                        Item::Inline(vec![kv("nerdctl/name", val("web"))]),
                                    ),
                                ]),
                            ),
                        ]),
                    )]),
                )]),
            )],
            3,
        );
        let path = tmp
            .path()
            .join("var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, db).unwrap();
        let mut cache = ContainerCache::new(tmp.path());
        let info = cache.get(&cg(&cid, RuntimeKind::Containerd));
        assert!(info.metadata_found);
        assert_eq!(
            info.image.as_deref(),
            Some("docker.io/library/kestrel-test:1")
        );
        assert_eq!(
            info.image_repository.as_deref(),
            Some("docker.io/library/kestrel-test")
        );
        // ctr records no name but the id it was given
        assert_eq!(info.name.as_deref(), Some(cid.as_str()));
        let info = cache.get(&cg(&nerd, RuntimeKind::Containerd));
        assert_eq!(info.name.as_deref(), Some("web"));
        assert_eq!(info.image_tag.as_deref(), Some("1.25"));
        // an id the store does not have: neither name nor image is made up
        let stray = id('b');
        write(
            &tasks.join(&stray).join("config.json"),
            &json!({"process": {}}),
        );
        let info = cache.get(&cg(&stray, RuntimeKind::Containerd));
        assert_eq!((info.name.as_deref(), info.image.as_deref()), (None, None));
    }

    #[test]
    fn unknown_ids_are_cached_once_and_keep_their_id() {
        let tmp = TempDir::new("rt-none");
        let cid = id('5');
        let mut cache = ContainerCache::new(tmp.path());
        let a = cache.get(&cg(&cid, RuntimeKind::Unknown));
        assert!(!a.metadata_found);
        assert_eq!(a.id, &cid[..12]);
        assert_eq!(a.image, None);
        // State appearing later is not looked for again on the hot path.
        write(
            &tmp.path()
                .join("var/lib/docker/containers")
                .join(&cid)
                .join("config.v2.json"),
            &json!({"Name": "/late"}),
        );
        let b = cache.get(&cg(&cid, RuntimeKind::Unknown));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(cache.disk_lookups, 1);
        assert_eq!(cache.found, 0);
        assert!(cache.cached(&cid[..12]).is_some());
    }

    #[test]
    fn malformed_state_is_not_fatal() {
        let tmp = TempDir::new("rt-bad");
        let cid = id('6');
        let p = tmp
            .path()
            .join("var/lib/docker/containers")
            .join(&cid)
            .join("config.v2.json");
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b"{not json").unwrap();
        let mut cache = ContainerCache::new(tmp.path());
        let info = cache.get(&cg(&cid, RuntimeKind::Docker));
        assert!(!info.metadata_found);
    }
}
