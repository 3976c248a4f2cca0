#!/bin/bash
# scripts/kernel.sh KERNEL -- make a Debian kernel ready for the VM tests.
#
# KERNEL is one of
#   6.1, 6.12         bookworm's cloud kernels (6.12: bookworm's newer line)
#   6.1-rt, 6.12-rt   the same lines' PREEMPT_RT flavour (rt-amd64)
#   sid               the newest kernel Debian ships (the sid suite's
#                     linux-headers-cloud-amd64), e.g. 7.2.x
# For the bookworm lines: resolves the newest packaged build of that line
# and flavour with apt-cache, installs its linux-headers package (to build
# the module against) and unpacks the matching linux-image-...-unsigned
# package into the kernel cache (to boot it in QEMU).
# For sid, whose headers need a newer compiler and libc than bookworm's:
# keeps a sid chroot (`debootstrap --variant=minbase --include=
# linux-headers-cloud-amd64,make sid`) in the cache, keyed by that recipe,
# refreshed (apt-get update + install, the newest headers) at most once a
# day; the module is built inside it (scripts/build-kmod.sh, KCHROOT).  The
# kernel itself comes from linux-image-<ver>-unsigned or, from 7.x,
# linux-binary[-unsigned]-<ver> (vmlinuz in /usr/lib/modules/<ver>/).  sid's
# kernels have MODVERSIONS off: the headers and the booted kernel are the
# same build, by construction.
# The cache lives outside the checkout (KESTREL_CACHE, default
# /var/cache/kestrel) so that fresh clones on one machine share it; each
# kernel's folder is keyed by its package version and rebuilt when missing.
# Prints, on stdout, lines for `eval`:
#   KVER=6.1.0-56-cloud-amd64
#   KDIR=/usr/src/linux-headers-6.1.0-56-cloud-amd64
#   VMLINUZ=/var/cache/kestrel/kernel-6.1.0-56-cloud-amd64/vmlinuz
#   KCHROOT=            (sid: the chroot the headers live in; KDIR is a
#                       path inside it)
# Everything else goes to stderr.  A second run with the same result is fast:
# no apt-get call when the headers are installed and the image is unpacked.
# Needs root for apt-get, debootstrap and chroot.
set -euo pipefail

CACHE=${KESTREL_CACHE:-/var/cache/kestrel}
export DEBIAN_FRONTEND=noninteractive

log() { echo "kernel.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 KERNEL   (6.1, 6.12, 6.1-rt, 6.12-rt or sid)"
KERNEL=$1
FLAVOUR=cloud
case $KERNEL in
sid) LINE=sid ;;
*-rt) LINE=${KERNEL%-rt}; FLAVOUR=rt ;;
*) LINE=$KERNEL ;;
esac
[[ $LINE == sid || $LINE =~ ^[0-9]+\.[0-9]+$ ]] ||
	die "KERNEL must look like 6.1, 6.12, 6.1-rt, 6.12-rt or sid, not '$KERNEL'"
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

