# boot: 6.12 7.x 6.12-debug
# timeout: 120
# The default route's health does not decide the first run (issue 12).
# The "*" virtual host's default route (/) goes to cluster e, whose only
# endpoint is UNHEALTHY. Before, the first (deferred) run picked its L4
# fallback from that route and refused every connect before the request
# was seen. Now a request that matches a healthy route is routed by it:
# Host api.example.com -> c, /b -> b. A request for / itself fails its
# first write with ECONNREFUSED (no_endpoint counts it), and a client that
# reads before it writes gets ECONNREFUSED from the read: the fallback is
# never the VIP, so nothing leaves for 127.100.0.2.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
trap l4_down EXIT
kmeshd --uninstall >/dev/null 2>&1
write_l7_config
# the root route of vhost any -> e; e: one UNHEALTHY endpoint
sed -i '/- name: root/,/cluster: a/ s/cluster: a/cluster: e/' "$KM_CONF"
printf '%s\n' '  - name: e' \
	'    load_assignment:' \
	'      endpoints:' \
	'      - lb_endpoints:' \
	'        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8081 } } }' \
	'          health_status: UNHEALTHY' >> "$KM_CONF"
grep -q 'cluster: e' "$KM_CONF" || fail "the config edit did not take: $(oneline < "$KM_CONF")"
for n in a b c d; do
	km_testsrv --name "$n" --listen "127.0.0.1:$(l7_port $n)" \
		--ready-file "/tmp/ready.$n" > "/tmp/$n.log" 2>&1 &
done
wait_until 100 test -s /tmp/ready.a -a -s /tmp/ready.b -a -s /tmp/ready.c -a -s /tmp/ready.d ||
	fail "backends did not start: $(cat /tmp/[abcd].log)"
kmeshd_start

l7_expect "Host api.example.com, default route unhealthy -> c" c -n 3 -H api.example.com
l7_expect "/b, default route unhealthy -> b" b -n 3 -P /b
e0=$(counter no_endpoint)
out=$(in_app km_testcli -t 10000 -n 2 -P / "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^total ok=0 err=2$' || fail "/ to the unhealthy default: $(echo "$out" | oneline)"
echo "$out" | grep '^err' | grep -qv 'errno=ECONNREFUSED' &&
	fail "/ to the unhealthy default: expected ECONNREFUSED: $(echo "$out" | grep '^err' | oneline)"
e1=$(counter no_endpoint)
[ $((e1 - e0)) = 2 ] || fail "no_endpoint moved by $((e1 - e0)), expected 2"
out=$(in_app km_defer_client -m readfirst -p /b "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^err readfirst errno=ECONNREFUSED$' ||
	fail "read first with no usable fallback: $(echo "$out" | oneline)"
note "read first: $(echo "$out" | grep '^err' | oneline)"
pass
