# Record sizes and the kernel-resolved parameters of openat and execve:
# a relative open gets its absolute fullpath, execve's exit carries the new
# image's exe, args, cwd, ids, env and comm.  Prints the size of each record
# type (`kestrel replay --sizes`) for the report.
# The exec runs in a cgroup of its own, whose exact path the record must
# carry (on PREEMPT_RT the probe walks kernfs names without a lock); then
# execs race a loop renaming their cgroup: every recorded path is one of
# its two names, never a mix or garbage.
. /scenarios/lib.sh

mkdir -p /sys/fs/cgroup
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
CGP=/sys/fs/cgroup/kestrel-sizes.slice
rmdir "$CGP"/* "$CGP" 2>/dev/null || true
mkdir -p "$CGP/exec-one.scope" "$CGP/race-a.scope"

kmod_load
kestrel_start_cmd cap capture -w sizes.kst --with-env --syscalls openat,execve
sh -c 'echo $$ >"$1/cgroup.procs" && cd /etc && FOO=bar exec /bin/cat shadow >/dev/null' sh "$CGP/exec-one.scope" &
p=$!
wait $p
# the rename race: 150 execs of /bin/true while the cgroup flips names
sh -c 'i=0; while [ $i -lt 300 ]; do mv "$1/race-a.scope" "$1/race-bb.scope" 2>/dev/null; mv "$1/race-bb.scope" "$1/race-a.scope" 2>/dev/null; i=$((i + 1)); done' sh "$CGP" &
rp=$!
sh -c 'for d in "$1/race-a.scope" "$1/race-bb.scope" "$1/race-a.scope" "$1/race-bb.scope"; do echo $$ >"$d/cgroup.procs" 2>/dev/null && break; done; i=0; while [ $i -lt 150 ]; do /bin/true; i=$((i + 1)); done' sh "$CGP" &
ep=$!
wait $ep
wait $rp || true
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
	'"env":\[[^]]*"FOO=bar"' '"comm":"cat"' '"loginuid":[0-9]+' '"pidns":[1-9]' "$(jstr cgroups /kestrel-sizes.slice/exec-one.scope)"
# every exec of the race: a path of one of the cgroup's two names (or, on
# PREEMPT_RT when a rename raced the walk, none), and most recorded
events ev.json execve '"dir":"<"' '"comm":"true"' >race.json
nrace=$(wc -l <race.json)
ngood=$(grep -cE "$(jstr cgroups '/kestrel-sizes.slice/race-(a|bb).scope')" race.json || true)
nany=$(grep -c '"cgroups":"' race.json || true)
say "rename race: $nrace execs of true, $nany with a cgroup path, $ngood of them one of its names"
[ "$nrace" -ge 150 ] || fail "only $nrace of 150 racing execs recorded"
[ "$nany" -eq "$ngood" ] || { grep -o '"cgroups":"[^"]*"' race.json | sort | uniq -c; fail "a racing exec recorded a cgroup path that was never its name"; }
[ "$ngood" -ge 100 ] || fail "only $ngood of $nrace racing execs carried a cgroup path"
expect_event ev.json execve '"dir":">"' '"filename":"/bin/cat"' '"args":\["/bin/cat","shadow"\]'
say "ok"
