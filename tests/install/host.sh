#!/bin/bash
# tests/install/host.sh -- issue 14's real install test, host path.  Runs
# as root INSIDE the booted Debian guest of scripts/install-vm.sh (systemd,
# dkms, apt/dpkg, podman, docker.io, containerd; no network but loopback),
# with its inputs beside it: kestrel_*.deb, kestrel-dkms_*.deb and
# kestrel-test-rootfs.tar (tests/install/image-rootfs.sh).  `make
# install-test` prepares them and boots the guest.
#
#  1. apt installs kestrel-dkms (DKMS builds the module here, timed) and
#     kestrel (the unit is enabled and started by the package);
#  2. the admin's config edit (the conffile /etc/kestrel/kestrel.yaml):
#     JSON alerts, an HTTP webhook on 127.0.0.1, container name/image/type
#     in every alert, no file watching (so only `systemctl reload` reloads);
#  3. podman, docker and containerd's ctr each run a container, from an image
#     imported from the local tar, whose shell reads /etc/shadow: the alert
#     must be in `journalctl -u kestrel` and at the webhook within a second
#     of the read (the alert's own time, which is the syscall's), with the
#     container's id, name and image as that runtime records them;
#  4. a rule file added to /etc/kestrel/rules.d fires only after
#     `systemctl reload kestrel`;
#  5. `systemctl stop kestrel` leaves the module unloadable;
#  6. `apt purge` leaves nothing under /etc/kestrel, of the package files,
#     or under /var/lib/dkms/kestrel.
# Every check runs (a failure does not hide the next one) unless a step the
# rest depends on failed.  Diagnostics (the runtimes' metadata files, the
# journal, the webhook's log) are copied to $KESTREL_OUT.
set -uo pipefail

export DEBIAN_FRONTEND=noninteractive
IN=${KESTREL_IN:-$PWD}
OUT=${KESTREL_OUT:-/tmp/kestrel-out}
mkdir -p "$OUT"
WEBHOOK_PORT=8099
WEBHOOK_LOG=/run/kestrel-webhook.log
IMAGE_TAR=$IN/kestrel-test-rootfs.tar
# The latency the issue allows between the read and the alert's delivery.
MAX_LATENCY=1.0

failures=0
T_START=$(date +%s.%N)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
step() { echo; echo "=== $* (at $(since "$T_START")s)"; }
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
fatal() {
	echo "FATAL: $*"
	collect
	exit 1
}
collect() {
	journalctl -u kestrel --no-pager -o short-precise >"$OUT/kestrel.journal" 2>&1 || true
	cp "$WEBHOOK_LOG" "$OUT/webhook.log" 2>/dev/null || true
	cp /var/lib/dkms/kestrel/*/build/make.log "$OUT/dkms-make.log" 2>/dev/null || true
}
# wait_for SECONDS COMMAND...: true once COMMAND succeeds
wait_for() {
	local deadline
	deadline=$(awk -v a="$(now)" -v s="$1" 'BEGIN { printf "%.3f", a + s }')
	shift
	until "$@"; do
		awk -v d="$deadline" -v n="$(now)" 'BEGIN { exit !(n > d) }' && return 1
		sleep 0.1
	done
}
# epoch seconds of an RFC 3339 time such as 2026-11-29T18:33:22.123456789Z
epoch_of() { date -d "$1" +%s.%N; }

echo "guest: $(uname -r), $(nproc) CPU(s), $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo), up $(cut -d' ' -f1 /proc/uptime)s"
KDEB=$(ls "$IN"/kestrel_*.deb 2>/dev/null | head -n 1)
DDEB=$(ls "$IN"/kestrel-dkms_*.deb 2>/dev/null | head -n 1)
[ -n "$KDEB" ] && [ -n "$DDEB" ] || fatal "no kestrel_*.deb and kestrel-dkms_*.deb beside the scenario"
[ -f "$IMAGE_TAR" ] || fatal "no $IMAGE_TAR beside the scenario"

# --- 1. install ------------------------------------------------------------------
step "apt install kestrel-dkms (DKMS builds the module for $(uname -r))"
t=$(now)
apt-get install -y --no-install-recommends "$DDEB" >"$OUT/apt-dkms.log" 2>&1 ||
	{ tail -n 40 "$OUT/apt-dkms.log"; collect; fatal "apt-get install kestrel-dkms failed"; }
DKMS_SECS=$(since "$t")
echo "kestrel-dkms installed in ${DKMS_SECS}s (the DKMS build of kestrel.ko included)"
st=$(dkms status kestrel 2>&1)
echo "$st"
grep -q "$(uname -r).*installed" <<<"$st" ||
	fail "dkms status does not show kestrel installed for $(uname -r)"
KO=$(modinfo -n kestrel 2>/dev/null)
case $KO in
*/updates/dkms/kestrel.ko*) ok "modinfo finds the DKMS module: $KO" ;;
*) fail "modinfo -n kestrel gives '$KO', not DKMS's updates/dkms/kestrel.ko" ;;
esac

