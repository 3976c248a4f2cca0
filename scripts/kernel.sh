#!/bin/bash
# scripts/kernel.sh KERNEL -- make a Debian cloud kernel ready for the VM tests.
#
# KERNEL is a kernel line: 6.1 (bookworm) or 6.12 (bookworm's newer line).
# Resolves the newest packaged build of that line with apt-cache, installs its
# linux-headers package (to build the module against) and unpacks the matching
# linux-image-...-unsigned package into the kernel cache (to boot it in QEMU).
# The cache lives outside the checkout (KESTREL_CACHE, default
# /var/cache/kestrel) so that fresh clones on one machine share it; each
# kernel's folder is keyed by its package version and rebuilt when missing.
# Prints, on stdout, lines for `eval`:
#   KVER=6.1.0-56-cloud-amd64
#   KDIR=/usr/src/linux-headers-6.1.0-56-cloud-amd64
#   VMLINUZ=/var/cache/kestrel/kernel-6.1.0-56-cloud-amd64/vmlinuz
# Everything else goes to stderr.  A second run with the same result is fast:
# no apt-get call when the headers are installed and the image is unpacked.
# Needs root for apt-get.
set -euo pipefail

CACHE=${KESTREL_CACHE:-/var/cache/kestrel}
export DEBIAN_FRONTEND=noninteractive

log() { echo "kernel.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 KERNEL   (e.g. 6.1 or 6.12)"
LINE=$1
[[ $LINE =~ ^[0-9]+\.[0-9]+$ ]] || die "KERNEL must look like 6.1 or 6.12, not '$LINE'"
LINE_RE=${LINE//./\\.}

lists_age_ok() {
	# apt lists present and refreshed within the last day
	local newest
	newest=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)
	[ -n "$newest" ]
}

apt_update() {
	log "apt-get update"
	apt-get update -qq -o DPkg::Lock::Timeout=600 >&2 || die "apt-get update failed"
}

# Newest KVER of the line that has both a headers and an unsigned image
# package.  One apt-cache call (each costs about a second here): search only
# lists packages that have a candidate version.
resolve() {
	local avail kver
	avail=$(apt-cache search --names-only \
		"^linux-(headers|image)-($LINE_RE\.0-[0-9]+|$LINE_RE\.[0-9]+\+deb[0-9]+)-cloud-amd64(-unsigned)?\$" 2>/dev/null |
		awk '{print $1}')
	for kver in $(echo "$avail" | sed -n 's/^linux-headers-//p' | sort -rV); do
		# (a here-string, not echo | grep -q: with pipefail, grep -q quitting
		# early can fail the pipeline through SIGPIPE)
		if grep -qxF "linux-image-$kver-unsigned" <<<"$avail"; then
			echo "$kver"
			return 0
		fi
	done
	return 1
}

# Concurrent runs (two kernels, two users of one tree) take turns.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

if ! lists_age_ok; then
	apt_update
fi
KVER=$(resolve) || { apt_update; KVER=$(resolve) || die "no linux-headers/linux-image-*-unsigned cloud-amd64 package found for kernel $LINE"; }

HDR_PKG=linux-headers-$KVER
IMG_PKG=linux-image-$KVER-unsigned
KDIR=/usr/src/linux-headers-$KVER
KCACHE=$CACHE/kernel-$KVER
VMLINUZ=$KCACHE/vmlinuz

# --- headers ---------------------------------------------------------------
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
if ! installed "$HDR_PKG" || [ ! -e "$KDIR/Makefile" ]; then
	log "installing $HDR_PKG"
	if ! apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "$HDR_PKG" >&2; then
		apt_update
		apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "$HDR_PKG" >&2 || die "cannot install $HDR_PKG"
	fi
fi
[ -e "$KDIR/Makefile" ] || die "$KDIR/Makefile missing after installing $HDR_PKG"

# --- image -----------------------------------------------------------------
if [ ! -s "$VMLINUZ" ] || [ ! -e "$KCACHE/.complete" ]; then
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	log "downloading $IMG_PKG"
	# apt-get download writes to the current directory; _apt must be able to
	# write there, or apt warns and downloads unsandboxed (harmless).
	chmod 0777 "$tmp"
	if ! (cd "$tmp" && apt-get download -qq "$IMG_PKG" >&2 2>/dev/null); then
		apt_update
		(cd "$tmp" && apt-get download -qq "$IMG_PKG" >&2) || die "cannot download $IMG_PKG"
	fi
	deb=$(ls "$tmp"/*.deb)
	dpkg -x "$deb" "$tmp/x"
	[ -s "$tmp/x/boot/vmlinuz-$KVER" ] || die "$deb has no boot/vmlinuz-$KVER"
	rm -rf "$KCACHE"
	mkdir -p "$KCACHE"
	cp "$tmp/x/boot/vmlinuz-$KVER" "$VMLINUZ"
	cp "$tmp/x/boot/config-$KVER" "$KCACHE/config" 2>/dev/null || true
	cp "$tmp/x/boot/System.map-$KVER" "$KCACHE/System.map" 2>/dev/null || true
	basename "$deb" >"$KCACHE/.complete"
	rm -rf "$tmp"
	trap - EXIT
	log "unpacked $(cat "$KCACHE/.complete") into $KCACHE"
fi

echo "KVER=$KVER"
echo "KDIR=$KDIR"
echo "VMLINUZ=$VMLINUZ"
