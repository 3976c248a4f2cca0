#!/bin/bash
# scripts/vmtest.sh KERNEL [SCENARIO...] -- run VM scenarios in a QEMU guest.
#
# KERNEL: 6.1, 6.12, 6.1-rt, 6.12-rt or sid (resolved to the newest Debian
# kernel of that line and flavour by scripts/kernel.sh).  SCENARIO: files under tests/vm/ (default: all
# tests/vm/*.sh but lib.sh).  All scenarios run in ONE boot, in the order
# given; the guest unloads the module and kills leftovers between them.
#
# Steps: build kestrel.ko for that kernel with -Werror (build/kmod-<kver>/),
# build the static consumer, pack an initramfs (busybox, module, consumer,
# scenarios, scripts/vm-init as /init), boot it under TCG, and parse the
# serial log (kept in build/vm-<kver>.log).  A scenario passes only if the
# guest printed PASS for it and its kernel log has no splat.
#
# Environment:
#   KESTREL_KO=path    use this module instead of building kmod/
#   KESTREL_BIN=path   use this consumer instead of building it
#   VM_SHOW=1          print every scenario's output, not only failures
#   VM_SMP, VM_MEM     guest CPUs (2) and memory (1G)
#   VM_TIMEOUT         seconds for the whole boot (default: sum of scenario
#                      timeouts + 120)
#   SCENARIO_TIMEOUT   default per-scenario timeout (60); a scenario may say
#                      "# timeout: N" in its header
#   VM_APPEND          extra kernel command line
#   VM_TCG_THREAD      single (default) or multi: QEMU's TCG threading
#   VM_QEMU_ARGS       extra QEMU arguments (e.g. "-icount shift=0", as
#                      scripts/vmbench.sh passes)
#   VM_EXTRA_ROOT      a directory copied into the guest's root
set -euo pipefail

# The whole script is one compound command, read before any of it runs: a
# long run is not confused if the file is edited meanwhile.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "vmtest: $*" >&2; }
die() { log "error: $*"; exit 2; }

