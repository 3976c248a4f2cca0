# shadow_open: `cat /etc/shadow` gives an openat event with the path, a
# result >= 0 and the cat's pid as tid and pid.
. /scenarios/lib.sh

kmod_load
kestrel_start ev --syscalls openat
cat /etc/shadow >/dev/null &
p=$!
wait $p
say "cat /etc/shadow ran as pid $p"
kestrel_stop
expect_event "$KOUT" openat "$(jstr name /etc/shadow)" "$(jint tid $p)" "$(jint pid $p)" '"res": *[0-9]'
say "ok"
