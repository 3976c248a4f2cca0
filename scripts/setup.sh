#!/bin/bash
# scripts/setup.sh -- install what building and testing Kestrel needs.
#
# For a Debian bookworm machine, as root.  Idempotent and quick when all is
# present: one dpkg-query call, no apt-get update unless a package is missing.
# Kernel headers and images for the VM tests are handled by scripts/kernel.sh.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PKGS=(
	build-essential	# gcc, make: the module and cc-using crates
	gcc-multilib	# gcc -m32: the 32-bit syscall test (tests/syscalls)
	libc6-dev-i386
	kmod		# modinfo for the built module
	clang		# bindgen (ffi/) needs libclang and clang's headers
	libclang-dev
	qemu-system-x86	# VM tests: TCG guest
	qemu-utils	# install tests: qemu-img (the qcow2 overlay)
	e2fsprogs	# install tests: mkfs.ext4 -d (the root image)
	busybox-static	# VM tests: the guest's userland
	cpio		# VM tests: initramfs
	gzip
	xz-utils	# dpkg -x of kernel image packages
	dkms		# ship tests: dkms.conf built with the real dkms
	lintian		# ship tests: lint the .deb packages
	shellcheck	# ship tests: the driver loader and packaging scripts
	fakeroot	# ship tests: .deb contents owned by root
	systemd		# ship tests: systemd-analyze verify/security of the unit
	unzip		# ship tests: helm from an npm package's layer.zip
	python3-venv	# ship tests: kubernetes-validate in a venv
	debootstrap	# VM tests on sid's kernel (headers in a sid chroot); the image's base
	podman		# ship tests: build and run the container image
	runc		# ship tests: podman's runtime (crun refuses hybrid cgroups)
	valgrind	# make bench: callgrind instruction counts per event
	protobuf-compiler	# node test: protoc for tests/cri-client (k8s-cri generates the CRI API)
)

log() { echo "setup.sh: $*" >&2; }

missing=()
status=$(dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null || true)
for p in "${PKGS[@]}"; do
	grep -qx "$p install ok installed" <<<"$status" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		log "missing packages: ${missing[*]}; run me as root"
		exit 1
	fi
	log "installing: ${missing[*]}"
	# The lists may be absent (fresh image) or stale: update first.
	apt-get update -qq -o DPkg::Lock::Timeout=600
	apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi

# npm: scripts/k8s-tools.sh fetches helm from an npm package.  The image may
# carry its own Node.js (with npm); Debian's npm only where there is none.
if ! command -v npm >/dev/null 2>&1; then
	log "installing: npm"
	apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 npm
fi

# Rust: rustfmt and clippy for `make lint`.  Rust itself comes with the image.
if ! command -v cargo >/dev/null 2>&1; then
	[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { log "cargo not found: install Rust stable (rustup)"; exit 1; }
comps=()
cargo fmt --version >/dev/null 2>&1 || comps+=(rustfmt)
cargo clippy --version >/dev/null 2>&1 || comps+=(clippy)
if [ ${#comps[@]} -gt 0 ]; then
	log "rustup component add ${comps[*]}"
	rustup component add "${comps[@]}"
fi

# Miri (nightly) checks the ring reader's unsafe code and atomics.
if ! rustup +nightly component list --installed 2>/dev/null | grep -q '^miri'; then
	log "rustup component add --toolchain nightly miri rust-src"
	rustup component add --toolchain nightly miri rust-src
fi

# cargo-fuzz (libFuzzer) drives the fuzz targets in fuzz/ (make fuzz).
if ! cargo fuzz --version >/dev/null 2>&1; then
	log "cargo install cargo-fuzz"
	cargo install --locked cargo-fuzz
fi

log "ok"