[ $# -ge 1 ] || die "usage: $0 KERNEL [SCENARIO...]   (KERNEL: 6.1, 6.12, 6.1-rt, 6.12-rt or sid)"
KERNEL=$1
shift
# Paths given relative to the caller's directory.
SCENARIOS=()
for f in "$@"; do
	[ -f "$f" ] || die "no such scenario: $f"
	SCENARIOS+=("$(realpath "$f")")
done
[ -z "${KESTREL_KO:-}" ] || KESTREL_KO=$(realpath "$KESTREL_KO")
[ -z "${KESTREL_BIN:-}" ] || KESTREL_BIN=$(realpath "$KESTREL_BIN")
cd "$ROOT"
if [ ${#SCENARIOS[@]} -eq 0 ]; then
	SCENARIOS=()
	for f in tests/vm/*.sh; do
		[ "$(basename "$f")" = lib.sh ] || SCENARIOS+=("$f")
	done
fi
[ ${#SCENARIOS[@]} -gt 0 ] || die "no scenarios"
declare -A seen=()
NAMES=()
for f in "${SCENARIOS[@]}"; do
	[ -f "$f" ] || die "no such scenario: $f"
	b=$(basename "$f")
	[[ $b == *.sh && $b != lib.sh ]] || die "a scenario is a *.sh file other than lib.sh: $f"
	[ -z "${seen[$b]:-}" ] || die "two scenarios named $b"
	seen[$b]=1
	NAMES+=("${b%.sh}")
done

SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-60}
VM_SMP=${VM_SMP:-2}
VM_MEM=${VM_MEM:-1G}

T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- kernel, module, consumer ----------------------------------------------
kinfo=$("$ROOT/scripts/kernel.sh" "$KERNEL") || die "scripts/kernel.sh $KERNEL failed"
eval "$kinfo"
if [ -n "${KESTREL_KO:-}" ]; then
	KO=$KESTREL_KO
else
	KO=$(KDIR=$KDIR KVER=$KVER KCHROOT=${KCHROOT:-} "$ROOT/scripts/build-kmod.sh")
fi
[ -f "$KO" ] || die "no module at $KO"

TARGET=x86_64-unknown-linux-gnu
if [ -n "${KESTREL_BIN:-}" ]; then
	BIN=$KESTREL_BIN
else
	log "building the static consumer (cargo build --release --target $TARGET -p kestrel)"
	# --target keeps RUSTFLAGS off build scripts and proc macros (bindgen
	# needs a dynamic libclang); the binary itself is fully static.
	RUSTFLAGS="-C target-feature=+crt-static" \
		cargo build --quiet --release --target "$TARGET" -p kestrel ||
		die "cargo build of the static consumer failed"
	BIN=${CARGO_TARGET_DIR:-$ROOT/target}/$TARGET/release/kestrel
fi
[ -x "$BIN" ] || die "no consumer binary at $BIN"
if [[ $(readelf -l "$BIN" 2>/dev/null) == *"program interpreter"* ]]; then
	die "$BIN is dynamically linked: the guest has no libc (build with +crt-static)"
fi
# The syscall matrix program (tests/syscalls/): static, so the guest needs
# no libc.
SYSCALL_TEST=$ROOT/build/kestrel-syscall-test
make -s -C "$ROOT/tests/syscalls" OUT="$SYSCALL_TEST" ||
	die "building tests/syscalls/kestrel-syscall-test failed"
# The overhead benchmark's syscall loops (tests/bench/), also static.
BENCH=$ROOT/build/kestrel-bench
make -s -C "$ROOT/tests/bench" OUT="$BENCH" ||
	die "building tests/bench/kestrel-bench failed"
# /dev/kestrel's platform checks (tests/devtest/), also static.
DEVTEST=$ROOT/build/kestrel-devtest
make -s -C "$ROOT/tests/devtest" OUT="$DEVTEST" ||
	die "building tests/devtest/kestrel-devtest failed"
# Hostile userspace against /dev/kestrel (tests/hostile/), static too.
HOSTILE=$ROOT/build/kestrel-hostile
make -s -C "$ROOT/tests/hostile" OUT="$HOSTILE" ||
	die "building tests/hostile/kestrel-hostile failed"
# The behaviour suite's helper (tests/behave/): ptrace, memfd exec, bpf, a
# container runtime's start and exec, ...; static too.
BEHAVE=$ROOT/build/kestrel-behave
make -s -C "$ROOT/tests/behave" OUT="$BEHAVE" ||
	die "building tests/behave/kestrel-behave failed"
# Falco's upstream rule files, test data only (never copied into the
# project): packed as /falco-rules/ when found (FALCO_RULES_DIR, else
# ../shared/falco-rules beside the checkout or beside a worktree's parent).
FALCO_RULES=${FALCO_RULES_DIR:-}
for d in "$ROOT/../shared/falco-rules" "$ROOT/../../shared/falco-rules"; do
	[ -n "$FALCO_RULES" ] || { [ -d "$d" ] && FALCO_RULES=$d; } || true
done
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] && "$BUSYBOX" --list >/dev/null 2>&1 || die "no static busybox at $BUSYBOX (scripts/setup.sh installs busybox-static)"

# --- initramfs -------------------------------------------------------------
WORK=$ROOT/build/vm-$KVER
LOG=$ROOT/build/vm-$KVER.log
# One run per kernel at a time: a second one waits (they share WORK and LOG).
exec 8>"$ROOT/build/.vm-$KVER.lock"
if ! flock -n 8; then
	log "another vmtest for $KVER is running in this tree: waiting for it"
	flock 8
fi
rm -rf "$WORK"
R=$WORK/root
mkdir -p "$R"/{bin,dev,etc,proc,sys,tmp,run,root,scenarios,usr} "$WORK/results"
ln -s bin "$R/sbin"
ln -s ../bin "$R/usr/bin"
ln -s ../bin "$R/usr/sbin"
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -s busybox "$R/bin/$a"
done
objcopy --strip-debug "$BIN" "$R/bin/kestrel" 2>/dev/null || cp "$BIN" "$R/bin/kestrel"
cp "$SYSCALL_TEST" "$R/bin/kestrel-syscall-test"
cp "$SYSCALL_TEST"-compat32 "$SYSCALL_TEST"-int80 "$R/bin/"
cp "$BENCH" "$R/bin/kestrel-bench"
cp "$DEVTEST" "$R/bin/kestrel-devtest"
cp "$BEHAVE" "$R/bin/kestrel-behave"
cp "$HOSTILE" "$R/bin/kestrel-hostile"
if [ -n "$FALCO_RULES" ]; then
	mkdir -p "$R/falco-rules"
	cp "$FALCO_RULES"/*.yaml "$R/falco-rules/"
fi
mkdir -p "$R/rules"
cp "$ROOT"/rules/*.yaml "$R/rules/"
cp "$KO" "$R/kestrel.ko"
# VM_EXTRA_ROOT=dir: its contents go into the guest's root as they are
# (scripts/vmbench.sh: Falco's driver and sysdig with its libraries).
[ -z "${VM_EXTRA_ROOT:-}" ] || cp -a "$VM_EXTRA_ROOT"/. "$R/"
cp "$ROOT/scripts/vm-init" "$R/init"
chmod 0755 "$R/init" "$R/bin/kestrel"
mknod -m 0600 "$R/dev/console" c 5 1
mknod -m 0666 "$R/dev/null" c 1 3
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
shadow:x:42:
nogroup:x:65534:
EOF
# A fake hash: the file only has to exist and be worth stealing.
cat >"$R/etc/shadow" <<'EOF'
root:$6$kestrel$Z3Vlc3MgYWdhaW4uIFRoaXMgaXMgbm90IGEgcmVhbCBoYXNoLg1Cx0o3u/Tf0E5G9jnpP0:20000:0:99999:7:::
daemon:*:20000:0:99999:7:::
nobody:*:20000:0:99999:7:::
EOF
chmod 0640 "$R/etc/shadow"
echo kestrel-vm >"$R/etc/hostname"
echo "127.0.0.1 localhost kestrel-vm" >"$R/etc/hosts"
cp "$ROOT/tests/vm/lib.sh" "$R/scenarios/lib.sh"
total_timeout=0
for f in "${SCENARIOS[@]}"; do
	cp "$f" "$R/scenarios/"
	basename "$f" >>"$R/scenarios/list"
	t=$(sed -n 's/^# *timeout: *\([0-9][0-9]*\).*/\1/p' "$f" | head -n 1)
	total_timeout=$((total_timeout + ${t:-$SCENARIO_TIMEOUT}))
done
echo "SCENARIO_TIMEOUT=$SCENARIO_TIMEOUT" >"$R/scenarios/config"
INITRD=$WORK/initrd.gz
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$INITRD"
VM_TIMEOUT=${VM_TIMEOUT:-$((total_timeout + 120))}

# --- boot ------------------------------------------------------------------
# no_timer_check: on a loaded host the emulated timer can look dead to
# the IO-APIC check and the guest panics at boot ("IO-APIC + timer
# doesn't work", seen on 6.12 with the host's two cores shared by many).
APPEND="console=ttyS0 panic=-1 loglevel=5 no_timer_check ${VM_APPEND:-}"
log "booting $KVER (-smp $VM_SMP -m $VM_MEM, TCG thread=${VM_TCG_THREAD:-single}) with ${#NAMES[@]} scenario(s): ${NAMES[*]}"
log "serial log: ${LOG#"$ROOT"/}   (timeout ${VM_TIMEOUT}s; prep took $(elapsed "$T0")s)"
T1=$(date +%s.%N)
qrc=0
# Single-threaded TCG (the vCPUs take turns on one host thread): with
# multi-threaded TCG, QEMU 7.2 now and then runs a stale translation of kernel
# text that another vCPU is live-patching (static keys, as every tracepoint
# attach and detach does), and the guest dies with "Oops: int3" or loops in a
# soft lockup at the patched site (a known QEMU bug, seen here in about one
# boot in ten).  VM_TCG_THREAD=multi restores the parallel mode.
timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
	-accel "tcg,thread=${VM_TCG_THREAD:-single}" \
	-M q35 -m "$VM_MEM" -smp "$VM_SMP" -nographic -no-reboot -nic none \
	-kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND" \
	${VM_QEMU_ARGS:-} \
	</dev/null >"$LOG" 2>&1 || qrc=$?
VM_SECS=$(elapsed "$T1")

# --- parse -----------------------------------------------------------------
RES=$WORK/results
tr -d '\r' <"$LOG" | awk -v dir="$RES" '
	{ line = $0 }
	match(line, /KESTREL-BEGIN [^ ]+/) {
		cur = substr(line, RSTART + 14, RLENGTH - 14)
	}
	{
		if (cur != "") print line > (dir "/" cur ".log")
		else print line > (dir "/_outside.log")
	}
	cur != "" && index(line, "KESTREL-END " cur) { close(dir "/" cur ".log"); cur = "" }
'
DONE=no
grep -q 'KESTREL-DONE' "$LOG" && DONE=yes
BOOT=$(tr -d '\r' <"$LOG" | sed -n 's/.*KESTREL-GUEST .* uptime=\([0-9.]*\).*/\1/p' | head -n 1)

# Kernel log lines that fail a scenario whatever it printed.
SPLAT='WARNING:|BUG:|Oops|general protection|possible circular locking|lockdep|INFO: task|scheduling while atomic|sleeping function called from invalid context|Call Trace|BUG [^ :]+ \(|Freepointer corrupt|kmemleak: [1-9]'

pass=0
fail=0
failed=()
summary=()
for n in "${NAMES[@]}"; do
	f=$RES/$n.log
	status=FAIL
	why=
	if [ ! -f "$f" ]; then
		why="did not run (the guest stopped before it)"
	else
		res=$(grep -oE "KESTREL-RESULT $n (PASS|FAIL).*" "$f" | head -n 1 || true)
		if [ -z "$res" ]; then
			why="no result (the guest hung, crashed or timed out during it)"
		elif [[ $res == "KESTREL-RESULT $n PASS"* ]]; then
			status=PASS
			why=${res#"KESTREL-RESULT $n PASS"}
		else
			why=${res#"KESTREL-RESULT $n FAIL"}
		fi
		splat=$(grep -E "$SPLAT" "$f" | head -n 1 || true)
		if [ -n "$splat" ]; then
			[ "$status" = PASS ] && why=""
			status=FAIL
			why="${why:+$why; }kernel log: $splat"
		fi
	fi
	why=$(echo "$why" | sed 's/^ *//')
	if [ "$status" = PASS ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed+=("$n")
	fi
	summary+=("$(printf '  %-4s  %-24s %s' "$status" "$n" "$why")")
done

show_section() {
	local f=$RES/$1.log
	echo "======== guest output: $1 ========"
	if [ -f "$f" ]; then sed 's/^/  | /' "$f"; else echo "  (none)"; fi
}
if [ "${VM_SHOW:-0}" = 1 ]; then
	for n in "${NAMES[@]}"; do
		[ -f "$RES/$n.log" ] && sed -n "/KESTREL-BEGIN $n/,/KESTREL-RESULT $n/p" "$RES/$n.log" | sed '1d;$d'
	done
fi
for n in "${failed[@]}"; do show_section "$n"; done
if [ "$DONE" != yes ]; then
	echo "======== guest did not finish (qemu exit status $qrc); last 60 lines of the serial log ========"
	tr -d '\r' <"$LOG" | tail -n 60 | sed 's/^/  | /'
fi

echo
echo "vmtest $KVER: guest booted in ${BOOT:-?}s (guest uptime at /init), VM ran ${VM_SECS}s, total $(elapsed "$T0")s"
printf '%s\n' "${summary[@]}"
[ "$DONE" = yes ] || echo "  guest did not finish (qemu exit status $qrc): see ${LOG#"$ROOT"/}"
echo "vmtest: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$DONE" = yes ]
exit
}
