# tests/vm/lib.sh -- helpers for the VM scenarios (busybox sh, POSIX).
#
# Each scenario starts with `. /scenarios/lib.sh`, runs under `sh -e` in its
# own directory under /tmp, and passes when it exits 0.  The guest's /init
# kills leftover processes and unloads the module after each scenario.
#
# Consumer CLI used here:
#   kestrel events [--syscalls LIST] [--snaplen N] [--count N] [--duration S]
# prints one JSON event per line on stdout and "kestrel: capturing on N rings"
# on stderr once it captures; SIGINT makes it drain, summarize and exit 0.

KESTREL_KO=${KESTREL_KO:-/kestrel.ko}
KESTREL=${KESTREL:-/bin/kestrel}
# Small rings keep the guest's memory low (two CPUs, 1 GiB).
RING_SIZE=${RING_SIZE:-1048576}

say() { echo "# $*"; }

fail() {
	echo "FAIL: $*"
	exit 1
}

# wait_for SECS CMD...: run CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
	_wf_n=$(($1 * 10))
	shift
	while [ "$_wf_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_wf_n=$((_wf_n - 1))
	done
	return 1
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$_st" ] && [ "$_st" != Z ]
}

dead() { ! alive "$1"; }

module_loaded() { [ -d /sys/module/kestrel ]; }

# kmod_load [PARAM=VALUE...]: insmod with ring_size=$RING_SIZE (overridable).
kmod_load() {
	insmod "$KESTREL_KO" ring_size="$RING_SIZE" "$@" || fail "insmod $KESTREL_KO ring_size=$RING_SIZE $* failed"
	wait_for 5 test -c /dev/kestrel || fail "/dev/kestrel did not appear after insmod"
}

kmod_unload() {
	rmmod kestrel || fail "rmmod kestrel failed"
	wait_for 5 sh -c '! test -e /dev/kestrel' || fail "/dev/kestrel still exists after rmmod"
}

# kestrel_start NAME [ARGS...]: start `kestrel events ARGS` in the background,
# stdout to NAME.json, stderr to NAME.err; wait until it captures.
# Sets KPID (its pid), KOUT (the JSON file) and KERR.
kestrel_start() {
	_ks_name=$1
	shift
	kestrel_start_cmd "$_ks_name" events "$@"
}

# kestrel_start_cmd NAME SUBCOMMAND [ARGS...]: the same for any subcommand
# that prints "capturing" on stderr once it captures (events, capture).
kestrel_start_cmd() {
	_ks_name=$1
	shift
	KOUT=$_ks_name.json
	KERR=$_ks_name.err
	: >"$KOUT"
	: >"$KERR"
	say "kestrel $*"
	"$KESTREL" "$@" >"$KOUT" 2>"$KERR" &
	KPID=$!
	_ks_n=300
	while ! grep -q capturing "$KERR"; do
		if ! alive "$KPID"; then
			_ks_rc=0
			wait "$KPID" || _ks_rc=$?
			sed 's/^/kestrel stderr: /' "$KERR"
			fail "kestrel $1 exited (status $_ks_rc) before capturing"
		fi
		_ks_n=$((_ks_n - 1))
		[ "$_ks_n" -gt 0 ] || { sed 's/^/kestrel stderr: /' "$KERR"; fail "kestrel $1 did not start capturing within 30 s"; }
		sleep 0.1
	done
}

# kestrel_stop: SIGINT the consumer started by kestrel_start; it must exit 0
# within 20 s.  Its stderr is shown.
kestrel_stop() {
	kill -INT "$KPID" 2>/dev/null || true
	wait_for 20 dead "$KPID" ||
		{ cat "$KERR"; kill -9 "$KPID"; fail "kestrel did not exit within 20 s of SIGINT"; }
	_kst_rc=0
	wait "$KPID" || _kst_rc=$?
	sed 's/^/kestrel stderr: /' "$KERR"
	[ "$_kst_rc" -eq 0 ] || fail "kestrel exited with status $_kst_rc after SIGINT"
	say "$(wc -l <"$KOUT") lines in $KOUT"
}

# JSON field patterns (extended regexes) for the event helpers below.
jint() { printf '"%s": *%s[,}]' "$1" "$2"; }     # jint pid 12
jstr() { printf '"%s": *"%s"' "$1" "$2"; }       # jstr name /etc/shadow
jtype() { jstr type "$1"; }

# events FILE TYPE [ERE...]: print the events of TYPE that match every ERE.
events() {
	_ev_f=$1
	_ev_t=$2
	shift 2
	_ev_tmp=$(mktemp)
	grep -E "$(jtype "$_ev_t")" "$_ev_f" >"$_ev_tmp" || true
	for _ev_p in "$@"; do
		grep -E -e "$_ev_p" "$_ev_tmp" >"$_ev_tmp.n" || true
		mv "$_ev_tmp.n" "$_ev_tmp"
	done
	cat "$_ev_tmp"
	rm -f "$_ev_tmp"
}

# show FILE: print (the start of) an event file, for failure messages.
show() {
	echo "--- $1 ($(wc -l <"$1") lines, first 100) ---"
	head -n 100 "$1"
	echo "--- end of $1 ---"
}

# expect_event FILE TYPE [ERE...]: at least one event of TYPE matches every
# ERE; prints the first match.
expect_event() {
	_ee=$(events "$@" | head -n 1)
	if [ -z "$_ee" ]; then
		show "$1"
		fail "no $2 event matching: ${*#"$1 $2"}"
	fi
	echo "found: $_ee"
}

# expect_no_event FILE TYPE [ERE...]: no event of TYPE matches every ERE.
expect_no_event() {
	_ene=$(events "$@" | head -n 5)
	if [ -n "$_ene" ]; then
		echo "$_ene"
		fail "unexpected $2 event(s) matching: ${*#"$1 $2"}"
	fi
}

# run_bg_wait CMD...: run CMD in the background and wait for it; sets CPID
# (its pid: what the kernel records as tid and pid) and CRC (its status).
run_bg_wait() {
	"$@" &
	CPID=$!
	CRC=0
	wait "$CPID" || CRC=$?
}
