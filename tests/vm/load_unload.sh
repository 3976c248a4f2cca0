# load_unload: insmod creates a root-only /dev/kestrel, rmmod removes it,
# bad module parameters are refused, and load/unload can repeat.
. /scenarios/lib.sh

module_loaded && fail "kestrel is loaded before the scenario"
[ ! -e /dev/kestrel ] || fail "/dev/kestrel exists before insmod"

kmod_load
ls -l /dev/kestrel
set -- $(ls -l /dev/kestrel)
[ "$1" = crw------- ] || fail "/dev/kestrel has mode $1, want crw-------"
[ "$3" = root ] && [ "$4" = root ] || fail "/dev/kestrel is owned by $3:$4, want root:root"
if [ -r /sys/module/kestrel/parameters/ring_size ]; then
	rs=$(cat /sys/module/kestrel/parameters/ring_size)
	[ "$rs" = "$RING_SIZE" ] || fail "ring_size parameter reads $rs, want $RING_SIZE"
fi
if insmod "$KESTREL_KO" ring_size="$RING_SIZE" 2>/dev/null; then
	fail "a second insmod succeeded"
fi
kmod_unload
module_loaded && fail "/sys/module/kestrel still exists after rmmod"

# Ring sizes the module must refuse: not a power of two, below the minimum
# (64 KiB), above the maximum (1 GiB).
for bad in 100000 4096 2147483648; do
	if insmod "$KESTREL_KO" ring_size=$bad; then
		rmmod kestrel
		fail "insmod with ring_size=$bad succeeded"
	fi
	say "ring_size=$bad refused"
	module_loaded && fail "module present after the failed insmod (ring_size=$bad)"
	[ ! -e /dev/kestrel ] || fail "/dev/kestrel exists after the failed insmod (ring_size=$bad)"
done

# Load and unload a few times, with the default ring size once.
i=0
while [ $i -lt 3 ]; do
	kmod_load
	kmod_unload
	i=$((i + 1))
done
insmod "$KESTREL_KO" || fail "insmod with the default ring_size failed"
wait_for 5 test -c /dev/kestrel || fail "/dev/kestrel missing (default ring_size)"
kmod_unload
say "ok"
