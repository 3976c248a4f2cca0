# hostile_syscalls: system calls built to trip the probes' user-memory
# reads, while a consumer captures (tests/hostile/kestrel-hostile.c,
# `syscalls`): each record is whole, truncated (and says so) or marked
# unreadable, never wrong.  Unmapped path pointers, paths that run into an
# unmapped page with and without their NUL, a 4095-byte path, an execve
# with 5002 arguments (at exit the last one in view and the count left
# out exact; at entry the count unknown, said so) and
# one with an unmapped argv pointer, connect with address lengths 0, 7,
# 200 and -1, an unmapped address and one that runs into an unmapped page.
# timeout: 90
. /scenarios/lib.sh

kmod_load
kestrel_start ev --syscalls openat,execve,connect
kestrel-hostile syscalls >sc.txt 2>&1 || { cat sc.txt; fail "kestrel-hostile syscalls failed"; }
kestrel_stop
cat sc.txt
pid=$(sed -n 's/^pid //p' sc.txt)
big=$(sed -n 's/^bigexec //p' sc.txt)
[ -n "$pid" ] && [ -n "$big" ] || fail "no pids in the program's output"
undecodable=$(grep -c "undecodable" "$KERR" || true)
[ "$undecodable" -eq 0 ] || fail "$undecodable undecodable records"

# the one openat event of ours with mode M, on stdout
open_ev() {
	_oe=$(events "$KOUT" openat "$(jint tid "$pid")" "$(jint mode "$1")")
	[ "$(echo "$_oe" | grep -c .)" -eq 1 ] || { show "$KOUT"; fail "want one openat with mode $1, found: $_oe"; }
	echo "$_oe"
}
# the JSON value of string member NAME in an event (null or "..."), on stdout
member() { echo "$2" | grep -oE "\"$1\": *(null|\"[^\"]*\")" | head -n 1 | sed 's/^[^:]*: *//'; }
listed() { echo "$2" | grep -qE "\"$1\": *\[[^]]*\"$3\""; }	# listed faulted EV name

# 3001: an unmapped path: unreadable, never a name
e=$(open_ev 3001)
echo "$e" | grep -qE "$(jint res -14)" || fail "openat of an unmapped path: not EFAULT: $e"
[ "$(member name "$e")" = null ] && listed faulted "$e" name || fail "openat of an unmapped path: name not marked unreadable: $e"

# 3002: runs into the unmapped page without a NUL: unreadable, or a
# prefix of what is there marked truncated; never bytes that are not
e=$(open_ev 3002)
echo "$e" | grep -qE "$(jint res -14)" || fail "openat of an unterminated path: not EFAULT: $e"
n=$(member name "$e")
if [ "$n" = null ]; then
	listed faulted "$e" name || fail "unterminated path: null name not marked faulted: $e"
else
	echo "$n" | grep -qxE '"/tmp/hostile-edge-noterm-Z*"' || fail "unterminated path recorded as $n"
	listed truncated "$e" name || listed faulted "$e" name || fail "unterminated path: $n is not marked cut: $e"
fi
say "unterminated path before an unmapped page: name $(echo "$n" | cut -c1-40)"

# 3003: the NUL is the last mapped byte: the whole name, unmarked
e=$(open_ev 3003)
[ "$(member name "$e")" = '"/tmp/hostile-edge-ok"' ] || fail "path ending at the page boundary: $e"
echo "$e" | grep -qE "$(jint res -2)" || fail "path ending at the page boundary: not ENOENT: $e"
listed truncated "$e" name && fail "a whole path marked truncated: $e"
listed faulted "$e" name && fail "a whole path marked faulted: $e"

