#!/bin/bash
# tests/ship/dkms.sh -- dkms.conf with Debian's real dkms, 6.1 and 6.12.
#
# Stages the module source as the kestrel-dkms package installs it
# (/usr/src/kestrel-<version>), registers it, and for each kernel:
#   6.1:  kestrel-driver-loader builds it through DKMS (`dkms install -k`),
#         as it does on a host with kestrel-dkms; only `uname -r` and
#         `insmod` are faked (the host cannot load modules);
#   6.12: dkms build, install; uninstall; autoinstall (AUTOINSTALL=yes:
#         what the kernel-upgrade hook runs);
# checks that the .ko lands in /lib/modules/<release>/updates/dkms, built
# for that release, and that `dkms remove` takes it and the registration
# away.  This uses the machine's real DKMS tree; a lock keeps two runs apart
# and the registration is removed however the test ends.
source "$(dirname "$0")/lib.sh"

command -v dkms >/dev/null || die "dkms is not installed (scripts/setup.sh installs it)"
VER=$(kestrel_version)
SRC=/usr/src/kestrel-$VER

eval "$("$ROOT/scripts/kernel.sh" 6.1)"
K61=$KVER
eval "$("$ROOT/scripts/kernel.sh" 6.12)"
K612=$KVER

mkdir -p "$CACHE"
exec 8>"$CACHE/dkms-test.lock"
flock 8

T=$(mktemp -d /tmp/kestrel-dkms-test.XXXXXX)
cleanup() {
	dkms remove -m kestrel -v "$VER" --all >/dev/null 2>&1 || true
	rm -rf "$SRC" "$T"
}
trap cleanup EXIT
# a leftover from an interrupted run
dkms remove -m kestrel -v "$VER" --all >/dev/null 2>&1 || true
rm -rf "$SRC"

"$ROOT/scripts/stage-dkms-source.sh" "$SRC"

# expect_installed KVER WHAT: the .ko is in updates/dkms and built for KVER
# (6.12's modules are xz-compressed: kestrel.ko.xz there)
ko_of() {
	local f
	for f in "/lib/modules/$1/updates/dkms/kestrel.ko"*; do echo "$f"; return; done
}
expect_installed() {
	local ko vm
	ko=$(ko_of "$1")
	vm=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1 || true)
	if [ "$vm" = "$1" ]; then pass "$2: $ko is built for $1"; else
		fail "$2: $ko missing or not for $1 (vermagic '$vm')"
	fi
}
expect_gone() {
	local left
	left=$(ls "/lib/modules/$1/updates/dkms/kestrel.ko"* 2>/dev/null || true)
	if [ -n "$left" ]; then fail "$2: $left is still there"; else
		pass "$2: /lib/modules/$1/updates/dkms/kestrel.ko* is gone"; fi
}

run dkms add -m kestrel -v "$VER"
expect_rc 0 "dkms add"
run dkms status -m kestrel
expect_out "kestrel/$VER: added" "dkms status after add"

# --- 6.1 through the loader (DKMS present, host root /) -------------------
mkdir -p "$T/bin" "$T/sys"
cat >"$T/bin/uname" <<EOF
#!/bin/sh
[ "\${1:-}" = -r ] && { echo "$K61"; exit 0; }
exec /bin/uname "\$@"
EOF
cat >"$T/bin/insmod" <<EOF
#!/bin/sh
echo "insmod \$*" >>"$T/calls"
mkdir -p "$T/sys/module/kestrel" && : >"$T/dev-kestrel"
EOF
chmod +x "$T/bin/"*
: >"$T/calls"
run env PATH="$T/bin:$PATH" KESTREL_SYSFS="$T/sys" KESTREL_DEVICE="$T/dev-kestrel" \
	"$ROOT/scripts/kestrel-driver-loader" --src "$SRC" --cache-dir "$T/cache"
expect_rc 0 "loader via DKMS, $K61"
expect_out "dkms install -m kestrel -v $VER -k $K61" "loader via DKMS, $K61"
expect_installed "$K61" "loader via DKMS"
expect_file_has "$T/calls" "insmod $(ko_of "$K61")" "loader via DKMS: loads the DKMS build"
if [ -e "$T/cache/$K61/kestrel.ko" ]; then fail "loader via DKMS: built with Kbuild too"; else
	pass "loader via DKMS: no Kbuild build"; fi

# --- 6.12 by hand: build, install, uninstall, autoinstall ----------------
run dkms build -m kestrel -v "$VER" -k "$K612"
expect_rc 0 "dkms build -k $K612"
run dkms install -m kestrel -v "$VER" -k "$K612"
expect_rc 0 "dkms install -k $K612"
expect_installed "$K612" "dkms install"
run dkms status -m kestrel -v "$VER"
expect_out "kestrel/$VER, $K61, x86_64: installed" "dkms status"
expect_out "kestrel/$VER, $K612, x86_64: installed" "dkms status"
run dkms uninstall -m kestrel -v "$VER" -k "$K612"
expect_rc 0 "dkms uninstall -k $K612"
expect_gone "$K612" "dkms uninstall"
run dkms autoinstall -k "$K612"
expect_rc 0 "dkms autoinstall -k $K612 (AUTOINSTALL=yes)"
expect_installed "$K612" "dkms autoinstall"

# --- remove: everything goes -----------------------------------------------
run dkms remove -m kestrel -v "$VER" --all
expect_rc 0 "dkms remove --all"
expect_gone "$K61" "dkms remove"
expect_gone "$K612" "dkms remove"
run dkms status -m kestrel
expect_no_out "kestrel" "dkms status after remove"
if [ -e "/var/lib/dkms/kestrel" ]; then fail "dkms remove: /var/lib/dkms/kestrel is left"; else
	pass "dkms remove: /var/lib/dkms/kestrel is gone"; fi

finish
