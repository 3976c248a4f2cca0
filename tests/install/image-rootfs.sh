#!/bin/bash
# tests/install/image-rootfs.sh OUT.tar -- the root file system of the
# install test's container image, as a plain tar that podman/docker import.
#
# No image registry is reachable here, so the image is made locally: the
# host's static busybox (scripts/setup.sh installs busybox-static) with its
# applets as links, and a fake /etc/shadow worth reading.  About 2 MB.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUT.tar" >&2; exit 2; }
BUSYBOX=/bin/busybox
"$BUSYBOX" --list >/dev/null 2>&1 || { echo "$0: no static busybox at $BUSYBOX (apt-get install busybox-static)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
R=$tmp/root
mkdir -p "$R"/{bin,etc,tmp,proc,sys,dev,root}
cp "$BUSYBOX" "$R/bin/busybox"
for a in sh cat sleep date echo ls id; do ln -s busybox "$R/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nshadow:x:42:\nnogroup:x:65534:\n' >"$R/etc/group"
printf 'root:$6$kestrel$bm90IGEgcmVhbCBoYXNoLCBqdXN0IGEgdGVzdCBmaXh0dXJl:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\n' >"$R/etc/shadow"
chmod 0640 "$R/etc/shadow"
chmod 1777 "$R/tmp"
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$R" -cf "$1" .
