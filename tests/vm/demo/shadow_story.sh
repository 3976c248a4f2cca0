# demo (make demo): the reference story.  On a Kubernetes node, somebody
# opens a shell in a container and runs `cat /etc/shadow`; within a second
# `kestrel run` with the default ruleset prints an alert that names the rule,
# the process, its parent, the container and the pod.  The container is made
# by hand in the guest, as containerd would make it (make_container in
# lib.sh): namespaces, its own root, a kubepods cgroup and a CRI bundle.
. /scenarios/lib.sh

echo
echo "=== Kestrel demo: somebody reads /etc/shadow in a container ==="
say "a pod's container: shop-7d4b9c-xz2kq in namespace payments, image registry.local/team/shop:1.4"
make_container 1
say "insmod kestrel.ko ring_size=$RING_SIZE"
kmod_load
kestrel_start_cmd alert run -r /rules/kestrel_rules.yaml --json --host-root "$HOSTROOT"
say "kestrel run: $(kestrel rules validate /rules/kestrel_rules.yaml 2>&1 | tail -n 1)"
say "in the container, a shell runs: cat /etc/shadow"
container_cue 1
wait_for 1 grep -q 'Sensitive file' "$KOUT" || fail "no alert within a second"
wait "$CONTAINER_PID" || true
kestrel_stop
echo
echo "=== the alert (Falco's JSON shape) ==="
cat "$KOUT"
echo
for want in '"rule":"Sensitive file read by unexpected program"' 'Sensitive file opened for reading' 'file=/etc/shadow' 'program=cat' 'parent=sh' \
	'user=appuser' "container=$SHORT" 'pod=shop-7d4b9c-xz2kq' 'ns=payments'; do
	grep -q "$want" "$KOUT" || fail "the alert lacks $want"
done
echo "=== caught: rule, process, parent, container and pod named ==="
kmod_unload
