# device_caps: opening /dev/kestrel takes capabilities, not only the file
# mode: root without CAP_SYS_ADMIN (and without CAP_PERFMON+CAP_BPF) gets
# EPERM as consumer; CAP_PERFMON+CAP_BPF suffice for the consumer and
# CAP_PERFMON for an observer.  Attaching, starting, stopping and
# releasing are logged in the kernel log with the pid and command.
. /scenarios/lib.sh

kmod_load
dmesg -c >/dev/null

# Consumer without CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF: refused.
rc=0
kestrel-devtest dropcaps sys_admin,perfmon,bpf -- "$KESTREL" events --count 1 >nocap.json 2>nocap.err || rc=$?
cat nocap.err
[ $rc -ne 0 ] || fail "a consumer without CAP_SYS_ADMIN was allowed"
grep -q "operation not permitted" nocap.err || fail "no 'operation not permitted' in the consumer's error"
grep -q "CAP_SYS_ADMIN" nocap.err || fail "the error does not name the capability"
dmesg | grep -q "kestrel: consumer open refused: pid [0-9]* (kestrel)" || { dmesg; fail "no log line for the refused open"; }

# An observer without CAP_SYS_ADMIN and CAP_PERFMON: refused too.
rc=0
kestrel-devtest dropcaps sys_admin,perfmon -- "$KESTREL" stats >obs.txt 2>obs.err || rc=$?
cat obs.err
[ $rc -ne 0 ] || fail "an observer without CAP_SYS_ADMIN and CAP_PERFMON was allowed"

# CAP_PERFMON alone is an observer's right, not a consumer's.
kestrel-devtest dropcaps sys_admin,bpf -- kestrel-devtest info || fail "an observer with CAP_PERFMON was refused"
rc=0
kestrel-devtest dropcaps sys_admin,bpf -- kestrel-devtest stale >/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a consumer with CAP_PERFMON but not CAP_BPF was allowed"

# CAP_PERFMON + CAP_BPF: a consumer, as for a tracing BPF program.
dmesg -c >/dev/null
KESTREL_SAVED=$KESTREL
cat >/tmp/kestrel-nosysadmin <<EOT
#!/bin/sh
exec kestrel-devtest dropcaps sys_admin -- $KESTREL_SAVED "\$@"
EOT
chmod +x /tmp/kestrel-nosysadmin
KESTREL=/tmp/kestrel-nosysadmin
kestrel_start ev --syscalls openat
cat /etc/shadow >/dev/null
kestrel_stop
KESTREL=$KESTREL_SAVED
expect_event "$KOUT" openat "$(jstr name /etc/shadow)"
dmesg | tee log1.txt
grep -q "kestrel: consumer attached: pid [0-9]* (kestrel)" log1.txt || fail "no 'consumer attached' log line"
grep -q "kestrel: capture started by pid [0-9]* (kestrel)" log1.txt || fail "no 'capture started' log line"
grep -q "kestrel: capture stopped by pid [0-9]* (kestrel)" log1.txt || fail "no 'capture stopped' log line"
grep -q "kestrel: consumer released: pid [0-9]* (kestrel)$" log1.txt || fail "no 'consumer released' log line"

# Killing the agent while it captures leaves a trace.
dmesg -c >/dev/null
kestrel_start ev2 --syscalls openat
kill -9 "$KPID"
wait "$KPID" 2>/dev/null || true
wait_for 5 sh -c 'dmesg | grep -q "consumer released: pid [0-9]* (kestrel) while capturing: capture stopped"' ||
	{ dmesg; fail "killing the capturing consumer left no log line"; }
dmesg | grep "consumer released"
kmod_unload
say "ok"
