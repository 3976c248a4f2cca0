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

# expect_lines EXPECTFILE JSONFILE: check the expectations that
# kestrel-syscall-test wrote (tests/syscalls/kestrel-syscall-test.c) against
# the consumer's JSON events.  Each line is
#   EXPECT|NOEXPECT <TAB> label <TAB> type <TAB> dir <TAB> tid=N <TAB> field...
# with dir '<' (syscall exit), '>' (syscall entry) or '-' (not a syscall:
# the event has no "dir") and each field one of
#   name=JSON        "name": JSON (exact value: number, "string", [array],
#                    null)
#   name^=JSONSTART  "name": a value whose JSON text starts so
#   name@faulted     name is listed in the event's "faulted" array
#   name@truncated   name is listed in the event's "truncated" array
#   name?            the key "name" is present
# EXPECT needs one event of that type, direction and tid matching every
# field; NOEXPECT needs none.  Every failure is reported with its label, the
# field that failed and the closest event; returns 1 if any failed.  Sets
# EL_CHECKS (expectations) and EL_FIELDS (field checks) for the caller.
expect_lines() {
	_el_rc=0
	_el_out=$(awk -F'\t' -v jsonfile="$2" '
	function esc(s,   out, i, c) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "\\") out = out "\\\\"
			else if (c == "^") out = out "\\^"
			else if (index(".[]|()*+?{}$", c)) out = out "[" c "]"
			else out = out c
		}
		return out
	}
	# The ERE for one field spec.
	function field_re(f,   n, j) {
		if (f ~ /@faulted$/ || f ~ /@truncated$/) {
			j = index(f, "@")
			return "\"" substr(f, j + 1) "\": *\\[[^]]*\"" esc(substr(f, 1, j - 1)) "\""
		}
		if (f ~ /\?$/)
			return "\"" esc(substr(f, 1, length(f) - 1)) "\": *"
		j = index(f, "=")
		if (j < 2) return ""
		if (substr(f, j - 1, 1) == "^")
			return "\"" esc(substr(f, 1, j - 2)) "\": *" esc(substr(f, j + 1))
		return "\"" esc(substr(f, 1, j - 1)) "\": *" esc(substr(f, j + 1)) "[],}]"
	}
	# The ERE that selects events of this type and direction: "dir" is
	# ">" or "<" for syscall events and absent for the others ("-").
	function type_re(t) { return "\"type\": *\"" esc(t) "\"" }
	function dir_re(d) { return "\"dir\": *\"" esc(d) "\"" }
	BEGIN {
		while ((getline line < jsonfile) > 0) {
			if (match(line, /"tid": *[0-9]+/)) {
				t = substr(line, RSTART, RLENGTH)
				sub(/.*: */, "", t)
				byt[t, ++nbyt[t]] = line
			}
		}
		close(jsonfile)
	}
	$1 != "EXPECT" && $1 != "NOEXPECT" { next }
	{
		checks++
		label = $2; ty = $3; dir = $4; tid = $5
		sub(/^tid=/, "", tid)
		tre = type_re(ty)
		dre = dir == "-" ? "" : dir_re(dir)
		nf = 0
		for (i = 5; i <= NF; i++) {
			if ($i == "") continue
			re[++nf] = field_re($i)
			spec[nf] = $i
			if (re[nf] == "") { print "BAD expectation field " $i " in: " $0; bad++ }
		}
		fields += nf
		best = -1; bestline = ""; bestmiss = ""; found = ""; typed = 0
		for (k = 1; k <= nbyt[tid]; k++) {
			line = byt[tid, k]
			if (line !~ tre) continue
			if (dre != "" && line !~ dre) continue
			if (dir == "-" && line ~ /"dir": *"[<>]"/) continue
			typed++
			m = 0; miss = ""
			for (i = 1; i <= nf; i++) {
				if (line ~ re[i]) m++
				else if (miss == "") miss = spec[i]
			}
			if (m == nf) { found = line; break }
			if (m > best) { best = m; bestline = line; bestmiss = miss }
		}
		what = ty " " dir " tid=" tid " [" label "]"
		if ($1 == "EXPECT" && found == "") {
			bad++
			if (typed == 0) {
				seen = ""
				for (k = 1; k <= nbyt[tid]; k++) {
					l = byt[tid, k]
					if (match(l, /"type": *"[^"]*"/)) {
						t = substr(l, RSTART, RLENGTH)
						gsub(/"type": *"|"/, "", t)
						seen = seen " " t
					}
				}
				print "MISSING " what ": no such event (tid " tid " has:" (seen == "" ? " nothing" : seen) ")"
			} else {
				print "MISMATCH " what ": field " bestmiss " differs; closest of " typed " event(s):"
				print "    " bestline
			}
		} else if ($1 == "NOEXPECT" && found != "") {
			bad++
			print "UNEXPECTED " what ": " found
		}
	}
	END {
		printf "expect_lines: %d expectations, %d field checks, %d failed\n", checks, fields, bad
		exit bad > 0
	}' "$1") || _el_rc=$?
	echo "$_el_out"
	EL_CHECKS=$(echo "$_el_out" | sed -n 's/^expect_lines: \([0-9]*\) expectations.*/\1/p')
	EL_FIELDS=$(echo "$_el_out" | sed -n 's/.* \([0-9]*\) field checks.*/\1/p')
	return $_el_rc
}

