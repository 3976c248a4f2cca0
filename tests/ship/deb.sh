#!/bin/bash
# tests/ship/deb.sh -- the kestrel and kestrel-dkms packages.
#
# Builds both with scripts/package-deb.sh, runs lintian (any error or
# warning fails; the informational tags left are the ones README.md lists),
# and checks what they hold: the paths and modes each install path needs,
# the conffile, every rules file the default config names, the loader's
# version, a binary that runs, maintainer scripts that shellcheck accepts.
source "$(dirname "$0")/lib.sh"

VER=$(kestrel_version)
W=$(mktemp -d /tmp/kestrel-deb-test.XXXXXX)
trap 'rm -rf "$W"' EXIT

bin_opt=()
# `make ship-test` builds the release binary first; alone, package-deb.sh does
[ -n "${KESTREL_RELEASE_BIN:-}" ] && bin_opt=(--binary "$KESTREL_RELEASE_BIN")
run "$ROOT/scripts/package-deb.sh" "${bin_opt[@]}" --out "$W"
expect_rc 0 "package-deb.sh"
DEB=$W/kestrel_${VER}_$(dpkg --print-architecture).deb
DKMS=$W/kestrel-dkms_${VER}_all.deb
for d in "$DEB" "$DKMS"; do
	[ -f "$d" ] && pass "built $(basename "$d")" || fail "no $d"
done

# --- lintian ------------------------------------------------------------
for d in "$DEB" "$DKMS"; do
	run lintian --pedantic --display-info "$d"
	tags=$(grep -E '^[EWIPX]: ' <<<"$OUT" || true)
	bad=$(grep -E '^[EW]: ' <<<"$tags" || true)
	if [ -z "$bad" ]; then pass "lintian $(basename "$d"): no errors or warnings"; else
		fail "lintian $(basename "$d"):"; sed 's/^/     | /' <<<"$bad"; fi
	# each remaining tag is listed in README.md with its reason
	while read -r _ _ tag _; do
		[ -n "$tag" ] || continue
		if grep -qF -- "\`$tag\`" "$ROOT/README.md"; then pass "lintian tag $tag is explained in README.md"; else
			fail "lintian tag $tag is not explained in README.md"; fi
	done <<<"$tags"
done

# --- contents ---------------------------------------------------------------
X=$W/x
mkdir -p "$X"
dpkg-deb -x "$DEB" "$X/kestrel"
dpkg-deb -x "$DKMS" "$X/dkms"
dpkg-deb -e "$DEB" "$X/kestrel.ctl"
dpkg-deb -e "$DKMS" "$X/dkms.ctl"