# Newest KVER of the line and flavour that has both a headers and an
# unsigned image package.  One apt-cache call (each costs about a second here): search only
# lists packages that have a candidate version.
resolve() {
	local avail kver
	avail=$(apt-cache search --names-only \
		"^linux-(headers|image)-($LINE_RE\.0-[0-9]+|$LINE_RE\.[0-9]+\+deb[0-9]+)-$FLAVOUR-amd64(-unsigned)?\$" 2>/dev/null |
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

# Concurrent runs (two kernels, two users of one tree) take turns; sid's
# chroot (slow to make) has a lock of its own, so it holds up no other line.
mkdir -p "$CACHE"
if [ "$LINE" = sid ]; then exec 9>"$CACHE/.lock-sid"; else exec 9>"$CACHE/.lock"; fi
flock 9

# Unpack the kernel of package file $1 into $KCACHE (vmlinuz, config).
unpack_image() {
	local deb=$1 x=$2 vmlinuz=
	dpkg -x "$deb" "$x"
	for f in "$x/boot/vmlinuz-$KVER" "$x/usr/lib/modules/$KVER/vmlinuz" \
		"$x/usr/lib/modules/$KVER/vmlinuz.unsigned" "$x/lib/modules/$KVER/vmlinuz"; do
		[ -s "$f" ] && { vmlinuz=$f; break; }
	done
	[ -n "$vmlinuz" ] || die "$deb has no vmlinuz for $KVER (looked in boot/ and usr/lib/modules/$KVER/)"
	rm -rf "$KCACHE"
	mkdir -p "$KCACHE"
	cp "$vmlinuz" "$VMLINUZ"
	for f in "$x/boot/config-$KVER" "$x/usr/lib/modules/$KVER/config"; do
		[ -s "$f" ] && { cp "$f" "$KCACHE/config"; break; }
	done
	cp "$x/boot/System.map-$KVER" "$KCACHE/System.map" 2>/dev/null || true
	basename "$deb" >"$KCACHE/.complete"
	log "unpacked $(cat "$KCACHE/.complete") into $KCACHE"
}

# --- sid: headers in a cached chroot ---------------------------------------
if [ "$LINE" = sid ]; then
	# The mirror the host's apt uses (no host name is written here).
	MIRROR=${KESTREL_DEBIAN_MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
	[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
	[ -n "$MIRROR" ] || die "no Debian mirror found in the host's apt sources: set KESTREL_DEBIAN_MIRROR"
	RECIPE="debootstrap --variant=minbase --include=linux-headers-cloud-amd64,make sid"
	KCHROOT=$CACHE/sid-chroot-$(echo "$RECIPE" | sha256sum | cut -c1-12)
	in_chroot() { chroot "$KCHROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
	sid_apt() {
		in_chroot apt-get -qq -o Acquire::Check-Valid-Until=false -o DPkg::Lock::Timeout=600 "$@" >&2
	}
	if [ ! -e "$KCHROOT/.complete" ]; then
		command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/setup.sh installs it)"
		log "creating the sid chroot $KCHROOT ($RECIPE; about a minute)"
		rm -rf "$KCHROOT.tmp"
		debootstrap --variant=minbase --include=linux-headers-cloud-amd64,make \
			sid "$KCHROOT.tmp" "$MIRROR" >&2 || die "debootstrap of sid failed"
		rm -rf "$KCHROOT"
		mv "$KCHROOT.tmp" "$KCHROOT"
		echo "$RECIPE" >"$KCHROOT/.recipe"
		date +%s >"$KCHROOT/.complete"
		touch "$KCHROOT/.refreshed"
	fi
	cp /etc/resolv.conf "$KCHROOT/etc/resolv.conf" 2>/dev/null || true
	if [ -z "$(find "$KCHROOT/.refreshed" -mmin -1440 2>/dev/null)" ]; then
		log "refreshing the sid chroot (newest linux-headers-cloud-amd64)"
		sid_apt update || die "apt-get update in the sid chroot failed"
		sid_apt install -y --no-install-recommends linux-headers-cloud-amd64 make ||
			die "apt-get install linux-headers-cloud-amd64 in the sid chroot failed"
		touch "$KCHROOT/.refreshed"
	fi
	# The meta-package depends on linux-headers-<KVER>.
	KVER=$(in_chroot dpkg-query -W -f='${Depends}' linux-headers-cloud-amd64 |
		tr ',' '\n' | sed -n 's/^ *linux-headers-\([^ ]*-cloud-amd64\).*/\1/p' | head -n 1)
	[ -n "$KVER" ] || die "cannot tell which kernel linux-headers-cloud-amd64 stands for in $KCHROOT"
	KDIR=/usr/src/linux-headers-$KVER
	[ -e "$KCHROOT$KDIR/Makefile" ] || die "$KCHROOT$KDIR/Makefile missing"
	KCACHE=$CACHE/kernel-$KVER
	VMLINUZ=$KCACHE/vmlinuz
	if [ ! -s "$VMLINUZ" ] || [ ! -e "$KCACHE/.complete" ]; then
		dl=$KCHROOT/tmp/kestrel-dl
		rm -rf "$dl"
		mkdir -p "$dl"
		chmod 0777 "$dl"
		got=
		for pkg in "linux-image-$KVER-unsigned" "linux-binary-unsigned-$KVER" \
			"linux-binary-$KVER-unsigned" "linux-image-$KVER" "linux-binary-$KVER"; do
			if in_chroot sh -c "cd /tmp/kestrel-dl && apt-get download -qq '$pkg'" >/dev/null 2>&1; then
				got=$pkg
				break
			fi
		done
		[ -n "$got" ] || die "no image package for $KVER in sid (tried linux-image-$KVER-unsigned, linux-binary[-unsigned]-$KVER)"
		log "downloaded $got"
		unpack_image "$(ls "$dl"/*.deb | head -n 1)" "$dl/x"
		rm -rf "$dl"
	fi
	echo "KVER=$KVER"
	echo "KDIR=$KDIR"
	echo "VMLINUZ=$VMLINUZ"
	echo "KCHROOT=$KCHROOT"
	exit 0
fi

if ! lists_age_ok; then
	apt_update
fi
KVER=$(resolve) || { apt_update; KVER=$(resolve) || die "no linux-headers/linux-image-*-unsigned $FLAVOUR-amd64 package found for kernel $KERNEL"; }

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
	unpack_image "$deb" "$tmp/x"
	rm -rf "$tmp"
	trap - EXIT
fi

echo "KVER=$KVER"
echo "KDIR=$KDIR"
echo "VMLINUZ=$VMLINUZ"
echo "KCHROOT="
