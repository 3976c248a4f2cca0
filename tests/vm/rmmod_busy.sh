# rmmod_busy: rmmod is refused while a consumer is attached and succeeds once
# it has exited, also when it was killed with SIGKILL.
. /scenarios/lib.sh

kmod_load
kestrel_start ev --syscalls openat
if rmmod kestrel; then
	fail "rmmod succeeded with a consumer attached"
fi
module_loaded || fail "module gone after the refused rmmod"
[ -c /dev/kestrel ] || fail "/dev/kestrel gone after the refused rmmod"
# The consumer still works after the refused rmmod.
cat /etc/hostname >/dev/null &
c=$!
wait $c
kestrel_stop
expect_event "$KOUT" openat "$(jstr name /etc/hostname)" "$(jint pid $c)"
kmod_unload

# A consumer killed without warning must not leave the module pinned.
kmod_load
kestrel_start ev2 --syscalls openat,execve
cat /etc/hostname >/dev/null
kill -9 "$KPID"
wait "$KPID" || true
kmod_unload
say "ok"
