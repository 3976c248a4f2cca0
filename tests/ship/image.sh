#!/bin/bash
# tests/ship/image.sh -- the container image (deploy/Containerfile).
#
# Builds it with scripts/build-image.sh (podman; the debootstrapped base is
# cached by recipe), then runs it with podman: the binary and the loader
# are where the chart's commands say, and the init container's job works
# for real in it: the loader, given a host root with the 6.1 headers
# mounted as the DaemonSet mounts them (/host/lib/modules, /host/usr), builds
# kestrel.ko with the image's gcc into its cache and then, in this
# unprivileged container, fails to insmod it with the message that says
# why.  Only `uname -r` is faked (this host runs another kernel).
source "$(dirname "$0")/lib.sh"

command -v podman >/dev/null || die "podman is missing (scripts/setup.sh installs it)"
VER=$(kestrel_version)
bin_opt=()
[ -n "${KESTREL_RELEASE_BIN:-}" ] && bin_opt=(--binary "$KESTREL_RELEASE_BIN")
run "$ROOT/scripts/build-image.sh" "${bin_opt[@]}"
expect_rc 0 "build-image.sh"
IMAGE=localhost/kestrel:$VER
expect_out "$IMAGE" "build-image.sh names the image"
[ -f "$ROOT/build/image/kestrel_$VER.tar" ] && pass "saved build/image/kestrel_$VER.tar" || fail "no saved image tarball"

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "image size: $((size / 1000000)) MB ($size bytes); saved tarball: $(du -m "$ROOT/build/image/kestrel_$VER.tar" | cut -f1) MiB, gzip -1: $(gzip -1c "$ROOT/build/image/kestrel_$VER.tar" | wc -c | awk '{printf "%d", $1/1048576}') MiB"
[ "$size" -lt 400000000 ] && pass "image under 400 MB" || fail "image is $size bytes"

# the same runtime options build-image.sh uses (see there)
OPTS=(--rm --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
command -v runc >/dev/null && OPTS=(--runtime runc "${OPTS[@]}")
prun() { run podman run "${OPTS[@]}" "$@"; }

prun "$IMAGE" --version
expect_rc 0 "image: kestrel --version (entrypoint)"
expect_out "kestrel $VER" "image: kestrel --version"
run podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE"
expect_out '["/usr/bin/kestrel"] ["run","--config","/etc/kestrel/kestrel.yaml"]' "image: entrypoint and command"
prun --entrypoint /bin/sh "$IMAGE" -c 'test -x /usr/bin/kestrel-driver-loader && test -f /etc/kestrel/kestrel.yaml &&
	test -f /usr/share/kestrel/rules/kestrel_rules.yaml && test -f /usr/src/kestrel-'"$VER"'/dkms.conf &&
	command -v make gcc insmod modinfo flock && echo files-ok'
expect_out "files-ok" "image: loader, config, rules, module source, make, gcc, insmod"

# --- the init container's build, for real, against the 6.1 headers ----------
eval "$("$ROOT/scripts/kernel.sh" 6.1)"
T=$(mktemp -d /tmp/kestrel-image-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/fake" "$T/cache" "$T/host/etc" "$T/host/lib/modules/$KVER"
ln -s "/usr/src/linux-headers-$KVER" "$T/host/lib/modules/$KVER/build"
echo 'ID=debian' >"$T/host/etc/os-release"
printf '#!/bin/sh\n[ "$1" = -r ] && { echo %s; exit 0; }\nexec /bin/uname "$@"\n' "$KVER" >"$T/fake/uname"
chmod +x "$T/fake/uname"
prun -e PATH=/fake:/usr/sbin:/usr/bin:/sbin:/bin \
	-v "$T/fake:/fake:ro" -v "$T/host/lib/modules:/host/lib/modules:ro" -v /usr:/host/usr:ro \
	-v "$T/host/etc:/host/etc:ro" -v "$T/cache:/var/lib/kestrel" \
	--entrypoint /usr/bin/kestrel-driver-loader "$IMAGE" --host-root /host
expect_rc 1 "loader in the image, unprivileged"
expect_out "building kestrel.ko for $KVER against /host/usr/src/linux-headers-$KVER" "loader in the image: builds"
vm=$(modinfo -F vermagic "$T/cache/modules/$KVER/kestrel.ko" 2>/dev/null | cut -d' ' -f1 || true)
[ "$vm" = "$KVER" ] && pass "loader in the image: built kestrel.ko for $KVER" ||
	fail "loader in the image: no kestrel.ko for $KVER in its cache (vermagic '$vm')"
expect_out "CAP_SYS_MODULE (in a container: privileged: true)" "loader in the image: says why insmod failed"

finish
