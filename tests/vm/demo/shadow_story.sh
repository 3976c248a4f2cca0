# demo (make demo): the reference story.  On a Kubernetes node, somebody
# opens a shell in a container and runs `cat /etc/shadow`; within a second
# `kestrel run`, running as a service with the default ruleset, delivers an
# alert that names the rule, the process, its parent, the container and the
# pod, to its standard output and to a webhook.  The container is made by
# hand in the guest, as containerd would make it (make_container in
# lib.sh): namespaces, its own root, a kubepods cgroup and a CRI bundle.
# The webhook receiver is busybox httpd with a CGI script on 127.0.0.1.
. /scenarios/lib.sh

echo
echo "=== Kestrel demo: somebody reads /etc/shadow in a container ==="
say "a pod's container: shop-7d4b9c-xz2kq in namespace payments, image registry.local/team/shop:1.4"
make_container 1

HOOK=$PWD/webhook.jsonl
: >"$HOOK"
mkdir -p www/cgi-bin
cat >www/cgi-bin/alert <<EOF
#!/bin/sh
head -c "\${CONTENT_LENGTH:-0}" >>"$HOOK"
echo >>"$HOOK"
printf 'Content-Type: text/plain\r\n\r\nok\n'
EOF
chmod 0755 www/cgi-bin/alert
httpd -f -p 127.0.0.1:2801 -h "$PWD/www" &
wait_for 5 sh -c 'echo x | nc 127.0.0.1 2801 >/dev/null 2>&1' || fail "the webhook receiver did not start"
say "a webhook receiver (as falcosidekick would be) on http://127.0.0.1:2801/cgi-bin/alert"

cat >kestrel.yaml <<EOF
rules_files:
  - /rules/kestrel_rules.yaml
json_output: true
stdout_output:
  enabled: true
http_output:
  enabled: true
  url: http://127.0.0.1:2801/cgi-bin/alert
webserver:
  enabled: true
  listen_port: 8765
engine:
  kmod:
    host_root: $HOSTROOT
EOF
echo
echo "=== the configuration (kestrel run -c kestrel.yaml) ==="
cat kestrel.yaml
echo
say "insmod kestrel.ko ring_size=$RING_SIZE"
kmod_load
kestrel_start_cmd alert run -c kestrel.yaml
say "kestrel run: $(kestrel rules validate /rules/kestrel_rules.yaml 2>&1 | tail -n 1)"
say "in the container, a shell runs: cat /etc/shadow"
container_cue 1
wait_for 1 grep -q 'Sensitive file' "$KOUT" || fail "no alert on stdout within a second"
wait_for 1 grep -q 'Sensitive file' "$HOOK" || fail "no alert at the webhook within a second"
echo
echo "=== the alert on kestrel's standard output (Falco's JSON shape) ==="
cat "$KOUT"
echo
echo "=== the alert as the webhook received it ==="
cat "$HOOK"
echo
echo "=== a few lines of http://127.0.0.1:8765/metrics ==="
wget -q -O metrics.txt http://127.0.0.1:8765/metrics || fail "/metrics did not answer"
grep -E '^kestrel_(alerts_total|rules_loaded|events_per_second|events_dropped_total\{cpu="0",reason="ring_full"\}|output_delivered_total|process_resident_memory_bytes)' metrics.txt
echo "healthz: $(wget -q -O - http://127.0.0.1:8765/healthz)"
wait "$CONTAINER_PID" || true
kill -TERM "$KPID"
wait_for 20 dead "$KPID" || fail "kestrel did not stop on SIGTERM"
echo
for want in '"rule":"Sensitive file read by unexpected program"' 'Sensitive file opened for reading' 'file=/etc/shadow' 'program=cat' 'parent=sh' \
	'user=appuser' "container=$SHORT" 'pod=shop-7d4b9c-xz2kq' 'ns=payments'; do
	grep -q "$want" "$KOUT" || fail "the alert lacks $want"
	grep -q "$want" "$HOOK" || fail "the webhook's alert lacks $want"
done
echo "=== caught: rule, process, parent, container and pod named, on stdout and at the webhook ==="
kmod_unload
