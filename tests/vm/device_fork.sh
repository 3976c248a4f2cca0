# device_fork: ring mappings are not inherited across fork (the child has
# no /dev/kestrel mapping and touching the address faults), the read-only
# data cannot be made writable with mprotect(), and nsfs's NS_GET_PARENT
# (ABI 2's START number) is not one of the module's ioctls.
. /scenarios/lib.sh

kmod_load
kestrel-devtest fork-map || fail "fork-map: a child inherited the ring mapping, or mprotect made data writable"
kestrel-devtest nsioctl || fail "nsioctl: NS_GET_PARENT reached the module"
kmod_unload
say "ok"
