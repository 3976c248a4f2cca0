# execve: `sh -c 'echo hi'` gives an execve event with its args.
. /scenarios/lib.sh

kmod_load
kestrel_start ev --syscalls execve
sh -c 'echo hi' >/dev/null &
p=$!
wait $p
say "sh -c 'echo hi' ran as pid $p"
kestrel_stop
expect_event "$KOUT" execve "$(jint pid $p)" '"args": *\[ *"sh" *, *"-c" *, *"echo hi" *\]' '"res": *0[,}]' '"exe": *"/'
say "ok"
