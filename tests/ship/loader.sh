#!/bin/bash
# tests/ship/loader.sh -- scripts/kestrel-driver-loader on this host.
#
# The host cannot load modules, so only what touches the running kernel is
# faked: `uname -r` names Debian's 6.1 cloud kernel, `insmod`/`rmmod`
# record their arguments and fake /sys/module/kestrel and /dev/kestrel
# (KESTREL_SYSFS, KESTREL_DEVICE), and `kestrel stats` answers as told.
# Everything else is real: modinfo reads real modules built for 6.1 and
# 6.12, the Kbuild build runs against the real 6.1 headers, reached through
# a host root whose lib/modules/<release>/build is an absolute symlink, as
# in a container.  Each failure path's message is asserted.
source "$(dirname "$0")/lib.sh"

LOADER=$ROOT/scripts/kestrel-driver-loader
eval "$("$ROOT/scripts/kernel.sh" 6.1)"
K61=$KVER
KDIR61=$KDIR
KO61=$("$ROOT/scripts/build-kmod.sh" 6.1)
KO612=$("$ROOT/scripts/build-kmod.sh" 6.12)

T=$(mktemp -d /tmp/kestrel-loader-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/sys/module"
CALLS=$T/calls

# --- fakes for what only a module-loading kernel can do ---------------------
cat >"$T/bin/uname" <<EOF
#!/bin/sh
[ "\${1:-}" = -r ] && { echo "\$FAKE_KVER"; exit 0; }
exec /bin/uname "\$@"
EOF
cat >"$T/bin/insmod" <<'EOF'
#!/bin/sh
echo "insmod $*" >>"$CALLS"
if [ -n "${FAKE_INSMOD_ERR:-}" ]; then
	echo "insmod: ERROR: could not insert module $1: $FAKE_INSMOD_ERR" >&2
	exit 1
fi
mkdir -p "$KESTREL_SYSFS/module/kestrel"
echo 0 >"$KESTREL_SYSFS/module/kestrel/refcnt"
[ -n "${FAKE_NO_DEVICE:-}" ] || : >"${KESTREL_DEVICE:-$FAKE_DEV}"
EOF
cat >"$T/bin/rmmod" <<'EOF'
#!/bin/sh
echo "rmmod $*" >>"$CALLS"
rm -rf "$KESTREL_SYSFS/module/$1" "$KESTREL_DEVICE"
EOF
cat >"$T/bin/kestrel" <<'EOF'
#!/bin/sh
echo "kestrel $*" >>"$CALLS"
case ${FAKE_ABI:-ok} in
ok) exit 0 ;;
mismatch) echo "error: ABI version mismatch: the loaded module speaks version 1, this kestrel speaks version 2; load the module built from the same source" >&2; exit 1 ;;
esac
EOF
chmod +x "$T/bin/"*

export CALLS FAKE_KVER=$K61
export KESTREL_SYSFS=$T/sys KESTREL_DEVICE=$T/dev-kestrel
export PATH="$T/bin:$PATH"
HR=$T/host

# A fresh host root: os-release as given, lib/modules/<release>/ empty.
new_host() {
	rm -rf "$HR" "$T/cache" "$T/sys/module/kestrel" "$KESTREL_DEVICE"
	: >"$CALLS"
	mkdir -p "$HR/etc" "$HR/lib/modules/$K61"
	printf '%s\n' "$@" >"$HR/etc/os-release"
}
DEBIAN=('ID=debian' 'VERSION_ID="12"')
loader() { run "$LOADER" --host-root "$HR" --cache-dir "$T/cache" "$@"; }
calls() { OUT=$(cat "$CALLS"); }
fake_loaded() {
	mkdir -p "$T/sys/module/kestrel"
	echo "${1:-0}" >"$T/sys/module/kestrel/refcnt"
	: >"$KESTREL_DEVICE"
}

