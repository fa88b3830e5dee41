# boot: 6.1
# timeout: 120
# A kernel without the kfunc hook kmesh.ko needs (bookworm's 6.1: module
# kfuncs are not callable from cgroup sock_addr programs there, and a 6.12
# kmesh.ko cannot load): the HTTP listener is served as L4 to its default
# route, kmeshctl status says why, and l7_served_as_l4 counts the connects.
. /cases/lib.sh
l7_up
kmeshctl status | grep -q '^L7: .*served as L4.*web' ||
	fail "kmeshctl status does not say the listener is served as L4: $(kmeshctl status | grep '^L7')"
kmeshctl status | grep -q '^L7: .*kernel 6\.1\..* is older than 6\.12' ||
	fail "kmeshctl status does not name the kernel as the reason: $(kmeshctl status | grep '^L7')"
s0=$(counter l7_served_as_l4)
l7_expect "/b on 6.1 -> default a" a -n 3 -P /b
l7_expect "Host api.example.com on 6.1 -> default a" a -n 3 -H api.example.com
s1=$(counter l7_served_as_l4)
[ $((s1 - s0)) = 6 ] || fail "l7_served_as_l4 moved by $((s1 - s0)), expected 6"
[ "$(counter l7_deferred)" = 0 ] || fail "l7_deferred is $(counter l7_deferred) on 6.1"
note "$(kmeshctl status | grep '^L7')"
pass
