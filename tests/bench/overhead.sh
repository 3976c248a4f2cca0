# overhead: guest instructions per syscall loop iteration, without and with
# kestrel (run by scripts/vmbench.sh in a one-vCPU guest under -icount
# shift=0, where guest ns = guest instructions).  Not a test: it prints
#   BENCH-ROW PHASE LOOP NS_PER_ITERATION
# lines (and fails only if a phase could not run or the module dropped
# events, which would make the figures meaningless).
# timeout: 1500
. /scenarios/lib.sh

N=${BENCH_N:-10000}
RUNS=${BENCH_RUNS:-5}
# BENCH_LOOPS=a,b runs only those loops; BENCH_QUICK=1 only the baseline,
# masked and paused (probe) rows: quick turns while changing the module.
LOOPS=$(echo "${BENCH_LOOPS:-getppid,openclose,stat}" | tr ',' ' ')
# what each loop records (generic events for getppid and newfstatat)
SYSCALLS=getppid,openat,close,newfstatat
# Big enough for a whole paused phase of one loop (openclose: about 140
# bytes x 2 events x N x (RUNS + 0.1)).
RING_SIZE=${BENCH_RING_SIZE:-33554432}

row() {	# row PHASE LOOP
	_out=$(kestrel-bench "$2" "$N" "$RUNS") || fail "kestrel-bench $2 failed"
	_med=$(echo "$_out" | sed -n 's/.* median=\([0-9]*\).*/\1/p')
	echo "# $1: $_out"
	echo "BENCH-ROW $1 $2 $_med"
}

# consumer PHASE ARGS...: start `kestrel events ARGS` with its JSON to
# /dev/null (as sysdig to /dev/null in DESIGN's Falco figures); with
# KCMD=run, `kestrel run ARGS` (the rules engine) with its alerts there.
consumer() {
	_c_name=$1
	shift
	KERR=$_c_name.err
	: >"$KERR"
	"$KESTREL" "${KCMD:-events}" "$@" >/dev/null 2>"$KERR" &
	KPID=$!
	wait_for 30 grep -q capturing "$KERR" || { cat "$KERR"; fail "kestrel did not start"; }
}

consumer_stop() {
	kill -CONT "$KPID" 2>/dev/null || true
	kill -INT "$KPID"
	wait_for 120 dead "$KPID" || { cat "$KERR"; fail "kestrel did not exit"; }
	wait "$KPID" || { cat "$KERR"; fail "kestrel failed"; }
	sed 's/^/# kestrel: /' "$KERR"
	grep -q 'delivered, 0 lost' "$KERR" ||
		fail "the module dropped events (or no summary): figures not comparable"

}

say "guest: $(uname -r), $(nproc) CPU(s), clocksource $(cat /sys/devices/system/clock/clocksource/clocksource0/current_clocksource)"

# 1. no module.  Once more at the end (baseline-end): right after boot the
# guest may still be busy with its own work (seen on 6.12), and the
# table takes the lower of the two.
sleep 2
for l in $LOOPS; do row baseline "$l"; done

kmod_load

# 2. attached, the loops' syscalls masked out (execve only)
consumer masked --syscalls execve
for l in $LOOPS; do row masked "$l"; done
consumer_stop

# 2b. the same with a mask that needs no syscall-entry work (kill): only
# the sys_exit probe is attached (execve's entry record needs sys_enter)
consumer masked-exit --syscalls kill
for l in $LOOPS; do row masked-exit "$l"; done
consumer_stop

# 3. recorded, consumer stopped: only the probes count
for l in $LOOPS; do
	consumer "paused-$l" --syscalls "$SYSCALLS"
	kill -STOP "$KPID"
	row paused "$l"
	"$KESTREL" stats | sed 's/^/# stats: /'
	consumer_stop
done

# Operations one row performed: a warm-up tenth, then RUNS x N.
ops() { echo $(($1 / 10 + RUNS * $1)); }

# The consumer's CPU time so far (ns = instructions): sum_exec_runtime.
consumer_ns() { cut -d' ' -f1 "/proc/$KPID/schedstat"; }
# Events the module has attempted so far, all rings.
attempted() { "$KESTREL" stats | sed -n 's/^total: attempted \([0-9]*\).*/\1/p'; }

