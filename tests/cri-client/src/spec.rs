//! The pod to run, read from Kubernetes YAML as `helm template` renders it.
//!
//! Only what the kubelet turns into CRI calls for the node test is read:
//! the pod template of the first DaemonSet, Deployment or Pod in the file,
//! and the ConfigMaps its volumes name.  Anything the kubelet would need and
//! this client cannot do (a volume type it does not know, an env value from
//! a reference) is an error that names it, never silently dropped.

use serde_yaml::Value;
use std::collections::BTreeMap;

/// A volume as the kubelet would mount it on the node.
#[derive(Debug, Clone, PartialEq)]
pub enum Volume {
    /// `hostPath`: the node's path.
    HostPath(String),
    /// `configMap`: the ConfigMap's keys, written as files.
    ConfigMap(BTreeMap<String, String>),
    /// `emptyDir`: a fresh directory.
    EmptyDir,
}

/// A container's `volumeMounts` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeMount {
    /// The volume's name.
    pub volume: String,
    /// Where it appears in the container.
    pub mount_path: String,
    /// `readOnly`.
    pub read_only: bool,
}

/// An HTTP probe (`readinessProbe.httpGet`), its port resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpProbe {
    /// Request path.
    pub path: String,
    /// TCP port.
    pub port: u16,
}

/// One container of the pod (init or main).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Container {
    /// `name`.
    pub name: String,
    /// `image`.
    pub image: String,
    /// `command` (the image's entrypoint when empty).
    pub command: Vec<String>,
    /// `args`.
    pub args: Vec<String>,
    /// `env` (name, value).
    pub env: Vec<(String, String)>,
    /// `securityContext.privileged`.
    pub privileged: bool,
    /// `securityContext.readOnlyRootFilesystem`.
    pub read_only_root: bool,
    /// `volumeMounts`.
    pub mounts: Vec<VolumeMount>,
    /// `readinessProbe.httpGet`, if any.
    pub readiness: Option<HttpProbe>,
    /// `resources.requests` (cpu in millicores, memory in bytes).
    pub requests: Resources,
    /// `resources.limits`.
    pub limits: Resources,
}

/// CPU (millicores) and memory (bytes) amounts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Resources {
    /// Millicores.
    pub cpu_milli: Option<u64>,
    /// Bytes.
    pub memory: Option<u64>,
}

/// The pod: metadata and spec.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pod {
    /// The controller's name (DaemonSet) or the pod's (Pod).
    pub name: String,
    /// Whether `name` is a controller's, so the pod name gets a suffix.
    pub from_controller: bool,
    /// `metadata.namespace` (`default` if absent).
    pub namespace: String,
    /// The pod template's labels.
    pub labels: BTreeMap<String, String>,
    /// The pod template's annotations.
    pub annotations: BTreeMap<String, String>,
    /// `hostPID`.
    pub host_pid: bool,
    /// `hostIPC`.
    pub host_ipc: bool,
    /// `hostNetwork`.
    pub host_network: bool,
    /// `initContainers`, in order.
    pub init_containers: Vec<Container>,
    /// `containers`.
    pub containers: Vec<Container>,
    /// `volumes` by name.
    pub volumes: BTreeMap<String, Volume>,
}

impl Pod {
    /// The QoS class the kubelet gives the pod: `guaranteed` when every
    /// container's cpu and memory limits equal their requests, `besteffort`
    /// when no container asks for anything, else `burstable`.
    pub fn qos_class(&self) -> &'static str {
        let all: Vec<&Container> = self
            .init_containers
            .iter()
            .chain(&self.containers)
            .collect();
        let none = all
            .iter()
            .all(|c| c.requests == Resources::default() && c.limits == Resources::default());
        if none {
            return "besteffort";
        }
        let guaranteed = all.iter().all(|c| {
            let req = |r: Option<u64>, l: Option<u64>| r.or(l);
            c.limits.cpu_milli.is_some()
                && c.limits.memory.is_some()
                && req(c.requests.cpu_milli, c.limits.cpu_milli) == c.limits.cpu_milli
                && req(c.requests.memory, c.limits.memory) == c.limits.memory
        });
        if guaranteed {
            "guaranteed"
        } else {
            "burstable"
        }
    }
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn string_map(v: Option<&Value>, what: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let Some(v) = v else { return Ok(out) };
    if v.is_null() {
        return Ok(out);
    }
    let m = v
        .as_mapping()
        .ok_or_else(|| format!("{what}: not a mapping"))?;
    for (k, val) in m {
        let k = s(k).ok_or_else(|| format!("{what}: a key is not a string"))?;
        let val = s(val).ok_or_else(|| format!("{what}.{k}: not a scalar"))?;
        out.insert(k, val);
    }
    Ok(out)
}

