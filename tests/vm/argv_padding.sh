# argv_padding: argv padded with 300 arguments before the real command, and
# an environment padded with three 3000-byte variables before LD_PRELOAD,
# cannot push either out of the execve records: lists are bounded per item
# and in count, keeping the first and the last items, and the JSON says
# how each list was cut ("cut": 271 of the 303 arguments left out after the
# first 24; the three padding variables each cut short).
# timeout: 60
. /scenarios/lib.sh

TEST=/bin/kestrel-syscall-test
kmod_load
kestrel_start ev --syscalls execve
out=$("$TEST" argvpad) || fail "kestrel-syscall-test argvpad failed"
kestrel_stop
pid=${out#child }
say "padded execve by pid $pid"
undecodable=$(grep -c "undecodable" "$KERR" || true)
[ "$undecodable" -eq 0 ] || fail "$undecodable undecodable records"
for dir in '>' '<'; do
	# the real command is the last argument, whole
	expect_event "$KOUT" execve "$(jint tid "$pid")" "\"dir\": *\"$dir\"" \
		'"args": *\["kestrel-syscall-test","noop","-pad-0+0",' \
		',"real-command"\]' '"truncated": *\[[^]]*"args"' \
		'"cut": *\{"args": *\{"omitted": *271,"first": *24,"items": *\[\]\}'
done
# LD_PRELOAD behind the padding variables, whole, at exit (env)
expect_event "$KOUT" execve "$(jint tid "$pid")" '"dir": *"<"' \
	'"env": *\["PAD=aaaa[a]*","PAD=bbbb[b]*","PAD=cccc[c]*","LD_PRELOAD=/tmp/evil.so"\]' \
	'"env": *\{"omitted": *0,"first": *[0-9]+,"items": *\[0,1,2\]\}'
kmod_unload
say "ok: the real command and LD_PRELOAD are in view"