# expect_entry DEB MODE OWNER PATH: dpkg -c lists PATH with these
expect_entry() {
	if dpkg -c "$1" | awk -v m="$2" -v o="$3" -v p="$4" '$1 == m && $2 == o && $6 == p { f = 1 } END { exit !f }'; then
		pass "$(basename "$1"): $2 $3 $4"
	else
		fail "$(basename "$1"): no $2 $3 $4 in dpkg -c"
	fi
}
expect_entry "$DEB" -rwxr-xr-x root/root ./usr/bin/kestrel
expect_entry "$DEB" -rwxr-xr-x root/root ./usr/bin/kestrel-driver-loader
expect_entry "$DEB" -rw-r--r-- root/root ./etc/kestrel/kestrel.yaml
expect_entry "$DEB" drwxr-xr-x root/root ./etc/kestrel/rules.d/
expect_entry "$DEB" -rw-r--r-- root/root ./usr/share/kestrel/rules/kestrel_rules.yaml
expect_entry "$DEB" -rw-r--r-- root/root ./lib/systemd/system/kestrel.service
expect_entry "$DEB" -rw-r--r-- root/root ./usr/share/man/man8/kestrel.8.gz
expect_entry "$DEB" -rw-r--r-- root/root ./usr/share/man/man8/kestrel-driver-loader.8.gz
expect_entry "$DEB" -rw-r--r-- root/root ./usr/share/doc/kestrel/copyright
expect_entry "$DKMS" -rw-r--r-- root/root "./usr/src/kestrel-$VER/dkms.conf"
for f in "$ROOT"/kmod/Kbuild "$ROOT"/kmod/Makefile "$ROOT"/kmod/*.c "$ROOT"/kmod/*.h; do
	expect_entry "$DKMS" -rw-r--r-- root/root "./usr/src/kestrel-$VER/kmod/$(basename "$f")"
done
expect_entry "$DKMS" -rw-r--r-- root/root ./usr/share/doc/kestrel-dkms/copyright

# nothing outside the places packages may use
odd=$( (dpkg -c "$DEB"; dpkg -c "$DKMS") | awk '{print $6}' | grep -vE '^\./(|etc/|etc/kestrel/.*|lib/|lib/systemd/.*|usr/|usr/bin/.*|usr/share/.*|usr/src/.*)$' || true)
[ -z "$odd" ] && pass "no files outside etc/kestrel, lib/systemd, usr" || { fail "unexpected paths:"; echo "$odd"; }

if [ "$(cat "$X/kestrel.ctl/conffiles")" = "/etc/kestrel/kestrel.yaml" ]; then
	pass "conffiles: /etc/kestrel/kestrel.yaml"; else fail "conffiles: $(cat "$X/kestrel.ctl/conffiles")"; fi
cmp -s "$X/kestrel/etc/kestrel/kestrel.yaml" "$ROOT/config/kestrel.yaml" &&
	pass "the packaged config is config/kestrel.yaml" || fail "the packaged config differs from config/kestrel.yaml"
cmp -s "$X/kestrel/lib/systemd/system/kestrel.service" "$ROOT/deploy/systemd/kestrel.service" &&
	pass "the packaged unit is deploy/systemd/kestrel.service" || fail "the packaged unit differs"

# every rules file or directory the default config names is in the package
# (directories: shipped, or /etc/kestrel/rules.d which the package creates)
mapfile -t rules < <(awk '/^rules_files:/ { on = 1; next } on && /^[[:space:]]*- / { sub(/^[[:space:]]*- /, ""); print; next } on { exit }' "$ROOT/config/kestrel.yaml")
[ ${#rules[@]} -gt 0 ] && pass "config names ${#rules[@]} rules paths" || fail "no rules_files in config/kestrel.yaml"
for r in "${rules[@]}"; do
	[ -e "$X/kestrel$r" ] && pass "rules path $r is in the package" || fail "rules path $r (config's rules_files) is not in the package"
done

# the packaged binary runs and is this version; the loader knows it too
run "$X/kestrel/usr/bin/kestrel" --version
expect_out "kestrel $VER" "packaged kestrel --version"
run "$X/kestrel/usr/bin/kestrel" rules validate "$X/kestrel/usr/share/kestrel/rules/kestrel_rules.yaml"
expect_rc 0 "packaged kestrel validates the packaged rules"
expect_file_has "$X/kestrel/usr/bin/kestrel-driver-loader" "VERSION='$VER'" "packaged loader"
# the packaged loader finds the packaged source by that version
run env KESTREL_SYSFS="$W/sys" "$X/kestrel/usr/bin/kestrel-driver-loader" --no-build --cache-dir "$W/cache" --host-root "$W" 2>&1
expect_out "no kestrel.ko built for" "packaged loader runs"
if ! file "$X/kestrel/usr/bin/kestrel" | grep -q "not stripped"; then pass "kestrel binary stripped"; else fail "kestrel binary not stripped"; fi

# man pages render without warnings
for m in kestrel kestrel-driver-loader; do
	run sh -c "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z '$X/kestrel/usr/share/man/man8/$m.8.gz' >/dev/null"
	[ "$RC" -eq 0 ] && [ -z "$OUT" ] && pass "man $m.8: no warnings" || { fail "man $m.8: $OUT"; }
done

# maintainer scripts: POSIX sh, shellcheck-clean, doing what they must
for s in "$X"/kestrel.ctl/postinst "$X"/kestrel.ctl/prerm "$X"/kestrel.ctl/postrm "$X"/dkms.ctl/postinst "$X"/dkms.ctl/prerm; do
	run shellcheck -s sh "$s"
	expect_rc 0 "shellcheck ${s#"$X"/}"
done
expect_file_has "$X/dkms.ctl/postinst" "dkms add -m kestrel -v $VER" "kestrel-dkms postinst"
expect_file_has "$X/dkms.ctl/postinst" "dkms install -m kestrel -v $VER -k" "kestrel-dkms postinst"
expect_file_has "$X/dkms.ctl/prerm" "dkms remove -m kestrel -v $VER --all" "kestrel-dkms prerm"
expect_file_has "$X/kestrel.ctl/postrm" "rm -rf /var/lib/kestrel /var/log/kestrel" "kestrel postrm purge"
run shellcheck "$ROOT/scripts/package-deb.sh" "$ROOT/scripts/stage-dkms-source.sh"
expect_rc 0 "shellcheck package-deb.sh stage-dkms-source.sh"

finish
