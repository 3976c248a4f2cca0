#!/bin/bash
# scripts/build-kmod.sh KERNEL -- build kestrel.ko with -Werror for one kernel.
#
# KERNEL is 6.1, 6.12, 6.1-rt, 6.12-rt or sid (see scripts/kernel.sh), or set
# KDIR=<headers dir> and KVER=<release> (and KCHROOT=<dir> when the headers
# live in a chroot, as sid's do: KDIR is then a path inside it and the build
# runs there, with the compiler the headers were made for) in the
# environment and give no argument.
# The sources of kmod/ are copied to build/kmod-<release>/ and built there, so
# builds for different kernels never share objects.  Only files whose content
# changed are copied, so an unchanged module is not rebuilt.
# Prints the path of the built kestrel.ko on stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "build-kmod.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

if [ $# -ge 1 ]; then
	kinfo=$("$ROOT/scripts/kernel.sh" "$1") || die "scripts/kernel.sh $1 failed"
	eval "$kinfo"
fi
[ -n "${KDIR:-}" ] || die "usage: $0 KERNEL   (or KDIR=... KVER=... $0)"
[ -e "${KCHROOT:-}$KDIR/Makefile" ] || die "no kernel headers at KDIR=$KDIR${KCHROOT:+ in $KCHROOT}"
KVER=${KVER:-$(basename "$KDIR" | sed 's/^linux-headers-//')}

SRC=$ROOT/kmod
OUT=$ROOT/build/kmod-$KVER
ls "$SRC"/*.c >/dev/null 2>&1 || die "no module sources in $SRC"
mkdir -p "$OUT"
# Concurrent builds for the same kernel take turns.
exec 9>"$OUT.lock"
flock 9

# Sync sources: copy new or changed files, drop files no longer in kmod/.
is_src() { case "$1" in *.c|*.h|Kbuild|Makefile) return 0;; esac; return 1; }
for f in "$SRC"/*; do
	b=$(basename "$f")
	[ -f "$f" ] && is_src "$b" || continue
	cmp -s "$f" "$OUT/$b" || cp "$f" "$OUT/$b"
done
for f in "$OUT"/*; do
	b=$(basename "$f")
	[ -f "$f" ] && is_src "$b" || continue
	[ -e "$SRC/$b" ] || rm -f "$f"
done

KCHROOT=${KCHROOT:-}
if [ -n "$KCHROOT" ]; then
	[ -e "$KCHROOT$KDIR/Makefile" ] || die "no kernel headers at $KCHROOT$KDIR"
	# Build in a copy inside the chroot (one per checkout and kernel), then
	# bring kestrel.ko back to $OUT.
	CSUB=/tmp/kestrel-kmod-$(echo "$ROOT" | sha256sum | cut -c1-8)-$KVER
	CDIR=$KCHROOT$CSUB
	mkdir -p "$CDIR"
	for f in "$OUT"/*; do
		b=$(basename "$f")
		[ -f "$f" ] && is_src "$b" || continue
		cmp -s "$f" "$CDIR/$b" || cp "$f" "$CDIR/$b"
	done
	log "building kestrel.ko for $KVER in the chroot $KCHROOT ($CSUB)"
	# objtool reads /proc: mount one for the build, in a private mount
	# namespace, so nothing stays mounted in the shared chroot.
	if ! unshare -m sh -c 'mount -t proc proc "$1/proc" && exec chroot "$1" make -C "$2" KDIR="$3" KCFLAGS=-Werror -j"$4"' \
		build-kmod "$KCHROOT" "$CSUB" "$KDIR" "$(nproc)" >"$OUT/build.log" 2>&1; then
		cat "$OUT/build.log" >&2
		die "module build failed for $KVER (in $KCHROOT)"
	fi
	grep -E 'warning:|error:|note:' "$OUT/build.log" >&2 || true
	[ -f "$CDIR/kestrel.ko" ] || die "build succeeded but $CDIR/kestrel.ko is missing"
	cmp -s "$CDIR/kestrel.ko" "$OUT/kestrel.ko" || cp "$CDIR/kestrel.ko" "$OUT/kestrel.ko"
	echo "$OUT/kestrel.ko"
	exit 0
fi
log "building kestrel.ko for $KVER in ${OUT#"$ROOT"/}"
# KCFLAGS reaches every compile of an external module.  -Werror is CI's
# (this script, `make lint`, the VM tests), never the shipped Kbuild's: a
# DKMS build on a newer kernel must not fail on a new warning.
if ! make -C "$OUT" KDIR="$KDIR" KCFLAGS="-Werror" -j"$(nproc)" >"$OUT/build.log" 2>&1; then
	cat "$OUT/build.log" >&2
	die "module build failed for $KVER"
fi
# Show compiler diagnostics (none expected: -Werror), not the make chatter.
grep -E 'warning:|error:|note:' "$OUT/build.log" >&2 || true
[ -f "$OUT/kestrel.ko" ] || die "build succeeded but $OUT/kestrel.ko is missing"
echo "$OUT/kestrel.ko"
