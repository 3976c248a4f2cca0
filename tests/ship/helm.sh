#!/bin/bash
# tests/ship/helm.sh -- deploy/helm/kestrel and deploy/k8s/kestrel.yaml.
#
# Real helm (from an npm package, scripts/k8s-tools.sh): `helm lint
# --strict`, `helm template` with the default values and with custom ones;
# every rendered object validated against the Kubernetes schemas of 1.30
# and of kubernetes-validate's newest version (PyPI kubernetes-validate,
# --strict: unknown fields fail); what the DaemonSet must do checked on the
# parsed objects (tests/ship/check_chart.py); the plain manifest must be
# what the chart renders; the rendered config is read by the real driver
# loader as the init container would.
source "$(dirname "$0")/lib.sh"

eval "$("$ROOT/scripts/k8s-tools.sh")"
PY=$(dirname "$KUBERNETES_VALIDATE")/python
CHART=$ROOT/deploy/helm/kestrel

T=$(mktemp -d /tmp/kestrel-helm-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

run "$HELM" lint --strict "$CHART"
expect_rc 0 "helm lint --strict"
expect_out "0 chart(s) failed" "helm lint --strict"

# a lint that can fail: a template error is caught
cp -r "$CHART" "$T/broken"
echo '{{ .Values.nothing.here }}' >>"$T/broken/templates/daemonset.yaml"
run "$HELM" lint --strict "$T/broken"
expect_rc 1 "helm lint of a broken chart fails"

validate() { # validate FILE WHAT
	local k
	for k in 1.30.0 1.37.0; do
		run "$KUBERNETES_VALIDATE" --strict -k "$k" "$1"
		expect_rc 0 "kubernetes-validate --strict -k $k: $2"
		n=$(grep -c "^INFO .* passed for resource" <<<"$OUT" || true)
		docs=$(grep -c '^kind: ' "$1")
		[ "$n" -eq "$docs" ] && pass "$2: all $docs objects passed $k" || fail "$2: $n of $docs objects passed $k"
	done
}

# --- default values -----------------------------------------------------
run "$HELM" template kestrel "$CHART" --namespace kestrel
expect_rc 0 "helm template (defaults)"
printf '%s\n' "$OUT" >"$T/default.yaml"
validate "$T/default.yaml" "defaults"
run "$PY" "$ROOT/tests/ship/check_chart.py" defaults "$T/default.yaml"
printf '%s\n' "$OUT"
expect_rc 0 "chart checks (defaults)"

# a schema violation is caught (the validation can fail)
sed 's/hostPID: true/hostPID: "yes"/' "$T/default.yaml" >"$T/bad.yaml"
run "$KUBERNETES_VALIDATE" --strict "$T/bad.yaml"
expect_rc 1 "kubernetes-validate rejects hostPID: \"yes\""

# --- custom values: rules, outputs, port --------------------------------
cat >"$T/values.yaml" <<'EOF'
customRules:
  my_rules.yaml: |-
    - rule: Shell in a pod
      desc: a shell started in a container
      condition: evt.type = execve and evt.dir = < and container.id != host and proc.name = bash
      output: shell in %container.name (%k8s.pod.name)
      priority: WARNING
config:
  http_output:
    enabled: true
    url: http://falcosidekick.monitoring:2801/
  webserver:
    listen_port: 9100
  engine:
    kmod:
      ring_size: 16777216
metrics:
  service: true
EOF
run "$HELM" template kestrel "$CHART" --namespace sec -f "$T/values.yaml"
expect_rc 0 "helm template (custom values)"
printf '%s\n' "$OUT" >"$T/custom.yaml"
validate "$T/custom.yaml" "custom values"
run "$PY" "$ROOT/tests/ship/check_chart.py" custom "$T/custom.yaml" "$T/extracted"
printf '%s\n' "$OUT"
expect_rc 0 "chart checks (custom values)"
# the custom rules ConfigMap holds a file kestrel accepts
BIN=${KESTREL_RELEASE_BIN:-$ROOT/target/release/kestrel}
[ -x "$BIN" ] || BIN=$ROOT/target/debug/kestrel
run "$BIN" rules validate "$ROOT/rules/kestrel_rules.yaml" "$T/extracted/my_rules.yaml"
expect_rc 0 "kestrel rules validate: the ConfigMap's custom rules"

# the rendered configs load in the real kestrel: it gets as far as the
# device (exit 4), past the configuration (2) and the rules (3)
for cfg in default custom; do
	"$PY" -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap" and "kestrel.yaml" in d.get("data", {}):
        print(d["data"]["kestrel.yaml"])' "$T/$cfg.yaml" >"$T/$cfg-kestrel.yaml"
	# the paths a node has, here: rules from the checkout, no rules.d
	run "$BIN" run -c "$T/$cfg-kestrel.yaml" -o "rules_files=[$ROOT/rules/kestrel_rules.yaml]" \
		-o engine.kmod.proc_root=/proc -o engine.kmod.host_root=/ --device "$T/no-device"
	expect_rc 4 "kestrel run with the $cfg values' config: stops at the device"
	expect_out "$T/no-device" "kestrel run with the $cfg values' config: names the device"
done

# --- the init container's loader reads the rendered config -----------------
# (host root /host there; here a fake one with a 6.1 build cached)
eval "$("$ROOT/scripts/kernel.sh" 6.1)"
KO=$("$ROOT/scripts/build-kmod.sh" 6.1)
mkdir -p "$T/bin" "$T/sys" "$T/host/etc" "$T/host/lib/modules/$KVER/updates/dkms"
cp "$KO" "$T/host/lib/modules/$KVER/updates/dkms/kestrel.ko"
printf '#!/bin/sh\n[ "$1" = -r ] && { echo %s; exit 0; }\nexec /bin/uname "$@"\n' "$KVER" >"$T/bin/uname"
printf '#!/bin/sh\necho "insmod $*" >>%s/calls\nmkdir -p %s/sys/module/kestrel; : >%s/dev\n' "$T" "$T" "$T" >"$T/bin/insmod"
chmod +x "$T/bin/"*
sed "s|host_root: /host|host_root: $T/host|" "$T/extracted/kestrel.yaml" >"$T/loader.yaml"
run env PATH="$T/bin:$PATH" KESTREL_SYSFS="$T/sys" KESTREL_DEVICE="$T/dev" \
	"$ROOT/scripts/kestrel-driver-loader" --config "$T/loader.yaml" --cache-dir "$T/cache"
expect_rc 0 "loader with the rendered config"
expect_file_has "$T/calls" "insmod $T/host/lib/modules/$KVER/updates/dkms/kestrel.ko ring_size=16777216" "loader with the rendered config"

# --- the plain manifest ---------------------------------------------------
run "$ROOT/scripts/render-k8s.sh" --check
expect_rc 0 "deploy/k8s/kestrel.yaml is what the chart renders"
validate "$ROOT/deploy/k8s/kestrel.yaml" "deploy/k8s/kestrel.yaml"

finish
