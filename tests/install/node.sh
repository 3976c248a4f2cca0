# tests/install/node.sh -- the node path of the real install test (issue 14),
# run as root inside the booted bookworm guest by scripts/install-vm.sh
# (make node-test builds the inputs and boots it).
#
# A Kubernetes node without a kubelet: Debian's containerd 1.6 serves CRI
# (runtime.v1) and kestrel-cri-client (tests/cri-client) makes the calls the
# kubelet makes, so the containers carry exactly the metadata a kubelet
# causes.  Here:
#   1. containerd as a kubeadm node has it: the systemd cgroup driver, the
#      sandbox image registry.k8s.io/pause:3.6 (imported, with the kestrel
#      image and a workload image, into the k8s.io namespace);
#   2. Kestrel's DaemonSet pod from `helm template deploy/helm/kestrel`
#      (kestrel.yaml): the init container builds kestrel.ko against the
#      node's headers and loads it, the main container runs `kestrel run`,
#      and its readiness probe (/healthz) answers;
#   3. a second pod (shell-pod.yaml: name shell, namespace payments) whose
#      container gets `sh -c 'cat /etc/shadow; ...'` exec'd into it, as
#      `kubectl exec` does (ExecSync);
#   4. the alert, read where `kubectl logs` reads it (the kestrel container's
#      CRI log file), names the rule, the process, its parent, the
#      container, and the pod's name and namespace;
#   5. both pods removed as the kubelet removes them; the module unloads.
# Inputs ($KESTREL_IN): kestrel-cri-client, kestrel.yaml, shell-pod.yaml,
# kestrel_<version>.tar (make image), pause.tar, shell.tar, and optionally
# driver-cache.tar (see step 2).  Results ($KESTREL_OUT): the
# logs, the bundles' config.json, timings.
set -u

IN=${KESTREL_IN:-$PWD}
OUT=${KESTREL_OUT:-$PWD/out}
# on the node's disk: the inputs are in /run, which Debian's initramfs
# mounts noexec
CRI=/usr/local/bin/kestrel-cri-client
T0=$(cut -d' ' -f1 /proc/uptime)
now() { awk -v a="$1" '{ printf "%.1f", $1 - a }' /proc/uptime; }
say() { echo "node.sh [$(now "$T0")s] $*"; }
fail() {
	echo "node.sh: FAIL: $*"
	for f in "${LOG_DRIVER_LOADER:-}" "${LOG_KESTREL:-}"; do
		[ -n "$f" ] && [ -f "$f" ] && { echo "--- $f (last 40 lines)"; tail -n 40 "$f"; cp "$f" "$OUT/" 2>/dev/null; }
	done
	journalctl -u containerd --no-pager -n 40 2>/dev/null | sed 's/^/containerd: /'
	exit 1
}
# wait_for SECONDS CMD...: until CMD succeeds, or fail after SECONDS.
wait_for() {
	local n=$(($1 * 5))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.2
	done
}
install -m 0755 "$IN/kestrel-cri-client" "$CRI" || exit 1

# --- 1. containerd as a kubelet's node has it --------------------------------
say "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'), kernel $(uname -r)"
mkdir -p /etc/containerd
containerd config default >/etc/containerd/config.toml || fail "containerd config default"
sed -i -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
	-e 's|sandbox_image = .*|sandbox_image = "registry.k8s.io/pause:3.6"|' /etc/containerd/config.toml
grep -q 'SystemdCgroup = true' /etc/containerd/config.toml || fail "no SystemdCgroup in containerd's default config"
grep -q 'disabled_plugins = \[.*cri' /etc/containerd/config.toml && fail "the CRI plugin is disabled in the config"
systemctl restart containerd || fail "containerd did not restart"
wait_for 30 "$CRI" version || fail "containerd's CRI socket did not answer within 30s: $("$CRI" version 2>&1)"
say "CRI: $("$CRI" version)"
t=$(cut -d' ' -f1 /proc/uptime)
for img in pause.tar shell.tar kestrel_*.tar; do
	ctr -n k8s.io images import "$IN"/$img >/dev/null || fail "ctr -n k8s.io images import $img"
