# boot: 6.12 7.x 6.12-debug
# timeout: 120
# Telemetry of L7 connections (docs/telemetry.md): the access-log line of
# a request kmesh.ko routed names its route (listener/virtual host/route
# index) and the route's cluster, whatever the default route is; a
# request with no route is one refusal line with flag NR. The events come
# from the deferred connect's re-run and its real TCP connect. (The VM's
# static kmeshd has no /metrics: tests/vm/tel_http_stub.c.)
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
KMESHD_ARGS="--access-log /tmp/access.log"
l7_up
l7_expect "/b routed to b" b -n 2 -P /b
out=$(in_app km_testcli -t 10000 -n 1 -H closed.example.com -P /other "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^total ok=0 err=1$' || fail "no-route request: $(echo "$out" | oneline)"
wait_until 50 sh -c '[ "$(grep -c . /tmp/access.log)" -ge 3 ]' ||
	fail "access log: $(cat /tmp/access.log 2>&1 | oneline)"
routed=$(grep -c '"upstream_cluster": "b",.*"route_name": "web/2/1","response_flags": "-","connection_termination": "fin","listener": "web"' /tmp/access.log)
[ "$routed" = 2 ] || fail "want 2 routed lines for web/2/1 -> b: $(cat /tmp/access.log | oneline)"
nr=$(grep -c '"route_name": "unknown","response_flags": "NR","connection_termination": "refused","listener": "web"' /tmp/access.log)
[ "$nr" = 1 ] || fail "want 1 NR refusal line: $(cat /tmp/access.log | oneline)"
note "$(head -n 1 /tmp/access.log)"
pass
