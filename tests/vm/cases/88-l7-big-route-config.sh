# boot: 6.12 7.x 6.12-debug
# timeout: 180
# A real mesh's port-wide route config (issue 12): one HTTP listener whose
# route config has 4,096 virtual hosts, each with a service's name and
# ClusterIP as domains (8,192 in all), as istiod sends for port 80 of a
# 4,096-service mesh. It compiles to a table over 128 KiB, served from
# km_route_big, and kmesh.ko finds the virtual host through the table's
# domain index. Requests by name and by VIP reach each service's cluster
# (vhost i -> cluster a, b, c or d by i mod 4); an unknown Host takes "*".
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
trap l4_down EXIT
kmeshd --uninstall >/dev/null 2>&1
{
	echo 'static_resources:'
	echo '  listeners:'
	echo '  - name: web'
	echo '    address: { socket_address: { address: 127.100.0.2, port_value: 80 } }'
	echo '    filter_chains:'
	echo '    - filters:'
	echo '      - name: envoy.filters.network.http_connection_manager'
	echo '        typed_config:'
	echo '          stat_prefix: web'
	echo '          route_config:'
	echo '            name: port80'
	echo '            virtual_hosts:'
	i=0
	while [ $i -lt 4096 ]; do
		case $((i % 4)) in 0) c=a ;; 1) c=b ;; 2) c=c ;; 3) c=d ;; esac
		[ $i = 0 ] && d='"*"' || d="10.96.$((i / 256)).$((i % 256))"
		echo "            - name: svc$i"
		echo "              domains: [ svc$i.ns.svc.cluster.local, $d ]"
		echo "              routes: [ { match: { prefix: / }, route: { cluster: $c } } ]"
		i=$((i + 1))
	done
	echo '  clusters:'
	for n in a b c d; do
		echo "  - name: $n"
		echo '    load_assignment:'
		echo '      endpoints:'
		echo '      - lb_endpoints:'
		echo "        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $(l7_port $n) } } }"
	done
} > "$KM_CONF"
for n in a b c d; do
	km_testsrv --name "$n" --listen "127.0.0.1:$(l7_port $n)" \
		--ready-file "/tmp/ready.$n" > "/tmp/$n.log" 2>&1 &
done
wait_until 100 test -s /tmp/ready.a -a -s /tmp/ready.b -a -s /tmp/ready.c -a -s /tmp/ready.d ||
	fail "backends did not start: $(cat /tmp/[abcd].log)"
kmeshd_start
kmeshctl status | grep -q '^L7: .*routed by kmesh.ko.*web' ||
	fail "the listener is not routed by kmesh.ko: $(kmeshctl status | grep -E '^(L7|last)')"
kmeshctl explain --host svc4093.ns.svc.cluster.local --path / web > /tmp/explain.txt 2>&1 ||
	fail "kmeshctl explain on the big table: $(oneline < /tmp/explain.txt)"
grep -q "svc4093" /tmp/explain.txt || fail "explain did not pick svc4093: $(oneline < /tmp/explain.txt)"
l7_expect "svc1 by name -> b" b -n 2 -H svc1.ns.svc.cluster.local
l7_expect "svc4094 by name -> c" c -n 2 -H svc4094.ns.svc.cluster.local
l7_expect "svc4095 by its VIP -> d" d -n 2 -H 10.96.15.255
l7_expect "svc2048 by its VIP -> a" a -n 2 -H 10.96.8.0
l7_expect "an unknown Host -> the * virtual host, a" a -n 2 -H nowhere.example
note "$(kmeshctl status | grep -E '^maps')"
pass