# make_container CUES: a container made by hand, as a Kubernetes node's
# containerd would run one.  Its root ($ROOTFS) has busybox and its own
# passwd (uid 0 is "appuser"), group and shadow; containerd's bundle
# config.json with the CRI annotations (container shop, image
# registry.local/team/shop:1.4, pod shop-7d4b9c-xz2kq in namespace payments)
# lies under $HOSTROOT; the container's shell runs in a cgroup v2 named as
# containerd's systemd driver names a pod's container, in new mount, uts,
# net and pid namespaces, chrooted.  For each of CUES cues written to
# $ROOTFS/tmp/go it runs `cat /etc/shadow` and then creates
# $ROOTFS/tmp/doneN (N = 1, 2, ...).
# Sets CID, SHORT (12-char id), POD_UID, ROOTFS, HOSTROOT, CG, CONTAINER_PID
# (the unshare's parent on the host) and CSH (the container shell's host pid).
make_container() {
	CID=5b1c0e2d3f4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344
	SHORT=5b1c0e2d3f4a
	POD_UID=8f2d7c1e-4b3a-4e5f-9a0b-1c2d3e4f5a6b
	ROOTFS=$PWD/rootfs
	HOSTROOT=$PWD/hostroot
	mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/proc" "$ROOTFS/tmp" "$ROOTFS/dev"
	mknod -m 0666 "$ROOTFS/dev/null" c 1 3
	cp /bin/busybox "$ROOTFS/bin/busybox"
	for _mc_a in sh cat echo sleep; do ln -s busybox "$ROOTFS/bin/$_mc_a"; done
	echo 'appuser:x:0:0:app:/:/bin/sh' >"$ROOTFS/etc/passwd"
	echo 'appgroup:x:0:' >"$ROOTFS/etc/group"
	echo 'appuser:$6$x$notarealhash:20000:0:99999:7:::' >"$ROOTFS/etc/shadow"
	mkfifo "$ROOTFS/tmp/go"

	_mc_b=$HOSTROOT/run/containerd/io.containerd.runtime.v2.task/k8s.io/$CID
	mkdir -p "$_mc_b"
	cat >"$_mc_b/config.json" <<JSON
{"ociVersion": "1.1.0",
 "process": {"args": ["/bin/sh"], "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"]}},
 "linux": {"maskedPaths": ["/proc/kcore"]},
 "annotations": {
  "io.kubernetes.cri.container-type": "container",
  "io.kubernetes.cri.container-name": "shop",
  "io.kubernetes.cri.image-name": "registry.local/team/shop:1.4",
  "io.kubernetes.cri.sandbox-id": "0000000000000000000000000000000000000000000000000000000000000001",
  "io.kubernetes.cri.sandbox-name": "shop-7d4b9c-xz2kq",
  "io.kubernetes.cri.sandbox-namespace": "payments",
  "io.kubernetes.cri.sandbox-uid": "$POD_UID"}}
JSON

	mkdir -p /sys/fs/cgroup
	grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
	CG=/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$(echo "$POD_UID" | tr - _).slice/cri-containerd-$CID.scope
	mkdir -p "$CG"

	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare -m -u -n -p -f chroot "$2" /bin/sh -c "i=0; while [ \$i -lt $3 ]; do i=\$((i + 1)); read cue </tmp/go; /bin/cat /etc/shadow >/dev/null; echo \$i >/tmp/done\$i; done"' \
		container "$CG" "$ROOTFS" "$1" &
	CONTAINER_PID=$!
	wait_for 10 container_shell >/dev/null || fail "no shell runs in $ROOTFS"
	CSH=$(container_shell)
	grep -q "cri-containerd-$CID.scope" "/proc/$CSH/cgroup" || fail "the container's shell is not in its cgroup"
}

