# boot: 6.12
# timeout: 900
# VM benchmark (make vm-bench): new-connection HTTP request latency through
#   direct   the backend itself (no mesh)
#   l4       kmesh L4: VIP 127.100.0.1:80, tcp_proxy listener
#   l7       kmesh L7: VIP 127.100.0.2:80, deferred connect + route match
#   haproxy  one HAProxy (HTTP mode) in front of the same backend
# side by side in one run (http_conn_bench rounds interleave the targets),
# then the route-matching cost at 64 routes: the same request matching the
# first and the last of 64 routes, and connect4's own run time per call
# (kernel.bpf_stats_enabled) for each. Figures only: never pass/fail on
# them; the case fails only when a target does not answer or L7 requests
# were not routed by the module.
. /cases/lib.sh
COUNT=${KM_BENCH_COUNT:-200}
ROUNDS=${KM_BENCH_ROUNDS:-5}
module_load || fail "insmod /kmesh.ko failed"
trap l4_down EXIT
kmeshd --uninstall >/dev/null 2>&1
km_testsrv --name a --listen 127.0.0.1:8081 --ready-file /tmp/ready.a > /tmp/a.log 2>&1 &
wait_until 100 test -s /tmp/ready.a || fail "backend did not start: $(cat /tmp/a.log)"

routes64() {
	i=0
	while [ $i -lt 64 ]; do
		echo "              - { match: { prefix: /r$i/ }, route: { cluster: a } }"
		i=$((i + 1))
	done
}
{
	echo "static_resources:"
	echo "  listeners:"
	echo "  - name: l4"
	echo "    address: { socket_address: { address: 127.100.0.1, port_value: 80 } }"
	echo "    filter_chains:"
	echo "    - filters:"
	echo "      - name: envoy.filters.network.tcp_proxy"
	echo "        typed_config: { stat_prefix: l4, cluster: a }"
	for l in l7:127.100.0.2 l7-64:127.100.0.3; do
		echo "  - name: ${l%%:*}"
		echo "    address: { socket_address: { address: ${l#*:}, port_value: 80 } }"
		echo "    filter_chains:"
		echo "    - filters:"
		echo "      - name: envoy.filters.network.http_connection_manager"
		echo "        typed_config:"
		echo "          stat_prefix: ${l%%:*}"
		echo "          route_config:"
		echo "            name: ${l%%:*}"
		echo "            virtual_hosts:"
		echo "            - name: any"
		echo "              domains: [ \"*\" ]"
		echo "              routes:"
		if [ "${l%%:*}" = l7 ]; then
			echo "              - { match: { prefix: / }, route: { cluster: a } }"
		else
			routes64
		fi
	done
	echo "  clusters:"
	echo "  - name: a"
	echo "    load_assignment:"
	echo "      endpoints:"
	echo "      - lb_endpoints:"
	echo "        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8081 } } }"
} > "$KM_CONF"
kmeshd_start

have_haproxy=0
if command -v haproxy >/dev/null; then
	printf '%s\n' "global" "    maxconn 4096" "defaults" "    mode http" \
		"    timeout connect 5s" "    timeout client 30s" "    timeout server 30s" \
		"frontend f" "    bind 127.0.0.1:9000" "    default_backend b" \
		"backend b" "    server a 127.0.0.1:8081" > /tmp/haproxy.cfg
	if haproxy -f /tmp/haproxy.cfg -D -p /tmp/haproxy.pid > /tmp/haproxy.log 2>&1; then
		out=$(wait_until 50 km_testcli -n 1 -t 5000 127.0.0.1:9000 2>&1)
		out=$(km_testcli -n 1 -t 5000 127.0.0.1:9000 2>&1)
		if echo "$out" | grep -q '^total ok=1 '; then
			have_haproxy=1
		else
			note "haproxy did not answer: $(echo "$out" | oneline)"
		fi
	else
		note "haproxy did not start: $(oneline < /tmp/haproxy.log)"
	fi
else
	note "haproxy is not in the initramfs (KM_VM_BINS=haproxy): no proxy column"
fi

targets="direct=127.0.0.1:8081 l4=127.100.0.1:80 l7=127.100.0.2:80"
[ $have_haproxy = 1 ] && targets="$targets haproxy=127.0.0.1:9000"
r0=$(counter l7_routed)
out=$(in_app http_conn_bench -n "$COUNT" -r "$ROUNDS" $targets 2>&1)
echo "$out"
echo "$out" | grep -q '^result ' || fail "http_conn_bench: $(echo "$out" | tail -n 3 | oneline)"
echo "$out" | awk '$1 == "result" && $8 != 0 { bad = 1 } END { exit bad }' ||
	fail "requests failed: $(echo "$out" | grep '^result' | oneline)"
r1=$(counter l7_routed)
[ $((r1 - r0)) -ge $((COUNT * ROUNDS)) ] ||
	fail "l7 requests were not routed by kmesh.ko (l7_routed moved by $((r1 - r0)))"
echo "$out" | grep '^result' | while read -r l; do note "$l"; done
mean() { echo "$out" | awk -v n="$1" '$1 == "result" && $2 == n { print $4 }'; }
p50() { echo "$out" | awk -v n="$1" '$1 == "result" && $2 == n { print $6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
note "ratio l7/l4: mean $(ratio "$(mean l7)" "$(mean l4)"), p50 $(ratio "$(p50 l7)" "$(p50 l4)")"
note "ratio vs direct: l4 mean $(ratio "$(mean l4)" "$(mean direct)"), l7 mean $(ratio "$(mean l7)" "$(mean direct)")"
[ $have_haproxy = 1 ] &&
	note "ratio haproxy: /l7 mean $(ratio "$(mean haproxy)" "$(mean l7)"), /direct mean $(ratio "$(mean haproxy)" "$(mean direct)")"

# Route matching at 64 routes: first vs last route of one listener. connect4
# runs twice per L7 connection (the deferral and the re-run with the match).
echo 1 > /proc/sys/kernel/bpf_stats_enabled
# prints "RUNS TOTAL_NS" of km_connect4 from bpftool-free kmeshctl status
runs_ns() {
	kmeshctl status | awk '$1 == "km_connect4" {
		for (i = 1; i <= NF; i++) { if ($i == "runs,") r = $(i - 1); if ($i == "ns/run") n = $(i - 1) }
	} END { printf "%d %d\n", r, r * n }'
}
per_run() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
		if (y[1] > x[1]) printf "%.0f", (y[2] - x[2]) / (y[1] - x[1]); else print "n/a" }'
}
m0=$(runs_ns)
o1=$(in_app http_conn_bench -n "$COUNT" -r 1 first=127.100.0.3:80/r0/x 2>&1)
m1=$(runs_ns)
o2=$(in_app http_conn_bench -n "$COUNT" -r 1 last=127.100.0.3:80/r63/x 2>&1)
m2=$(runs_ns)
echo 0 > /proc/sys/kernel/bpf_stats_enabled
note "64 routes: connect4 ns/run (deferral and re-run averaged) matching route 1: $(per_run "$m0" "$m1"), route 64: $(per_run "$m1" "$m2")"
note "64 routes, latency: $(echo "$o1" | grep '^result' | oneline); $(echo "$o2" | grep '^result' | oneline)"
[ -f /tmp/haproxy.pid ] && kill "$(cat /tmp/haproxy.pid)" 2>/dev/null
pass
