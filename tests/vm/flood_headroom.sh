# flood_headroom: a flood of cheap events (openat) that fills a ring cannot
# push out the critical ones (exec): the module keeps headroom for them, and
# counts any critical drop apart (drop_critical).  The flooding consumer
# does not drain, so the ring stays full.
. /scenarios/lib.sh

kmod_load
# 1 MiB ring: about 9,000 openat records fill the 7/8 an ordinary event
# may use.
kestrel-devtest flood 15000 || fail "the exec records did not survive the flood"
kmod_unload
say "ok"