fn strings(v: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| s(x).ok_or_else(|| format!("{what}[{i}]: not a scalar")))
            .collect(),
        Some(_) => Err(format!("{what}: not a list")),
    }
}

fn flag(v: Option<&Value>, what: &str) -> Result<bool, String> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{what}: not true or false")),
    }
}

/// A CPU quantity (`100m`, `1`, `0.5`) in millicores.
pub fn parse_cpu(q: &str) -> Result<u64, String> {
    let bad = || format!("cpu quantity {q:?} is not understood");
    if let Some(m) = q.strip_suffix('m') {
        return m.parse().map_err(|_| bad());
    }
    let f: f64 = q.parse().map_err(|_| bad())?;
    if !(0.0..1e9).contains(&f) {
        return Err(bad());
    }
    Ok((f * 1000.0).round() as u64)
}

/// A memory quantity (`256Mi`, `1Gi`, `500M`, `1000`) in bytes.
pub fn parse_memory(q: &str) -> Result<u64, String> {
    let bad = || format!("memory quantity {q:?} is not understood");
    const UNITS: [(&str, u64); 8] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    let (num, mult) = UNITS
        .iter()
        .find_map(|(u, m)| q.strip_suffix(u).map(|n| (n, *m)))
        .unwrap_or((q, 1));
    let n: u64 = num.parse().map_err(|_| bad())?;
    n.checked_mul(mult).ok_or_else(bad)
}

fn resources(v: Option<&Value>, what: &str) -> Result<Resources, String> {
    let m = string_map(v, what)?;
    Ok(Resources {
        cpu_milli: m.get("cpu").map(|q| parse_cpu(q)).transpose()?,
        memory: m.get("memory").map(|q| parse_memory(q)).transpose()?,
    })
}

fn container(v: &Value, what: &str) -> Result<Container, String> {
    let name = get(v, &["name"])
        .and_then(s)
        .ok_or_else(|| format!("{what}: no name"))?;
    let what = format!("{what} {name}");
    let image = get(v, &["image"])
        .and_then(s)
        .ok_or_else(|| format!("{what}: no image"))?;
    let mut env = Vec::new();
    if let Some(list) = get(v, &["env"]).and_then(Value::as_sequence) {
        for e in list {
            let n = get(e, &["name"])
                .and_then(s)
                .ok_or_else(|| format!("{what}: an env entry has no name"))?;
            if e.get("valueFrom").is_some() {
                return Err(format!(
                    "{what}: env {n} uses valueFrom, which this client does not resolve"
                ));
            }
            env.push((n, get(e, &["value"]).and_then(s).unwrap_or_default()));
        }
    }
    let mut mounts = Vec::new();
    if let Some(list) = get(v, &["volumeMounts"]).and_then(Value::as_sequence) {
        for m in list {
            mounts.push(VolumeMount {
                volume: get(m, &["name"])
                    .and_then(s)
                    .ok_or_else(|| format!("{what}: a volumeMount has no name"))?,
                mount_path: get(m, &["mountPath"])
                    .and_then(s)
                    .ok_or_else(|| format!("{what}: a volumeMount has no mountPath"))?,
                read_only: flag(m.get("readOnly"), &format!("{what}: readOnly"))?,
            });
        }
    }
    let mut ports = BTreeMap::new();
    if let Some(list) = get(v, &["ports"]).and_then(Value::as_sequence) {
        for p in list {
            if let (Some(n), Some(port)) = (
                get(p, &["name"]).and_then(s),
                get(p, &["containerPort"]).and_then(Value::as_u64),
            ) {
                ports.insert(n, port);
            }
        }
    }
    let readiness = match get(v, &["readinessProbe", "httpGet"]) {
        None => None,
        Some(h) => {
            let port = match h.get("port") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(p)) => ports.get(p).copied(),
                _ => None,
            }
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("{what}: readinessProbe.httpGet.port is not a known port"))?;
            Some(HttpProbe {
                path: get(h, &["path"]).and_then(s).unwrap_or_else(|| "/".into()),
                port,
            })
        }
    };
    Ok(Container {
        command: strings(v.get("command"), &format!("{what}: command"))?,
        args: strings(v.get("args"), &format!("{what}: args"))?,
        env,
        privileged: flag(
            get(v, &["securityContext", "privileged"]),
            &format!("{what}: privileged"),
        )?,
        read_only_root: flag(
            get(v, &["securityContext", "readOnlyRootFilesystem"]),
            &format!("{what}: readOnlyRootFilesystem"),
        )?,
        mounts,
        readiness,
        requests: resources(
            get(v, &["resources", "requests"]),
            &format!("{what}: requests"),
        )?,
        limits: resources(get(v, &["resources", "limits"]), &format!("{what}: limits"))?,
        name,
        image,
    })
}

