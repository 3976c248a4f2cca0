//! `kestrel-cri-client`: a tiny kubelet stand-in for Kestrel's node test.
//!
//! It drives containerd's CRI plugin (runtime.v1 over the containerd
//! socket) the way the kubelet does for one pod, so that the containers
//! carry exactly the metadata a real kubelet causes (sandbox and container
//! annotations, labels, log paths, the kubepods cgroup):
//!
//! ```text
//! kestrel-cri-client version
//! kestrel-cri-client run MANIFEST [--ready-timeout S] [--init-timeout S]
//! kestrel-cri-client exec CONTAINER_ID [--timeout S] -- CMD [ARG...]
//! kestrel-cri-client rm POD_ID [--grace S]
//! ```
//!
//! `run` reads Kubernetes YAML (`helm template` output, or a Pod): the
//! first DaemonSet/Deployment/Pod's pod template and the ConfigMaps it
//! mounts.  It runs the sandbox (`RunPodSandbox`: name, namespace, uid,
//! labels, annotations, the QoS cgroup parent of the systemd driver,
//! privileged and host-PID options), then each init container to a zero
//! exit, then the containers, and waits until each readiness `httpGet`
//! probe answers 200.  It prints `POD_ID=`, `POD_NAME=`, `POD_UID=`, and
//! for each container `CONTAINER_<NAME>=` and `LOG_<NAME>=` (for `eval`).
//!
//! Differences from a kubelet, all stated: the sandbox always uses the
//! node's network (no CNI on the test node), so the probe is sent to
//! 127.0.0.1; ConfigMaps are written as plain files (no `..data` symlink
//! swap); images must already be in containerd's `k8s.io` namespace (no
//! registry is reachable, so nothing is pulled).
//!
//! The socket is `$CONTAINER_RUNTIME_ENDPOINT` (a path, or `unix://path`)
//! or `/run/containerd/containerd.sock`.

mod spec;

use hyper_util::rt::TokioIo;
use k8s_cri::v1 as cri;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint, Uri};

/// Where `run` keeps each pod's ConfigMap and emptyDir volumes (the
/// kubelet's `/var/lib/kubelet/pods/<uid>/volumes`).
const POD_DIR: &str = "/var/lib/kestrel-cri-client/pods";

type Client = RuntimeServiceClient<Channel>;

fn socket_path() -> String {
    let ep = std::env::var("CONTAINER_RUNTIME_ENDPOINT")
        .unwrap_or_else(|_| "/run/containerd/containerd.sock".into());
    ep.strip_prefix("unix://").unwrap_or(&ep).to_string()
}

async fn connect() -> Result<Client, String> {
    Ok(RuntimeServiceClient::new(channel().await?))
}

/// One connection to the socket; the runtime and image services share it.
async fn channel() -> Result<Channel, String> {
    let path = socket_path();
    let p = path.clone();
    let channel = Endpoint::try_from("http://[::]:0")
        .map_err(|e| e.to_string())?
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let p = p.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(p).await?))
            }
        }))
        .await
        .map_err(|e| format!("{path}: cannot connect: {e}"))?;
    Ok(channel)
}

fn status_err(what: &str, s: tonic::Status) -> String {
    format!("{what}: {} ({:?})", s.message(), s.code())
}

fn uuid() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("/proc/sys/kernel/random/uuid: {e}"))
}

/// The kubelet's systemd-driver cgroup parent for a pod of `qos`:
/// `kubepods-<qos>-pod<uid, dashes as underscores>.slice` (guaranteed
/// pods sit directly under `kubepods.slice`).
fn cgroup_parent(qos: &str, uid: &str) -> String {
    let uid = uid.replace('-', "_");
    match qos {
        "guaranteed" => format!("kubepods-pod{uid}.slice"),
        q => format!("kubepods-{q}-pod{uid}.slice"),
    }
}

fn mode(host: bool) -> i32 {
    if host {
        cri::NamespaceMode::Node as i32
    } else {
        cri::NamespaceMode::Pod as i32
    }
}

