# second_consumer: a second consumer gets a clear "busy" error and exits
# non-zero; the first keeps capturing; the device is free again after.
. /scenarios/lib.sh

kmod_load
kestrel_start first --syscalls openat
rc=0
timeout 20 "$KESTREL" events --syscalls openat >second.json 2>second.err || rc=$?
sed 's/^/second stderr: /' second.err
[ $rc -ne 0 ] || fail "the second consumer exited 0"
[ $rc -ne 143 ] && [ $rc -ne 137 ] || fail "the second consumer hung (killed by timeout)"
grep -qi busy second.err || fail "no 'busy' in the second consumer's error"
cat /etc/hostname >/dev/null &
c=$!
wait $c
kestrel_stop
expect_event first.json openat "$(jstr name /etc/hostname)" "$(jint pid $c)"

# Free again once the first one has exited.
kestrel_start third --syscalls openat
kestrel_stop
say "ok"
