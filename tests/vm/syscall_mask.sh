# syscall_mask: a syscall left out of the mask never reaches the consumer;
# a mask changed during capture attaches the probes it needs (sys_enter,
# the fd_install kprobe: kestrel-hostile maskchange).
. /scenarios/lib.sh

kmod_load

# openat only: no execve, nothing but openat and the sched events.
kestrel_start ev1 --syscalls openat
sh -c 'echo hi' >/dev/null &
p=$!
wait $p
cat /etc/hostname >/dev/null &
c=$!
wait $c
kestrel_stop
expect_event ev1.json openat "$(jstr name /etc/hostname)" "$(jint pid $c)"
expect_no_event ev1.json execve
other=$(grep -vE '"type": *"(openat|procexit|procfork|procexec)"' ev1.json | head -n 5)
[ -z "$other" ] || { echo "$other"; fail "events other than openat and proc* with --syscalls openat"; }

# execve only: no openat.  (execve_enter is the execve syscall's entry event.)
kestrel_start ev2 --syscalls execve
sh -c 'cat /etc/hostname' >/dev/null &
p=$!
wait $p
kestrel_stop
expect_event ev2.json execve "$(jint pid $p)"
expect_no_event ev2.json openat
other=$(grep -vE '"type": *"(execve|procexit|procfork|procexec)"' ev2.json | head -n 5)
[ -z "$other" ] || { echo "$other"; fail "events other than execve and proc* with --syscalls execve"; }

# a mask widened during capture: START with getppid only attaches neither
# sys_enter nor the fd_install kprobe; adding openat and execve attaches
# both (the kprobe is listed, the child's execve entry record is there)
grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
kestrel-hostile maskchange || fail "kestrel-hostile maskchange failed"
say "ok"
