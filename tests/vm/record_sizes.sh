# Record sizes and the kernel-resolved parameters of openat and execve:
# a relative open gets its absolute fullpath, execve's exit carries the new
# image's exe, args, cwd, ids, env and comm.  Prints the size of each record
# type (`kestrel replay --sizes`) for the report.
. /scenarios/lib.sh

kmod_load
kestrel_start_cmd cap capture -w sizes.kst --with-env --syscalls openat,execve
(cd /etc && FOO=bar /bin/cat shadow >/dev/null) &
p=$!
wait $p
kestrel_stop
rc=0
"$KESTREL" replay --sizes sizes.kst >sizes.txt || rc=$?
cat sizes.txt
[ $rc -eq 0 ] || fail "kestrel replay --sizes exited $rc"
grep -qE '^openat +< +[1-9]' sizes.txt || fail "no openat line in the sizes"
grep -qE '^execve +< +[1-9]' sizes.txt || fail "no execve exit line in the sizes"
grep -qE '^execve +> +[1-9]' sizes.txt || fail "no execve entry line in the sizes"
"$KESTREL" replay sizes.kst >ev.json || fail "kestrel replay failed"
expect_event ev.json openat "$(jstr name shadow)" "$(jstr fullpath /etc/shadow)" '"res":[0-9]' '"dir":"<"'
expect_event ev.json execve '"dir":"<"' '"res":0' '"exe":"/bin/busybox"' \
	'"args":\["/bin/cat","shadow"\]' '"cwd":"/etc"' '"uid":0,' '"euid":0,' \
	'"env":\[[^]]*"FOO=bar"' '"comm":"cat"' '"loginuid":[0-9]+' '"pidns":[1-9]' '"cgroups":"/'
expect_event ev.json execve '"dir":">"' '"filename":"/bin/cat"' '"args":\["/bin/cat","shadow"\]'
say "ok"
