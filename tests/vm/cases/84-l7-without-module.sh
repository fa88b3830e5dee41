# boot: 6.12 7.x
# timeout: 120
# Without kmesh.ko the HTTP listener is served as L4 to its default route:
# every request reaches a whatever its path, host or headers; kmeshctl
# status says why, and l7_served_as_l4 counts the connects. A listener whose
# default route is a local reply (REGISTRY_ONLY's block_all) is served by
# kmeshd's responder at L4: every request gets the 502.
. /cases/lib.sh
module_unload || fail "rmmod kmesh failed"
l7_up
l7_served_as_l4 "without the module"
same "block_all without the module" "$(reply www.example.org / "$KM_BLOCKED_VIP")" "$KM_502"
pass
