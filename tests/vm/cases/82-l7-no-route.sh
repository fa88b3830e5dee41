# boot: 6.12 7.x 6.12-debug
# timeout: 120
# No route: the vhost closed.example.com has only /only. A request for
# /other there matches no route: the first write fails with ECONNREFUSED
# (documented in README "L7 routing"), l7_no_route counts it, and no
# backend sees a connection. Other requests keep working.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
l7_up
n0=$(counter l7_no_route)
out=$(in_app km_testcli -t 10000 -n 3 -H closed.example.com -P /other "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^total ok=0 err=3$' || fail "no-route requests: $(echo "$out" | oneline)"
echo "$out" | grep '^err' | grep -qv 'errno=ECONNREFUSED' &&
	fail "no-route: expected ECONNREFUSED on every request: $(echo "$out" | grep '^err' | sort | uniq -c | oneline)"
n1=$(counter l7_no_route)
[ $((n1 - n0)) = 3 ] || fail "l7_no_route moved by $((n1 - n0)), expected 3"
# busybox wget sees the refusal as an error, never a response
if body=$(in_app wget -q -O - --header 'Host: closed.example.com' "http://$KM_L7_VIP/other" 2>&1); then
	fail "wget to a path with no route succeeded: '$body'"
fi
note "no route: $(echo "$out" | grep '^err' | head -n 1); wget: $(echo "$body" | head -n 1)"
l7_expect "a routed request after the refusals" a -n 2 -H closed.example.com -P /only
pass
