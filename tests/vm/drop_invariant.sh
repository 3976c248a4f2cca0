# drop_invariant: a syscall storm on both CPUs against the smallest rings
# (64 KiB) while the consumer is stopped, then while it is outpaced: events
# are dropped, and on every ring the module's counters and what the consumer
# printed agree exactly: attempted == delivered + reported lost (+ pending),
# written == delivered, each LOST record's sequence number is the count of
# events before it on its ring.
# timeout: 120
. /scenarios/lib.sh

TEST=/bin/kestrel-syscall-test
ROUNDS=${ROUNDS:-8000}		# each round: close(-1) + openat of a missing file
[ -x "$TEST" ] || fail "$TEST is not in the guest (scripts/vmtest.sh builds it)"
[ "$(nproc)" -ge 2 ] || fail "needs 2 CPUs, the guest has $(nproc)"

RING_SIZE=65536 kmod_load
kestrel_start ev --syscalls close,openat

storm_both() {
	taskset 1 "$TEST" storm "$ROUNDS" &
	_s0=$!
	taskset 2 "$TEST" storm "$ROUNDS" &
	_s1=$!
	wait $_s0 || fail "storm on CPU 0 failed"
	wait $_s1 || fail "storm on CPU 1 failed"
}

# 1: the consumer is stopped, so both rings fill and everything after drops.
kill -STOP "$KPID"
storm_both
kill -CONT "$KPID"
# 2: the consumer runs but cannot keep up with two CPUs.
storm_both
kestrel_stop
"$KESTREL" stats >stats.txt || fail "kestrel stats after the capture failed"
cat stats.txt

# Per ring, from the JSON: delivered events, events reported lost by LOST
# records, and whether each LOST record's seq is the ring's count so far.
awk '
	match($0, /"cpu": *[0-9]+/) {
		c = substr($0, RSTART, RLENGTH); sub(/.*: */, "", c)
		rings[c] = 1
		if ($0 ~ /"type": *"lost"/) {
			n = 0
			for (i = 1; i <= 4; i++) {
				f = i == 1 ? "seq" : i == 2 ? "ring_full" : i == 3 ? "too_large" : "fault"
				if (!match($0, "\"" f "\": *[0-9]+")) { print "BADLOST " $0; next }
				v = substr($0, RSTART, RLENGTH); sub(/.*: */, "", v)
				if (i == 1) seq = v + 0; else n += v
			}
			if (seq != seen[c] + 0) print "BADSEQ " c " " seq " " seen[c] + 0
			lost[c] += n; seen[c] += n; nlost[c]++
		} else {
			ev[c]++; seen[c]++
		}
	}
	END { for (c in rings) print "RING", c, ev[c] + 0, lost[c] + 0, nlost[c] + 0 }
' "$KOUT" >rings.txt
grep '^RING' rings.txt
bad=$(grep -c '^BAD' rings.txt || true)
if [ "$bad" -gt 0 ]; then
	grep '^BAD' rings.txt | head -n 5
	say "$bad malformed LOST records or sequence numbers that skip (first 5 above: BADSEQ ring seq expected)"
fi

total_ev=0
total_drop=0
for cpu in 0 1; do
	line=$(awk -v c=$cpu '$1 == c' stats.txt)
	[ -n "$line" ] || fail "kestrel stats has no ring $cpu"
	set -- $line
	attempted=$2 written=$3 dfull=$5 dlarge=$6 dfault=$7 lostrec=$8 pending=$9
	dropped=$((dfull + dlarge + dfault))
	j=$(awk -v c=$cpu '$1 == "RING" && $2 == c' rings.txt)
	[ -n "$j" ] || fail "no events from ring $cpu in the consumer's output"
	set -- $j
	delivered=$3 reported=$4 lostlines=$5
	say "cpu $cpu: attempted $attempted written $written dropped $dropped (full $dfull, too large $dlarge, fault $dfault), pending $pending;" \
		"consumer: $delivered delivered, $reported reported lost in $lostlines LOST records"
	[ "$dropped" -gt 0 ] || fail "cpu $cpu: nothing was dropped: the storm did not overflow a 64 KiB ring"
	[ "$written" -eq "$delivered" ] || fail "cpu $cpu: module wrote $written events, the consumer printed $delivered"
	[ "$attempted" -eq $((delivered + reported + pending)) ] ||
		fail "cpu $cpu: attempted $attempted != delivered $delivered + reported lost $reported + pending $pending"
	[ "$dropped" -eq $((reported + pending)) ] ||
		fail "cpu $cpu: module dropped $dropped, LOST records report $reported (+ $pending pending)"
	[ "$lostrec" -eq "$lostlines" ] || fail "cpu $cpu: module wrote $lostrec LOST records, the consumer printed $lostlines"
	total_ev=$((total_ev + delivered))
	total_drop=$((total_drop + dropped))
done
[ "$bad" -eq 0 ] || fail "a LOST record's sequence number is not the count of events before it on its ring"
undecodable=$(grep -c "undecodable" "$KERR" || true)
[ "$undecodable" -eq 0 ] || fail "the consumer could not decode $undecodable records"
# The consumer's own summary agrees, and it saw no imbalance.
grep -q "kestrel: $total_ev events delivered, $total_drop lost" "$KERR" ||
	fail "the consumer's summary does not say '$total_ev events delivered, $total_drop lost'"
! grep -q "accounting mismatch" "$KERR" || fail "the consumer reported an accounting mismatch"
grep -qE "gap of [0-9]+ events|events lost before" "$KERR" || fail "the consumer logged no line about lost events"
kmod_unload
say "ok: $total_ev delivered, $total_drop dropped, invariant holds on both rings"
