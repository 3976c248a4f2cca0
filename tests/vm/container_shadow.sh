# container_shadow: a container made by hand (new mount, pid, uts and net
# namespaces, its own root and /etc/passwd, a cgroup named as containerd
# names a Kubernetes container, a bundle config.json with the CRI
# annotations) runs `cat /etc/shadow`; the openat event carries the
# container id, image, pod name, namespace, the process (cat), its parent
# shell and the user name as the container knows it (appuser, uid 0).
# timeout: 120
. /scenarios/lib.sh

CID=5b1c0e2d3f4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344
SHORT=5b1c0e2d3f4a
POD_UID=8f2d7c1e-4b3a-4e5f-9a0b-1c2d3e4f5a6b
ROOTFS=$PWD/rootfs
HOSTROOT=$PWD/hostroot

say "the container's root: busybox and its own passwd, group and shadow"
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/proc" "$ROOTFS/tmp" "$ROOTFS/dev"
mknod -m 0666 "$ROOTFS/dev/null" c 1 3
cp /bin/busybox "$ROOTFS/bin/busybox"
for a in sh cat echo sleep; do ln -s busybox "$ROOTFS/bin/$a"; done
echo 'appuser:x:0:0:app:/:/bin/sh' >"$ROOTFS/etc/passwd"
echo 'appgroup:x:0:' >"$ROOTFS/etc/group"
echo 'appuser:$6$x$notarealhash:20000:0:99999:7:::' >"$ROOTFS/etc/shadow"
mkfifo "$ROOTFS/tmp/go"

say "containerd's bundle for it, with the CRI annotations"
B=$HOSTROOT/run/containerd/io.containerd.runtime.v2.task/k8s.io/$CID
mkdir -p "$B"
cat >"$B/config.json" <<JSON
{"ociVersion": "1.1.0",
 "process": {"args": ["/bin/sh"], "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"]}},
 "linux": {"maskedPaths": ["/proc/kcore"]},
 "annotations": {
  "io.kubernetes.cri.container-type": "container",
  "io.kubernetes.cri.container-name": "shop",
  "io.kubernetes.cri.image-name": "registry.local/team/shop:1.4",
  "io.kubernetes.cri.sandbox-id": "0000000000000000000000000000000000000000000000000000000000000001",
  "io.kubernetes.cri.sandbox-name": "shop-7d4b9c-xz2kq",
  "io.kubernetes.cri.sandbox-namespace": "payments",
  "io.kubernetes.cri.sandbox-uid": "$POD_UID"}}
JSON

say "a cgroup v2 named as containerd's systemd driver names a pod's container"
mkdir -p /sys/fs/cgroup
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
CG=/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$(echo "$POD_UID" | tr - _).slice/cri-containerd-$CID.scope
mkdir -p "$CG"

say "the container: unshare -m -u -n -p -f, chroot, a shell waiting for its cue"
# shellcheck disable=SC2016
sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare -m -u -n -p -f chroot "$2" /bin/sh -c "for i in 1 2; do read cue </tmp/go; /bin/cat /etc/shadow >/dev/null; echo \$i >/tmp/done\$i; done"' \
	container "$CG" "$ROOTFS" &
CPID=$!
# The container's shell: the sh whose root is the rootfs.
container_shell() {
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/root" 2>/dev/null)" = "$ROOTFS" ] || continue
		[ "$(cat "$d/comm" 2>/dev/null)" = sh ] && { echo "${d#/proc/}"; return 0; }
	done
	return 1
}
wait_for 10 container_shell >/dev/null || fail "no shell runs in $ROOTFS"
csh=$(container_shell)
say "container shell: pid $csh, cgroup $(cat "/proc/$csh/cgroup")"
grep -q "cri-containerd-$CID.scope" "/proc/$csh/cgroup" || fail "the shell is not in the container's cgroup"

kmod_load
kestrel_start ev --context --host-root "$HOSTROOT"
echo go >"$ROOTFS/tmp/go"
wait_for 20 test -f "$ROOTFS/tmp/done1" || fail "the container's cat did not run"
kestrel_stop

say "the openat of /etc/shadow, with its context"
expect_event "$KOUT" openat "$(jstr name /etc/shadow)" \
	'"proc": *\{[^}]*"name": *"cat"' \
	"\"pname\": *\"sh\"" \
	"\"ppid\": *$csh[,}]" \
	'"user": *\{[^}]*"uid": *0[,}][^}]*"name": *"appuser"' \
	"\"container\": *\\{[^}]*\"id\": *\"$SHORT\"" \
	"\"full_id\": *\"$CID\"" \
	"$(jstr image registry.local/team/shop:1.4)" \
	"$(jstr image.repository registry.local/team/shop)" \
	"$(jstr image.tag 1.4)" \
	"$(jstr k8s.pod.name shop-7d4b9c-xz2kq)" \
	"$(jstr k8s.ns.name payments)" \
	"$(jstr k8s.pod.uid "$POD_UID")" \
	'"privileged": *false'

say "and the alert of a rule on those fields (kestrel run, JSON alerts)"
cat >rules.yaml <<'YAML'
- rule: Shadow read in a container
  desc: /etc/shadow opened inside a container
  condition: evt.type in (open, openat, openat2) and fd.name = /etc/shadow and container.id != host
  output: >
    Shadow read in a container (program=%proc.name parent=%proc.pname user=%user.name
    container=%container.id image=%container.image.repository pod=%k8s.pod.name ns=%k8s.ns.name)
  priority: WARNING
YAML
kestrel_start_cmd alert run -r rules.yaml --json --host-root "$HOSTROOT"
echo go >"$ROOTFS/tmp/go"
wait_for 20 test -f "$ROOTFS/tmp/done2" || fail "the container's second cat did not run"
wait "$CPID" || true
kestrel_stop
grep -q . "$KOUT" || { cat "$KERR"; fail "no alert"; }
cat "$KOUT"
for want in "$(jstr rule 'Shadow read in a container')" "$(jstr proc.name cat)" "$(jstr proc.pname sh)" \
	"$(jstr user.name appuser)" "$(jstr container.id $SHORT)" \
	"$(jstr container.image.repository registry.local/team/shop)" \
	"$(jstr k8s.pod.name shop-7d4b9c-xz2kq)" "$(jstr k8s.ns.name payments)"; do
	grep -Eq "$want" "$KOUT" || fail "the alert lacks $want"
done
say "ok"
