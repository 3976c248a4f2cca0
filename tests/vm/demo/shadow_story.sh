# demo (make demo): somebody reads /etc/shadow; kestrel shows who and how.
. /scenarios/lib.sh

echo
echo "=== Kestrel demo: who read /etc/shadow? ==="
say "insmod kestrel.ko ring_size=$RING_SIZE"
kmod_load
kestrel_start ev --syscalls openat,execve,connect
say "an intruder runs: sh -c '/bin/cat /etc/shadow >/tmp/loot'"
sh -c '/bin/cat /etc/shadow >/tmp/loot' &
p=$!
wait $p
kestrel_stop
echo
echo "=== events kestrel printed for process $p ==="
grep -E "$(jint pid $p)" "$KOUT" || true
echo
expect_event "$KOUT" execve "$(jint pid $p)" '"args": *\[ *"/bin/cat" *, *"/etc/shadow" *\]'
expect_event "$KOUT" openat "$(jint pid $p)" "$(jstr name /etc/shadow)" '"res": *[0-9]'
echo "=== /etc/shadow was opened by pid $p running /bin/cat: caught ==="
kmod_unload
