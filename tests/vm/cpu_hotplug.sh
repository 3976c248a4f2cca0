# cpu_hotplug: rings cost memory only while a consumer holds the device and
# only for CPUs that are online; CPU ids with holes work; a CPU brought
# online during capture gets its ring before it runs anything and the
# consumer drains it; taking a CPU offline and back keeps its ring and
# every event is accounted for.  Needs at least 2 CPUs (VM_SMP).
# timeout: 90
. /scenarios/lib.sh

CPU1=/sys/devices/system/cpu/cpu1/online
[ -w "$CPU1" ] || fail "cpu1 cannot be taken offline here ($(nproc) CPUs): run with VM_SMP>=2"
# Free memory in kB: MemFree plus the pages on per-CPU free lists, which
# MemFree leaves out (since 6.7 those lists grow to many MiB after a large
# free, and drain only later).
memfree() {
	_mf_pcp=$(awk '$1 == "count:" { n += $2 } END { print n + 0 }' /proc/zoneinfo)
	awk -v pcp="$_mf_pcp" '/^MemFree:/ { print $2 + pcp * 4 }' /proc/meminfo
}
info_field() { kestrel-devtest info | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# 16 MiB rings make the memory they take plain in MemFree.
RING_SIZE=16777216 kmod_load
echo 0 >"$CPU1"
online=$(grep -c '^processor' /proc/cpuinfo)
say "cpu1 offline: $online CPUs online"
[ "$(info_field ring_bytes)" = 0 ] || fail "rings exist before any consumer"
free0=$(memfree)

kestrel_start ev --syscalls openat
free1=$(memfree)
bytes1=$(info_field ring_bytes)
ids1=$(info_field ids)
say "with the consumer: rings $ids1, ring_bytes $bytes1, MemFree $free0 -> $free1 kB (-$(( (free0 - free1) / 1024 )) MiB)"
case ",$ids1," in *,1,*) fail "offline cpu1 has a ring" ;; esac
[ "$(info_field rings_present)" -eq "$online" ] || fail "expected $online rings, one per online CPU"
[ "$bytes1" -ge $((online * 16777216)) ] || fail "ring_bytes $bytes1 < $online x 16 MiB"
# Free memory moves with page cache and the consumer's own pages too: ask
# for at least half of the rings' size; the module's own ring_bytes above
# is the exact figure.
[ $((free0 - free1)) -ge $((online * 8192)) ] || fail "MemFree fell by $((free0 - free1)) kB, less than half the rings"

# cpu1 comes online during capture: it gets a ring, and its events arrive.
echo 1 >"$CPU1"
wait_for 5 sh -c 'kestrel-devtest info | grep -q "ids=\(.*,\)\?1\(,\|$\)"' || fail "no ring for cpu1 after it came online"
say "cpu1 online: rings $(info_field ids), ring_bytes $(info_field ring_bytes)"
taskset 2 cat /etc/hostname >/dev/null &
p1=$!
wait $p1
# cpu1 goes offline and comes back: same ring, no new memory.
bytes2=$(info_field ring_bytes)
echo 0 >"$CPU1"
cat /etc/shadow >/dev/null
echo 1 >"$CPU1"
[ "$(info_field ring_bytes)" = "$bytes2" ] || fail "cpu1's second online allocated again"
taskset 2 cat /etc/passwd >/dev/null &
p2=$!
wait $p2
for i in 1 2 3 4 5; do taskset 2 cat /etc/group >/dev/null; cat /etc/group >/dev/null; done
nrings=$(info_field rings_present)
free2=$(memfree)
kestrel_stop
expect_event "$KOUT" openat "$(jstr name /etc/hostname)" "$(jint pid $p1)" "$(jint cpu 1)"
expect_event "$KOUT" openat "$(jstr name /etc/passwd)" "$(jint pid $p2)" "$(jint cpu 1)"
expect_event "$KOUT" openat "$(jstr name /etc/shadow)"
grep -q "0 lost" "$KERR" || fail "the consumer reported lost events"
if grep -q "accounting mismatch" "$KERR"; then fail "the consumer's accounting did not balance"; fi

free3=$(memfree)
say "after release: ring_bytes $(info_field ring_bytes), MemFree $free3 kB"
[ "$(info_field ring_bytes)" = 0 ] || fail "rings not freed at release"
# The release gives back the rings' memory (at least half of it visible in
# MemFree, as above).
say "release of $nrings rings: MemFree $free2 -> $free3 kB (+$(( (free3 - free2) / 1024 )) MiB)"
[ $((free3 - free2)) -ge $((nrings * 8192)) ] || fail "MemFree rose by only $((free3 - free2)) kB when $nrings rings of 16 MiB were freed"
kmod_unload
say "ok"
