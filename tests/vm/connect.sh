# connect: a TCP connect to 127.0.0.1:5555 gives a connect event with the
# address as passed and the socket's tuple (local->remote), also at the
# smallest snaplen.
. /scenarios/lib.sh

kmod_load
nc -l -p 5555 >listener.out &
# Listening on port 5555 (0x15B3), over IPv4 or dual-stack IPv6.
wait_for 10 grep -qE ':15B3 [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6 || fail "nc listener on port 5555 did not come up"
kestrel_start ev --syscalls connect
echo hello | timeout 10 nc -w 5 127.0.0.1 5555 &
p=$!
wait $p || fail "nc 127.0.0.1 5555 failed"
say "nc 127.0.0.1 5555 ran as pid $p"
kestrel_stop
expect_event "$KOUT" connect "$(jint pid $p)" "$(jstr addr 127.0.0.1:5555)" '"tuple": *"127\.0\.0\.1:[0-9]+->127\.0\.0\.1:5555"' '"res": *0[,}]'

# Addresses and tuples are never cut at snaplen, even at the smallest.
nc -l -p 5556 >listener2.out &
wait_for 10 grep -qE ':15B4 [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6 || fail "nc listener on port 5556 did not come up"
kestrel_start ev16 --syscalls connect --snaplen 16
echo again | timeout 10 nc -w 5 127.0.0.1 5556 &
p=$!
wait $p || fail "nc 127.0.0.1 5556 failed"
kestrel_stop
expect_event "$KOUT" connect "$(jint pid $p)" "$(jstr addr 127.0.0.1:5556)" '"tuple": *"127\.0\.0\.1:[0-9]+->127\.0\.0\.1:5556"'
say "ok"
