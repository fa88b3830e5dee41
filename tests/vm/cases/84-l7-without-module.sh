# boot: 6.12
# timeout: 120
# Without kmesh.ko the HTTP listener is served as L4 to its default route:
# every request reaches a whatever its path, host or headers; kmeshctl
# status says why, and l7_served_as_l4 counts the connects.
. /cases/lib.sh
module_unload || fail "rmmod kmesh failed"
l7_up
kmeshctl status | grep -q '^L7: .*served as L4.*web' ||
	fail "kmeshctl status does not say the listener is served as L4: $(kmeshctl status | grep '^L7')"
s0=$(counter l7_served_as_l4)
l7_expect "/b without the module -> default a" a -n 3 -P /b
l7_expect "Host api.example.com without the module -> default a" a -n 3 -H api.example.com
s1=$(counter l7_served_as_l4)
[ $((s1 - s0)) = 6 ] || fail "l7_served_as_l4 moved by $((s1 - s0)), expected 6"
[ "$(counter l7_deferred)" = 0 ] || fail "l7_deferred is $(counter l7_deferred) without the module"
note "$(kmeshctl status | grep '^L7')"
pass
