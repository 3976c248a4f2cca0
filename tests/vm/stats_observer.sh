# stats_observer: `kestrel stats` reads the counters beside a running
# consumer (a read-only open is an observer), the counters add up, and the
# consumer's own accounting finds every event delivered.
. /scenarios/lib.sh

kmod_load
kestrel_start ev --syscalls openat
for i in 1 2 3 4 5; do cat /etc/shadow >/dev/null; done

rc=0
"$KESTREL" stats >stats.txt 2>err.txt || rc=$?
cat stats.txt err.txt
[ $rc -eq 0 ] || fail "kestrel stats beside a consumer exited $rc"
grep -q "capturing yes" stats.txt || fail "stats does not show the capture running"
# Sum of written over the rings: at least the five opens of /etc/shadow.
written=$(awk '$1 ~ /^[0-9]+$/ { w += $3 } END { print w + 0 }' stats.txt)
say "records written so far: $written"
[ "$written" -ge 5 ] || fail "stats shows $written records written, expected >= 5"
# attempted == written + drops on every ring.
awk '$1 ~ /^[0-9]+$/ && $2 != $3 + $5 + $6 + $7 { bad = 1 } END { exit bad }' stats.txt ||
	fail "a ring's attempted != written + dropped"

# An observer may not map the rings or start a capture: a second events
# run (which opens read-write) is still refused as busy.
rc=0
"$KESTREL" events >second.json 2>second.err || rc=$?
[ $rc -ne 0 ] || fail "a second consumer was allowed beside the first"
grep -q busy second.err || fail "no 'busy' in the second consumer's error"

kestrel_stop
expect_event "$KOUT" openat "$(jstr name /etc/shadow)"
n=$(events "$KOUT" openat "$(jstr name /etc/shadow)" | wc -l)
[ "$n" -eq 5 ] || fail "expected 5 openat events of /etc/shadow, got $n"
grep -q "0 lost" "$KERR" || fail "the consumer reported lost events"
if grep -q "accounting mismatch" "$KERR"; then fail "the consumer's accounting did not balance"; fi
kmod_unload
say "ok"
