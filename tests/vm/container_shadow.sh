# container_shadow: a container made by hand (new mount, pid, uts and net
# namespaces, its own root and /etc/passwd, a cgroup named as containerd
# names a Kubernetes container, a bundle config.json with the CRI
# annotations) runs `cat /etc/shadow`; the openat event carries the
# container id, image, pod name, namespace, the process (cat), its parent
# shell and the user name as the container knows it (appuser, uid 0); then
# `kestrel run` with the default ruleset raises the sensitive-file alert
# with the same fields, within a second.
# timeout: 120
. /scenarios/lib.sh

say "a container made by hand: namespaces, its own root, a containerd cgroup and bundle"
make_container 2
say "container shell: pid $CSH, cgroup $(cat "/proc/$CSH/cgroup")"

kmod_load
kestrel_start ev --context --host-root "$HOSTROOT"
container_cue 1
kestrel_stop

say "the openat of /etc/shadow, with its context"
expect_event "$KOUT" openat "$(jstr name /etc/shadow)" \
	'"proc": *\{[^}]*"name": *"cat"' \
	"\"pname\": *\"sh\"" \
	"\"ppid\": *$CSH[,}]" \
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

say "and the default ruleset's alert (kestrel run, JSON alerts), within a second"
kestrel_start_cmd alert run -r /rules/kestrel_rules.yaml --json --host-root "$HOSTROOT"
container_cue 2
# The alert must be out within a second of the cat (10 tries, 0.1 s apart).
wait_for 1 grep -q 'Sensitive file read by unexpected program' "$KOUT" ||
	{ cat "$KOUT"; fail "no alert within a second of the container's cat"; }
wait "$CONTAINER_PID" || true
kestrel_stop
cat "$KOUT"
for want in "$(jstr rule 'Sensitive file read by unexpected program')" "$(jstr priority Warning)" \
	"$(jstr fd.name /etc/shadow)" "$(jstr proc.name cat)" "$(jstr proc.pname sh)" \
	"$(jstr user.name appuser)" "$(jstr container.id $SHORT)" \
	"$(jstr container.image.repository registry.local/team/shop)" \
	"$(jstr k8s.pod.name shop-7d4b9c-xz2kq)" "$(jstr k8s.ns.name payments)"; do
	grep -Eq "$want" "$KOUT" || fail "the alert lacks $want"
done
say "ok"