fn env_name(container: &str) -> String {
    container
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the pod's ConfigMap and emptyDir volumes under `dir` and returns
/// every volume's host path.  A mount point nested inside another volume
/// (a ConfigMap at /etc/x and another at /etc/x/y) is made in the outer
/// volume's directory, since the runtime cannot make it in a read-only
/// mount.
fn materialize(pod: &spec::Pod, dir: &Path) -> Result<HashMap<String, PathBuf>, String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let mut paths = HashMap::new();
    for (name, vol) in &pod.volumes {
        let p = match vol {
            spec::Volume::HostPath(h) => PathBuf::from(h),
            spec::Volume::ConfigMap(data) => {
                let d = dir.join("configmap").join(name);
                std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
                for (k, v) in data {
                    if k.contains('/') || k == ".." || k == "." {
                        return Err(format!("volume {name}: key {k:?} is not a file name"));
                    }
                    std::fs::write(d.join(k), v).map_err(|e| io(&d.join(k), e))?;
                }
                d
            }
            spec::Volume::EmptyDir => {
                let d = dir.join("empty-dir").join(name);
                std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
                d
            }
        };
        paths.insert(name.clone(), p);
    }
    for c in pod.init_containers.iter().chain(&pod.containers) {
        for inner in &c.mounts {
            for outer in &c.mounts {
                let Ok(rest) = Path::new(&inner.mount_path).strip_prefix(&outer.mount_path) else {
                    continue;
                };
                if rest.as_os_str().is_empty()
                    || matches!(pod.volumes[&outer.volume], spec::Volume::HostPath(_))
                {
                    continue;
                }
                let d = paths[&outer.volume].join(rest);
                std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
            }
        }
    }
    Ok(paths)
}