/// Reads the pod of the first DaemonSet, Deployment or Pod among the YAML
/// documents in `text`, with the ConfigMaps (of its namespace) its volumes
/// name.
pub fn parse(text: &str) -> Result<Pod, String> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for (i, d) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(d).map_err(|e| format!("document {}: {e}", i + 1))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    let kind = |v: &Value| get(v, &["kind"]).and_then(s).unwrap_or_default();
    let top = docs
        .iter()
        .find(|d| matches!(kind(d).as_str(), "DaemonSet" | "Deployment" | "Pod"))
        .ok_or("no DaemonSet, Deployment or Pod in the input")?;
    let is_pod = kind(top) == "Pod";
    let name = get(top, &["metadata", "name"])
        .and_then(s)
        .ok_or("the workload has no metadata.name")?;
    let namespace = get(top, &["metadata", "namespace"])
        .and_then(s)
        .unwrap_or_else(|| "default".into());
    let (meta, spec) = if is_pod {
        (top.get("metadata"), top.get("spec"))
    } else {
        (
            get(top, &["spec", "template", "metadata"]),
            get(top, &["spec", "template", "spec"]),
        )
    };
    let spec = spec.ok_or_else(|| format!("{name}: no pod spec"))?;
    let mut pod = Pod {
        from_controller: !is_pod,
        labels: string_map(meta.and_then(|m| m.get("labels")), "labels")?,
        annotations: string_map(meta.and_then(|m| m.get("annotations")), "annotations")?,
        host_pid: flag(spec.get("hostPID"), "hostPID")?,
        host_ipc: flag(spec.get("hostIPC"), "hostIPC")?,
        host_network: flag(spec.get("hostNetwork"), "hostNetwork")?,
        ..Pod::default()
    };
    for (key, out) in [
        ("initContainers", &mut pod.init_containers),
        ("containers", &mut pod.containers),
    ] {
        if let Some(list) = spec.get(key).and_then(Value::as_sequence) {
            for (i, c) in list.iter().enumerate() {
                out.push(container(c, &format!("{key}[{i}]"))?);
            }
        }
    }
    if pod.containers.is_empty() {
        return Err(format!("{name}: the pod has no containers"));
    }
    let config_map = |cm: &str| -> Result<BTreeMap<String, String>, String> {
        let d = docs
            .iter()
            .find(|d| {
                kind(d) == "ConfigMap"
                    && get(d, &["metadata", "name"]).and_then(s).as_deref() == Some(cm)
                    && get(d, &["metadata", "namespace"])
                        .and_then(s)
                        .unwrap_or_else(|| "default".into())
                        == namespace
            })
            .ok_or_else(|| format!("ConfigMap {namespace}/{cm} is not in the input"))?;
        string_map(d.get("data"), &format!("ConfigMap {cm}: data"))
    };
    if let Some(list) = spec.get("volumes").and_then(Value::as_sequence) {
        for v in list {
            let vname = get(v, &["name"])
                .and_then(s)
                .ok_or("a volume has no name")?;
            let vol = if let Some(p) = get(v, &["hostPath", "path"]).and_then(s) {
                Volume::HostPath(p)
            } else if let Some(cm) = get(v, &["configMap", "name"]).and_then(s) {
                Volume::ConfigMap(config_map(&cm)?)
            } else if v.get("emptyDir").is_some() {
                Volume::EmptyDir
            } else {
                return Err(format!("volume {vname}: a type this client does not mount"));
            };
            pod.volumes.insert(vname, vol);
        }
    }
    for c in pod.init_containers.iter().chain(&pod.containers) {
        for m in &c.mounts {
            if !pod.volumes.contains_key(&m.volume) {
                return Err(format!(
                    "container {}: volumeMount {} names no volume",
                    c.name, m.volume
                ));
            }
        }
    }
    pod.name = name;
    pod.namespace = namespace;
    Ok(pod)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DS: &str = r#"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf, namespace: sec}
data:
  a.yaml: "x: 1"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf, namespace: other}
