#!/bin/bash
# scripts/node-test.sh [KERNEL] -- the node path of the real install test
# (make node-test; issue 14): Kestrel's DaemonSet pod, as `helm template`
# renders it, run through containerd's CRI in a booted bookworm guest by a
# kubelet stand-in, catches a second pod's `cat /etc/shadow`.
#
# KERNEL: 6.1 (default) or 6.12 (scripts/vm-rootfs.sh).  On the host:
#   - the kestrel image (scripts/build-image.sh, build/image/kestrel_<v>.tar);
#   - tests/cri-client, its own cargo workspace (release build);
#   - the sandbox and workload images (tests/install/node-images.py);
#   - the chart rendered with helm (scripts/k8s-tools.sh), release
#     "kestrel" in namespace "kestrel", as `helm install` would;
# then scripts/install-vm.sh boots the guest and runs tests/install/node.sh.
# Exit status: the scenario's (see install-vm.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KERNEL=${1:-6.1}
CARGO=${CARGO:-cargo}
OUT=$ROOT/build/node-test
log() { echo "node-test.sh: $*" >&2; }
die() { log "error: $*"; exit 2; }
T0=$(date +%s)

mkdir -p "$OUT"
rm -rf "$OUT"/*.tar "$OUT"/*.yaml "$OUT/kestrel-cri-client" "$OUT/guest"

log "kestrel image"
"$CARGO" build --release -p kestrel --manifest-path "$ROOT/Cargo.toml" >&2 || die "cargo build --release -p kestrel failed"
"$ROOT/scripts/build-image.sh" --binary "$ROOT/target/release/kestrel" >/dev/null || die "scripts/build-image.sh failed"
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/consumer/Cargo.toml" | head -n 1)
IMAGE_TAR=$ROOT/build/image/kestrel_$VERSION.tar
[ -f "$IMAGE_TAR" ] || die "no $IMAGE_TAR"

log "tests/cri-client"
"$CARGO" build --release --locked --manifest-path "$ROOT/tests/cri-client/Cargo.toml" >&2 ||
	die "cargo build of tests/cri-client failed"
cp "$ROOT/tests/cri-client/target/release/kestrel-cri-client" "$OUT/"

log "sandbox and workload images"
python3 "$ROOT/tests/install/node-images.py" "$OUT" >/dev/null || die "tests/install/node-images.py failed"

log "helm template deploy/helm/kestrel"
eval "$("$ROOT/scripts/k8s-tools.sh")"
"$HELM" template kestrel "$ROOT/deploy/helm/kestrel" --namespace kestrel >"$OUT/kestrel.yaml" || die "helm template failed"
log "inputs ready in $(($(date +%s) - T0))s"

# The init container's module: by default the loader finds a build for the
# running kernel in its cache (the chart's driverCache hostPath), made here
# with scripts/build-kmod.sh against the same headers, and loads it; with
# NODE_TEST_COLD=1 the cache is empty and the loader builds kestrel.ko with
# Kbuild in the init container (about 6 minutes under TCG on a loaded
# 2-core host, which is over make test's budget).
CACHE_IN=()
if [ "${NODE_TEST_COLD:-0}" != 1 ]; then
	eval "$("$ROOT/scripts/kernel.sh" "$KERNEL")"
	ko=$("$ROOT/scripts/build-kmod.sh" "$KERNEL") || die "scripts/build-kmod.sh $KERNEL failed"
	rm -rf "$OUT/driver-cache"
	mkdir -p "$OUT/driver-cache/modules/$KVER"
	cp "$ko" "$OUT/driver-cache/modules/$KVER/kestrel.ko"
	tar -C "$OUT/driver-cache" -cf "$OUT/driver-cache.tar" modules
	CACHE_IN=("$OUT/driver-cache.tar")
	log "the loader's cache holds kestrel.ko for $KVER (NODE_TEST_COLD=1: the init container builds it)"
else
	log "NODE_TEST_COLD=1: the init container builds kestrel.ko"
fi

# 3G: install-vm.sh unpacks the inputs in the guest's /run, a tmpfs of a
# fifth of its memory, and the kestrel image is about 250 MB
export INSTALL_VM_MEM=${INSTALL_VM_MEM:-3G}
# boot, import and pods take about 10 minutes on a loaded host (a cold
# module build 6 more)
export INSTALL_VM_TIMEOUT=${INSTALL_VM_TIMEOUT:-1800}
export INSTALL_VM_OUT=$OUT/guest
rc=0
"$ROOT/scripts/install-vm.sh" "$KERNEL" "$ROOT/tests/install/node.sh" \
	"$OUT/kestrel-cri-client" "$OUT/kestrel.yaml" "$ROOT/tests/install/shell-pod.yaml" \
	"$IMAGE_TAR" "$OUT/pause.tar" "$OUT/shell.tar" "${CACHE_IN[@]}" || rc=$?
[ -f "$OUT/guest/timings" ] && sed 's/^/node-test.sh: guest: /' "$OUT/guest/timings" >&2
log "make node-test $KERNEL: exit status $rc, $(($(date +%s) - T0))s wall"
exit "$rc"
