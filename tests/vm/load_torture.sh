# load_torture: CYCLES rounds of insmod, a consumer attaching (`kestrel
# events`, every syscall), a syscall storm on both CPUs (running through
# all the rounds, so probes attach and detach under load), the consumer
# SIGKILLed at a random moment (before, during or after it attaches), and
# rmmod, which must succeed at once.  Every third round also tries rmmod
# while the consumer holds the rings mapped (must fail and leave the module
# working) and forks a mapping consumer (kestrel-devtest fork-map: the child
# inherits no mapping).  No WARN/BUG/Oops (the harness checks the kernel
# log), no module left behind, and the kernel's slab usage is back near
# where it started (a leak of the rings, 1 MiB per CPU per round, shows).
# `make torture` runs 200 rounds on 6.1 and 6.12; the suite runs 12
# (about 45 s of TCG guest time on an idle host).
# timeout: 240
. /scenarios/lib.sh

CYCLES=12

rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }	# 0..65535

storm() {
	while :; do
		cat /etc/hostname >/dev/null
		ls / >/dev/null
		: >/tmp/storm.$1
	done
}
storm 1 &
s1=$!
storm 2 &
s2=$!
trap 'kill $s1 $s2 2>/dev/null || true' EXIT

slab() { awk '/^Slab:|^VmallocUsed:/ { s += $2 } END { print s }' /proc/meminfo; }

# one warm-up round, so the first-load allocations are not counted as growth
kmod_load
kmod_unload
before=$(slab)

i=0
early=0
while [ $i -lt $CYCLES ]; do
	i=$((i + 1))
	kmod_load
	# Empty before the consumer starts: the shell opens the redirections in
	# the child, so without this the wait below can read the last round's
	# "capturing" before the new consumer truncates the file.
	rm -f ev.json ev.err
	: >ev.err
	"$KESTREL" events >ev.json 2>ev.err &
	k=$!
	if [ $((i % 3)) -eq 0 ]; then
		# wait until it captures, then rmmod (refused) and a forking consumer
		wait_for 30 grep -q capturing ev.err || { cat ev.err; fail "round $i: the consumer did not start"; }
		if rmmod kestrel 2>/dev/null; then
			fail "round $i: rmmod succeeded while a consumer had the rings mapped"
		fi
		module_loaded || fail "round $i: the module vanished after a refused rmmod"
		[ -c /dev/kestrel ] || fail "round $i: /dev/kestrel vanished after a refused rmmod"
	fi
	# a random moment: 0 to 0.9 s after the start (or after the rmmod try)
	sleep "0.$(($(rand) % 10))"
	grep -q capturing ev.err || early=$((early + 1))
	kill -9 $k 2>/dev/null || true
	wait $k 2>/dev/null || true
	if [ $((i % 3)) -eq 0 ]; then
		kestrel-devtest fork-map >/dev/null || fail "round $i: fork-map failed"
	fi
	rmmod kestrel || { lsmod; fail "round $i: rmmod failed after the consumer was killed"; }
	wait_for 5 sh -c '! test -e /dev/kestrel' || fail "round $i: /dev/kestrel still exists after rmmod"
	module_loaded && fail "round $i: the module is still loaded after rmmod"
	[ $((i % 25)) -ne 0 ] || say "round $i done ($early killed before capturing)"
done
kill $s1 $s2 2>/dev/null || true
wait $s1 $s2 2>/dev/null || true
trap - EXIT
sleep 1
after=$(slab)
say "$CYCLES rounds ($early killed before capturing); Slab+VmallocUsed ${before} kB before, ${after} kB after"
# each round maps 2 MiB of rings (1 MiB per CPU) and the consumer's state:
# a leak of either per round would grow this by MiBs
[ "$after" -lt $((before + 4096)) ] || fail "kernel memory grew by $((after - before)) kB over $CYCLES rounds"
kernel_checkers
say "ok"
