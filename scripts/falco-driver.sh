#!/bin/bash
# scripts/falco-driver.sh KERNEL OUTDIR -- Falco's kernel driver and sysdig,
# from Debian, ready to copy into a benchmark guest (scripts/vmbench.sh).
#
# Debian packages Falco's driver as falcosecurity-scap-dkms (sources for
# DKMS) and a matching sysdig (built against libfalcosecurity0, the same
# libs release).  This script
#   - builds scap.ko from the package's sources on the host against the
#     headers scripts/kernel.sh KERNEL names (as the VM tests build
#     kestrel.ko: DKMS inside the guest would take minutes), once: the
#     result is cached in $KESTREL_CACHE/falco-<scap version>-<kernel
#     release>/scap.ko, keyed by both versions;
#   - installs the sysdig package on the host if missing (apt-get, without
#     recommends: the DKMS package would build for the host's kernel) and
#     copies the binary, its shared libraries (ldd) and the dynamic loader;
# and lays them out under OUTDIR as the guest's root expects them:
#   OUTDIR/falco/scap.ko
#   OUTDIR/falco/bin/sysdig
#   OUTDIR/falco/lib/*.so*                 (run with LD_LIBRARY_PATH)
#   OUTDIR/lib64/ld-linux-x86-64.so.2      (sysdig's PT_INTERP)
# Exit status 3 when the driver does not build for that kernel (Debian's
# driver is a 2022 snapshot: it builds for 6.1, not for 6.12); the caller
# then benchmarks without it.  Needs root (apt-get).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KESTREL_CACHE:-/var/cache/kestrel}
export DEBIAN_FRONTEND=noninteractive
log() { echo "falco-driver.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -eq 2 ] || die "usage: $0 KERNEL OUTDIR"
KERNEL=$1
OUTDIR=$2
kinfo=$("$ROOT/scripts/kernel.sh" "$KERNEL") || die "scripts/kernel.sh $KERNEL failed"
eval "$kinfo"
[ -z "${KCHROOT:-}" ] || { log "no Falco driver build for $KERNEL (headers in a chroot)"; exit 3; }

# The candidate versions: the cache key.
candidate() { apt-cache policy "$1" | sed -n 's/^ *Candidate: *//p'; }
SCAP_VER=$(candidate falcosecurity-scap-dkms)
[ -n "$SCAP_VER" ] && [ "$SCAP_VER" != "(none)" ] ||
	die "apt-cache knows no falcosecurity-scap-dkms (apt-get update?)"
DIR=$CACHE/falco-$SCAP_VER-$KVER
mkdir -p "$CACHE"
exec 9>"$CACHE/.falco-$KVER.lock"
flock 9
if [ -f "$DIR/failed" ]; then
	log "Falco's driver $SCAP_VER does not build for $KVER (cached: $DIR/build.log)"
	exit 3
fi
if [ ! -f "$DIR/scap.ko" ]; then
	rm -rf "$DIR"
	mkdir -p "$DIR/src"
	TMP=$(mktemp -d)
	trap 'rm -rf "$TMP"' EXIT
	log "fetching falcosecurity-scap-dkms $SCAP_VER"
	(cd "$TMP" && apt-get download "falcosecurity-scap-dkms=$SCAP_VER" >&2) ||
		die "apt-get download falcosecurity-scap-dkms failed"
	dpkg -x "$TMP"/falcosecurity-scap-dkms_*.deb "$TMP/x"
	cp -r "$TMP"/x/usr/src/scap-*/. "$DIR/src/"
	log "building scap.ko for $KVER (once; cached in $DIR)"
	if ! nice -n 10 make -C "$DIR/src" KERNELDIR="$KDIR" -j"$(nproc)" >"$DIR/build.log" 2>&1; then
		touch "$DIR/failed"
		log "Falco's driver $SCAP_VER does not build for $KVER (see $DIR/build.log)"
		exit 3
	fi
	cp "$DIR/src/scap.ko" "$DIR/scap.ko"
fi

if ! command -v sysdig >/dev/null; then
	log "installing Debian's sysdig (no recommends)"
	apt-get install -y --no-install-recommends sysdig >&2 || die "apt-get install sysdig failed"
fi
SYSDIG=$(command -v sysdig)

mkdir -p "$OUTDIR/falco/bin" "$OUTDIR/falco/lib" "$OUTDIR/lib64"
cp "$DIR/scap.ko" "$OUTDIR/falco/scap.ko"
cp "$SYSDIG" "$OUTDIR/falco/bin/sysdig"
INTERP=$(readelf -l "$SYSDIG" | sed -n 's/.*program interpreter: \(.*\)]/\1/p')
[ "$INTERP" = /lib64/ld-linux-x86-64.so.2 ] || die "sysdig's loader is $INTERP, expected /lib64/ld-linux-x86-64.so.2"
cp -L "$INTERP" "$OUTDIR/lib64/"
ldd "$SYSDIG" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
	cp -L "$lib" "$OUTDIR/falco/lib/"
done
echo "scap=$SCAP_VER sysdig=$(dpkg-query -W -f '${Version}' sysdig) kernel=$KVER" >"$OUTDIR/falco/VERSION"
log "ready: $(cat "$OUTDIR/falco/VERSION")"
