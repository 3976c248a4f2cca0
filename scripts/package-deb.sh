#!/bin/bash
# scripts/package-deb.sh -- build the kestrel and kestrel-dkms Debian packages.
#
#   scripts/package-deb.sh [--binary PATH] [--out DIR]
#
# kestrel (amd64): the release binary, the driver loader, the default
#   config /etc/kestrel/kestrel.yaml (a conffile) and rules
#   (/usr/share/kestrel/rules/, local ones in /etc/kestrel/rules.d/), the
#   systemd unit (enabled and started on install, as debhelper does), man
#   pages.  Purging removes /var/lib/kestrel (the loader's build cache) and
#   /var/log/kestrel.
# kestrel-dkms (all): the module source in /usr/src/kestrel-<version>,
#   registered with DKMS and built for every installed kernel that has its
#   headers on install; unregistered (dkms remove --all) on removal.
#
# The binary is `cargo build --release`'s unless --binary names one.  The
# packages are staged as trees and built with dpkg-deb (root-owned files
# without fakeroot); the maintainer scripts are written here, modelled on
# what debhelper generates.  Prints the paths of the two .deb files.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "package-deb.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

BIN=
OUT=$ROOT/build/deb
while [ $# -gt 0 ]; do
	case $1 in
	--binary) BIN=$2; shift 2 ;;
	--out) OUT=$(realpath -m "$2"); shift 2 ;;
	*) die "usage: $0 [--binary PATH] [--out DIR]" ;;
	esac
done

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/consumer/Cargo.toml" | head -n 1)
[ -n "$VERSION" ] || die "no version in consumer/Cargo.toml"
ARCH=$(dpkg --print-architecture)
MAINT="Kestrel developers <kestrel-devel@lists.example.org>"
DATE=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}")
CONFIG=$ROOT/config/kestrel.yaml
RULES=$ROOT/rules/kestrel_rules.yaml
UNIT=$ROOT/deploy/systemd/kestrel.service
for f in "$CONFIG" "$RULES" "$UNIT" "$ROOT/deploy/man/kestrel.8" "$ROOT/deploy/man/kestrel-driver-loader.8"; do
	[ -f "$f" ] || die "missing $f"
done

if [ -z "$BIN" ]; then
	log "cargo build --release -p kestrel"
	(cd "$ROOT" && cargo build --release -p kestrel >&2) || die "cargo build failed"
	BIN=$ROOT/target/release/kestrel
fi
[ -x "$BIN" ] || die "no kestrel binary at $BIN"

STAGE=$OUT/stage
rm -rf "$STAGE"
mkdir -p "$STAGE" "$OUT"

# --- shared pieces -----------------------------------------------------------

