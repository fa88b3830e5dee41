#!/usr/bin/env bash
# Traffic policy over xDS (issue 16): tests/xds/server.js serves clusters and
# listeners in the shapes istiod generates for a DestinationRule with
# connectionPool.tcp.maxConnections, outlierDetection (consecutive5xxErrors:
# listed; consecutiveGatewayErrors: enforced, a dead endpoint is ejected),
# the default LEAST_REQUEST, and consistentHash useSourceIp (RING_HASH);
# kmeshd ACKs them and the behaviour holds with real connects. Root. Ends with "N
# passed, N failed, N skipped".
#
# VIPs 10.90.0.x are dialed from namespace kxp-cli, which has no route to
# them; backends b2..b5 are 10.91.0.2-5:8080 in kxp-srv.
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh
. tests/xds/lib.sh

P=kxp
WORK=$(mktemp -d /tmp/kmesh-xds-policy.XXXXXX)
PIN=/sys/fs/bpf/kmesh-xds-policy
STATE=$WORK/state
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
KMESHD_PID= HOLD_PID=

cleanup() {
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	xds_server_stop >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "xDS traffic policy" "needs root"; report_summary; exit 0
fi
if ! command -v node >/dev/null; then
	skip "xDS traffic policy" "node is not installed (scripts/install-deps.sh)"; report_summary; exit 0
fi

in_app() { km_in "$P/enrolled" "$P-cli" "$@"; }
count_of() { sed -n "s/^count $1 //p" <<< "$2" | grep . || echo 0; }
total_ok() { sed -n 's/^total ok=\([0-9]*\).*/\1/p' <<< "$1"; }

LR=outbound\|80\|\|lr.test.svc.cluster.local
RH=outbound\|80\|\|rh.test.svc.cluster.local
OD=outbound\|80\|\|od.test.svc.cluster.local
# istiod's EDS cluster, as a DestinationRule shapes it (fields kmesh does
# not read included: metadata, filters, typed_extension_protocol_options)
eds_cluster() {	# NAME LB_POLICY EXTRA_JSON
	cat <<-EOT
	{"name":"$1","type":"EDS",
	 "eds_cluster_config":{"eds_config":{"ads":{},"initial_fetch_timeout":"0s","resource_api_version":"V3"},"service_name":"$1"},
	 "connect_timeout":"10s","lb_policy":"$2",
	 "circuit_breakers":{"thresholds":[{"max_connections":4294967295,"max_pending_requests":4294967295,"max_requests":4294967295,"max_retries":4294967295,"track_remaining":true}]},
	 "common_lb_config":{},
	 "metadata":{"filter_metadata":{"istio":{"services":[{"host":"x.test.svc.cluster.local","name":"x","namespace":"test"}]}}}
	 $3}
	EOT
}
cla() {	# cla CLUSTER IP...
	local c=$1 eps="" ip
	shift
	for ip in "$@"; do
		eps="$eps${eps:+,}{\"endpoint\":{\"address\":{\"socket_address\":{\"address\":\"$ip\",\"port_value\":8080}}},\"load_balancing_weight\":1}"
	done
	echo "{\"cluster_name\":\"$c\",\"endpoints\":[{\"locality\":{},\"lb_endpoints\":[$eps],\"load_balancing_weight\":2}]}"
}
tcp_listener() {	# NAME VIP CLUSTER EXTRA_TCP_PROXY_JSON
	echo "{\"name\":\"$1\",\"address\":{\"socket_address\":{\"address\":\"$2\",\"port_value\":80}},\"traffic_direction\":\"OUTBOUND\",\"filter_chains\":[{\"filters\":[{\"name\":\"envoy.filters.network.tcp_proxy\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\",\"stat_prefix\":\"$3\",\"cluster\":\"$3\"$4}}]}]}"
}

# ---- set-up ----------------------------------------------------------------------
km_topo_up "$P" 91
for i in 2 3 4 5; do
	km_backend "$P-srv" "b$i" "10.91.0.$i:8080" || exit 1
done
for i in $(seq 101 108); do
	km_ns "$P-cli" ip addr add "10.91.0.$i/32" dev "$P-c0"
done
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
if ! xds_server_start > "$WORK/server.out" 2>&1; then
	not_ok "the test control plane starts (npm install, node)" "$(tail -5 "$WORK/server.out")"
	report_summary; exit 1
fi

# DestinationRule lr: connectionPool.tcp.maxConnections 2, outlierDetection
# {consecutive5xxErrors 5, interval 10s, baseEjectionTime 30s,
# maxEjectionPercent 100}; DestinationRule od: outlierDetection
# {consecutiveGatewayErrors 2, consecutive5xxErrors 0, interval 1s,
# baseEjectionTime 30s, maxEjectionPercent 50}; as istiod's
# applyOutlierDetection writes them: enforcing_success_rate 0, each
# enforcing_* 100 when its count is set above 0 (else 0), and
# common_lb_config.healthy_panic_threshold 0 (minHealthPercent).
# DestinationRule rh: consistentHash useSourceIp (istiod: RING_HASH with
# ring_hash_lb_config, and source_ip on the TCP listener's tcp_proxy)
od_lr='"outlier_detection":{"consecutive_5xx":5,"enforcing_consecutive_5xx":100,"enforcing_success_rate":0,"interval":"10s","base_ejection_time":"30s","max_ejection_percent":100}'
od_od='"outlier_detection":{"consecutive_5xx":0,"enforcing_consecutive_5xx":0,"consecutive_gateway_failure":2,"enforcing_consecutive_gateway_failure":100,"enforcing_success_rate":0,"interval":"1s","base_ejection_time":"30s","max_ejection_percent":50}'
panic='.common_lb_config.healthy_panic_threshold = {}'
cds=$(jq -c . <<< "[$(eds_cluster "$LR" LEAST_REQUEST ",$od_lr" |
	jq -c ".circuit_breakers.thresholds[0].max_connections = 2 | $panic"),
	$(eds_cluster "$OD" LEAST_REQUEST ",$od_od" | jq -c "$panic"),
	$(eds_cluster "$RH" RING_HASH ',"ring_hash_lb_config":{"minimum_ring_size":"1024"}')]")