# container_shell: the host pid of the sh whose root is $ROOTFS.
container_shell() {
	for _cs_d in /proc/[0-9]*; do
		[ "$(readlink "$_cs_d/root" 2>/dev/null)" = "$ROOTFS" ] || continue
		[ "$(cat "$_cs_d/comm" 2>/dev/null)" = sh ] && { echo "${_cs_d#/proc/}"; return 0; }
	done
	return 1
}

# container_cue N: let the container's shell run its Nth `cat /etc/shadow`
# and wait until it has.
container_cue() {
	echo go >"$ROOTFS/tmp/go"
	wait_for 20 test -f "$ROOTFS/tmp/done$1" || fail "the container's cat number $1 did not run"
}

# ---------------------------------------------------------------------------
# Containers started the way a runtime starts them, for the behaviour and
# benign-workload suites (tests/vm/behaviours.sh, tests/vm/benign.sh).
# /bin/kestrel-behave stands in for runc: called through a link named
# "runc" it joins the container's cgroup (named as containerd's systemd
# driver names a Kubernetes container), unshares the mount, uts, ipc and
# pid namespaces, chroots into the root and execs the entrypoint as pid 1
# (mounting /proc); `runc exec` enters those namespaces and that root and
# forks the command there, as `kubectl exec` makes runc do.

# runc_container NAME ID PRIVILEGED(true|false) ENTRYPOINT...: lay out a
# root under $PWD/NAME (busybox and its applets, /dev/null, /dev/mem, its
# own passwd, /bin/kestrel-behave), containerd's bundle config.json with the
# CRI annotations (container NAME, image registry.local/team/NAME:1.0, pod
# NAME-pod in namespace team) under $HOSTROOT (set it first), the cgroup,
# and start ENTRYPOINT in it.  Sets RC_ROOT, RC_CG, RC_SHORT, RC_PID (the
# host pid of the container's pid 1), RC_RUNC (the runtime's host pid) and
# RC_CAPS (the capabilities kept: empty for a privileged container, which
# keeps all; else a runtime's default set).  A privileged container also
# has the host's root mounted at /host in its bundle.
runc_container() {
	_rc_name=$1
	_rc_id=$2
	_rc_priv=$3
	shift 3
	RC_ROOT=$PWD/$_rc_name
	RC_SHORT=$(echo "$_rc_id" | cut -c1-12)
	mkdir -p "$RC_ROOT/bin" "$RC_ROOT/etc" "$RC_ROOT/proc" "$RC_ROOT/tmp" "$RC_ROOT/dev" "$RC_ROOT/root"
	[ -e "$RC_ROOT/dev/null" ] || mknod -m 0666 "$RC_ROOT/dev/null" c 1 3
	[ -e "$RC_ROOT/dev/mem" ] || mknod -m 0640 "$RC_ROOT/dev/mem" c 1 1
	cp /bin/busybox "$RC_ROOT/bin/busybox"
	cp /bin/kestrel-behave "$RC_ROOT/bin/kestrel-behave"
	for _rc_a in $(/bin/busybox --list); do
		[ -e "$RC_ROOT/bin/$_rc_a" ] || ln -s busybox "$RC_ROOT/bin/$_rc_a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$RC_ROOT/etc/passwd"
	echo 'root:x:0:' >"$RC_ROOT/etc/group"
	echo 'root:*:20000:0:99999:7:::' >"$RC_ROOT/etc/shadow"
	if [ "$_rc_priv" = true ]; then
		# Every capability (the bounding set is left whole) and the
		# host's root mounted at /host, as a node agent runs.
		_rc_caps='"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_RAWIO"'
		_rc_masked='[]'
		_rc_mounts='{"destination": "/proc", "type": "proc", "source": "proc"},
  {"destination": "/host", "type": "bind", "source": "/", "options": ["rbind", "rw"]}'
		RC_CAPS=
	else
		# The default set a runtime grants, cut for real below.
		RC_CAPS=CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FSETID,CAP_FOWNER,CAP_MKNOD,CAP_NET_RAW,CAP_SETGID,CAP_SETUID,CAP_SETFCAP,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_SYS_CHROOT,CAP_KILL,CAP_AUDIT_WRITE
		_rc_caps=$(echo "\"$RC_CAPS\"" | sed 's/,/", "/g')
		_rc_masked='["/proc/kcore"]'
		_rc_mounts='{"destination": "/proc", "type": "proc", "source": "proc"},
  {"destination": "/etc/'$_rc_name'", "type": "bind", "source": "/var/lib/kubelet/pods/0f0e0d0c/volumes/kubernetes.io~configmap/config", "options": ["rbind", "ro"]}'
	fi
	_rc_b=$HOSTROOT/run/containerd/io.containerd.runtime.v2.task/k8s.io/$_rc_id
	mkdir -p "$_rc_b"
	cat >"$_rc_b/config.json" <<JSON
{"ociVersion": "1.1.0",
 "process": {"args": ["$1"], "capabilities": {"bounding": [$_rc_caps]}},
 "mounts": [$_rc_mounts],
 "linux": {"maskedPaths": $_rc_masked},
 "annotations": {
  "io.kubernetes.cri.container-type": "container",
  "io.kubernetes.cri.container-name": "$_rc_name",
  "io.kubernetes.cri.image-name": "registry.local/team/$_rc_name:1.0",
  "io.kubernetes.cri.sandbox-id": "00000000000000000000000000000000000000000000000000000000000000aa",
  "io.kubernetes.cri.sandbox-name": "$_rc_name-pod",
  "io.kubernetes.cri.sandbox-namespace": "team",
  "io.kubernetes.cri.sandbox-uid": "0f0e0d0c-0b0a-4909-8807-060504030201"}}
JSON
	mkdir -p /sys/fs/cgroup
	grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
	RC_CG=/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f0e0d0c_0b0a_4909_8807_060504030201.slice/cri-containerd-$_rc_id.scope
	mkdir -p "$RC_CG"
	mkdir -p /run/runtime
	ln -sf /bin/kestrel-behave /run/runtime/runc
	if [ -n "$RC_CAPS" ]; then
		KESTREL_CAPS=$RC_CAPS /run/runtime/runc run-container "$RC_CG" "$RC_ROOT" "$@" \
			</dev/null >"$PWD/$_rc_name.out" 2>&1 &
	else
		/run/runtime/runc run-container "$RC_CG" "$RC_ROOT" "$@" </dev/null >"$PWD/$_rc_name.out" 2>&1 &
	fi
	RC_RUNC=$!
	wait_for 10 rc_init >/dev/null || fail "container $_rc_name: no process runs in $RC_ROOT"
	RC_PID=$(rc_init)
}

