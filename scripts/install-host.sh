#!/bin/bash
# scripts/install-host.sh [--module KO] [--binary PATH] [DESTDIR] -- install
# kestrel on this host without packages: insmod + systemd.
#
# Installs what the kestrel package holds, from this checkout:
#   /usr/bin/kestrel, /usr/bin/kestrel-driver-loader (its version set),
#   /etc/kestrel/kestrel.yaml (kept if present: it is yours),
#   /etc/kestrel/rules.d/, /usr/share/kestrel/rules/kestrel_rules.yaml,
#   /etc/systemd/system/kestrel.service, the man pages,
# and, with --module, the built module as
#   /lib/modules/<its release>/extra/kestrel.ko
# where the driver loader finds it (its release is read from the module).
# Without --module the loader builds the module itself on first start if the
# source is at /usr/src/kestrel-<version> (--source installs it there).
# DESTDIR (default /) is for staging and tests.  Then:
#   systemctl daemon-reload && systemctl enable --now kestrel
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "install-host.sh: error: $*" >&2; exit 1; }

KO=
BIN=$ROOT/target/release/kestrel
SOURCE=
while [ $# -gt 0 ]; do
	case $1 in
	--module) KO=$2; shift 2 ;;
	--binary) BIN=$2; shift 2 ;;
	--source) SOURCE=1; shift ;;
	-*) die "usage: $0 [--module KO] [--binary PATH] [--source] [DESTDIR]" ;;
	*) break ;;
	esac
done
DEST=${1:-/}
DEST=${DEST%/}

[ -x "$BIN" ] || die "no kestrel binary at $BIN: cargo build --release (or --binary PATH)"
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/consumer/Cargo.toml" | head -n 1)

install -D -m 0755 "$BIN" "$DEST/usr/bin/kestrel"
sed "s/^VERSION='@KESTREL_VERSION@'/VERSION='$VERSION'/" "$ROOT/scripts/kestrel-driver-loader" >"$DEST/usr/bin/kestrel-driver-loader.new"
chmod 0755 "$DEST/usr/bin/kestrel-driver-loader.new"
mv "$DEST/usr/bin/kestrel-driver-loader.new" "$DEST/usr/bin/kestrel-driver-loader"
install -d -m 0755 "$DEST/etc/kestrel/rules.d"
if [ -e "$DEST/etc/kestrel/kestrel.yaml" ]; then
	cmp -s "$ROOT/config/kestrel.yaml" "$DEST/etc/kestrel/kestrel.yaml" ||
		install -m 0644 "$ROOT/config/kestrel.yaml" "$DEST/etc/kestrel/kestrel.yaml.new"
else
	install -m 0644 "$ROOT/config/kestrel.yaml" "$DEST/etc/kestrel/kestrel.yaml"
fi
install -D -m 0644 "$ROOT/rules/kestrel_rules.yaml" "$DEST/usr/share/kestrel/rules/kestrel_rules.yaml"
install -D -m 0644 "$ROOT/deploy/systemd/kestrel.service" "$DEST/etc/systemd/system/kestrel.service"
for m in kestrel kestrel-driver-loader; do
	install -D -m 0644 "$ROOT/deploy/man/$m.8" "$DEST/usr/local/share/man/man8/$m.8"
done
if [ -n "$SOURCE" ]; then
	"$ROOT/scripts/stage-dkms-source.sh" "$DEST/usr/src/kestrel-$VERSION"
fi
if [ -n "$KO" ]; then
	kver=$(modinfo -F vermagic "$KO" | cut -d' ' -f1)
	[ -n "$kver" ] || die "cannot read the kernel release of $KO (modinfo -F vermagic)"
	install -D -m 0644 "$KO" "$DEST/lib/modules/$kver/extra/kestrel.ko"
	if [ -z "$DEST" ] && command -v depmod >/dev/null; then depmod -a "$kver"; fi
fi
echo "installed kestrel $VERSION under ${DEST:-/}; now: systemctl daemon-reload && systemctl enable --now kestrel"
