# benign: normal work on a node must raise no alert from the default
# ruleset.  Under `kestrel run -r /rules/kestrel_rules.yaml --all-matches`:
# a container (started the way runc starts one, containerd's cgroup and
# bundle) whose entrypoint is a shell script that reads its configuration,
# a health-check command run in it through the runtime, a package installed
# on the host by a real package manager (busybox's dpkg: a .deb built here,
# unpacked into /usr/bin, its database under /var/lib/dpkg), log rotation
# (the log renamed, the old one compressed, the service reopening its log),
# a service reading its own configuration under /etc, and outbound
# connections from the host to 127.0.0.1.  Every alert is a false positive:
# all are listed, counted, and fail the scenario.
# timeout: 300
. /scenarios/lib.sh

HOSTROOT=$PWD/hostroot
mkdir -p "$HOSTROOT"
SHOP_ID=5a1e5a1e0123456789abcdef0123456789abcdef0123456789abcdef01234567

# mkdeb OUT: a minimal .deb (package "hello" with /usr/bin/hello) built with
# busybox alone: ar members debian-binary, control.tar.gz, data.tar.gz.
mkdeb() {
	_md=$(mktemp -d)
	mkdir -p "$_md/control" "$_md/data/usr/bin"
	printf '#!/bin/sh\necho hello\n' >"$_md/data/usr/bin/hello"
	chmod 755 "$_md/data/usr/bin/hello"
	printf 'Package: hello\nVersion: 1.0\nArchitecture: all\nMaintainer: k <k@example.org>\nDescription: test\n' \
		>"$_md/control/control"
	(cd "$_md/control" && tar czf ../control.tar.gz ./control)
	(cd "$_md/data" && tar czf ../data.tar.gz ./usr)
	echo 2.0 >"$_md/debian-binary"
	{
		printf '!<arch>\n'
		for _mm in debian-binary control.tar.gz data.tar.gz; do
			_ms=$(wc -c <"$_md/$_mm")
			printf '%-16s%-12s%-6s%-6s%-8s%-10s`\n' "$_mm" 0 0 0 100644 "$_ms"
			cat "$_md/$_mm"
			[ $((_ms % 2)) -eq 0 ] || printf '\n'
		done
	} >"$1"
	rm -rf "$_md"
}

# ---------------------------------------------------------------- the world
mkdir -p /var/lib/dpkg/info /var/log /etc/shop /srv/www
touch /var/lib/dpkg/status
mkdeb /tmp/hello.deb
echo '<html>ok</html>' >/srv/www/index.html
printf 'A:127.0.0.1\n' >/etc/httpd.conf
printf 'listen=8081\nroot=/srv/www\n' >/etc/shop/shop.conf
echo "started" >/var/log/shop.log

kmod_load
kestrel_start_cmd alerts run -r /rules/kestrel_rules.yaml --json --all-matches --host-root "$HOSTROOT"

# ---------------------------------------------------------------- the work
say "a service starts and reads its own configuration (busybox httpd, /etc/httpd.conf)"
/bin/httpd -p 8081 -h /srv/www -c /etc/httpd.conf
/bin/cat /etc/shop/shop.conf >/dev/null

say "a container whose entrypoint is a shell script reading its configuration"
# The image: the entrypoint script and its configuration.
mk_shop() {
	runc_container shop "$SHOP_ID" false /bin/sh /entrypoint.sh
}
SHOP_ROOT=$PWD/shop
mkdir -p "$SHOP_ROOT/etc/shop" "$SHOP_ROOT/tmp"
printf 'mode=production\nport=8081\n' >"$SHOP_ROOT/etc/shop/shop.conf"
cat >"$SHOP_ROOT/entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
. /etc/shop/shop.conf
mkdir -p /tmp/run
echo "shop starting in $mode on $port" >/tmp/run/boot.log
echo $$ >/tmp/run/shop.pid
exec sleep 100000
EOF
chmod 0755 "$SHOP_ROOT/entrypoint.sh"
mk_shop
say "container shop ($RC_SHORT), pid 1 on the host: $RC_PID"
wait_for 10 test -f "$SHOP_ROOT/tmp/run/shop.pid" || fail "the entrypoint did not run"

say "health checks run in the container through the runtime (twice)"
for i in 1 2; do
	rc_exec /bin/sh -c 'test -f /tmp/run/shop.pid && /bin/wget -q -O /dev/null http://127.0.0.1:8081/' ||
		fail "health check $i failed"
done

say "a package installed on the host by a package manager (busybox dpkg -i)"
/bin/dpkg -i /tmp/hello.deb
[ -x /usr/bin/hello ] || fail "dpkg did not install /usr/bin/hello"
grep -q '^Package: hello' /var/lib/dpkg/status || fail "dpkg did not record hello"

say "log rotation: rename, compress the old log into a new file, reopen"
/bin/sh -c 'echo "a line" >>/var/log/shop.log'
/bin/mv /var/log/shop.log /var/log/shop.log.1
/bin/gzip /var/log/shop.log.1
/bin/sh -c 'echo "after rotation" >>/var/log/shop.log'

say "outbound connections from the host to 127.0.0.1"
/bin/wget -q -O /dev/null http://127.0.0.1:8081/
/bin/wget -q -O /dev/null http://localhost:8081/index.html

say "ordinary commands at the host's shell (no terminal); applets by path, so each is its own exec"
/bin/ls /etc >/dev/null
/bin/ps >/dev/null
/bin/id >/dev/null
/bin/cat /etc/hostname >/dev/null

sleep 1
kill -9 "$RC_PID" 2>/dev/null || true
wait "$RC_RUNC" 2>/dev/null || true
kestrel_stop

# ---------------------------------------------------------------- the verdict
n=$(grep -c '"rule"' "$KOUT" || true)
echo "FALSE POSITIVES: $n"
if [ "$n" -gt 0 ]; then
	sed -n 's/.*"rule": *"\([^"]*\)".*/\1/p' "$KOUT" | sort | uniq -c | sort -rn
	cat "$KOUT"
	fail "$n alert(s) on benign work"
fi
say "ok: no alert"