xds_push_json cds "$cds" 1 >/dev/null
# od: b2, and 10.91.0.7 where nothing listens (a connect is reset)
xds_push_json eds "[$(cla "$LR" 10.91.0.2 10.91.0.3), $(cla "$OD" 10.91.0.2 10.91.0.7), $(cla "$RH" 10.91.0.2 10.91.0.3 10.91.0.4 10.91.0.5)]" 1 >/dev/null
xds_push_json lds "[$(tcp_listener lr 10.90.0.1 "$LR" ''), $(tcp_listener rh 10.90.0.2 "$RH" ',"hash_policy":[{"source_ip":{}}]'), $(tcp_listener od 10.90.0.3 "$OD" '')]" 1 >/dev/null
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --node-id "sidecar~10.91.0.100~client.test~test.svc.cluster.local" \
	--pin-root "$PIN" --state-dir "$STATE" >> "$LOG" 2>&1 &
KMESHD_PID=$!
if xds_wait_ack cds 1 20 >/dev/null && xds_wait_ack eds 1 20 >/dev/null && xds_wait_ack lds 1 20 >/dev/null; then
	ok "istiod's LEAST_REQUEST, max_connections, outlierDetection and RING_HASH/useSourceIp shapes: ACKed, no NACK"
else not_ok "istiod's traffic policy shapes are ACKed" "$(tail -5 "$LOG")" "$(xds_requests | jq -c '[.[] | select(.error_detail) | .error_detail.message]' | head -c 800)"; fi
"${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null 2>&1 || { sleep 1; "${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null; }

for k in outlier_detection connect_timeout max_pending_requests ring_hash_lb_config; do
	if grep -q "not enforced: $k in" "$LOG"; then ok "not enforced and listed: $k"
	else not_ok "not enforced and listed: $k" "$(grep 'not enforced' "$LOG" | tail -8)"; fi
done
# consecutive5xxErrors is listed (responses are not seen), gateway errors are not
if grep -qF "not enforced: outlier_detection in 1 resource(s), e.g. '$LR'" "$LOG"; then
	ok "outlierDetection: consecutive5xxErrors is listed for its HTTP responses, consecutiveGatewayErrors alone is not"
else not_ok "only the consecutive5xxErrors cluster is listed" "$(grep 'not enforced: outlier' "$LOG" | tail -2)"; fi

