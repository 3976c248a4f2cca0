# syscall_matrix: kestrel-syscall-test makes every syscall kestrel.ko decodes
# (failing calls too) and writes what the decoded JSON must show; every
# expectation is checked field by field, then again at a small snaplen
# (truncated paths and argv, a faulted pointer).
# timeout: 150
. /scenarios/lib.sh

SYSCALLS=execve,execveat,clone,clone3,fork,vfork,kill,tkill,tgkill,ptrace,prctl,capset
SYSCALLS=$SYSCALLS,setuid,setgid,setreuid,setregid,setresuid,setresgid,setfsuid,setfsgid
SYSCALLS=$SYSCALLS,setns,unshare,chroot,pivot_root
SYSCALLS=$SYSCALLS,open,openat,openat2,creat,close,dup,dup2,dup3,fcntl
SYSCALLS=$SYSCALLS,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir
SYSCALLS=$SYSCALLS,link,linkat,symlink,symlinkat,chmod,fchmod,fchmodat
SYSCALLS=$SYSCALLS,chown,lchown,fchown,fchownat,mount,umount2,memfd_create,pipe,pipe2
SYSCALLS=$SYSCALLS,socket,connect,accept,accept4,bind,listen,sendto,recvfrom,socketpair
SYSCALLS=$SYSCALLS,init_module,finit_module,delete_module,bpf,userfaultfd,mprotect,mmap
SYSCALLS=$SYSCALLS,io_uring_setup,chdir,fchdir,setsid,setpgid

TEST=/bin/kestrel-syscall-test
[ -x "$TEST" ] || fail "$TEST is not in the guest (scripts/vmtest.sh builds it)"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

kmod_load
kestrel_start ev --syscalls "$SYSCALLS"
rc=0
"$TEST" matrix expect.txt || rc=$?
kestrel_stop
[ $rc -eq 0 ] || fail "kestrel-syscall-test matrix exited $rc"
grep -q ' 0 lost' "$KERR" || fail "the consumer lost events: the matrix would be incomplete"
undecodable=$(grep -c "undecodable" "$KERR" || true)
[ "$undecodable" -eq 0 ] && failed= || failed="decoding ($undecodable undecodable records)"
expect_lines expect.txt "$KOUT" || failed="${failed:+$failed and }the matrix"
all_checks=$EL_CHECKS
all_fields=$EL_FIELDS

# Truncation: strings and argv cut at snaplen are marked, not dropped.
SNAPLEN=32
kestrel_start tr --syscalls openat,execve --snaplen $SNAPLEN
rc=0
"$TEST" snaplen $SNAPLEN expect-snaplen.txt || rc=$?
kestrel_stop
[ $rc -eq 0 ] || fail "kestrel-syscall-test snaplen exited $rc"
undecodable=$(grep -c "undecodable" "$KERR" || true)
[ "$undecodable" -eq 0 ] || failed="${failed:+$failed and }decoding at snaplen $SNAPLEN ($undecodable undecodable records)"
expect_lines expect-snaplen.txt "$KOUT" || failed="${failed:+$failed and }the snaplen $SNAPLEN run"
all_checks=$((all_checks + EL_CHECKS))
all_fields=$((all_fields + EL_FIELDS))
[ -z "$failed" ] || fail "decoded events do not match the syscalls made in $failed (see above)"
kmod_unload
say "ok: $all_checks expectations, $all_fields field checks"
