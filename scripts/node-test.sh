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
rm -f "$OUT"/*.tar "$OUT"/*.yaml "$OUT/kestrel-cri-client"

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

# 3G: install-vm.sh unpacks the inputs in the guest's /run, a tmpfs of a
# fifth of its memory, and the kestrel image is about 250 MB
export INSTALL_VM_MEM=${INSTALL_VM_MEM:-3G}
exec "$ROOT/scripts/install-vm.sh" "$KERNEL" "$ROOT/tests/install/node.sh" \
	"$OUT/kestrel-cri-client" "$OUT/kestrel.yaml" "$ROOT/tests/install/shell-pod.yaml" \
	"$IMAGE_TAR" "$OUT/pause.tar" "$OUT/shell.tar"