data:
  wrong.yaml: "x: 2"
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: sec}
spec:
  template:
    metadata:
      labels: {app: agent}
      annotations: {checksum/config: abc}
    spec:
      hostPID: true
      initContainers:
        - name: loader
          image: localhost/agent:1
          command: [/usr/bin/load, --x]
          securityContext: {privileged: true}
          volumeMounts: [{name: mods, mountPath: /host/lib/modules, readOnly: true}]
      containers:
        - name: main
          image: localhost/agent:1
          args: [run]
          env: [{name: A, value: "1"}]
          ports: [{name: http, containerPort: 8765}]
          readinessProbe: {httpGet: {path: /healthz, port: http}}
          resources:
            requests: {cpu: 100m, memory: 256Mi}
            limits: {cpu: "1", memory: 1Gi}
          volumeMounts:
            - {name: conf, mountPath: /etc/agent, readOnly: true}
            - {name: scratch, mountPath: /tmp/x}
      volumes:
        - {name: mods, hostPath: {path: /lib/modules}}
        - {name: conf, configMap: {name: conf}}
        - {name: scratch, emptyDir: {}}
"#;

    #[test]
    fn reads_a_daemonset_pod_template() {
        let p = parse(DS).unwrap();
        assert_eq!(p.name, "agent");
        assert!(p.from_controller);
        assert_eq!(p.namespace, "sec");
        assert!(p.host_pid && !p.host_network && !p.host_ipc);
        assert_eq!(p.labels.get("app").map(String::as_str), Some("agent"));
        assert_eq!(p.init_containers.len(), 1);
        assert!(p.init_containers[0].privileged);
        assert_eq!(p.init_containers[0].command, ["/usr/bin/load", "--x"]);
        let main = &p.containers[0];
        assert_eq!(main.args, ["run"]);
        assert_eq!(main.env, [("A".to_string(), "1".to_string())]);
        assert_eq!(
            main.readiness,
            Some(HttpProbe {
                path: "/healthz".into(),
                port: 8765
            })
        );
        assert_eq!(main.requests.cpu_milli, Some(100));
        assert_eq!(main.limits.memory, Some(1 << 30));
        assert_eq!(p.volumes["mods"], Volume::HostPath("/lib/modules".into()));
        // the ConfigMap of the pod's namespace, not the other one
        match &p.volumes["conf"] {
            Volume::ConfigMap(d) => assert_eq!(d.keys().collect::<Vec<_>>(), ["a.yaml"]),
            v => panic!("conf is {v:?}"),
        }
        assert_eq!(p.volumes["scratch"], Volume::EmptyDir);
        assert_eq!(p.qos_class(), "burstable");
    }

    #[test]
    fn reads_a_bare_pod_and_its_qos() {
        let p = parse(
            "kind: Pod\nmetadata: {name: shell, namespace: shop, labels: {app: shop}}\n\
             spec: {containers: [{name: sh, image: localhost/shell:1, command: [sleep, '3600']}]}\n",
        )
        .unwrap();
        assert!(!p.from_controller);
        assert_eq!((p.name.as_str(), p.namespace.as_str()), ("shell", "shop"));
        assert_eq!(p.labels["app"], "shop");
        assert_eq!(p.qos_class(), "besteffort");
    }

    #[test]
    fn refuses_what_it_cannot_do_faithfully() {
        let with = |extra: &str| {
            parse(&format!(
                "kind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: c, image: i{extra}}}]\n"
            ))
        };
        let e = with(", env: [{name: N, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]")
            .unwrap_err();
        assert!(e.contains("valueFrom"), "{e}");
        let e = with(", volumeMounts: [{name: nope, mountPath: /x}]").unwrap_err();
        assert!(e.contains("names no volume"), "{e}");
        assert!(parse("kind: Service\nmetadata: {name: s}\n").is_err());
        let e = parse(
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n  volumes: [{name: v, configMap: {name: missing}}]\n",
        )
        .unwrap_err();
        assert!(e.contains("ConfigMap default/missing"), "{e}");
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_cpu("100m"), Ok(100));
        assert_eq!(parse_cpu("1"), Ok(1000));
        assert_eq!(parse_cpu("0.5"), Ok(500));
        assert!(parse_cpu("lots").is_err());
        assert_eq!(parse_memory("256Mi"), Ok(256 << 20));
        assert_eq!(parse_memory("1G"), Ok(1_000_000_000));
        assert_eq!(parse_memory("4096"), Ok(4096));
        assert!(parse_memory("99999999999Ti").is_err());
    }
}