# consecutiveGatewayErrors 2: the dead endpoint is ejected after 2 failed
# connects in a row (LEAST_REQUEST picks either), then every connect goes
# to b2 (30 s ejection)
od_ep() {	# od_ep ADDR FIELD
	"${CTL[@]}" -o json dump | jq -r --arg c "$OD" --arg a "$1:8080" \
		".clusters[] | select(.name == \$c) | .endpoints[] | select(.address == \$a) | .$2"
}
fails=0
for _ in $(seq 40); do
	[ "$(od_ep 10.91.0.7 ejected_ms_left)" -gt 0 ] && break
	out=$(in_app "$CLI" -n 1 10.90.0.3:80)
	grep -q '^err connect' <<< "$out" && fails=$((fails + 1))
done
if [ "$(od_ep 10.91.0.7 ejected_ms_left)" -gt 0 ] && [ "$fails" = 2 ] &&
   [ "$("${CTL[@]}" -o json dump | jq --arg c "$OD" '.clusters[] | select(.name == $c) | .outlier_detection.ejections_enforced_total')" = 1 ]; then
	ok "consecutiveGatewayErrors 2: the dead endpoint is ejected after 2 failed connects"
else not_ok "consecutiveGatewayErrors ejects a dead endpoint" "$fails failed connects" "$("${CTL[@]}" dump | grep -A4 od.test)"; fi
out=$(in_app "$CLI" -n 10 10.90.0.3:80)
if [ "$(count_of b2 "$out")" = 10 ]; then
	ok "while it is ejected, 10 of 10 connects go to the live endpoint"
else not_ok "an ejected endpoint gets no connects" "$out"; fi

# LEAST_REQUEST with max_connections 2: two held connections go one to each
# endpoint (the second sees the first's count), the third is refused
# km_in forks on its way to the client, so the client writes its own pid
in_app sh -c 'echo $$ > "$0"; exec "$@"' "$WORK/hold.pid" "$CLI" --keep -n 2 10.90.0.1:80 > "$WORK/hold" 2>&1 &
for _ in $(seq 100); do [ -s "$WORK/hold.pid" ] && grep -q '^total' "$WORK/hold" && break; sleep 0.05; done
HOLD_PID=$(cat "$WORK/hold.pid")
out=$(in_app "$CLI" -n 1 10.90.0.1:80)
if [ "$(count_of b2 "$(cat "$WORK/hold")")" = 1 ] && [ "$(count_of b3 "$(cat "$WORK/hold")")" = 1 ]; then
	ok "LEAST_REQUEST: two held connections, one on each endpoint"
else not_ok "LEAST_REQUEST: two held connections, one on each endpoint" "$(cat "$WORK/hold")"; fi
if grep -q 'errno=ECONNREFUSED' <<< "$out" &&
   [ "$("${CTL[@]}" -o json dump | jq --arg c "$LR" '.clusters[] | select(.name == $c) | .upstream_cx_overflow')" = 1 ]; then
	ok "maxConnections 2: the third connect is refused and counted upstream_cx_overflow"
else not_ok "maxConnections 2 refuses the third connect" "$out" "$("${CTL[@]}" dump | grep -A1 lr.test)"; fi
kill "$HOLD_PID"; HOLD_PID=

# useSourceIp: each source address always reaches the same endpoint
split=0 used=""
for i in $(seq 101 108); do
	out=$(in_app "$CLI" --bind "10.91.0.$i" -n 4 10.90.0.2:80)
	[ "$(grep -c '^count ' <<< "$out")" = 1 ] && [ "$(total_ok "$out")" = 4 ] || split=$((split + 1))
	used="$used $(sed -n 's/^count \([^ ]*\) .*/\1/p' <<< "$out")"
done
n_used=$(tr ' ' '\n' <<< "$used" | sort -u | grep -c .)
if [ "$split" = 0 ] && [ "$n_used" -ge 2 ]; then
	ok "useSourceIp: 8 source addresses, each on one endpoint for 4 connects ($n_used endpoints used)"
else not_ok "useSourceIp: a source address stays on one endpoint" "$split sources split; endpoints:$used"; fi

report_summary
[ "$FAIL" -eq 0 ]