# copyright FILE: Debian's machine-readable copyright file.
copyright() {
	cat >"$1" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: kestrel
Upstream-Contact: Kestrel developers <kestrel-devel@lists.example.org>

Files: *
Copyright: 2026 Kestrel developers
License: GPL-2 or MIT

Files: kmod/*
Copyright: 2026 Kestrel developers
License: GPL-2

License: GPL-2
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License, version 2, as published
 by the Free Software Foundation.
 .
 This program is distributed in the hope that it will be useful, but
 WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU General Public License
 for more details.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in '/usr/share/common-licenses/GPL-2'.

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a
 copy of this software and associated documentation files (the "Software"),
 to deal in the Software without restriction, including without limitation
 the rights to use, copy, modify, merge, publish, distribute, sublicense,
 and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 DEALINGS IN THE SOFTWARE.
EOF
}

# docs PKG DIR: copyright and the (native) changelog.
docs() {
	local d=$2/usr/share/doc/$1
	install -d "$d"
	copyright "$d/copyright"
	cat >"$d/changelog" <<EOF
kestrel ($VERSION) unstable; urgency=medium

  * Packaged by scripts/package-deb.sh.

 -- $MAINT  $DATE
EOF
	gzip -9n "$d/changelog"
}

# control PKG DIR FIELDS...: DEBIAN/control with Installed-Size.
control() {
	local pkg=$1 dir=$2
	shift 2
	install -d "$dir/DEBIAN"
	{
		echo "Package: $pkg"
		echo "Version: $VERSION"
		printf '%s\n' "$@"
		echo "Maintainer: $MAINT"
		echo "Installed-Size: $(du -sk --exclude=DEBIAN "$dir" | cut -f1)"
	} >"$dir/DEBIAN/control"
}

script() { # script DIR NAME: stdin becomes DEBIAN/NAME, mode 0755
	install -d "$1/DEBIAN"
	cat >"$1/DEBIAN/$2"
	chmod 0755 "$1/DEBIAN/$2"
}

build_deb() { # build_deb DIR: prints the .deb's path
	local pkg arch deb
	pkg=$(sed -n 's/^Package: //p' "$1/DEBIAN/control")
	arch=$(sed -n 's/^Architecture: //p' "$1/DEBIAN/control")
	deb=$OUT/${pkg}_${VERSION}_${arch}.deb
	# normalise modes: umask and checkout modes must not leak into the package
	find "$1" -type d -exec chmod 0755 {} +
	find "$1" -type f ! -path '*/DEBIAN/*' -exec chmod go-w {} +
	(cd "$1" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z |
		xargs -0r md5sum >DEBIAN/md5sums)
	dpkg-deb --root-owner-group -Zxz --build "$1" "$deb" >&2
	echo "$deb"
}

# --- kestrel ---------------------------------------------------------------

P=$STAGE/kestrel
install -d "$P/usr/bin" "$P/etc/kestrel/rules.d" "$P/usr/share/kestrel/rules" \
	"$P/lib/systemd/system" "$P/usr/share/man/man8"
install -m 0755 "$BIN" "$P/usr/bin/kestrel"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$P/usr/bin/kestrel"
sed "s/^VERSION='@KESTREL_VERSION@'/VERSION='$VERSION'/" "$ROOT/scripts/kestrel-driver-loader" >"$P/usr/bin/kestrel-driver-loader"
chmod 0755 "$P/usr/bin/kestrel-driver-loader"
grep -q "^VERSION='$VERSION'\$" "$P/usr/bin/kestrel-driver-loader" || die "could not set the loader's version"
install -m 0644 "$CONFIG" "$P/etc/kestrel/kestrel.yaml"
install -m 0644 "$RULES" "$P/usr/share/kestrel/rules/kestrel_rules.yaml"
install -m 0644 "$UNIT" "$P/lib/systemd/system/kestrel.service"
for m in kestrel kestrel-driver-loader; do
	gzip -9n <"$ROOT/deploy/man/$m.8" >"$P/usr/share/man/man8/$m.8.gz"
	chmod 0644 "$P/usr/share/man/man8/$m.8.gz"
done
docs kestrel "$P"
install -d "$P/usr/share/lintian/overrides"
cat >"$P/usr/share/lintian/overrides/kestrel" <<'EOF'
# serde_yaml parses YAML with unsafe-libyaml, a Rust translation of libyaml
# compiled into the binary from its crate: no copy of the C library, nothing
# that could link Debian's libyaml instead.
kestrel: embedded-library libyaml [usr/bin/kestrel]
EOF

# the libraries the binary links, as Depends (dpkg-shlibdeps wants a
# debian/control beside it)
SHL=$STAGE/shlibs
install -d "$SHL/debian"
printf 'Source: kestrel\n\nPackage: kestrel\nArchitecture: any\n' >"$SHL/debian/control"
shlibs=$(cd "$SHL" && dpkg-shlibdeps -O "$P/usr/bin/kestrel" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no libraries for $P/usr/bin/kestrel"

install -d "$P/DEBIAN"
echo "/etc/kestrel/kestrel.yaml" >"$P/DEBIAN/conffiles"
control kestrel "$P" \
	"Architecture: $ARCH" \
	"Section: admin" \
	"Priority: optional" \
	"Depends: $shlibs, kmod, init-system-helpers (>= 1.54~)" \
	"Recommends: kestrel-dkms (= $VERSION)" \
	"Description: runtime security monitor for Linux hosts and Kubernetes nodes" \
	" Kestrel reads the system calls that its kernel module (kestrel-dkms)" \
	" records, keeps the state of processes, files, users, containers and" \
	" pods, and matches the events against rules in Falco's rule language." \
	" Matches become alerts, as text or Falco's JSON, on standard output (the" \
	" journal), in a file, to syslog, a program or an HTTP endpoint." \
	" ." \
	" This package holds the kestrel program, its default rules and" \
	" configuration, the kestrel-driver-loader script that loads (and if" \
	" needed builds) the module for the running kernel, and the systemd" \
	" service."

script "$P" postinst <<'EOF'
#!/bin/sh
set -e
# As dh_installsystemd writes it: enable on first install, keep the admin's
# choice on upgrades, (re)start when systemd runs.  A start that fails (no
# kernel headers for the running kernel, say) does not fail the install:
# the journal says what is missing (journalctl -u kestrel).
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
	deb-systemd-helper unmask 'kestrel.service' >/dev/null || true
	if deb-systemd-helper --quiet was-enabled 'kestrel.service'; then
		deb-systemd-helper enable 'kestrel.service' >/dev/null || true
	else
		deb-systemd-helper update-state 'kestrel.service' >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then action=restart; else action=start; fi
		deb-systemd-invoke "$action" 'kestrel.service' >/dev/null ||
			echo "kestrel: kestrel.service did not start; see: journalctl -u kestrel" >&2
	fi
fi
exit 0
EOF

script "$P" prerm <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop 'kestrel.service' >/dev/null || true
fi
exit 0
EOF

script "$P" postrm <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null; then
	deb-systemd-helper mask 'kestrel.service' >/dev/null || true
fi
if [ "$1" = purge ]; then
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper purge 'kestrel.service' >/dev/null || true
		deb-systemd-helper unmask 'kestrel.service' >/dev/null || true
	fi
	# the loader's Kbuild cache and the file output's directory
	rm -rf /var/lib/kestrel /var/log/kestrel
	rmdir --ignore-fail-on-non-empty /etc/kestrel/rules.d /etc/kestrel 2>/dev/null || true
fi
exit 0
EOF

# --- kestrel-dkms ------------------------------------------------------------

D=$STAGE/kestrel-dkms
"$ROOT/scripts/stage-dkms-source.sh" "$D/usr/src/kestrel-$VERSION"
docs kestrel-dkms "$D"
control kestrel-dkms "$D" \
	"Architecture: all" \
	"Section: kernel" \
	"Priority: optional" \
	"Depends: dkms (>= 2.1.0.0), make, gcc" \
	"Recommends: linux-headers-$ARCH | linux-headers" \
	"Description: runtime security monitor for Linux (kernel module, DKMS source)" \
	" Kestrel's kernel module records system calls into per-CPU rings that the" \
	" kestrel program reads (package kestrel)." \
	" ." \
	" This package holds the module's source and registers it with DKMS, which" \
	" builds it for every installed kernel with headers and again for each new" \
	" kernel."

script "$D" postinst <<EOF
#!/bin/sh
set -e
# Register with DKMS and build for every installed kernel that has headers
# (/lib/modules/<release>/build).  A kernel whose build fails is reported
# with the log to read; the install goes on (the others still work).
if [ "\$1" = configure ]; then
	if ! dkms status -m kestrel -v $VERSION 2>/dev/null | grep -q .; then
		dkms add -m kestrel -v $VERSION
	fi
	for build in /lib/modules/*/build; do
		[ -e "\$build/Makefile" ] || continue
		kver=\${build#/lib/modules/}
		kver=\${kver%/build}
		if ! dkms install -m kestrel -v $VERSION -k "\$kver"; then
			echo "kestrel-dkms: the module did not build for \$kver; see /var/lib/dkms/kestrel/$VERSION/build/make.log" >&2
		fi
	done
fi
exit 0
EOF

script "$D" prerm <<EOF
#!/bin/sh
set -e
# Unregister: dkms removes the built modules of every kernel and its tree.
case "\$1" in
remove | upgrade | deconfigure)
	if dkms status -m kestrel -v $VERSION 2>/dev/null | grep -q .; then
		dkms remove -m kestrel -v $VERSION --all || true
	fi
	;;
esac
exit 0
EOF

build_deb "$P"
build_deb "$D"