# --- 1. a module DKMS installed for this kernel: load it with the ring size
new_host "${DEBIAN[@]}"
mkdir -p "$HR/lib/modules/$K61/updates/dkms"
cp "$KO61" "$HR/lib/modules/$K61/updates/dkms/kestrel.ko"
cat >"$T/kestrel.yaml" <<'EOF'
# kestrel.yaml for the test
json_output: true
ring_size: 1K   # not engine.kmod's: ignored
rules_files:
  - /x
engine:
  kind: kmod
  other:
    ring_size: 2K
  kmod:
    # per CPU
    snaplen: 256
    ring_size: 16M   # bytes per CPU
webserver:
  listen_port: 8765
EOF
loader -c "$T/kestrel.yaml"
expect_rc 0 "dkms-built module"
calls
expect_out "insmod $HR/lib/modules/$K61/updates/dkms/kestrel.ko ring_size=16777216" "dkms-built module: insmod with engine.kmod.ring_size"
expect_no_out "make" "dkms-built module: no build"

# --- 1b. the shipped config/kestrel.yaml: its ring size; host root and
# device from a config (as the DaemonSet's says /host)
rm -rf "$T/sys/module/kestrel"; : >"$CALLS"
loader -c "$ROOT/config/kestrel.yaml"
expect_rc 0 "shipped config"
calls
expect_out "insmod $HR/lib/modules/$K61/updates/dkms/kestrel.ko ring_size=8388608" "shipped config: its engine.kmod.ring_size"
rm -rf "$T/sys/module/kestrel"; : >"$CALLS"
sed -e "s|host_root: /\$|host_root: $HR|" -e "s|device: /dev/kestrel|device: $T/cfg-dev|" \
	"$ROOT/config/kestrel.yaml" >"$T/node.yaml"
run env -u KESTREL_DEVICE FAKE_DEV=$T/cfg-dev "$LOADER" -c "$T/node.yaml" --cache-dir "$T/cache"
expect_rc 0 "config's host_root and device"
calls
expect_out "insmod $HR/lib/modules/$K61/updates/dkms/kestrel.ko" "config's host_root and device: module under its host_root"
rm -rf "$T/sys/module/kestrel"
printf 'engine:\n  kmod:\n    host_root: %s\n' "$T/nothere" >"$T/badroot.yaml"
run "$LOADER" -c "$T/badroot.yaml"
expect_rc 1 "config's host_root missing"
expect_out "$T/badroot.yaml:3: engine.kmod.host_root: the host root $T/nothere is not a directory" "config's host_root missing"

# --- 2. loaded, and kestrel stats accepts it: nothing to do
fake_loaded 0
: >"$CALLS"
FAKE_ABI=ok loader -c "$T/kestrel.yaml"
expect_rc 0 "already loaded"
expect_out "already loaded and speaks this kestrel's ABI" "already loaded"
calls
expect_out "kestrel --device $KESTREL_DEVICE stats" "already loaded: asks kestrel stats"
expect_no_out "insmod" "already loaded: no insmod"

# --- 3. loaded with another ABI: unload, then load ours
: >"$CALLS"
FAKE_ABI=mismatch loader --ring-size 64K
expect_rc 0 "other ABI loaded"
expect_out "ABI version mismatch" "other ABI loaded"
calls
expect_out "rmmod kestrel" "other ABI loaded: unloads"
expect_out "insmod $HR/lib/modules/$K61/updates/dkms/kestrel.ko ring_size=65536" "other ABI loaded: loads ours, --ring-size"

# --- 4. ... but a consumer holds it: say who and how to stop it
fake_loaded 1
: >"$CALLS"
FAKE_ABI=mismatch loader
expect_rc 1 "other ABI loaded, in use"
expect_out "kestrel is in use (1 reference(s))" "other ABI loaded, in use"
expect_out "systemctl stop kestrel" "other ABI loaded, in use"
calls
expect_no_out "rmmod" "other ABI loaded, in use: no rmmod"