# rc_init: the host pid of the process whose root is $RC_ROOT and whose
# parent is the runtime (the container's pid 1).
rc_init() {
	for _ri_d in /proc/[0-9]*; do
		[ "$(readlink "$_ri_d/root" 2>/dev/null)" = "$RC_ROOT" ] || continue
		_ri_pp=$(sed 's/.*) //' "$_ri_d/stat" 2>/dev/null | cut -d' ' -f2)
		[ "$_ri_pp" = "$RC_RUNC" ] && { echo "${_ri_d#/proc/}"; return 0; }
	done
	return 1
}

# rc_exec CMD ARG...: run CMD (a path inside the container) in the
# container started last, as `runc exec` does; its status is returned.
rc_exec() {
	rc_runc exec-in "$RC_CG" "$RC_PID" "$@"
}

# rc_runc ARG...: the runtime, keeping only $RC_CAPS (all when empty).
rc_runc() {
	if [ -n "$RC_CAPS" ]; then
		KESTREL_CAPS=$RC_CAPS /run/runtime/runc "$@"
	else
		/run/runtime/runc "$@"
	fi
}

# kernel_checkers: say which of the kernel's memory checkers this boot
# runs (make vmtest-checkers boots with them: slub_debug, KFENCE where the
# kernel has it, init_on_free, page_poison), and with slub_debug validate
# every slab cache now (corruption is reported in the kernel log, which
# the harness fails on); with kmemleak, scan and fail on a leak that names
# kestrel.
kernel_checkers() {
	_kc=
	if [ "$(cat /sys/kernel/slab/kmalloc-64/sanity_checks 2>/dev/null)" = 1 ]; then
		_kc="slub_debug(validated)"
		for _kf in /sys/kernel/slab/*/validate; do
			echo 1 >"$_kf" 2>/dev/null || true
		done
	fi
	_ki=$(cat /sys/module/kfence/parameters/sample_interval 2>/dev/null || echo 0)
	[ "$_ki" = 0 ] || _kc="$_kc kfence(${_ki}ms)"
	dmesg | grep -q 'heap free:on' && _kc="$_kc init_on_free"
	grep -q 'page_poison=1' /proc/cmdline && dmesg | grep -qi 'poison' && _kc="$_kc page_poison"
	grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
	if [ -w /sys/kernel/debug/kmemleak ]; then
		_kc="$_kc kmemleak"
		echo scan >/sys/kernel/debug/kmemleak
		if grep -q kestrel /sys/kernel/debug/kmemleak; then
			cat /sys/kernel/debug/kmemleak
			fail "kmemleak reports a leak from kestrel"
		fi
	fi
	say "kernel checkers: ${_kc:-none (make vmtest-checkers boots with them)}"
}
