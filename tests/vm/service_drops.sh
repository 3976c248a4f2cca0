# service_drops: events the module drops become Falco-style drop alerts
# and log lines (syscall_event_drops: log, alert), and `exit` stops the
# service with an error.  The consumer is stopped (SIGSTOP) while a storm
# fills its small rings, then continued: the LOST records it then reads
# count the drops.
# timeout: 120
. /scenarios/lib.sh

RING_SIZE=65536

cat >kestrel.yaml <<'EOF'
rules_files:
  - /rules/kestrel_rules.yaml
json_output: true
webserver:
  enabled: false
syscall_event_drops:
  threshold: 0.1
  actions: [log, alert]
  rate: 1
  max_burst: 1
EOF

storm_while_stopped() {
	kill -STOP "$KPID"
	( while :; do : </etc/passwd; done ) &
	_s=$!
	sleep 2
	kill "$_s"
	wait "$_s" 2>/dev/null || true
	kill -CONT "$KPID"
}

kmod_load
kestrel_start_cmd drops run -c kestrel.yaml
storm_while_stopped
wait_for 10 grep -q 'Falco internal: syscall event drop' "$KOUT" ||
	{ cat "$KERR"; "$KESTREL" stats; fail "no drop alert after the rings overflowed"; }
kill -TERM "$KPID"
wait_for 20 dead "$KPID" || fail "kestrel did not stop"
rc=0
wait "$KPID" || rc=$?
sed 's/^/kestrel stderr: /' "$KERR"
[ "$rc" -eq 0 ] || fail "kestrel exited with status $rc"
alert=$(grep 'Falco internal: syscall event drop' "$KOUT" | head -n 1)
echo "drop alert: $alert"
for want in '"priority":"Debug"' '"source":"internal"' '"n_drops":"[1-9][0-9]*"' \
	'"n_drops_buffer_total":"[1-9][0-9]*"' '"n_evts":"[1-9][0-9]*"' \
	'"output":"Falco internal: syscall event drop. [1-9][0-9]* system calls dropped in last second."'; do
	echo "$alert" | grep -Eq "$want" || fail "the drop alert lacks $want"
done
grep -q 'error: Falco internal: syscall event drop. [1-9][0-9]* system calls dropped' "$KERR" ||
	fail "no drop log line"
grep -q 'LOST record' "$KERR" || fail "no gap line from the session"

say "actions: [exit] stops the service with an error"
kestrel_start_cmd drops2 run -c kestrel.yaml -o 'syscall_event_drops.actions=[exit]'
storm_while_stopped
wait_for 20 dead "$KPID" || { kill -TERM "$KPID"; fail "kestrel did not exit on drops"; }
rc=0
wait "$KPID" || rc=$?
sed 's/^/kestrel stderr: /' "$KERR"
[ "$rc" -ne 0 ] || fail "kestrel exited 0 on drops with actions [exit]"
grep -q 'Exiting (syscall_event_drops.actions has exit)' "$KERR" || fail "no exit message"
kmod_unload
say "ok"