# --- 5. loaded, but kestrel cannot talk to the device (the real consumer
# against a file that is not the device): say so, do nothing
if [ -x "$ROOT/target/release/kestrel" ] || [ -x "$ROOT/target/debug/kestrel" ]; then
	real=$ROOT/target/release/kestrel
	[ -x "$real" ] || real=$ROOT/target/debug/kestrel
	fake_loaded 0
	KESTREL_BIN=$real loader
	expect_rc 1 "loaded, unusable device"
	expect_out "kestrel is loaded but kestrel cannot use it" "loaded, unusable device"
	expect_out "kestrel-driver-loader --unload && kestrel-driver-loader" "loaded, unusable device"
else
	fail "loaded, unusable device: no target/*/kestrel built (cargo build first)"
fi

# --- 6. a module for another kernel only, and no headers: Debian's fix
new_host "${DEBIAN[@]}"
mkdir -p "$HR/lib/modules/$K61/updates/dkms"
cp "$KO612" "$HR/lib/modules/$K61/updates/dkms/kestrel.ko"
loader --src "$ROOT"
expect_rc 1 "no headers (Debian)"
expect_out "skipping $HR/lib/modules/$K61/updates/dkms/kestrel.ko: built for another kernel (6.12" "stale module skipped"
expect_out "no kernel headers for the running kernel $K61" "no headers (Debian)"
expect_out "apt-get install linux-headers-$K61" "no headers (Debian)"
expect_out "mount the host's /lib/modules and /usr under $HR" "no headers (Debian)"
expect_no_out "dnf" "no headers (Debian)"
calls
expect_no_out "insmod" "no headers: no insmod"

# --- 7. RHEL-likes get dnf, unknown distributions both
new_host 'ID="rocky"' 'ID_LIKE="rhel centos fedora"'
loader --src "$ROOT"
expect_rc 1 "no headers (Rocky)"
expect_out "dnf install kernel-devel-$K61" "no headers (Rocky)"
expect_no_out "apt-get" "no headers (Rocky)"
new_host 'ID=somethingelse'
loader --src "$ROOT"
expect_rc 1 "no headers (unknown distribution)"
expect_out "apt-get install linux-headers-$K61" "no headers (unknown distribution)"
expect_out "dnf install kernel-devel-$K61" "no headers (unknown distribution)"

# --- 8. no module source
new_host "${DEBIAN[@]}"
loader --src "$T/nowhere"
expect_rc 1 "no source"
expect_out "no module source at $T/nowhere" "no source"
expect_out "apt-get install kestrel-dkms" "no source"

# --- 9. --no-build with nothing built
loader --no-build
expect_rc 1 "--no-build"
expect_out "no kestrel.ko built for $K61" "--no-build"

# --- 10. headers present (through an absolute build link, as a container
# sees the host's), toolchain missing: say which tools
new_host "${DEBIAN[@]}"
ln -s "/usr/src/linux-headers-$K61" "$HR/lib/modules/$K61/build"
ln -s /usr "$HR/usr"
mkdir -p "$T/minbin"
for t in sh sed awk cat find sort modinfo mktemp mkdir cp rm mv readlink dirname tr head cut sleep nproc flock gcc; do
	ln -sf "$(command -v "$t")" "$T/minbin/$t"
done
cp "$T/bin/uname" "$T/minbin/uname"
PATH=$T/minbin loader --src "$ROOT"
expect_rc 1 "no make"
expect_out "cannot build kestrel.ko: missing make" "no make"
expect_out "apt-get install make gcc" "no make"

# --- 11. the real Kbuild build against the 6.1 headers, then load it
loader --src "$ROOT" --ring-size 8M
expect_rc 0 "Kbuild build"
expect_out "building kestrel.ko for $K61 against $HR/usr/src/linux-headers-$K61" "Kbuild build"
built=$T/cache/$K61/kestrel.ko
if [ "$(modinfo -F vermagic "$built" 2>/dev/null | cut -d' ' -f1)" = "$K61" ]; then
	pass "Kbuild build: $built is for $K61"