fn container_config(
    pod: &spec::Pod,
    uid: &str,
    pod_name: &str,
    c: &spec::Container,
    image_id: &str,
    volumes: &HashMap<String, PathBuf>,
) -> cri::ContainerConfig {
    let mut labels = HashMap::new();
    labels.insert("io.kubernetes.container.name".into(), c.name.clone());
    labels.insert("io.kubernetes.pod.name".into(), pod_name.to_string());
    labels.insert("io.kubernetes.pod.namespace".into(), pod.namespace.clone());
    labels.insert("io.kubernetes.pod.uid".into(), uid.to_string());
    let mut annotations = HashMap::new();
    annotations.insert("io.kubernetes.container.restartCount".into(), "0".into());
    annotations.insert(
        "io.kubernetes.container.terminationMessagePath".into(),
        "/dev/termination-log".into(),
    );
    let cpu_quota = c.limits.cpu_milli.map_or(0, |m| m as i64 * 100);
    let cpu_shares = c
        .requests
        .cpu_milli
        .or(c.limits.cpu_milli)
        .map_or(2, |m| (m as i64 * 1024 / 1000).max(2));
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: c.name.clone(),
            attempt: 0,
        }),
        image: Some(cri::ImageSpec {
            image: image_id.to_string(),
            user_specified_image: c.image.clone(),
            ..Default::default()
        }),
        command: c.command.clone(),
        args: c.args.clone(),
        envs: c
            .env
            .iter()
            .map(|(k, v)| cri::KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        mounts: c
            .mounts
            .iter()
            .map(|m| cri::Mount {
                container_path: m.mount_path.clone(),
                host_path: volumes[&m.volume].display().to_string(),
                readonly: m.read_only,
                ..Default::default()
            })
            .collect(),
        labels,
        annotations,
        log_path: format!("{}/0.log", c.name),
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(cri::LinuxContainerResources {
                cpu_period: if cpu_quota > 0 { 100_000 } else { 0 },
                cpu_quota,
                cpu_shares,
                memory_limit_in_bytes: c.limits.memory.map_or(0, |m| m as i64),
                ..Default::default()
            }),
            security_context: Some(cri::LinuxContainerSecurityContext {
                privileged: c.privileged,
                readonly_rootfs: c.read_only_root,
                namespace_options: Some(cri::NamespaceOption {
                    network: mode(true),
                    pid: mode(pod.host_pid),
                    ipc: mode(pod.host_ipc),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

/// The image's id (`sha256:...`), which the kubelet passes to
/// CreateContainer after it made sure the image is there.
async fn image_id(channel: &Channel, image: &str) -> Result<String, String> {
    let mut images = k8s_cri::v1::image_service_client::ImageServiceClient::new(channel.clone());
    let st = images
        .image_status(cri::ImageStatusRequest {
            image: Some(cri::ImageSpec {
                image: image.to_string(),
                ..Default::default()
            }),
            verbose: false,
        })
        .await
        .map_err(|s| status_err(&format!("ImageStatus {image}"), s))?
        .into_inner();
    st.image.map(|i| i.id).ok_or_else(|| {
        format!("image {image} is not in containerd's k8s.io namespace (import it with `ctr -n k8s.io images import`)")
    })
}

async fn container_status(client: &mut Client, id: &str) -> Result<cri::ContainerStatus, String> {
    client
        .container_status(cri::ContainerStatusRequest {
            container_id: id.to_string(),
            verbose: false,
        })
        .await
        .map_err(|s| status_err(&format!("ContainerStatus {id}"), s))?
        .into_inner()
        .status
        .ok_or_else(|| format!("ContainerStatus {id}: no status"))
}

fn tail(path: &str, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One GET of `http://127.0.0.1:port/path`: whether it answered 200.
fn probe(p: &spec::HttpProbe) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], p.port)),
        Duration::from_secs(2),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(s, "GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", p.path).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// What creating a container of a running pod needs.
struct PodCtx<'a> {
    pod: &'a spec::Pod,
    uid: &'a str,
    pod_name: &'a str,
    pod_id: &'a str,
    sandbox: &'a cri::PodSandboxConfig,
    volumes: &'a HashMap<String, PathBuf>,
    channel: &'a Channel,
}

/// CreateContainer + StartContainer of `c` in the pod; prints
/// `CONTAINER_<NAME>=<id>` and returns the id.
async fn start(
    client: &mut Client,
    ctx: &PodCtx<'_>,
    c: &spec::Container,
) -> Result<String, String> {
    let image = image_id(ctx.channel, &c.image).await?;
    let config = container_config(ctx.pod, ctx.uid, ctx.pod_name, c, &image, ctx.volumes);
    let id = client
        .create_container(cri::CreateContainerRequest {
            pod_sandbox_id: ctx.pod_id.to_string(),
            config: Some(config),
            sandbox_config: Some(ctx.sandbox.clone()),
        })
        .await
        .map_err(|s| status_err(&format!("CreateContainer {}", c.name), s))?
        .into_inner()
        .container_id;
    client
        .start_container(cri::StartContainerRequest {
            container_id: id.clone(),
        })
        .await
        .map_err(|s| status_err(&format!("StartContainer {}", c.name), s))?;
    println!("CONTAINER_{}={id}", env_name(&c.name));
    Ok(id)
}

async fn run(manifest: &str, init_timeout: u64, ready_timeout: u64) -> Result<(), String> {
    let text = std::fs::read_to_string(manifest).map_err(|e| format!("{manifest}: {e}"))?;
    let pod = spec::parse(&text).map_err(|e| format!("{manifest}: {e}"))?;
    let uid = uuid()?;
    let pod_name = if pod.from_controller {
        // a DaemonSet's pods are <name>-<5 characters>
        format!("{}-{}", pod.name, &uid.replace('-', "")[..5])
    } else {
        pod.name.clone()
    };
    let dir = Path::new(POD_DIR).join(&uid);
    let volumes = materialize(&pod, &dir.join("volumes"))?;
    let channel = channel().await?;
    let mut client = RuntimeServiceClient::new(channel.clone());

    let mut labels: HashMap<String, String> = pod.labels.clone().into_iter().collect();
    labels.insert("io.kubernetes.pod.name".into(), pod_name.clone());
    labels.insert("io.kubernetes.pod.namespace".into(), pod.namespace.clone());
    labels.insert("io.kubernetes.pod.uid".into(), uid.clone());
    let mut annotations: HashMap<String, String> = pod.annotations.clone().into_iter().collect();
    annotations.insert("kubernetes.io/config.source".into(), "api".into());
    let privileged = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .any(|c| c.privileged);
    let log_dir = format!("/var/log/pods/{}_{}_{}", pod.namespace, pod_name, uid);
    let sandbox = cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: pod_name.clone(),
            uid: uid.clone(),
            namespace: pod.namespace.clone(),
            attempt: 0,
        }),
        // host network: the kubelet leaves the hostname empty
        hostname: String::new(),
        log_directory: log_dir.clone(),
        labels,
        annotations,
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent(pod.qos_class(), &uid),
            security_context: Some(cri::LinuxSandboxSecurityContext {
                privileged,
                namespace_options: Some(cri::NamespaceOption {
                    network: mode(true),
                    pid: mode(pod.host_pid),
                    ipc: mode(pod.host_ipc),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let t0 = Instant::now();
    let pod_id = client
        .run_pod_sandbox(cri::RunPodSandboxRequest {
            config: Some(sandbox.clone()),
            runtime_handler: String::new(),
        })
        .await
        .map_err(|s| status_err(&format!("RunPodSandbox {}/{pod_name}", pod.namespace), s))?
        .into_inner()
        .pod_sandbox_id;
    println!("POD_ID={pod_id}");
    println!("POD_NAME={pod_name}");
    println!("POD_NAMESPACE={}", pod.namespace);
    println!("POD_UID={uid}");
    eprintln!(
        "cri-client: pod {}/{pod_name} sandbox {} in {:.1}s",
        pod.namespace,
        &pod_id[..12.min(pod_id.len())],
        t0.elapsed().as_secs_f64()
    );

    let ctx = PodCtx {
        pod: &pod,
        uid: &uid,
        pod_name: &pod_name,
        pod_id: &pod_id,
        sandbox: &sandbox,
        volumes: &volumes,
        channel: &channel,
    };
    for c in &pod.init_containers {
        let t = Instant::now();
        let id = start(&mut client, &ctx, c).await?;
        let log = format!("{log_dir}/{}/0.log", c.name);
        println!("LOG_{}={log}", env_name(&c.name));
        loop {
            let st = container_status(&mut client, &id).await?;
            if st.state == cri::ContainerState::ContainerExited as i32 {
                if st.exit_code != 0 {
                    return Err(format!(
                        "init container {} exited with {} ({}); its log ({log}) ends:\n{}",
                        c.name,
                        st.exit_code,
                        st.reason,
                        tail(&log, 30)
                    ));
                }
                break;
            }
            if t.elapsed() > Duration::from_secs(init_timeout) {
                return Err(format!(
                    "init container {} still running after {init_timeout}s; its log ({log}) ends:\n{}",
                    c.name,
                    tail(&log, 30)
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(
            "cri-client: init container {} exited 0 after {:.1}s",
            c.name,
            t.elapsed().as_secs_f64()
        );
    }
    let mut ids = Vec::new();
    for c in &pod.containers {
        let id = start(&mut client, &ctx, c).await?;
        println!("LOG_{}={log_dir}/{}/0.log", env_name(&c.name), c.name);
        ids.push(id);
    }
    for (c, id) in pod.containers.iter().zip(&ids) {
        let Some(p) = &c.readiness else { continue };
        let t = Instant::now();
        while !probe(p) {
            let st = container_status(&mut client, id).await?;
            let log = format!("{log_dir}/{}/0.log", c.name);
            if st.state == cri::ContainerState::ContainerExited as i32 {
                return Err(format!(
                    "container {} exited with {} before it was ready; its log ({log}) ends:\n{}",
                    c.name,
                    st.exit_code,
                    tail(&log, 30)
                ));
            }
            if t.elapsed() > Duration::from_secs(ready_timeout) {
                return Err(format!(
                    "container {}: GET 127.0.0.1:{}{} gave no 200 within {ready_timeout}s; its log ({log}) ends:\n{}",
                    c.name,
                    p.port,
                    p.path,
                    tail(&log, 30)
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(
            "cri-client: container {} ready (GET {} 200) after {:.1}s",
            c.name,
            p.path,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

async fn exec(id: &str, timeout: i64, cmd: Vec<String>) -> Result<i32, String> {
    let mut client = connect().await?;
    let r = client
        .exec_sync(cri::ExecSyncRequest {
            container_id: id.to_string(),
            cmd,
            timeout,
        })
        .await
        .map_err(|s| status_err(&format!("ExecSync {id}"), s))?
        .into_inner();
    std::io::stdout()
        .write_all(&r.stdout)
        .and_then(|_| std::io::stderr().write_all(&r.stderr))
        .map_err(|e| format!("writing the output: {e}"))?;
    Ok(r.exit_code)
}

async fn remove(pod_id: &str, grace: i64) -> Result<(), String> {
    let mut client = connect().await?;
    let status = client
        .pod_sandbox_status(cri::PodSandboxStatusRequest {
            pod_sandbox_id: pod_id.to_string(),
            verbose: false,
        })
        .await
        .map_err(|s| status_err(&format!("PodSandboxStatus {pod_id}"), s))?
        .into_inner();
    // As the kubelet: each container gets its grace period (SIGTERM, then
    // SIGKILL), then the sandbox stops.
    let containers = client
        .list_containers(cri::ListContainersRequest {
            filter: Some(cri::ContainerFilter {
                pod_sandbox_id: pod_id.to_string(),
                ..Default::default()
            }),
        })
        .await
        .map_err(|s| status_err(&format!("ListContainers of {pod_id}"), s))?
        .into_inner()
        .containers;
    for c in containers {
        if c.state == cri::ContainerState::ContainerRunning as i32 {
            client
                .stop_container(cri::StopContainerRequest {
                    container_id: c.id.clone(),
                    timeout: grace,
                })
                .await
                .map_err(|s| status_err(&format!("StopContainer {}", c.id), s))?;
        }
    }
    client
        .stop_pod_sandbox(cri::StopPodSandboxRequest {
            pod_sandbox_id: pod_id.to_string(),
        })
        .await
        .map_err(|s| status_err(&format!("StopPodSandbox {pod_id}"), s))?;
    client
        .remove_pod_sandbox(cri::RemovePodSandboxRequest {
            pod_sandbox_id: pod_id.to_string(),
        })
        .await
        .map_err(|s| status_err(&format!("RemovePodSandbox {pod_id}"), s))?;
    if let Some(uid) = status
        .status
        .and_then(|s| s.metadata)
        .map(|m| m.uid)
        .filter(|u| !u.is_empty() && !u.contains('/'))
    {
        let _ = std::fs::remove_dir_all(Path::new(POD_DIR).join(uid));
    }
    Ok(())
}

async fn version() -> Result<(), String> {
    let mut client = connect().await?;
    let v = client
        .version(cri::VersionRequest {
            version: "v1".into(),
        })
        .await
        .map_err(|s| status_err("Version (runtime.v1)", s))?
        .into_inner();
    println!(
        "{} {} (CRI {})",
        v.runtime_name, v.runtime_version, v.runtime_api_version
    );
    Ok(())
}

const USAGE: &str = "usage: kestrel-cri-client version
       kestrel-cri-client run MANIFEST [--init-timeout S] [--ready-timeout S]
       kestrel-cri-client exec CONTAINER_ID [--timeout S] -- CMD [ARG...]
       kestrel-cri-client rm POD_ID [--grace S]";

fn seconds(v: Option<String>, opt: &str) -> Result<u64, String> {
    v.and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{opt} wants a number of seconds\n{USAGE}"))
}

async fn main_result() -> Result<i32, String> {
    let mut args = std::env::args().skip(1);
    let usage = || USAGE.to_string();
    match args.next().as_deref() {
        Some("version") => version().await.map(|_| 0),
        Some("run") => {
            let manifest = args.next().ok_or_else(usage)?;
            let (mut init, mut ready) = (900, 120);
            while let Some(a) = args.next() {
                match a.as_str() {
                    "--init-timeout" => init = seconds(args.next(), &a)?,
                    "--ready-timeout" => ready = seconds(args.next(), &a)?,
                    _ => return Err(format!("run: unknown option {a}\n{USAGE}")),
                }
            }
            run(&manifest, init, ready).await.map(|_| 0)
        }
        Some("exec") => {
            let id = args.next().ok_or_else(usage)?;
            let mut timeout = 30;
            let mut cmd = Vec::new();
            while let Some(a) = args.next() {
                match a.as_str() {
                    "--timeout" => timeout = seconds(args.next(), &a)?,
                    "--" => {
                        cmd = args.by_ref().collect();
                        break;
                    }
                    _ => return Err(format!("exec: unknown option {a}\n{USAGE}")),
                }
            }
            if cmd.is_empty() {
                return Err(usage());
            }
            exec(&id, timeout as i64, cmd).await
        }
        Some("rm") => {
            let id = args.next().ok_or_else(usage)?;
            let grace = match args.next().as_deref() {
                None => 30,
                Some("--grace") => seconds(args.next(), "--grace")? as i64,
                Some(a) => return Err(format!("rm: unknown option {a}\n{USAGE}")),
            };
            remove(&id, grace).await.map(|_| 0)
        }
        _ => Err(usage()),
    }
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kestrel-cri-client: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(main_result()) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("kestrel-cri-client: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_parent_is_the_kubelets_systemd_slice() {
        assert_eq!(
            cgroup_parent("burstable", "0f3b-11"),
            "kubepods-burstable-pod0f3b_11.slice"
        );
        assert_eq!(cgroup_parent("guaranteed", "a-b"), "kubepods-poda_b.slice");
    }

    #[test]
    fn nested_mount_points_are_made_in_the_outer_volume() {
        let pod = spec::parse(
            "kind: ConfigMap\nmetadata: {name: a}\ndata: {k.yaml: 'x: 1'}\n---\n\
             kind: ConfigMap\nmetadata: {name: b}\ndata: {}\n---\n\
             kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    volumeMounts:\n    \
             - {name: a, mountPath: /etc/k, readOnly: true}\n    - {name: b, mountPath: /etc/k/rules.d}\n  \
             volumes: [{name: a, configMap: {name: a}}, {name: b, configMap: {name: b}}]\n",
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("cri-client-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let paths = materialize(&pod, &dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(paths["a"].join("k.yaml")).unwrap(),
            "x: 1"
        );
        assert!(paths["a"].join("rules.d").is_dir());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn container_names_become_variable_names() {
        assert_eq!(env_name("driver-loader"), "DRIVER_LOADER");
    }
}
