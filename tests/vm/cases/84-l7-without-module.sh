# boot: 6.12 7.x
# timeout: 120
# Without kmesh.ko the HTTP listener is served as L4 to its default route:
# every request reaches a whatever its path, host or headers; kmeshctl
# status says why, and l7_served_as_l4 counts the connects.
. /cases/lib.sh
module_unload || fail "rmmod kmesh failed"
l7_up
l7_served_as_l4 "without the module"
pass
