#!/bin/bash
# scripts/build-image.sh -- build the kestrel container image with podman.
#
#   scripts/build-image.sh [--binary PATH] [--no-save]
#
# No image registry is reachable here, so the base image is made, not
# pulled: `debootstrap --variant=minbase` of Debian bookworm with what the
# driver loader needs to build kestrel.ko against the host's headers (make,
# gcc, kmod, and the libraries the headers' tools use), cleaned and packed into
# a tarball cached under the kestrel cache (KESTREL_CACHE, default
# /var/cache/kestrel), keyed by a hash of its recipe (suite, variant,
# packages, clean-up): it is rebuilt only when the recipe changes.  The
# tarball is imported as localhost/kestrel-base:<hash>.
#
# The image itself (deploy/Containerfile) adds the files of the kestrel and
# kestrel-dkms packages (scripts/package-deb.sh), unpacked: the binary, the
# loader, default config and rules, and the module source in
# /usr/src/kestrel-<version>.  It is tagged localhost/kestrel:<version> and
# saved (unless --no-save) as build/image/kestrel_<version>.tar
# (docker-archive; `podman load`, `docker load`, `ctr images import`).
# Prints the image's name on stdout.  Needs root (debootstrap, podman).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KESTREL_CACHE:-/var/cache/kestrel}
log() { echo "build-image.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

BIN_OPT=()
SAVE=1
while [ $# -gt 0 ]; do
	case $1 in
	--binary) BIN_OPT=(--binary "$2"); shift 2 ;;
	--no-save) SAVE=; shift ;;
	*) die "usage: $0 [--binary PATH] [--no-save]" ;;
	esac
done

for t in debootstrap podman; do
	command -v "$t" >/dev/null || die "$t is missing: apt-get install $t"
done
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/consumer/Cargo.toml" | head -n 1)

# --- the base: a debootstrapped bookworm, cached by recipe -----------------
SUITE=bookworm
VARIANT=minbase
# make, gcc: the loader's Kbuild build of kestrel.ko against the host's
# headers; libelf1, libssl3, pahole: what the headers' prebuilt tools
# (objtool, sign-file) and BTF generation need (Debian's linux-kbuild
# packages depend on them); kmod: insmod, modinfo.  No ca-certificates:
# https outputs verify against the webpki roots built into kestrel.  No
# dkms: in a container the loader builds with Kbuild into its cache, since
# DKMS installs into /lib/modules, which is the host's and read-only there.
INCLUDE=kmod,make,gcc,libelf1,libssl3,pahole
# what is removed from the tree before packing it
CLEAN="var/cache/apt/archives/*.deb var/lib/apt/lists/* var/log/* usr/share/doc/* usr/share/man/* usr/share/info/* usr/share/locale/*"
RECIPE="suite=$SUITE variant=$VARIANT include=$INCLUDE clean=$CLEAN"
HASH=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
BASE_TAR=$CACHE/images/rootfs-$SUITE-$HASH.tar
BASE_IMG=localhost/kestrel-base:$HASH

# The Debian mirror the host's apt uses (debootstrap's default otherwise).
mirror() {
	local m
	m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\/\{0,1\}\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	[ -n "$m" ] || m=$(sed -n 's/^deb[[:space:]]\{1,\}\([^[:space:]]*\/debian\/\{0,1\}\)[[:space:]]\{1,\}'"$SUITE"'[[:space:]].*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
	echo "$m"
}

mkdir -p "$CACHE/images"
exec 9>"$CACHE/images/.lock"
flock 9
if [ ! -f "$BASE_TAR" ]; then
	tmp=$(mktemp -d "$CACHE/images/.rootfs.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	log "debootstrap --variant=$VARIANT --include=$INCLUDE $SUITE (recipe $HASH)"
	# shellcheck disable=SC2046 # the mirror is one word or none
	debootstrap --variant="$VARIANT" --include="$INCLUDE" "$SUITE" "$tmp/root" $(mirror) >"$tmp/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
	# shellcheck disable=SC2086 # the patterns are globs
	(cd "$tmp/root" && for p in $CLEAN; do rm -rf $p; done)
	# reproducible enough: sorted, owner numeric, no atime
	tar --sort=name --numeric-owner -C "$tmp/root" -cf "$tmp/rootfs.tar" .
	mv "$tmp/rootfs.tar" "$BASE_TAR"
	# older recipes' bases are not used any more
	for old in "$CACHE/images/rootfs-$SUITE-"*.tar; do
		[ "$old" = "$BASE_TAR" ] && continue
		rm -f "$old"
		podman rmi -f "localhost/kestrel-base:$(basename "$old" .tar | sed "s/^rootfs-$SUITE-//")" >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
	trap - EXIT
fi
if ! podman image exists "$BASE_IMG"; then
	log "podman import $BASE_TAR $BASE_IMG"
	podman import --quiet "$BASE_TAR" "$BASE_IMG" >&2 || die "podman import failed"
fi

# --- the image ---------------------------------------------------------------
CTX=$ROOT/build/image/context
rm -rf "$CTX"
mkdir -p "$CTX/rootfs"
debs=$("$ROOT/scripts/package-deb.sh" "${BIN_OPT[@]}" --out "$ROOT/build/image/deb") || die "package-deb.sh failed"
for d in $debs; do
	dpkg-deb -x "$d" "$CTX/rootfs"
done
# what a container does not use: the unit, man pages, lintian overrides
# (and no top-level lib/: COPY would turn the base's /lib -> usr/lib symlink
# into a directory)
rm -rf "$CTX/rootfs/lib" "$CTX/rootfs/usr/share/man" "$CTX/rootfs/usr/share/lintian"
for d in "$CTX"/rootfs/*; do
	case ${d##*/} in etc | usr | var) ;; *) die "unexpected top-level ${d##*/} in the packages" ;; esac
done
cp "$ROOT/deploy/Containerfile" "$CTX/Containerfile"

# runc rather than Debian's default crun, which refuses hosts with a hybrid
# cgroup hierarchy (v1 controllers plus an empty v2 mount, as here); and
# modest rlimits, since a container may not raise its limits above what
# conmon runs with.
PODMAN_RUN_OPTS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
command -v runc >/dev/null && PODMAN_RUN_OPTS=(--runtime runc "${PODMAN_RUN_OPTS[@]}")

IMAGE=localhost/kestrel:$VERSION
log "podman build $IMAGE (base $BASE_IMG)"
old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
podman build --quiet --network=none "${PODMAN_RUN_OPTS[@]}" --build-arg "BASE=$BASE_IMG" -t "$IMAGE" -f "$CTX/Containerfile" "$CTX" >&2 ||
	die "podman build failed"
# the previous build of this tag, now untagged, goes
new_id=$(podman image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
	podman rmi "$old_id" >/dev/null 2>&1 || true
fi
if [ -n "$SAVE" ]; then
	out=$ROOT/build/image/kestrel_$VERSION.tar
	rm -f "$out"
	podman save --quiet --format docker-archive -o "$out" "$IMAGE" || die "podman save failed"
	log "saved $out"
fi
echo "$IMAGE"