# drain PHASE CONSUMER-ROW ARGS...: for each loop, a consumer draining to
# /dev/null: probes + consumer.  The loop's figure holds the consumer's
# work only as far as the scheduler ran it inside the timed runs; the
# consumer's own figure is its CPU time (its schedstat, user and kernel)
# per event, over the runs and its catch-up.
drain() {
	_d_phase=$1
	_d_row=$2
	shift 2
	for l in $LOOPS; do
		consumer "$_d_phase-$l" "$@"
		c0=$(consumer_ns)
		a0=$(attempted)
		row "$_d_phase" "$l"
		sleep 3	# let it catch up (the rings are large)
		c1=$(consumer_ns)
		a1=$(attempted)
		echo "# $_d_row: $((c1 - c0)) ns for $((a1 - a0)) events"
		echo "BENCH-ROW $_d_row $l $(((c1 - c0) / (a1 > a0 ? a1 - a0 : 1)))"
		echo "BENCH-ROW $_d_row-op $l $(((c1 - c0) / $(ops "$N")))"
		"$KESTREL" stats | sed 's/^/# stats: /'
		consumer_stop
	done
}

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	kmod_unload
	for l in $LOOPS; do row baseline-end "$l"; done
	say "ok (quick: probe rows only)"
	exit 0
fi

# 4. `kestrel events` (decode + JSON) to /dev/null.
drain drain consumer --syscalls "$SYSCALLS"

# 5. `kestrel run` with the shipped rules (decode + state + rules; the
# alerts, if any, to /dev/null), recording what those rules need (as
# deployed: getppid masked out, opens and closes recorded).
KCMD=run drain run run-consumer -r /rules/kestrel_rules.yaml

kmod_unload
for l in $LOOPS; do row baseline-end "$l"; done

# 6. Falco's driver (Debian's falcosecurity-scap-dkms) with sysdig
# draining it to /dev/null, when scripts/vmbench.sh packed them (/falco):
# the same loops, side by side in this boot.  Its ring is 8 MiB and fixed,
# so its rows run BENCH_FALCO_N iterations (a paused open+close row must
# fit: about 220 bytes x 4 events per iteration).
if [ -f /falco/scap.ko ]; then
	FN=${BENCH_FALCO_N:-4000}
	export LD_LIBRARY_PATH=/falco/lib
	say "falco: $(cat /falco/VERSION), $FN iterations per run"
	insmod /falco/scap.ko || fail "insmod /falco/scap.ko failed"
	wait_for 5 test -c /dev/scap0 || fail "/dev/scap0 did not appear"
	sysdig_start() {	# sysdig_start NAME: sysdig -w /dev/null, capturing
		SERR=$1.sysdig.err
		/falco/bin/sysdig -v -w /dev/null >/dev/null 2>"$SERR" &
		SPID=$!
		wait_for 30 sh -c "ls -l /proc/$SPID/fd 2>/dev/null | grep -q scap0" ||
			{ cat "$SERR"; fail "sysdig did not open /dev/scap0"; }
		sleep 2	# its /proc scan
	}
	sysdig_stop() {	# prints its summary; BENCH-ROW falco-drops LOOP N
		kill -CONT "$SPID" 2>/dev/null || true
		sleep 1
		kill -INT "$SPID"
		wait_for 60 dead "$SPID" || { cat "$SERR"; fail "sysdig did not exit"; }
		wait "$SPID" || true
		sed 's/^/# sysdig: /' "$SERR"
		echo "BENCH-ROW falco-drops $1 $(sed -n 's/^Driver Drops:\([0-9]*\).*/\1/p' "$SERR" | tail -n 1)"
	}
	# probes only: sysdig stopped, as the paused rows above
	for l in $LOOPS; do
		sysdig_start "falco-paused-$l"
		kill -STOP "$SPID"
		_out=$(kestrel-bench "$l" "$FN" "$RUNS") || fail "kestrel-bench $l failed"
		echo "# falco-paused: $_out"
		echo "BENCH-ROW falco-paused $l $(echo "$_out" | sed -n 's/.* median=\([0-9]*\).*/\1/p')"
		sysdig_stop "$l"
	done
	# draining: sysdig's own CPU time per operation
	for l in $LOOPS; do
		sysdig_start "falco-drain-$l"
		c0=$(cut -d' ' -f1 "/proc/$SPID/schedstat")
		_out=$(kestrel-bench "$l" "$FN" "$RUNS") || fail "kestrel-bench $l failed"
		echo "# falco-drain: $_out"
		sleep 3	# let it catch up
		c1=$(cut -d' ' -f1 "/proc/$SPID/schedstat")
		echo "# falco-consumer: $((c1 - c0)) ns for $(ops "$FN") operations"
		echo "BENCH-ROW falco-consumer-op $l $(((c1 - c0) / $(ops "$FN")))"
		sysdig_stop "$l"
	done
	rmmod scap || fail "rmmod scap failed"
fi
say "ok"