step "apt install kestrel"
t=$(now)
apt-get install -y --no-install-recommends "$KDEB" >"$OUT/apt-kestrel.log" 2>&1 ||
	{ tail -n 40 "$OUT/apt-kestrel.log"; collect; fatal "apt-get install kestrel failed"; }
echo "kestrel installed in $(since "$t")s"
systemctl is-enabled kestrel >/dev/null || fail "kestrel.service is not enabled by the package"
if systemctl is-active -q kestrel; then
	ok "the package started kestrel.service"
else
	systemctl status kestrel --no-pager | tail -n 20
	fail "kestrel.service is not active after the package's install"
fi
grep -q '^kestrel ' /proc/modules && ok "kestrel.ko loaded by the unit's driver loader" ||
	fail "kestrel.ko is not loaded while the service runs"

# --- 2. configure --------------------------------------------------------------
step "configure: JSON alerts, webhook on 127.0.0.1:$WEBHOOK_PORT, container fields"
systemctl stop kestrel
CONF=/etc/kestrel/kestrel.yaml
sed -i \
	-e 's/^json_output: false/json_output: true/' \
	-e 's/^watch_config_files: true/watch_config_files: false/' \
	-e '/^http_output:/,/^[a-z]/{s/^  enabled: false/  enabled: true/;s|^  url: ""|  url: "http://127.0.0.1:'$WEBHOOK_PORT'/alerts"|}' \
	"$CONF"
cat >>"$CONF" <<'EOF'

# install test: every alert names its container as the runtime records it
append_output:
  - extra_fields:
      - container.name
      - container.image
      - container.type
EOF
sed -i '0,/^append_output: \[\]$/{/^append_output: \[\]$/d}' "$CONF"
grep -q '^json_output: true' "$CONF" && grep -q "url: \"http://127.0.0.1:$WEBHOOK_PORT/alerts\"" "$CONF" &&
	grep -q '^watch_config_files: false' "$CONF" || fatal "editing $CONF failed"

# The webhook: a receiver on 127.0.0.1 that logs "<arrival epoch> <body>"
# per POST (python3-minimal has sockets, not http.server).
cat >/run/kestrel-webhook.py <<'EOF'
import socket, sys, time
log = open(sys.argv[2], "a", buffering=1)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(8)
while True:
    conn, _ = srv.accept()
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                break
            buf += chunk
        if b"\r\n\r\n" not in buf:
            break
        head, buf = buf.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        while len(buf) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            buf += chunk
        body, buf = buf[:length], buf[length:]
        arrived = time.time()
        log.write("%.6f %s\n" % (arrived, body.decode("utf-8", "replace").replace("\n", " ")))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conn.close()
EOF
: >"$WEBHOOK_LOG"
python3 /run/kestrel-webhook.py "$WEBHOOK_PORT" "$WEBHOOK_LOG" >"$OUT/webhook.stderr" 2>&1 &
WEBHOOK_PID=$!