else
	fail "Kbuild build: $built missing or not for $K61"
fi
calls
expect_out "insmod $built ring_size=8388608" "Kbuild build: loads the build"

# --- 12. the next start finds the cached build: no second build
rm -rf "$T/sys/module/kestrel"
: >"$CALLS"
loader --src "$ROOT"
expect_rc 0 "cached build"
expect_no_out "building" "cached build: not rebuilt"
calls
expect_out "insmod $built" "cached build: loaded"

# --- 13. insmod refusals: each with its cause and fix
rm -rf "$T/sys/module/kestrel"
FAKE_INSMOD_ERR="Operation not permitted" loader
expect_rc 1 "insmod EPERM"
expect_out "CAP_SYS_MODULE" "insmod EPERM"
expect_out "mokutil --sb-state" "insmod EPERM"
FAKE_INSMOD_ERR="Invalid module format" loader
expect_rc 1 "insmod ENOEXEC"
expect_out "not built for the running kernel $K61" "insmod ENOEXEC"
FAKE_INSMOD_ERR="Invalid parameters" loader --ring-size 1G
expect_rc 1 "insmod EINVAL"
expect_out "refused ring_size=1073741824" "insmod EINVAL"

# --- 14. the module loads but no device node appears
rm -f "$KESTREL_DEVICE"
FAKE_NO_DEVICE=1 loader
expect_rc 1 "no device node"
expect_out "did not appear" "no device node"
expect_out "devtmpfs" "no device node"

# --- 15. bad ring sizes, named with file:line
rm -rf "$T/sys/module/kestrel"
printf 'engine:\n  kmod:\n    # per CPU\n    ring_size: 3M\n' >"$T/bad.yaml"
loader -c "$T/bad.yaml"
expect_rc 1 "ring size not a power of two"
expect_out "$T/bad.yaml:4: engine.kmod.ring_size: 3M (3145728 bytes) is not a power of two between 64K and 1G" "ring size not a power of two"
printf 'engine:\n  kmod:\n    ring_size: "lots"\n' >"$T/bad.yaml"
loader -c "$T/bad.yaml"
expect_rc 1 "ring size not a size"
expect_out "$T/bad.yaml:3: engine.kmod.ring_size: 'lots' is not a size" "ring size not a size"
loader --ring-size 2G
expect_rc 1 "ring size too large"
expect_out "--ring-size: 2G (2147483648 bytes) is not a power of two between 64K and 1G" "ring size too large"
loader -c "$T/missing.yaml"
expect_rc 1 "missing config"
expect_out "cannot read the config file $T/missing.yaml" "missing config"
calls
expect_no_out "ring_size=3145728" "bad ring size: nothing loaded"

# --- 16. unload
rm -rf "$T/sys/module/kestrel"
: >"$CALLS"
loader --unload
expect_rc 0 "unload, not loaded"
expect_out "kestrel is not loaded" "unload, not loaded"
fake_loaded 2
loader --unload
expect_rc 1 "unload, in use"
expect_out "kestrel is in use (2 reference(s))" "unload, in use"
fake_loaded 0
loader --unload
expect_rc 0 "unload"
calls
expect_out "rmmod kestrel" "unload"

# --- 17. bad invocations
run "$LOADER" --host-root "$T/nothere"
expect_rc 1 "host root missing"
expect_out "the host root $T/nothere is not a directory" "host root missing"
run "$LOADER" --frobnicate
expect_rc 1 "unknown option"
expect_out "unknown argument '--frobnicate'" "unknown option"

# --- 18. the script itself: POSIX sh, shellcheck-clean
run shellcheck -s sh "$LOADER"
expect_rc 0 "shellcheck"
run sh -n "$LOADER"
expect_rc 0 "sh -n (dash)"

finish
