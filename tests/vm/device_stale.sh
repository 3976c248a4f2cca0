# device_stale: nothing of one session is readable by the next consumer
# (fresh zeroed rings at open), and the rings hold kernel memory only while
# a consumer holds the device.
. /scenarios/lib.sh

kmod_load
kestrel-devtest info | tee info0.txt
grep -q ' rings_present=0 ring_bytes=0 ' info0.txt || fail "rings exist before any consumer opened the device"

kestrel_start ev --syscalls openat
for i in 1 2 3; do cat /etc/shadow >/dev/null; done
kestrel-devtest info | tee info1.txt
online=$(grep -c '^processor' /proc/cpuinfo)
grep -q " rings_present=$online " info1.txt || fail "expected $online rings (one per online CPU) while capturing"
kestrel_stop
expect_event "$KOUT" openat "$(jstr name /etc/shadow)"

kestrel-devtest info | tee info2.txt
grep -q ' rings_present=0 ring_bytes=0 ' info2.txt || fail "the rings were not freed when the consumer released the device"
# The counters outlive the rings, for observers.
"$KESTREL" stats >stats.txt
written=$(awk '$1 ~ /^[0-9]+$/ { w += $3 } END { print w + 0 }' stats.txt)
[ "$written" -ge 3 ] || { cat stats.txt; fail "kestrel stats after release shows $written records, expected >= 3"; }

# The next consumer sees zeroed rings: no head, no byte of the last session.
kestrel-devtest stale || fail "the previous session's records are readable by the next consumer"
kmod_unload
say "ok"