step "systemctl start kestrel"
t=$(now)
systemctl start kestrel || { systemctl status kestrel --no-pager | tail -n 30; fatal "systemctl start kestrel failed"; }
echo "started (ready, Type=notify) in $(since "$t")s"
sleep 1
kill -0 "$WEBHOOK_PID" 2>/dev/null || fatal "the webhook receiver died: $(cat "$OUT/webhook.stderr")"

# --- 3. one container per runtime --------------------------------------------------
# alert_for ID12: the webhook line of the shadow alert of container ID12
alert_for() { grep -F '/etc/shadow' "$WEBHOOK_LOG" | grep -F "$1" | head -n 1; }
has_alert() { [ -n "$(alert_for "$1")" ]; }
json_str() { # json_str KEY LINE: the string value of "KEY" in a JSON line
	sed -n 's/.*"'"$1"'": *"\([^"]*\)".*/\1/p' <<<"$2" | head -n 1
}
LATENCIES=()
# check_alert RUNTIME FULL_ID NAME IMAGE T_BEFORE
check_alert() {
	local rt=$1 full=$2 name=$3 image=$4 tb=$5 id12 line wh_at ev ev_at jline j_at lat jlat
	id12=${full:0:12}
	echo "$rt records: id=$full name=$name image=$image"
	if [ ${#full} -ne 64 ]; then
		fail "$rt: no container id to look for (the run failed?)"
		return
	fi
	if ! wait_for 5 has_alert "$id12"; then
		fail "$rt: no /etc/shadow alert for container $id12 at the webhook within 5 s"
		grep -F '/etc/shadow' "$WEBHOOK_LOG" | tail -n 3
		return
	fi
	line=$(alert_for "$id12")
	echo "$rt webhook: ${line:0:400}..."
	wh_at=${line%% *}
	ev=$(json_str time "$line")
	ev_at=$(epoch_of "$ev") || { fail "$rt: alert time '$ev' unreadable"; return; }
	awk -v e="$ev_at" -v b="$tb" 'BEGIN { exit !(e >= b) }' ||
		fail "$rt: the alert's time $ev is before the container was started"
	lat=$(awk -v a="$wh_at" -v e="$ev_at" 'BEGIN { printf "%.3f", a - e }')
	# the journal: the same alert from the stdout output
	if wait_for 3 sh -c "journalctl -u kestrel -o cat --no-pager | grep -F /etc/shadow | grep -qF '$id12'"; then
		jline=$(journalctl -u kestrel -o short-unix --no-pager | grep -F /etc/shadow | grep -F "$id12" | head -n 1)
		j_at=${jline%% *}
		jlat=$(awk -v a="$j_at" -v e="$ev_at" 'BEGIN { printf "%.3f", a - e }')
	else
		fail "$rt: no /etc/shadow alert for $id12 in journalctl -u kestrel"
		jlat=nan
	fi
	echo "$rt latency: webhook ${lat}s, journal ${jlat}s after the read (limit ${MAX_LATENCY}s)"
	LATENCIES+=("$rt webhook=${lat}s journal=${jlat}s")
	awk -v l="$lat" -v m="$MAX_LATENCY" 'BEGIN { exit !(l <= m) }' ||
		fail "$rt: the webhook got the alert ${lat}s after the read (more than ${MAX_LATENCY}s)"
	[ "$jlat" = nan ] || awk -v l="$jlat" -v m="$MAX_LATENCY" 'BEGIN { exit !(l <= m) }' ||
		fail "$rt: the journal got the alert ${jlat}s after the read (more than ${MAX_LATENCY}s)"
	local got
	got=$(json_str container.id "$line")
	[ "$got" = "$id12" ] && ok "$rt: container.id $got" || fail "$rt: container.id '$got', expected $id12"
	got=$(json_str container.name "$line")
	[ "$got" = "$name" ] && ok "$rt: container.name $got" || fail "$rt: container.name '$got', expected $name"
	got=$(json_str container.image "$line")
	[ "$got" = "$image" ] && ok "$rt: container.image $got" || fail "$rt: container.image '$got', expected $image"
	got=$(json_str container.type "$line")
	[ "$got" = "$rt" ] && ok "$rt: container.type $got" || fail "$rt: container.type '$got', expected $rt"
	got=$(json_str rule "$line")
	[ "$got" = "Sensitive file read by unexpected program" ] || fail "$rt: rule '$got'"
}
SHELL_CMD='cat /etc/shadow >/dev/null; echo read'

step "podman: import the image, run a container that reads /etc/shadow"
t=$(now)
podman import -q "$IMAGE_TAR" localhost/kestrel-test:1 >/dev/null || fail "podman import failed"
echo "podman import: $(since "$t")s"
tb=$(now)
podman run --name kt-podman --network none localhost/kestrel-test:1 sh -c "$SHELL_CMD" || fail "podman run failed"
echo "podman run: $(since "$tb")s"
id=$(podman inspect -f '{{.Id}}' kt-podman)
check_alert podman "$id" "$(podman inspect -f '{{.Name}}' kt-podman)" "$(podman inspect -f '{{.ImageName}}' kt-podman)" "$tb"
mkdir -p "$OUT/podman"
cp /var/lib/containers/storage/overlay-containers/"$id"/userdata/config.json "$OUT/podman/" 2>/dev/null
cp /var/lib/containers/storage/overlay-containers/containers.json "$OUT/podman/" 2>/dev/null
podman rm -f kt-podman >/dev/null 2>&1

step "docker: import the image, run a container that reads /etc/shadow"
t=$(now)
systemctl start docker || fail "systemctl start docker failed"
docker import "$IMAGE_TAR" kestrel-test:1 >/dev/null  # docker 20.10 has no -q || fail "docker import failed"
echo "docker start + import: $(since "$t")s"
tb=$(now)
docker run --name kt-docker --network none kestrel-test:1 sh -c "$SHELL_CMD" || fail "docker run failed"
echo "docker run: $(since "$tb")s"
id=$(docker inspect -f '{{.Id}}' kt-docker)
check_alert docker "$id" "$(docker inspect -f '{{.Name}}' kt-docker | sed 's|^/||')" "$(docker inspect -f '{{.Config.Image}}' kt-docker)" "$tb"
mkdir -p "$OUT/docker"
cp /var/lib/docker/containers/"$id"/config.v2.json /var/lib/docker/containers/"$id"/hostconfig.json "$OUT/docker/" 2>/dev/null

step "containerd (ctr): import the image, run a container that reads /etc/shadow"
t=$(now)
docker save -o /run/kestrel-test-image.tar kestrel-test:1 || fail "docker save failed"
ctr -n default images import /run/kestrel-test-image.tar || fail "ctr images import failed"
CTR_IMAGE=docker.io/library/kestrel-test:1
ctr -n default images ls -q | grep -qx "$CTR_IMAGE" || fail "ctr did not import $CTR_IMAGE: $(ctr -n default images ls -q)"
echo "docker save + ctr import: $(since "$t")s"
# ctr names a container by its id; a 64-hex one, as nerdctl and the CRI make
CTR_ID=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
tb=$(now)
ctr -n default run --rm "$CTR_IMAGE" "$CTR_ID" sh -c "$SHELL_CMD" || fail "ctr run failed"
echo "ctr run: $(since "$tb")s"
check_alert containerd "$CTR_ID" "$CTR_ID" "$CTR_IMAGE" "$tb"
mkdir -p "$OUT/containerd"
cp /var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db "$OUT/containerd/" 2>/dev/null
docker rm -f kt-docker >/dev/null 2>&1

# --- 4. reload -------------------------------------------------------------------
step "systemctl reload kestrel swaps the rules"
MARKER=/run/kestrel-reload-marker
echo marker >"$MARKER"
cat >/etc/kestrel/rules.d/zz-install-test.yaml <<EOF
- rule: Install test reload marker read
  desc: Only present after the reload (tests/install/host.sh).
  condition: evt.type in (open, openat, openat2) and fd.name = $MARKER
  output: Reload marker read (file=%fd.name program=%proc.name)
  priority: WARNING
EOF
marker_alerts() { grep -c 'Install test reload marker read' "$WEBHOOK_LOG" || true; }
cat "$MARKER" >/dev/null
sleep 2
[ "$(marker_alerts)" = 0 ] && ok "before the reload the new rule does not fire" ||
	fail "the marker rule fired before systemctl reload"
systemctl reload kestrel || fail "systemctl reload kestrel failed"
# the reload is asynchronous (SIGHUP): read the marker until the new rules run
reloaded() { cat "$MARKER" >/dev/null; [ "$(marker_alerts)" != 0 ]; }
if wait_for 15 reloaded; then
	ok "after systemctl reload the new rule fires"
else
	journalctl -u kestrel --no-pager | tail -n 10
	fail "the rule added to /etc/kestrel/rules.d did not fire within 15 s of systemctl reload"
fi
systemctl is-active -q kestrel || fail "kestrel is not active after the reload"

# --- 5. stop -----------------------------------------------------------------------
step "systemctl stop kestrel leaves the module unloadable"
systemctl stop kestrel || fail "systemctl stop kestrel failed"
if grep -q '^kestrel ' /proc/modules; then
	rmmod kestrel && ok "rmmod kestrel after the stop" || fail "rmmod kestrel fails after systemctl stop"
else
	ok "the unit's ExecStopPost unloaded the module"
fi
modprobe kestrel || fail "modprobe kestrel (the DKMS module) failed"
rmmod kestrel && ok "modprobe + rmmod of the DKMS module" || fail "rmmod kestrel after modprobe failed"
collect

# --- 6. purge ----------------------------------------------------------------------
step "apt purge kestrel kestrel-dkms"
PKG_FILES=$(dpkg -L kestrel kestrel-dkms | sort -u)
rm -f /etc/kestrel/rules.d/zz-install-test.yaml # the test's own file, not the package's
apt-get purge -y kestrel kestrel-dkms >"$OUT/apt-purge.log" 2>&1 ||
	{ tail -n 20 "$OUT/apt-purge.log"; fail "apt-get purge failed"; }
left=$(while read -r f; do
	case $f in '' | /.) continue ;; esac # dpkg -L lists "/." first
	# directories other packages own too (/usr/bin, ...) rightly stay
	[ -d "$f" ] && [ -n "$(dpkg -S "$f" 2>/dev/null)" ] && continue
	[ -e "$f" ] || [ -L "$f" ] && echo "$f"
done <<<"$PKG_FILES")
[ -z "$left" ] && ok "no package file is left" || fail "left after purge: $(echo $left)"
[ ! -e /etc/kestrel ] && ok "/etc/kestrel is gone" || fail "/etc/kestrel is left: $(find /etc/kestrel)"
[ ! -e /var/lib/dkms/kestrel ] && ok "/var/lib/dkms/kestrel is gone" || fail "/var/lib/dkms/kestrel is left"
ls /usr/src | grep -q '^kestrel' && fail "/usr/src/kestrel-* is left" || ok "/usr/src has no kestrel"
find /lib/modules -name 'kestrel.ko*' | grep -q . && fail "a kestrel.ko is left: $(find /lib/modules -name 'kestrel.ko*')" ||
	ok "no kestrel.ko under /lib/modules"
[ ! -e /etc/systemd/system/multi-user.target.wants/kestrel.service ] || fail "the unit's enablement link is left"

kill "$WEBHOOK_PID" 2>/dev/null
echo
echo "=== timings: DKMS install ${DKMS_SECS}s; alert latency: ${LATENCIES[*]:-none}; scenario $(since "$T_START")s"
if [ "$failures" -eq 0 ]; then
	echo "install test (host path): PASS"
	exit 0
fi
echo "install test (host path): $failures check(s) FAILED"
exit 1
