# cli: the consumer's error messages (no module, not root) and `kestrel stats`.
. /scenarios/lib.sh

rc=0
"$KESTREL" events >out.json 2>err.txt || rc=$?
cat err.txt
[ $rc -ne 0 ] || fail "kestrel events without the module exited 0"
grep -q "is the module loaded?" err.txt || fail "no 'is the module loaded?' in the error without the module"

kmod_load
rc=0
su -s /bin/sh nobody -c "$KESTREL events" >out.json 2>err.txt || rc=$?
cat err.txt
[ $rc -ne 0 ] || fail "kestrel events as nobody exited 0"
grep -q "root" err.txt || fail "no mention of 'root' in the error for a non-root user"

rc=0
"$KESTREL" stats >stats.txt 2>err.txt || rc=$?
cat stats.txt err.txt
[ $rc -eq 0 ] || fail "kestrel stats exited $rc"
[ -s stats.txt ] || fail "kestrel stats printed nothing"
kmod_unload
say "ok"
