# boot: 6.12 7.x 6.12-debug
# timeout: 120
# What cannot be routed on takes the listener's default route (a): a
# client that reads before it writes, a request head split across two
# writes, a head over the parser's limits (40 header lines), a head that is
# not HTTP (a space in a field name). l7_default_route counts each and its
# reason counter says which; a parsed head that matches nothing is refused
# instead (case 82). The deferred-connect client of the kmod tests
# (km_defer_client) makes those; the same client in one write is routed.
# Then the local replies (lib.sh, docs/l7.md): direct_response, redirect,
# REGISTRY_ONLY's block_all and a fault abort at 100% and 0% get exactly
# the bytes kmeshd's responder writes for them.
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

same "direct_response 200" "$(reply reply.example.com /direct)" \
	"$(printf 'HTTP/1.1 200 OK\ncontent-length: 17\ncontent-type: text/plain\ndate: D\nserver: kmesh\nconnection: close\n\nhello from kmesh')"
same "redirect: https, host, prefix_rewrite" "$(reply reply.example.com '/old/page?x=1')" \
	"$(printf 'HTTP/1.1 301 Moved Permanently\nlocation: https://new.example.com/new/page?x=1\ndate: D\nserver: kmesh\ncontent-length: 0\nconnection: close')"
same "REGISTRY_ONLY block_all" "$(reply www.example.org / "$KM_BLOCKED_VIP")" "$KM_502"
abort=$(printf 'HTTP/1.1 503 Service Unavailable\ncontent-length: 18\ncontent-type: text/plain\ndate: D\nserver: kmesh\nconnection: close\n\nfault filter abort')
for i in 1 2 3 4 5 6; do
	same "fault abort 100% ($i)" "$(reply reply.example.com /abort100)" "$abort"
done
l7_expect "fault abort 0%: never aborted" b -n 6 -H reply.example.com -P /abort0
kmeshctl explain --host reply.example.com --path /abort100 web > /tmp/explain 2>&1 ||
	fail "kmeshctl explain /abort100: $(oneline < /tmp/explain)"
grep -q 'fault abort 503' /tmp/explain || fail "kmeshctl explain does not show the abort: $(oneline < /tmp/explain)"
note "$(grep -i 'abort' /tmp/explain | head -n 2)"
pass