done
# the inputs live in the guest's /run (tmpfs, memory): the image is in
# containerd's store now
rm -f "$IN"/kestrel_*.tar
IMPORT_SECS=$(now "$t")
say "images in k8s.io: $(ctr -n k8s.io images ls -q | grep -v '^sha256:' | tr '\n' ' ')"

# --- 2. Kestrel's DaemonSet pod ---------------------------------------------
# The chart's driverCache (hostPath /var/lib/kestrel) keeps the loader's
# builds across pod restarts on a node.  node-test.sh seeds it with a
# kestrel.ko built on the host against the same headers (driver-cache.tar)
# unless NODE_TEST_COLD=1: the loader then takes its "a build for this
# kernel exists" path instead of Kbuild, which takes minutes under TCG.
if [ -f "$IN/driver-cache.tar" ]; then
	mkdir -p /var/lib/kestrel
	tar -xf "$IN/driver-cache.tar" -C /var/lib/kestrel || fail "unpacking driver-cache.tar"
	LOADER_PATH=cached
else
	LOADER_PATH=build
fi
say "running the DaemonSet's pod from the rendered chart (init container: build + load kestrel.ko)"
t=$(cut -d' ' -f1 /proc/uptime)
"$CRI" run "$IN/kestrel.yaml" --init-timeout 480 --ready-timeout 120 >ds.env || {
	cat ds.env
	. ./ds.env 2>/dev/null
	fail "the kestrel pod did not come up"
}
. ./ds.env
KPOD=$POD_ID
DS_SECS=$(now "$t")
say "kestrel pod $POD_NAMESPACE/$POD_NAME up and ready in ${DS_SECS}s"
grep -q '^kestrel ' /proc/modules || fail "kestrel.ko is not loaded after the init container"
echo "--- the driver loader's log (kubectl logs -c driver-loader)"
sed 's/^[^ ]* [^ ]* [FP] //' "$LOG_DRIVER_LOADER" | tail -n 8
if [ "$LOADER_PATH" = build ]; then
	grep -q 'building kestrel.ko for' "$LOG_DRIVER_LOADER" || fail "the init container did not build kestrel.ko"
else
	grep -q 'building kestrel.ko for' "$LOG_DRIVER_LOADER" && fail "the init container rebuilt a cached kestrel.ko"
fi
say "the init container's driver loader path: $LOADER_PATH"
KESTREL_CID=$CONTAINER_KESTREL
LOG=$LOG_KESTREL
healthz() {
	exec 3<>/dev/tcp/127.0.0.1/8765 && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && head -n 1 <&3 | grep -q ' 200 '
}
healthz || fail "/healthz does not answer 200"
exec 3<&-
cg=$(cat "/proc/$(ctr -n k8s.io tasks ls | awk -v id="$KESTREL_CID" '$1 == id {print $2}')/cgroup")
say "kestrel's cgroup: $cg"
case $cg in *kubepods-burstable-pod*.slice/cri-containerd-"$KESTREL_CID".scope) ;; *) fail "kestrel's cgroup is not the kubelet's systemd layout: $cg" ;; esac

