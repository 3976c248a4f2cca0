#!/bin/bash
# tests/ship/systemd.sh -- deploy/systemd/kestrel.service, checked offline.
#
# systemd is not PID 1 here, so the unit is checked with systemd-analyze's
# offline modes: `verify` against a root holding the unit, the commands it
# runs (the real kestrel binary and loader, /bin/kill) and the system's
# units, failing on any diagnostic (verify exits 0 on an ignored bad line,
# so its output must be empty too; a deliberately broken copy shows the
# check can fail); `security --offline` for the exposure score, which must
# stay at or under the one README.md reports and show module loading
# denied to the service.  The unit running under systemd is the VM install
# test's job.
source "$(dirname "$0")/lib.sh"

UNIT=$ROOT/deploy/systemd/kestrel.service
BIN=${KESTREL_RELEASE_BIN:-$ROOT/target/release/kestrel}
[ -x "$BIN" ] || BIN=$ROOT/target/debug/kestrel
[ -x "$BIN" ] || die "no kestrel binary (cargo build first)"
command -v systemd-analyze >/dev/null || die "systemd-analyze missing (scripts/setup.sh installs systemd)"

T=$(mktemp -d /tmp/kestrel-systemd-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

# a root as the kestrel package installs it
mkroot() {
	local r=$1
	mkdir -p "$r/usr/bin" "$r/bin" "$r/lib/systemd" "$r/etc/kestrel"
	cp -a /lib/systemd/system "$r/lib/systemd/"
	install -m 0755 "$BIN" "$r/usr/bin/kestrel"
	install -m 0755 "$ROOT/scripts/kestrel-driver-loader" "$r/usr/bin/kestrel-driver-loader"
	install -m 0755 /bin/kill "$r/bin/kill"
	install -m 0644 "$ROOT/config/kestrel.yaml" "$r/etc/kestrel/kestrel.yaml"
	install -m 0644 "$UNIT" "$r/lib/systemd/system/kestrel.service"
}

mkroot "$T/root"
run systemd-analyze verify --man=no --root="$T/root" /lib/systemd/system/kestrel.service
expect_rc 0 "systemd-analyze verify"
if [ -z "$OUT" ]; then pass "systemd-analyze verify: no diagnostics"; else
	fail "systemd-analyze verify said:"; sed 's/^/     | /' <<<"$OUT"; fi

# the check catches a bad line and a missing command
mkroot "$T/bad"
sed -i 's/^ProtectHome=.*/ProtectHome=sometimes/' "$T/bad/lib/systemd/system/kestrel.service"
rm "$T/bad/usr/bin/kestrel-driver-loader"
run systemd-analyze verify --man=no --root="$T/bad" /lib/systemd/system/kestrel.service
expect_out "Failed to parse protect home value" "verify catches a bad option"
expect_out "kestrel-driver-loader is not executable" "verify catches a missing command"

# --- the host path: scripts/install-host.sh into a root, then verify ---------
eval "$("$ROOT/scripts/kernel.sh" 6.1)"
KO=$("$ROOT/scripts/build-kmod.sh" 6.1)
H=$T/host
mkdir -p "$H/lib/systemd" "$H/bin"
cp -a /lib/systemd/system "$H/lib/systemd/"
install -m 0755 /bin/kill "$H/bin/kill"
run "$ROOT/scripts/install-host.sh" --binary "$BIN" --module "$KO" --source "$H"
expect_rc 0 "install-host.sh"
VER=$(kestrel_version)
for f in usr/bin/kestrel usr/bin/kestrel-driver-loader etc/kestrel/kestrel.yaml \
	usr/share/kestrel/rules/kestrel_rules.yaml etc/systemd/system/kestrel.service \
	"lib/modules/$KVER/extra/kestrel.ko" "usr/src/kestrel-$VER/dkms.conf" etc/kestrel/rules.d; do
	[ -e "$H/$f" ] && pass "install-host.sh: /$f" || fail "install-host.sh: no /$f"
done
expect_file_has "$H/usr/bin/kestrel-driver-loader" "VERSION='$VER'" "install-host.sh: loader version"
run systemd-analyze verify --man=no --root="$H" /etc/systemd/system/kestrel.service
expect_rc 0 "systemd-analyze verify (install-host.sh's root)"
[ -z "$OUT" ] && pass "systemd-analyze verify (install-host.sh's root): no diagnostics" ||
	{ fail "systemd-analyze verify (install-host.sh's root):"; sed 's/^/     | /' <<<"$OUT"; }
# a second install keeps the admin's config, beside the new default
echo "json_output: true" >>"$H/etc/kestrel/kestrel.yaml"
run "$ROOT/scripts/install-host.sh" --binary "$BIN" "$H"
expect_rc 0 "install-host.sh again"
expect_file_has "$H/etc/kestrel/kestrel.yaml" "json_output: true" "install-host.sh keeps a changed config"
cmp -s "$H/etc/kestrel/kestrel.yaml.new" "$ROOT/config/kestrel.yaml" &&
	pass "install-host.sh puts the new default beside it" || fail "no kestrel.yaml.new"
# the installed loader finds the installed module (host root = that root)
mkdir -p "$T/fake" "$T/sys"
printf '#!/bin/sh\n[ "$1" = -r ] && { echo %s; exit 0; }\nexec /bin/uname "$@"\n' "$KVER" >"$T/fake/uname"
printf '#!/bin/sh\necho "insmod $*" >>%s/calls\nmkdir -p %s/sys/module/kestrel; : >%s/dev\n' "$T" "$T" "$T" >"$T/fake/insmod"
chmod +x "$T/fake/"*
run env PATH="$T/fake:$PATH" KESTREL_SYSFS="$T/sys" KESTREL_DEVICE="$T/dev" \
	"$H/usr/bin/kestrel-driver-loader" --host-root "$H" --config "$H/etc/kestrel/kestrel.yaml" --cache-dir "$T/cache"
expect_rc 0 "installed loader"
expect_file_has "$T/calls" "insmod $H/lib/modules/$KVER/extra/kestrel.ko ring_size=8388608" "installed loader loads the installed module"

# --- the unit's contract with kestrel run and the loader --------------------
expect_file_has "$UNIT" "Type=notify" "unit"
expect_file_has "$UNIT" "ExecStartPre=+/usr/bin/kestrel-driver-loader" "unit: loader with full privileges"
expect_file_has "$UNIT" "ExecStart=/usr/bin/kestrel run" "unit"
expect_file_has "$UNIT" 'ExecReload=/bin/kill -HUP $MAINPID' "unit"
expect_file_has "$UNIT" "ExecStopPost=-+/usr/bin/kestrel-driver-loader --unload" "unit: unload after stop"
expect_file_has "$UNIT" "Restart=on-failure" "unit"
expect_file_has "$UNIT" "StartLimitBurst=" "unit"
# the options it passes exist
run "$BIN" run --help
expect_out "--config" "kestrel run takes --config"
run "$ROOT/scripts/kestrel-driver-loader" --help
expect_out "--unload" "loader takes --unload"
expect_out "--config" "loader takes --config"

# --- exposure -----------------------------------------------------------
run systemd-analyze security --offline=true --no-pager "$UNIT"
expect_rc 0 "systemd-analyze security"
score=$(sed -n 's/.*Overall exposure level for kestrel.service: \([0-9.]*\).*/\1/p' <<<"$OUT")
readme=$(sed -n 's/.*systemd-analyze security.*exposure \([0-9.]*\).*/\1/p' "$ROOT/README.md" | head -n 1)
echo "exposure: $score (README.md: ${readme:-none})"
if [ -n "$score" ] && [ -n "$readme" ] && awk -v s="$score" -v r="$readme" 'BEGIN { exit !(s <= r) }'; then
	pass "exposure $score <= README.md's $readme"
else
	fail "exposure '$score' vs README.md's '$readme'"
fi
for ok in "ProtectKernelModules=" "CapabilityBoundingSet=~CAP_SYS_MODULE" "NoNewPrivileges=" \
	"CapabilityBoundingSet=~CAP_SYS_ADMIN" "SystemCallFilter=~@privileged" "ProtectSystem="; do
	if grep -E "^✓ ${ok//[~@]/.}" <<<"$OUT" >/dev/null; then pass "security: ✓ $ok"; else
		fail "security: $ok is not ✓"; grep -F -- "$ok" <<<"$OUT" | sed 's/^/     | /'; fi
done

finish
