# capture_replay: `kestrel capture -w FILE` records in the guest and
# `kestrel replay FILE` prints the same events.
. /scenarios/lib.sh

kmod_load
kestrel_start_cmd cap capture -w trace.kst --syscalls openat
cat /etc/shadow >/dev/null &
p=$!
wait $p
kestrel_stop
[ -s trace.kst ] || fail "capture file trace.kst is empty or missing"
say "trace.kst: $(wc -c <trace.kst) bytes"
rc=0
"$KESTREL" replay trace.kst >replay.json 2>replay.err || rc=$?
cat replay.err
[ $rc -eq 0 ] || fail "kestrel replay exited $rc"
expect_event replay.json openat "$(jstr name /etc/shadow)" "$(jint pid $p)" '"res": *[0-9]'
say "ok"
