# boot: 6.12 7.x
# timeout: 90
# The same L4 path with kmesh.ko NOT loaded. Today the BPF objects do not use
# the module; once they call its kfuncs (declared __weak) this proves the
# object still loads and routes without it.
. /cases/lib.sh
module_unload || fail "rmmod kmesh failed"
l4_up
l4_check
# kmeshd tries `modprobe kmesh`; the guest has no /lib/modules tree for it
! module_loaded || fail "kmesh.ko got loaded (by kmeshd's modprobe?): the case no longer runs without it"
pass
