"""Checks on the objects `helm template` rendered from deploy/helm/kestrel.

    check_chart.py defaults RENDERED.yaml
    check_chart.py custom RENDERED.yaml EXTRACT_DIR

Prints one line per check ("ok   ..." or "FAIL ...") and exits 1 if any
failed.  `custom` expects tests/ship/helm.sh's custom values and writes the
rendered kestrel.yaml and custom rules files into EXTRACT_DIR.
Run with the python of the kubernetes-validate venv (it has PyYAML).
"""

import os
import sys

import yaml

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + "chart: " + what)
    if not cond:
        FAILS.append(what)


def by_kind(docs, kind):
    return [d for d in docs if d and d.get("kind") == kind]


def mounts_of(container):
    return {m["mountPath"]: m for m in container.get("volumeMounts", [])}


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]

    (ds,) = by_kind(docs, "DaemonSet")
    spec = ds["spec"]
    pod = spec["template"]["spec"]
    meta = spec["template"]["metadata"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (main_c,) = [c for c in pod["containers"] if c["name"] == "kestrel"]
    (init_c,) = [c for c in pod.get("initContainers", []) if c["name"] == "driver-loader"]
    cms = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
    config = yaml.safe_load(cms["kestrel"]["data"]["kestrel.yaml"])

    def host_path_of(container, mount_path):
        m = mounts_of(container).get(mount_path)
        if not m:
            return None, None
        v = volumes[m["name"]]
        return (v.get("hostPath") or {}).get("path"), m.get("readOnly", False)

    # --- what every rendering must have -----------------------------------
    check(pod.get("hostPID") is True, "hostPID: true")
    check(main_c["securityContext"].get("privileged") is True, "kestrel container privileged")
    check(init_c["securityContext"].get("privileged") is True, "driver-loader privileged")
    check(init_c["command"][0] == "/usr/bin/kestrel-driver-loader", "init container runs the loader")
    check(main_c["command"][:2] == ["/usr/bin/kestrel", "run"], "main container runs kestrel run")
    check(main_c["image"] == init_c["image"], "one image for both containers")
    check(spec["updateStrategy"]["type"] == "RollingUpdate", "RollingUpdate")
    check({"operator": "Exists"} in pod.get("tolerations", []), "tolerates every taint")
    check(pod.get("automountServiceAccountToken") is False, "no service account token")

    # host mounts: (container, path in container, host path, read-only)
    for c, mp, hp, ro in [
        (main_c, "/host/proc", "/proc", True),
        (main_c, "/host/etc", "/etc", True),
        (main_c, "/dev", "/dev", False),
        (main_c, "/host/run/containerd", "/run/containerd", True),
        (main_c, "/host/run/containers", "/run/containers", True),
        (main_c, "/host/var/lib/containers", "/var/lib/containers", True),
        (main_c, "/host/var/lib/docker", "/var/lib/docker", True),
        (init_c, "/host/lib/modules", "/lib/modules", True),
        (init_c, "/host/usr", "/usr", True),
        (init_c, "/host/boot", "/boot", True),
        (init_c, "/host/etc", "/etc", True),
        (init_c, "/dev", "/dev", False),
        (init_c, "/var/lib/kestrel", "/var/lib/kestrel", False),
    ]:
        got, got_ro = host_path_of(c, mp)
        check(got == hp and got_ro == ro,
              f"{c['name']}: host {hp} at {mp}{' read-only' if ro else ''} (got {got}, ro={got_ro})")
    check(config["engine"]["kmod"]["proc_root"] == "/host/proc", "config: proc_root /host/proc")
    check(config["engine"]["kmod"]["host_root"] == "/host", "config: host_root /host")
    check(config["webserver"]["listen_address"] == "0.0.0.0", "config: webserver on the pod's address")
    for c in (main_c, init_c):
        m = mounts_of(c).get("/etc/kestrel")
        check(m is not None and volumes[m["name"]].get("configMap", {}).get("name") == "kestrel",
              f"{c['name']}: config ConfigMap at /etc/kestrel")
    m = mounts_of(main_c).get("/etc/kestrel/rules.d")
    check(m is not None and volumes[m["name"]].get("configMap", {}).get("name") == "kestrel-rules",
          "rules ConfigMap at /etc/kestrel/rules.d")
    check("/etc/kestrel/rules.d" in config["rules_files"], "config loads /etc/kestrel/rules.d")

    port = config["webserver"]["listen_port"]
    ports = {p["name"]: p for p in main_c["ports"]}
    check(ports.get("http", {}).get("containerPort") == port, f"containerPort {port} named http")
    for probe in ("livenessProbe", "readinessProbe"):
        g = main_c[probe]["httpGet"]
        check(g["path"] == config["webserver"]["k8s_healthz_endpoint"] == "/healthz" and g["port"] == "http",
              f"{probe}: GET /healthz on http")
    ann = meta.get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(port)
          and ann.get("prometheus.io/path") == "/metrics", f"prometheus annotations: /metrics on {port}")
    for c in (main_c, init_c):
        r = c.get("resources", {})
        check("cpu" in r.get("requests", {}) and "memory" in r.get("requests", {})
              and "memory" in r.get("limits", {}), f"{c['name']}: resource requests and a memory limit")
    check(main_c["securityContext"].get("readOnlyRootFilesystem") is True, "read-only root file system")
    check("checksum/config" in ann, "config checksum rolls the pods on change")
    labels = meta["labels"]
    check(labels.get("app.kubernetes.io/name") == "kestrel", "pods labelled app.kubernetes.io/name=kestrel")

    if mode == "defaults":
        check(port == 8765, "default port 8765")
        check(not cms["kestrel-rules"].get("data"), "no custom rules by default")
        check(config["http_output"]["enabled"] is False, "http_output off by default")
        check(not by_kind(docs, "Service"), "no metrics Service by default")
    elif mode == "custom":
        out = sys.argv[3]
        os.makedirs(out, exist_ok=True)
        check(port == 9100, "listen_port from values: 9100")
        check(config["http_output"] == {"enabled": True, "url": "http://falcosidekick.monitoring:2801/"},
              "http_output from values")
        check(config["engine"]["kmod"]["ring_size"] == 16777216, "ring_size from values")
        check(config["engine"]["kmod"]["host_root"] == "/host", "values merged: host_root kept")
        rules = cms["kestrel-rules"].get("data", {})
        check(list(rules) == ["my_rules.yaml"], "custom rules ConfigMap holds my_rules.yaml")
        for name, text in rules.items():
            with open(os.path.join(out, name), "w") as f:
                f.write(text + "\n")
        with open(os.path.join(out, "kestrel.yaml"), "w") as f:
            f.write(cms["kestrel"]["data"]["kestrel.yaml"] + "\n")
        (svc,) = by_kind(docs, "Service")
        check(svc["spec"]["ports"][0]["port"] == 9100 and svc["spec"]["clusterIP"] == "None",
              "headless metrics Service on 9100")
        check(all(d["metadata"].get("namespace") == "sec" for d in docs), "everything in the release namespace")

    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
