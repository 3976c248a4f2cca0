#!/bin/bash
# scripts/install-vm.sh KERNEL SCENARIO [INPUT_FILE...] -- run one install
# scenario in a QEMU guest that boots a real Debian system with systemd.
#
# KERNEL: a kernel line of scripts/vm-rootfs.sh (6.1, 6.12).  SCENARIO: a
# bash script run as root inside the booted guest (tests/install/*.sh).
# INPUT_FILE...: files the scenario needs (packages, images, ...), copied
# flat (by basename) beside the scenario.
#
# Interface (stable; tests/install/ and the Kubernetes node test use it):
#   In the guest the scenario runs as `bash SCENARIO` from a systemd unit
#   (Type=simple, after multi-user.target), with the working directory and
#   $KESTREL_IN = the folder holding the scenario and the input files, and
#   $KESTREL_OUT = an empty folder whose contents come back to the host.
#   Its stdout and stderr are its log (also echoed on the serial console).
#   The guest has no network (-nic none): 127.0.0.1 only.
#   On the host: the scenario's log is printed, its files are left in
#   $INSTALL_VM_OUT (default build/install-vm/<kver>-<scenario>/out/, with
#   the serial log in ../serial.log and the guest kernel log in
#   ../kernel.log), and the exit status is the scenario's; 1 as well if the
#   guest kernel log has a WARN/BUG/Oops/lockdep splat, 2 if the harness
#   failed, 124 if the guest timed out.
#
# How: scripts/vm-rootfs.sh KERNEL gives the cached root file system tar;
# it is turned once into a raw ext4 image (mkfs.ext4 -d, cached beside the
# tar and keyed by it and by this script's guest side) with the runner unit
# below installed.  Each run boots that image read-only under a throwaway
# qcow2 overlay (root=/dev/vda), with the inputs as a tar on a second disk
# (/dev/vdb) and an empty third disk (/dev/vdc) the guest writes its
# results to as a tar, then powers off.  Under TCG (thread=single, see
# DESIGN.md) systemd reaches multi-user in about a minute.
#
# Environment:
#   INSTALL_VM_TIMEOUT  seconds for the whole boot (default 1500)
#   INSTALL_VM_MEM      guest memory (default 2G)
#   INSTALL_VM_SMP      guest CPUs (default 2)
#   INSTALL_VM_TCG_THREAD  single (default) or multi
#   INSTALL_VM_DISK     size of the root file system image (default 6G)
#   INSTALL_VM_OUT      where the scenario's $KESTREL_OUT lands on the host
#   INSTALL_VM_SHOW     1: stream the guest's serial console while it runs
#   KESTREL_CACHE       the shared cache (default /var/cache/kestrel)
set -euo pipefail

# Read whole before running: editing the file during a run is harmless.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KESTREL_CACHE:-/var/cache/kestrel}
log() { echo "install-vm: $*" >&2; }
die() { log "error: $*"; exit 2; }