# --- 3. the second pod; kubectl exec ... cat /etc/shadow ---------------------
t=$(cut -d' ' -f1 /proc/uptime)
"$CRI" run "$IN/shell-pod.yaml" >shell.env || { cat shell.env; fail "the shell pod did not start"; }
. ./shell.env
SHELL_POD=$POD_ID
SHELL_NAME=$POD_NAME
SHELL_NS=$POD_NAMESPACE
SHELL_CID=$CONTAINER_SHELL
say "pod $SHELL_NS/$SHELL_NAME started in $(now "$t")s (container ${SHELL_CID:0:12})"
cp "/run/containerd/io.containerd.runtime.v2.task/k8s.io/$SHELL_CID/config.json" "$OUT/shell-config.json" 2>/dev/null
cp "/run/containerd/io.containerd.runtime.v2.task/k8s.io/$KESTREL_CID/config.json" "$OUT/kestrel-config.json" 2>/dev/null
sleep 1
# /bin/cat, not cat: busybox's sh runs its own applets by re-executing
# /proc/self/exe, so a bare `cat` is a process named "exe" (the kernel's
# comm, what Falco's proc.name shows too)
say "exec into $SHELL_NAME: sh -c '/bin/cat /etc/shadow; ...'"
t=$(cut -d' ' -f1 /proc/uptime)
"$CRI" exec "$SHELL_CID" -- sh -c '/bin/cat /etc/shadow; echo read' >exec.out 2>&1 || { cat exec.out; fail "the exec failed"; }
grep -q '^root:' exec.out || { cat exec.out; fail "the exec did not read /etc/shadow"; }

# --- 4. the alert, as kubectl logs shows it ------------------------------------
wait_for 10 grep -q "container=${SHELL_CID:0:12}.*file=/etc/shadow\|file=/etc/shadow.*container=${SHELL_CID:0:12}" "$LOG" ||
	fail "no alert for the shell pod's /etc/shadow read in $LOG within 10s"
say "alert in the kestrel container's log $(now "$t")s after the exec began"
sed 's/^[^ ]* [^ ]* [FP] //' "$LOG" | grep 'file=/etc/shadow' | grep "${SHELL_CID:0:12}" | head -n 1 >alert.json
echo "--- kubectl logs -l app.kubernetes.io/name=kestrel -c kestrel (the alert)"
cat alert.json
# (grep, not python: the node has python3-minimal, without json)
missing=
for want in '"rule":"Sensitive file read by unexpected program"' '"fd.name":"/etc/shadow"' \
	'"proc.name":"cat"' '"proc.pname":"sh"' "\"container.id\":\"${SHELL_CID:0:12}\"" \
	'"container.image.repository":"localhost/shell"' "\"k8s.pod.name\":\"$SHELL_NAME\"" \
	"\"k8s.ns.name\":\"$SHELL_NS\"" 'program=cat' 'parent=sh' "container=${SHELL_CID:0:12}" \
	"pod=$SHELL_NAME" "ns=$SHELL_NS"; do
	grep -qF "$want" alert.json || { echo "  the alert lacks $want"; missing=1; }
done
[ -z "$missing" ] || fail "the alert does not name what it must (above)"
say "the alert names rule, file, process cat, parent sh, container ${SHELL_CID:0:12}, pod $SHELL_NAME, namespace $SHELL_NS"

# --- 5. the kubelet removes both pods; the module unloads -------------------
cp "$LOG" "$OUT/kestrel.log"
cp "$LOG_DRIVER_LOADER" "$OUT/driver-loader.log" 2>/dev/null
"$CRI" rm "$SHELL_POD" || fail "removing the shell pod"
t=$(cut -d' ' -f1 /proc/uptime)
"$CRI" rm "$KPOD" || fail "removing the kestrel pod"
say "kestrel pod stopped and removed in $(now "$t")s"
rmmod kestrel || fail "kestrel.ko does not unload after the pod stopped"
[ -z "$(ctr -n k8s.io tasks ls -q)" ] || fail "tasks left in k8s.io: $(ctr -n k8s.io tasks ls -q)"
{
	echo "daemonset_pod_ready_seconds=$DS_SECS"
	echo "loader_path=$LOADER_PATH"
	echo "image_import_seconds=$IMPORT_SECS"
	echo "total_seconds=$(now "$T0")"
} >"$OUT/timings"
say "PASS: the DaemonSet pod caught the shell pod's /etc/shadow read ($(now "$T0")s in the guest)"
