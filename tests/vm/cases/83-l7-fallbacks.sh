# boot: 6.12 7.x 6.12-debug
# timeout: 120
# What cannot be routed on takes the listener's default route (a): a
# client that reads before it writes, a request head split across two
# writes, a head over the parser's limits (40 header lines), a head that is
# not HTTP (a space in a field name). l7_default_route counts each and its
# reason counter says which; a parsed head that matches nothing is refused
# instead (case 82). The deferred-connect client of the kmod tests
# (km_defer_client) makes those; the same client in one write is routed.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
l7_up
d0=$(counter l7_default_route)
# default_by REASON CLIENT-ARGS...: /b takes the default route a, and
# l7_default_REASON counts it
default_by() {
	r=$1
	shift
	c0=$(counter "l7_default_$r")
	out=$(in_app km_defer_client "$@" -p /b "$KM_L7_VIP" 2>&1)
	echo "$out" | grep -q '^ok backend=a ' ||
		fail "$r ($*) /b: expected the default route a: $(echo "$out" | oneline)"
	c1=$(counter "l7_default_$r")
	[ $((c1 - c0)) = 1 ] || fail "l7_default_$r moved by $((c1 - c0)) for $*, expected 1"
}
default_by incomplete -s 10
default_by over_limit -H 40
default_by not_http -X
out=$(in_app km_defer_client -m readfirst -p /b "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^ok backend=a ' || fail "read first /b: expected the fallback a: $(echo "$out" | oneline)"
out=$(in_app km_defer_client -p /b "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^ok backend=b ' || fail "the same client, one write, /b: expected b: $(echo "$out" | oneline)"
d1=$(counter l7_default_route)
[ $((d1 - d0)) = 3 ] || fail "l7_default_route moved by $((d1 - d0)), expected 3 (split, over limit, not HTTP; a read first is not routed on at all)"
l7_expect "an ordinary /b still routes to b" b -n 2 -P /b
pass
