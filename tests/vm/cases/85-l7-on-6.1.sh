# boot: 6.1
# timeout: 120
# A kernel without the kfunc hook kmesh.ko needs (bookworm's 6.1: module
# kfuncs are not callable from cgroup sock_addr programs there, and a 6.12
# kmesh.ko cannot load): the HTTP listener is served as L4 to its default
# route, kmeshctl status names the kernel as the reason, and
# l7_served_as_l4 counts the connects.
. /cases/lib.sh
l7_up
kmeshctl status | grep -q '^L7: .*kernel 6\.1\..* is older than 6\.12' ||
	fail "kmeshctl status does not name the kernel as the reason: $(kmeshctl status | grep '^L7')"
l7_served_as_l4 "on 6.1"
pass