# 3004: 4095 bytes: ENAMETOOLONG; the name whole or a prefix marked truncated
e=$(open_ev 3004)
echo "$e" | grep -qE "$(jint res -36)" || fail "4095-byte path: not ENAMETOOLONG: $(echo "$e" | cut -c1-300)"
n=$(member name "$e")
echo "$n" | grep -qxE '"/p+"' || fail "4095-byte path recorded as $(echo "$n" | cut -c1-80)"
len=$((${#n} - 2))
[ "$len" -eq 4095 ] || listed truncated "$e" name || fail "4095-byte path cut to $len bytes without being marked"
say "4095-byte path: $len bytes recorded"

# 5002 arguments.  At exit (the new image's argument area, whose end the
# kernel knows) the first and the last are in view and the gap is counted
# exactly.  At entry the module reads at most 4096 user pointers looking
# for the array's end, so there the gap is "unknown" (null), never a wrong
# count; and the strings may not be readable yet (a forked child's
# read-only data is not mapped until touched, and a probe cannot fault it
# in): such an item is empty and marked cut, never other text.
expect_event "$KOUT" execve "$(jint tid "$big")" '"dir": *"<"' \
	'"args": *\["true","x",' ',"x","LAST-ARG"\]' \
	'"cut": *\{"args": *\{"omitted": *4970,"first": *24,'
e=$(events "$KOUT" execve "$(jint tid "$big")" '"dir": *">"' \
	'"truncated": *\[[^]]*"args"' '"cut": *\{"args": *\{"omitted": *null,')
[ -n "$e" ] || { show "$KOUT"; fail "no execve entry with 5002 arguments marked cut, the gap unknown"; }
a=$(echo "$e" | grep -oE '"args": *\[[^]]*\]' | head -n 1)
echo "$a" | sed 's/^"args": *\[//; s/\]$//' | tr ',' '\n' | grep -vxE '"(true|x|)"' |
	grep . && fail "execve entry: args hold items argv never had: $a"
if echo "$a" | grep -q '""'; then
	echo "$e" | grep -qE '"items": *\[[0-9]' || fail "execve entry: empty items not marked cut: $e"
fi

# an unmapped argv pointer: EFAULT, and the args only what argv holds
e=$(events "$KOUT" execve "$(jint tid "$pid")" '"dir": *"<"' "$(jint res -14)")
[ -n "$e" ] || { show "$KOUT"; fail "no failed execve exit record"; }
echo "$e"
a=$(echo "$e" | grep -oE '"args": *(null|\[[^]]*\])' | head -n 1)
case $a in
*null) listed faulted "$e" args || fail "failed execve: null args not marked faulted" ;;
*)
	echo "$a" | sed 's/^"args": *\[//; s/\]$//' | tr ',' '\n' | grep -vxE '"(true|BEFORE-BAD|AFTER-BAD|)"' |
		grep . && fail "failed execve: args hold items argv never had: $a"
	listed truncated "$e" args || listed faulted "$e" args || fail "failed execve: args $a not marked cut or unreadable"
	;;
esac

# connect: odd lengths never render an address the kernel was not given
c() {
	_c=$(events "$KOUT" connect "$(jint tid "$pid")" "$(jint fd "$1")")
	[ "$(echo "$_c" | grep -c .)" -eq 1 ] || { show "$KOUT"; fail "want one connect on fd $1, found: $_c"; }
	echo "$_c" | grep -qE "$(jint res "$2")" || fail "connect on fd $1: res not $2: $_c"
	echo "$_c"
}
e=$(c 101 -22)
echo "$e" | grep -q '127.0.0.1:5555' && fail "connect with length 0 recorded an address: $e"
e=$(c 102 -22)
echo "$e" | grep -q '127.0.0.1:5555' && fail "connect with length 7 recorded the whole address: $e"
c 103 -22 >/dev/null
c 104 -22 >/dev/null
e=$(c 105 -14)
[ "$(member addr "$e")" = null ] && listed faulted "$e" addr || fail "connect with an unmapped address: not marked unreadable: $e"
e=$(c 106 -14)
[ "$(member addr "$e")" = null ] || listed truncated "$e" addr || listed faulted "$e" addr ||
	fail "connect with an address running into an unmapped page: not marked: $e"
events "$KOUT" connect "$(jint tid "$pid")"
kmod_unload
say "ok"
