#!/bin/bash
# scripts/stage-dkms-source.sh DEST -- copy the module source as DKMS wants it.
#
# DEST becomes a DKMS source tree (what /usr/src/kestrel-<version> holds in
# the kestrel-dkms package and the container image): dkms.conf at the top,
# the module's Kbuild, Makefile, C sources and the ABI header under kmod/.
# kestrel-driver-loader builds from the same tree (DEST/kmod) when DKMS is
# not there.  Fails if dkms.conf's version is not the consumer crate's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "stage-dkms-source.sh: error: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DEST"
DEST=$1

crate=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/consumer/Cargo.toml" | head -n 1)
dkms=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$ROOT/dkms.conf")
[ "$crate" = "$dkms" ] ||
	die "dkms.conf says PACKAGE_VERSION=\"$dkms\" but consumer/Cargo.toml says $crate: make them agree"

mkdir -p "$DEST/kmod"
install -m 0644 "$ROOT/dkms.conf" "$DEST/dkms.conf"
n=0
for f in "$ROOT"/kmod/Kbuild "$ROOT"/kmod/Makefile "$ROOT"/kmod/*.c "$ROOT"/kmod/*.h; do
	install -m 0644 "$f" "$DEST/kmod/"
	n=$((n + 1))
done
[ $n -ge 4 ] || die "too few module sources in $ROOT/kmod"