[ $# -ge 2 ] || die "usage: $0 KERNEL SCENARIO [INPUT_FILE...]   (KERNEL: 6.1 or 6.12)"
KERNEL=$1
SCENARIO=$2
shift 2
[ -f "$SCENARIO" ] || die "no such scenario: $SCENARIO"
SCENARIO=$(realpath "$SCENARIO")
INPUTS=()
for f in "$@"; do
	[ -f "$f" ] || die "no such input file: $f"
	INPUTS+=("$(realpath "$f")")
done
for t in qemu-system-x86_64 qemu-img mkfs.ext4 tar; do
	command -v "$t" >/dev/null || die "$t is missing (scripts/setup.sh installs it)"
done

TIMEOUT=${INSTALL_VM_TIMEOUT:-1500}
MEM=${INSTALL_VM_MEM:-2G}
SMP=${INSTALL_VM_SMP:-2}
DISK=${INSTALL_VM_DISK:-6G}

T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- the root file system ----------------------------------------------------
rootfs=$("$ROOT/scripts/vm-rootfs.sh" "$KERNEL") || die "scripts/vm-rootfs.sh $KERNEL failed"
eval "$rootfs"
[ -f "$ROOTFS_TAR" ] || die "vm-rootfs.sh gave no tar"

# The guest side: a unit that runs the scenario from /dev/vdb and writes the
# results to /dev/vdc, then powers off.  Part of the image's cache key.
RUNNER=$(cat <<'EOF'
#!/bin/bash
# /usr/local/sbin/kestrel-install-run: run the install scenario (see
# scripts/install-vm.sh on the host) and power off.
exec >/dev/console 2>&1
IN=/run/kestrel-test/in
OUT=/run/kestrel-test/out
RES=/run/kestrel-test/res
mkdir -p "$IN" "$OUT" "$RES"
echo "KESTREL-INSTALL-UP uptime=$(cut -d' ' -f1 /proc/uptime)"
rc=2
if tar -xf /dev/vdb -C "$IN" && [ -f "$IN/.scenario" ]; then
	scenario=$(cat "$IN/.scenario")
	cd "$IN"
	KESTREL_IN=$IN KESTREL_OUT=$OUT bash "$IN/$scenario" 2>&1 | tee "$RES/scenario.log"
	rc=${PIPESTATUS[0]}
else
	echo "kestrel-install-run: no scenario on /dev/vdb" | tee "$RES/scenario.log"
fi
echo "$rc" >"$RES/status"
journalctl -k -b --no-pager >"$RES/kernel.log" 2>&1 || dmesg >"$RES/kernel.log"
systemctl list-units --failed --no-pager >"$RES/failed-units.txt" 2>&1 || true
cut -d' ' -f1 /proc/uptime >"$RES/uptime"
tar -C /run/kestrel-test -cf /dev/vdc res out
sync
echo "KESTREL-INSTALL-DONE status=$rc"
systemctl poweroff --no-block
EOF
)
UNIT=$(cat <<'EOF'
[Unit]
Description=Kestrel install test scenario (scripts/install-vm.sh)
After=multi-user.target
[Service]
Type=simple
ExecStart=/usr/local/sbin/kestrel-install-run
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
[Install]
WantedBy=multi-user.target
EOF
)
KEY=$(printf '%s\n%s\n%s\n%s\n' "$(basename "$ROOTFS_TAR")" "$DISK" "$RUNNER" "$UNIT" | sha256sum | cut -c1-12)
IMG=${ROOTFS_TAR%.tar}-$KEY.ext4
VMLINUZ=${ROOTFS_TAR%.tar}.vmlinuz
INITRD=${ROOTFS_TAR%.tar}.initrd

exec 9>"$CACHE/rootfs/.lock"
flock 9
if [ ! -f "$IMG" ] || [ ! -f "$VMLINUZ" ] || [ ! -f "$INITRD" ]; then
	log "making the ext4 image from $(basename "$ROOTFS_TAR") (once per tar)"
	tmp=$(mktemp -d "$CACHE/rootfs/.img.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar --numeric-owner -xpf "$ROOTFS_TAR" -C "$tmp" || die "unpacking $ROOTFS_TAR failed"
	mkdir -p "$tmp/usr/local/sbin" "$tmp/etc/systemd/system/multi-user.target.wants"
	printf '%s\n' "$RUNNER" >"$tmp/usr/local/sbin/kestrel-install-run"
	chmod 0755 "$tmp/usr/local/sbin/kestrel-install-run"
	printf '%s\n' "$UNIT" >"$tmp/etc/systemd/system/kestrel-install-test.service"
	ln -sf ../kestrel-install-test.service "$tmp/etc/systemd/system/multi-user.target.wants/kestrel-install-test.service"
	# no login prompt on the console the scenario writes to
	rm -f "$tmp/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
	# the guest has no network: do not wait for it
	ln -sf /dev/null "$tmp/etc/systemd/system/systemd-networkd-wait-online.service"
	cp "$tmp/boot/vmlinuz-$KVER" "$VMLINUZ.new"
	cp "$tmp/boot/initrd.img-$KVER" "$INITRD.new"
	mkfs.ext4 -q -F -L kestrel-root -d "$tmp" "$IMG.new" "$DISK" || die "mkfs.ext4 -d failed"
	# an image made by an older version of this script is stale
	rm -f "${ROOTFS_TAR%.tar}"-*.ext4
	mv "$IMG.new" "$IMG"
	mv "$VMLINUZ.new" "$VMLINUZ"
	mv "$INITRD.new" "$INITRD"
	rm -rf "$tmp"
	trap - EXIT
	log "image ready: $IMG ($(elapsed "$T0")s)"
fi
flock -u 9

# --- the run's disks -----------------------------------------------------------
NAME=$(basename "$SCENARIO" .sh)
WORK=$ROOT/build/install-vm/$KVER-$NAME
OUTDIR=${INSTALL_VM_OUT:-$WORK/out}
mkdir -p "$ROOT/build"
exec 8>"$ROOT/build/.install-vm.lock"
if ! flock -n 8; then
	log "another install-vm run in this tree: waiting for it"
	flock 8
fi
rm -rf "$WORK"
mkdir -p "$WORK/in"
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"
cp "$SCENARIO" "$WORK/in/"
for f in "${INPUTS[@]}"; do cp "$f" "$WORK/in/"; done
basename "$SCENARIO" >"$WORK/in/.scenario"
tar -C "$WORK/in" -cf "$WORK/input.tar" .
truncate -s 256M "$WORK/results.img"
qemu-img create -q -f qcow2 -F raw -b "$IMG" "$WORK/root.qcow2" || die "qemu-img create failed"
LOG=$WORK/serial.log

# --- boot --------------------------------------------------------------------
log "booting $KVER with $NAME (-smp $SMP -m $MEM, TCG; timeout ${TIMEOUT}s; serial log ${LOG#"$ROOT"/}; prep $(elapsed "$T0")s)"
T1=$(date +%s.%N)
qrc=0
qemu() {
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
		-accel "tcg,thread=${INSTALL_VM_TCG_THREAD:-single}" \
		-M q35 -m "$MEM" -smp "$SMP" -nographic -no-reboot -nic none \
		-kernel "$VMLINUZ" -initrd "$INITRD" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 systemd.show_status=false" \
		-drive "file=$WORK/root.qcow2,format=qcow2,if=virtio" \
		-drive "file=$WORK/input.tar,format=raw,if=virtio,readonly=on" \
		-drive "file=$WORK/results.img,format=raw,if=virtio" \
		</dev/null
}
if [ "${INSTALL_VM_SHOW:-0}" = 1 ]; then
	qemu 2>&1 | tee "$LOG" || qrc=${PIPESTATUS[0]}
else
	qemu >"$LOG" 2>&1 || qrc=$?
fi
VM_SECS=$(elapsed "$T1")
rm -f "$WORK/root.qcow2"

# --- results -----------------------------------------------------------------
mkdir -p "$WORK/results"
if ! tar -xf "$WORK/results.img" -C "$WORK/results" 2>/dev/null || [ ! -f "$WORK/results/res/status" ]; then
	echo "======== no results from the guest (qemu exit status $qrc); last 60 lines of the serial log ========"
	tr -d '\r' <"$LOG" | tail -n 60 | sed 's/^/  | /'
	if [ "$qrc" = 124 ]; then
		log "TIMEOUT: the guest did not finish $NAME within ${TIMEOUT}s (INSTALL_VM_TIMEOUT)"
		exit 124
	fi
	log "the guest gave no results for $NAME"
	exit 2
fi
rm -f "$WORK/results.img" "$WORK/input.tar"
if [ -d "$WORK/results/out" ]; then
	cp -a "$WORK/results/out/." "$OUTDIR/"
fi
cp "$WORK/results/res/kernel.log" "$WORK/kernel.log"
status=$(cat "$WORK/results/res/status")
UP=$(tr -d '\r' <"$LOG" | sed -n 's/.*KESTREL-INSTALL-UP uptime=\([0-9.]*\).*/\1/p' | head -n 1)

echo "======== $NAME (guest $KVER) ========"
sed 's/^/  | /' "$WORK/results/res/scenario.log"

# Kernel log lines that fail the run whatever the scenario said (as
# scripts/vmtest.sh).
SPLAT='WARNING:|BUG:|Oops|general protection|possible circular locking|lockdep|INFO: task|scheduling while atomic|sleeping function called from invalid context|Call Trace'
splat=$(grep -E "$SPLAT" "$WORK/kernel.log" | head -n 5 || true)
rc=$status
if [ -n "$splat" ]; then
	echo "install-vm: guest kernel log has a splat (full log: ${WORK#"$ROOT"/}/kernel.log):"
	echo "$splat" | sed 's/^/  | /'
	[ "$rc" != 0 ] || rc=1
fi
echo "install-vm $KVER $NAME: scenario exit status $status; multi-user + runner at ${UP:-?}s guest uptime; VM ran ${VM_SECS}s; total $(elapsed "$T0")s"
exit "$rc"
}
