# toctou_races: a sibling thread races the names the module records --
# dup2()ing another file onto the fd an open of /etc/shadow returns,
# rewriting the path, rewriting bind's and connect's socket address -- and
# the kernel-derived fields (open's fullpath, bind's and connect's tuple)
# always name what the kernel acted on.
# timeout: 240
. /scenarios/lib.sh

TEST=/bin/kestrel-syscall-test
[ -x "$TEST" ] || fail "$TEST is not in the guest (scripts/vmtest.sh builds it)"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

kmod_load
kestrel_start ev --syscalls openat,bind,connect
rc=0
"$TEST" race 3 expect.txt || rc=$?
kestrel_stop
[ $rc -eq 0 ] || fail "kestrel-syscall-test race exited $rc"
undecodable=$(grep -c "undecodable" "$KERR" || true)
[ "$undecodable" -eq 0 ] || fail "$undecodable undecodable records"
expect_lines expect.txt "$KOUT" || fail "a raced name was recorded wrong (see above)"
kmod_unload
say "ok: $EL_CHECKS expectations under races"
