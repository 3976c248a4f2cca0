#!/bin/bash
# scripts/vm-rootfs.sh KERNEL -- the Debian root file system of the VM install test.
#
# KERNEL is a kernel line (6.1, 6.12; see scripts/kernel.sh).  Builds, once
# per recipe, a bookworm root file system that boots under QEMU with
# systemd as init and has the real tools the install test drives: apt/dpkg,
# dkms, make, gcc, kmod, the kernel image (its modules and initramfs) and
# headers of that kernel, and the container runtimes (podman with crun,
# netavark, catatonit; containerd with runc; docker.io, which wants
# apparmor and iptables).  The kestrel packages are NOT in it: the test
# installs them.
#
# The tree is made with `debootstrap --variant=minbase` (the kernel
# packages from the host's apt sources, which include the security archive
# where the newest 6.1 kernel lives), cleaned, and packed as
#   $KESTREL_CACHE/rootfs/rootfs-<kver>-<hash>.tar
# keyed by a hash of the recipe (suite, packages, set-up steps, this
# kernel's version): a second run with the same recipe only prints the path.
# Tried by hand (6.1): about 9 minutes to build, a 974 MiB tarball; as an
# ext4 image (mkfs.ext4 -d, 4G) booted with the tree's own
# vmlinuz/initrd.img, root=/dev/vda, -nic none under TCG, systemd reaches
# the serial login prompt in about a minute, containerd and docker.socket
# started, no failed unit.  The install test that uses it is next.
# Prints, for eval:  ROOTFS_TAR=...  KVER=...
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KESTREL_CACHE:-/var/cache/kestrel}
log() { echo "vm-rootfs.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 KERNEL   (6.1 or 6.12)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
eval "$("$ROOT/scripts/kernel.sh" "$1")"

SUITE=bookworm
# what debootstrap installs from the suite
BASE_PKGS=systemd-sysv,udev,dbus,kmod,dkms,make,gcc,libelf1,libssl3,pahole,apt,ca-certificates,iproute2,procps,python3-minimal,podman,crun,netavark,aardvark-dns,catatonit,containerd,runc,docker.io,apparmor,iptables
# then, from the host's sources (bookworm-security included): this kernel
KERNEL_PKGS="linux-image-$KVER linux-headers-$KVER"
STEPS="hostname=kestrel-vm; root without password; serial getty; fstab /dev/vda ext4; no apt lists; no docs"
RECIPE="suite=$SUITE base=$BASE_PKGS kernel=$KERNEL_PKGS steps=$STEPS"
HASH=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
OUT=$CACHE/rootfs/rootfs-$KVER-$HASH.tar

mirror() {
	sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\/\{0,1\}\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1
}

mkdir -p "$CACHE/rootfs"
exec 9>"$CACHE/rootfs/.lock"
flock 9

if [ ! -f "$OUT" ]; then
	tmp=$(mktemp -d "$CACHE/rootfs/.build.XXXXXX")
	R=$tmp/root
	cleanup() {
		for m in dev/pts dev proc sys; do umount "$R/$m" 2>/dev/null || true; done
		rm -rf "$tmp"
	}
	trap cleanup EXIT
	log "debootstrap $SUITE with the install test's tools (recipe $HASH; a few minutes)"
	# shellcheck disable=SC2046 # one word or none
	debootstrap --variant=minbase --include="$BASE_PKGS" "$SUITE" "$R" $(mirror) >"$tmp/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$tmp/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

	# the kernel, from the same sources the host resolved it from
	cp /etc/apt/sources.list.d/debian.sources "$R/etc/apt/sources.list.d/" 2>/dev/null ||
		cp /etc/apt/sources.list "$R/etc/apt/sources.list"
	rm -f "$R/etc/apt/sources.list.d/"*.disabled*
	mount -t proc proc "$R/proc"
	mount -t sysfs sys "$R/sys"
	mount --bind /dev "$R/dev"
	mount --bind /dev/pts "$R/dev/pts"
	# no service starts inside the chroot
	printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
	chmod 0755 "$R/usr/sbin/policy-rc.d"
	log "installing $KERNEL_PKGS in the tree"
	# shellcheck disable=SC2086 # a list of packages
	chroot "$R" sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
		apt-get install -y -qq --no-install-recommends $KERNEL_PKGS" >"$tmp/kernel.log" 2>&1 ||
		{ tail -n 30 "$tmp/kernel.log" >&2; die "installing the kernel in the tree failed (log above)"; }
	rm -f "$R/usr/sbin/policy-rc.d"
	for m in dev/pts dev proc sys; do umount "$R/$m"; done

	# boot set-up: host name, root login on the serial console without a
	# password (the VM has no network), the root disk
	echo kestrel-vm >"$R/etc/hostname"
	chroot "$R" passwd -d root >/dev/null
	chroot "$R" systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true
	echo '/dev/vda / ext4 defaults 0 1' >"$R/etc/fstab"
	rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/archives/*.deb "$R"/usr/share/doc/* "$R"/usr/share/man/*
	if [ ! -f "$R/boot/vmlinuz-$KVER" ] || [ ! -f "$R/boot/initrd.img-$KVER" ]; then
		die "the tree has no /boot/vmlinuz-$KVER and initrd.img-$KVER"
	fi
	[ -e "$R/lib/modules/$KVER/build/Makefile" ] || die "the tree has no headers for $KVER"
	tar --sort=name --numeric-owner -C "$R" -cf "$tmp/rootfs.tar" .
	mv "$tmp/rootfs.tar" "$OUT"
	log "$OUT: $(du -m "$OUT" | cut -f1) MiB"
fi

echo "ROOTFS_TAR=$OUT"
echo "KVER=$KVER"
