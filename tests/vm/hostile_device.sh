# hostile_device: a hostile program against /dev/kestrel (tests/hostile/):
# ioctls with NULL, unmapped, kernel, non-canonical and page-straddling
# pointers, bad values and 3000 random ioctl numbers; mmap at wrong offsets
# and lengths and 3000 random ones checked against the layout; mprotect and
# mremap of the read-only pages; stores into them; a consumer page whose
# tail lies far ahead of and behind head (clamped: the records after it
# parse); four threads racing START/STOP/SET_MASK/mmap/tail writes; then
# the opens that must be refused (non-root with mode 0600 and 0666, root
# without the capabilities, an observer trying the consumer's calls).
# Each call gets the errno the ABI names; the kernel log stays clean (the
# harness fails any WARN/BUG/Oops); the module unloads afterwards.
. /scenarios/lib.sh

kmod_load
seed=$(( $(date +%s) % 100000 + 1 ))
dmesg -c >/dev/null
rc=0
kestrel-hostile device "$seed" 3000 >dev.txt 2>&1 || rc=$?
cat dev.txt
[ $rc -eq 0 ] || fail "kestrel-hostile device $seed 3000 exited $rc"
rc=0
kestrel-hostile opens >opens.txt 2>&1 || rc=$?
cat opens.txt
[ $rc -eq 0 ] || fail "kestrel-hostile opens exited $rc"
[ "$(stat -c %a /dev/kestrel)" = 600 ] || fail "/dev/kestrel mode was not restored"
# a real consumer still works after all that
kestrel_start ev --syscalls openat
cat /etc/shadow >/dev/null
kestrel_stop
expect_event "$KOUT" openat "$(jstr name /etc/shadow)"
dmesg | tail -n 20
kmod_unload
kernel_checkers
say "ok (seed $seed)"
