# compat_syscalls: the attacks of the syscall matrix made through the 32-bit
# syscall ABI -- by a static 32-bit program and by int $0x80 from a 64-bit
# one -- are recorded as the same events as their x86_64 twins (socketcall
# and ipc demultiplexed, 16-bit ids widened, argv read as 32-bit pointers),
# and a plain execve into a 32-bit image still has its exit record.
# timeout: 120
. /scenarios/lib.sh

SYSCALLS=open,openat,fcntl,mkdir,rename,chown,chmod,unlink,chdir,pipe
SYSCALLS=$SYSCALLS,socket,bind,listen,connect,accept,init_module,ptrace,kill
SYSCALLS=$SYSCALLS,mmap,mprotect,shmget,fork,setuid,setreuid,setresuid,setresgid,execve

T32=/bin/kestrel-syscall-test-compat32
T80=/bin/kestrel-syscall-test-int80
[ -x "$T32" ] && [ -x "$T80" ] || fail "$T32 or $T80 is not in the guest (scripts/vmtest.sh builds them)"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

kmod_load
kestrel_start ev --syscalls "$SYSCALLS"
rc32=0
"$T32" compat expect32.txt || rc32=$?
rc80=0
"$T80" compat expect80.txt "$T32" || rc80=$?
kestrel_stop
[ $rc32 -eq 0 ] || fail "$T32 exited $rc32"
[ $rc80 -eq 0 ] || fail "$T80 exited $rc80"
grep -q ' 0 lost' "$KERR" || fail "the consumer lost events: the check would be incomplete"
failed=
undecodable=$(grep -c "undecodable" "$KERR" || true)
[ "$undecodable" -eq 0 ] || failed="decoding ($undecodable undecodable records)"
expect_lines expect32.txt "$KOUT" || failed="${failed:+$failed and }the 32-bit program"
checks=$EL_CHECKS
expect_lines expect80.txt "$KOUT" || failed="${failed:+$failed and }int \$0x80"
checks=$((checks + EL_CHECKS))
[ -z "$failed" ] || fail "32-bit syscalls not recorded as expected: $failed (see above)"
kmod_unload
say "ok: $checks expectations through the 32-bit ABI"
