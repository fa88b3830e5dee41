#!/usr/bin/env bash
# xDS integration tests: kmeshd as an ADS client of tests/xds/server.js (the
# real Envoy protos, via grpc-js), with real traffic through the synced
# services in network namespaces. Root. Ends with "N passed, N failed, N
# skipped".
#
# VIPs 10.94.0.x are dialed from namespace kmx-cli, which has no route to
# them; backends b2..b5 are 10.95.0.2-5:8080 in kmx-srv.
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh
. tests/xds/lib.sh

P=kmx
WORK=$(mktemp -d /tmp/kmesh-xds.XXXXXX)
PIN=/sys/fs/bpf/kmesh-xds
STATE=$WORK/state
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
KMESHD_PID=

cleanup() {
	stop_kmeshd
	km_dns_stop
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	xds_server_stop >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "xDS suite" "needs root"; report_summary; exit 0
fi
if ! command -v node >/dev/null; then
	skip "xDS suite" "node is not installed (scripts/install-deps.sh)"; report_summary; exit 0
fi

start_kmeshd() {	# start_kmeshd [kmeshd flags...]
	"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" \
		--node-id "sidecar~10.95.0.100~client.test~test.svc.cluster.local" \
		--cluster-id Kubernetes --istio-version 1.24.0 --labels app=client,version=v1 \
		--pin-root "$PIN" --state-dir "$STATE" "$@" >> "$LOG" 2>&1 &
	KMESHD_PID=$!
}
stop_kmeshd() {
	[ -n "$KMESHD_PID" ] || return 0
	kill "$KMESHD_PID" 2>/dev/null
	wait "$KMESHD_PID" 2>/dev/null
	KMESHD_PID=
}
cfg() { "${CTL[@]}" -o json config | jq -r ".$1"; }
in_app() { km_in "$P/enrolled" "$P-cli" "$@"; }
count_of() { sed -n "s/^count $1 //p" <<< "$2" | grep . || echo 0; }
total_ok() { sed -n 's/^total ok=\([0-9]*\).*/\1/p' <<< "$1"; }

ep() { echo "{\"endpoint\":{\"address\":{\"socket_address\":{\"address\":\"$1\",\"port_value\":${2:-8080}}}}}"; }
cla() {	# cla CLUSTER IP...
	local c=$1 eps=""
	shift
	for ip in "$@"; do eps="$eps${eps:+,}$(ep "$ip")"; done
	echo "{\"cluster_name\":\"$c\",\"endpoints\":[{\"lb_endpoints\":[$eps]}]}"
}
eds_cluster() { echo "{\"name\":\"$1\",\"type\":\"EDS\",\"lb_policy\":\"ROUND_ROBIN\",\"eds_cluster_config\":{\"eds_config\":{\"ads\":{}}}}"; }
static_cluster() { echo "{\"name\":\"$1\",\"type\":\"STATIC\",\"lb_policy\":\"${3:-ROUND_ROBIN}\",\"load_assignment\":$2}"; }
tcp_listener() {	# NAME VIP CLUSTER
	echo "{\"name\":\"$1\",\"address\":{\"socket_address\":{\"address\":\"$2\",\"port_value\":80}},\"filter_chains\":[{\"filters\":[{\"name\":\"envoy.filters.network.tcp_proxy\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\",\"stat_prefix\":\"$1\",\"cluster\":\"$3\"}}]}]}"
}
expect_backends() {	# NAME VIP N backend=count...
	local name=$1 vip=$2 n=$3 out bad=()
	shift 3
	out=$(in_app "$CLI" -n "$n" -t 3000 "$vip:80")
	for pair in "$@"; do
		local b=${pair%%=*} want=${pair#*=} got
		got=$(count_of "$b" "$out")
		[ "$got" = "$want" ] || bad+=("$b: want $want, got $got")
	done
	if [ ${#bad[@]} -eq 0 ]; then ok "$name"
	else not_ok "$name" "${bad[@]}" "$(grep -E '^(count|total|err)' <<< "$out" | head -5 | tr '\n' ' ')" "$(tail -3 "$LOG")"; fi
}

# ---- set-up --------------------------------------------------------------------
km_topo_up "$P" 95
for i in 2 3 4 5; do
	km_backend "$P-srv" "b$i" "10.95.0.$i:8080" || exit 1
done
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
if ! xds_server_start > "$WORK/server.out" 2>&1; then
	not_ok "the test control plane starts (npm install, node)" "$(tail -5 "$WORK/server.out")"
	report_summary; exit 1
fi

# ---- state of the world ----------------------------------------------------------
xds_push_json cds "[$(eds_cluster svc-a), $(static_cluster svc-b "$(cla svc-b 10.95.0.4 10.95.0.5)")]" 1 >/dev/null
xds_push_json eds "[$(cla svc-a 10.95.0.2 10.95.0.3)]" 1 >/dev/null
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $(tcp_listener vip-b 10.94.0.2 svc-b)]" 1 >/dev/null
start_kmeshd
"${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null 2>&1 || { sleep 1; "${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null; }
if xds_wait_ack cds 1 20 >/dev/null && xds_wait_ack eds 1 20 >/dev/null && xds_wait_ack lds 1 20 >/dev/null; then
	ok "SotW: CDS, EDS and LDS synced and ACKed"
else not_ok "SotW: CDS, EDS and LDS synced and ACKed" "$(tail -5 "$LOG")" "$(xds_requests | jq -c '.[-3:]' 2>/dev/null | head -c 800)"; fi

seq=$(xds_requests | jq -r '[.[] | select(.response_nonce == "") | .type_url | split(".") | .[-1]] | join(",")')
if [ "$seq" = "Cluster,ClusterLoadAssignment,Listener" ]; then
	ok "subscription order CDS, EDS, LDS, each first request with an empty nonce"
else not_ok "subscription order CDS, EDS, LDS" "first requests: $seq"; fi

node=$(xds_requests | jq -c '.[0].node')
if jq -e '.id == "sidecar~10.95.0.100~client.test~test.svc.cluster.local" and .metadata.CLUSTER_ID == "Kubernetes" and .metadata.ISTIO_VERSION == "1.24.0" and .metadata.LABELS.app == "client"' <<< "$node" >/dev/null; then
	ok "node id and metadata as istiod reads them"
else not_ok "node id and metadata as istiod reads them" "$node"; fi

if jq -e '[.[] | select(.type_url | endswith("ClusterLoadAssignment")) | .resource_names] | all(. == ["svc-a"])' <<< "$(xds_requests)" >/dev/null; then
	ok "EDS requests carry the full list of wanted names"
else not_ok "EDS requests carry the full list of wanted names" "$(xds_requests | jq -c '[.[] | select(.type_url | endswith("ClusterLoadAssignment")) | .resource_names]')"; fi

expect_backends "traffic to an EDS service after the sync (round robin)" 10.94.0.1 4 b2=2 b3=2
expect_backends "traffic to a STATIC service after the sync" 10.94.0.2 4 b4=2 b5=2

# ---- updates and deletions --------------------------------------------------------------
xds_push_json eds "[$(cla svc-a 10.95.0.3)]" 2 >/dev/null
xds_wait_ack eds 2 20 >/dev/null
expect_backends "an EDS update takes effect" 10.94.0.1 4 b2=0 b3=4

xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a)]" 2 >/dev/null
xds_wait_ack lds 2 20 >/dev/null
out=$(in_app "$CLI" -n 1 -t 1000 10.94.0.2:80)
if grep -q '^err connect errno=ENETUNREACH' <<< "$out"; then ok "a listener missing from LDS (full state) is deleted"
else not_ok "a listener missing from LDS is deleted" "$out"; fi
xds_push_json cds "[$(eds_cluster svc-a)]" 2 >/dev/null
if xds_wait_ack cds 2 20 >/dev/null && [ "$("${CTL[@]}" -o json status | jq '.maps.clusters')" = 1 ]; then
	ok "a cluster missing from CDS (full state) is deleted"
else not_ok "a cluster missing from CDS is deleted" "$("${CTL[@]}" -o json status | jq -c .maps)"; fi

# ---- NACK ------------------------------------------------------------------------------
xds_push_json cds "[$(eds_cluster svc-a), $(static_cluster bad-one "$(cla bad-one 10.95.0.4)" CLUSTER_PROVIDED)]" 3 >/dev/null
msg=$(xds_wait_nack cds 20 3)
out=$(in_app "$CLI" -n 2 -t 3000 10.94.0.1:80)
if grep -q "bad-one" <<< "$msg" && grep -qi "CLUSTER_PROVIDED" <<< "$msg" && [ "$(total_ok "$out")" = 2 ] &&
   [ "$(cfg cds_version)" = 2 ]; then
	ok "a bad resource is NACKed naming it ($msg); version 2 keeps serving"
else not_ok "a bad resource is NACKed and the previous config keeps routing" "nack: $msg" "$out" "cds_version $(cfg cds_version)"; fi
if "${CTL[@]}" config | grep -q "^cds .*bad-one"; then ok "kmeshctl config shows the last NACK and its reason"
else not_ok "kmeshctl config shows the last NACK" "$("${CTL[@]}" config)"; fi
st1=$("${CTL[@]}" status | grep '^last reload:')
xds_push_json cds "[$(eds_cluster svc-a)]" 4 >/dev/null
xds_wait_ack cds 4 20 >/dev/null
st2=$("${CTL[@]}" status | grep '^last reload:')
if grep -q 'NACKed for cds' <<< "$st1" && [ "$st2" = "last reload: ok" ]; then
	ok "kmeshctl status does not say 'last reload: ok' alone after a NACK, and does after the next ACK"
else not_ok "kmeshctl status after a NACK" "after the NACK: $st1" "after the ACK: $st2"; fi

# ---- reconnect ---------------------------------------------------------------------------
r0=$(cfg reconnects)
xds_restart 1500
fails=0
for _ in 1 2 3; do
	o=$(in_app "$CLI" -n 2 -t 3000 10.94.0.1:80); fails=$((fails + 2 - $(total_ok "$o")))
	sleep 0.3
done
xds_push_json eds "[$(cla svc-a 10.95.0.2)]" 5 >/dev/null
if xds_wait_ack eds 5 30 >/dev/null && [ "$(cfg reconnects)" -gt "$r0" ] && [ $fails = 0 ]; then
	expect_backends "after a control-plane restart: reconnect, resubscribe, updates apply; traffic never stopped" 10.94.0.1 2 b2=2
else not_ok "reconnect after the control plane restarts" "reconnects $r0 -> $(cfg reconnects), failed connects $fails" "$(tail -3 "$LOG")"; fi
xds_drop 14
sleep 1
xds_push_json eds "[$(cla svc-a 10.95.0.3)]" 6 >/dev/null
if xds_wait_ack eds 6 30 >/dev/null; then
	expect_backends "after the stream is reset (UNAVAILABLE): reconnect and resubscribe" 10.94.0.1 2 b3=2
else not_ok "reconnect after a stream reset" "$(cfg last_error)"; fi
# the reset left a last_error; the good stream since then clears it
if [ -z "$(cfg last_error)" ] && [ "$(cfg connected)" = 1 ]; then ok "after a good reconnect last_error is cleared"
else not_ok "after a good reconnect last_error is cleared" "last_error: $(cfg last_error)" "connected: $(cfg connected)"; fi

# ---- what istiod also sends ---------------------------------------------------------------
# An inbound listener whose chains terminate TLS, and a catch-all listener
# matching on prefix_ranges: kmesh cannot evaluate these, so they are
# skipped and counted, and the rest of the LDS response is served.
inbound='{"name":"virtualInbound","address":{"socket_address":{"address":"0.0.0.0","port_value":15006}},"filter_chains":[{"filter_chain_match":{"transport_protocol":"tls"},"transport_socket":{"name":"envoy.transport_sockets.tls","typed_config":{"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"}},"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"in","cluster":"svc-a"}}]}]}'
catchall='{"name":"0.0.0.0_80","address":{"socket_address":{"address":"0.0.0.0","port_value":80}},"filter_chains":[{"filter_chain_match":{"prefix_ranges":[{"address_prefix":"10.94.0.9","prefix_len":32}]},"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"c","cluster":"svc-a"}}]}]}'
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $inbound, $catchall]" 7 >/dev/null
if xds_wait_ack lds 7 20 >/dev/null && [ "$(cfg skipped_listeners)" -ge 1 ] && [ "$(cfg skipped_chains)" -ge 1 ]; then
	expect_backends "istiod's TLS inbound listener is skipped and counted, the rest is served" 10.94.0.1 2 b3=2
	# Envoy serves 10.94.0.9:80 by the 0.0.0.0_80 chain whose prefix_ranges hold it
	expect_backends "a wildcard listener's single-host prefix_ranges chain serves that host" 10.94.0.9 2 b3=2
else not_ok "istiod's inbound and catch-all listeners are accepted, not NACKed" "$("${CTL[@]}" config | head -12)"; fi

# ---- authorization (docs/authz.md) ---------------------------------------------------------
# an inbound listener on svc-a's endpoint: network RBAC denying all refuses
# a connect through the VIP at the endpoint's policy; ext_authz (CUSTOM)
# there is accepted and fails closed; jwt_authn is NACKed naming the
# listener and the filter, and the policy before it stays enforced
in3() {	# in3 FILTER_JSON: the inbound listener on 10.95.0.3:8080
	echo "{\"name\":\"in-3\",\"traffic_direction\":\"INBOUND\",\"address\":{\"socket_address\":{\"address\":\"10.95.0.3\",\"port_value\":8080}},\"filter_chains\":[{\"filters\":[$1,{\"name\":\"envoy.filters.network.tcp_proxy\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\",\"stat_prefix\":\"in3\",\"cluster\":\"svc-a\"}}]}]}"
}
row() { "${CTL[@]}" -o json authz | jq -r --arg p "$1" --arg f "$2" '[.policies[] | select(.name | contains($p))][0][$f]'; }
deny_all='{"name":"envoy.filters.network.rbac","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC","stat_prefix":"in3","rules":{"action":"DENY","policies":{"deny-all":{"permissions":[{"any":true}],"principals":[{"any":true}]}}}}}'
ext_authz='{"name":"envoy.filters.network.ext_authz","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz","stat_prefix":"in3"}}'
jwt='{"name":"envoy.filters.network.jwt","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"}}'
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $(in3 "$deny_all")]" az1 >/dev/null
out=$(xds_wait_ack lds az1 20 >/dev/null && in_app "$CLI" -n 1 -t 3000 10.94.0.1:80)
if grep -q '^err connect errno=ECONNREFUSED' <<< "$out" && [ "$(row deny-all denied)" = 1 ]; then
	ok "LDS network RBAC on an inbound listener: a connect to its endpoint is refused (ECONNREFUSED), counted on the policy"
else not_ok "LDS network RBAC on an inbound listener is enforced" "$out" "$("${CTL[@]}" authz 2>&1 | tail -4)"; fi
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $(in3 "$ext_authz")]" az2 >/dev/null
out=$(xds_wait_ack lds az2 20 >/dev/null && in_app "$CLI" -n 1 -t 3000 10.94.0.1:80)
if grep -q '^err connect errno=ECONNREFUSED' <<< "$out" && [ "$(row "ext_authz 'envoy.filters.network.ext_authz': no ALLOW policy matched" fail_closed)" = 1 ] &&
   grep -q "authorization: listener 'in-3': chain 0: ext_authz 'envoy.filters.network.ext_authz': policy 'CUSTOM': CUSTOM authorization" "$LOG"; then
	ok "LDS ext_authz (CUSTOM): accepted, fails closed (ECONNREFUSED, counted fail_closed, said in the log)"
else not_ok "LDS ext_authz fails closed" "$out" "$("${CTL[@]}" authz 2>&1 | tail -4)" "$(grep authorization "$LOG" | tail -2)"; fi
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $(in3 "$jwt")]" az3 >/dev/null
msg=$(xds_wait_nack lds 20 az3)
out=$(in_app "$CLI" -n 1 -t 3000 10.94.0.1:80)
if grep -q "listener 'in-3': filter_chains\[0\]: filter 'envoy.filters.network.jwt': jwt_authn rejects requests and kmesh does not verify tokens: refused" <<< "$msg" &&
   grep -q '^err connect errno=ECONNREFUSED' <<< "$out"; then
	ok "jwt_authn is NACKed naming the listener and the filter; the policy before it keeps being enforced"
else not_ok "jwt_authn NACKed, previous policy kept" "nack: $msg" "$out"; fi

# ---- RDS: an HTTP listener's route config, compiled into a route table ---------------
hcm_listener() {	# NAME VIP ROUTE_CONFIG
	echo "{\"name\":\"$1\",\"address\":{\"socket_address\":{\"address\":\"$2\",\"port_value\":80}},\"filter_chains\":[{\"filters\":[{\"name\":\"envoy.filters.network.http_connection_manager\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\",\"stat_prefix\":\"$1\",\"rds\":{\"route_config_name\":\"$3\",\"config_source\":{\"ads\":{}}}}}]}]}"
}
route_config() {	# NAME MATCH_JSON: MATCH -> svc-a, then prefix / -> svc-a
	echo "{\"name\":\"$1\",\"virtual_hosts\":[{\"name\":\"all\",\"domains\":[\"*\"],\"routes\":[{\"name\":\"first\",\"match\":$2,\"route\":{\"cluster\":\"svc-a\"}},{\"name\":\"default\",\"match\":{\"prefix\":\"/\"},\"route\":{\"cluster\":\"svc-a\"}}]}]}"
}
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $(hcm_listener web 10.94.0.3 web-routes)]" 8 >/dev/null
xds_push_json rds "[$(route_config web-routes '{"path_separated_prefix":"/b"}')]" 1 >/dev/null
if xds_wait_ack lds 8 20 >/dev/null && xds_wait_ack rds 1 20 >/dev/null &&
   "${CTL[@]}" -o json dump | jq -e '[.. | objects | select(.listener? == "web")][0] | .http == true' >/dev/null; then
	# no kmesh.ko on this kernel: served as L4 to the default route
	expect_backends "RDS: the HTTP listener's route config arrives, is compiled into a route table and served" 10.94.0.3 2 b3=2
else not_ok "RDS: the HTTP listener's route config arrives and is compiled" "$(tail -3 "$LOG")" "$("${CTL[@]}" dump | grep -A2 web)"; fi
xds_push_json rds "[$(route_config web-routes '{"safe_regex":{"regex":"^/b.*"}}')]" 2 >/dev/null
if xds_wait_ack rds 2 20 >/dev/null && [ "$(cfg rds_version)" = 2 ]; then
	expect_backends "RDS: a safe_regex route is compiled (a DFA in the route table) and ACKed" 10.94.0.3 2 b3=2
else not_ok "RDS: a safe_regex route is ACKed" "$(tail -3 "$LOG")" "rds_version $(cfg rds_version)"; fi
# one whose DFA would be too big: NACKed naming the route, the pattern, why
xds_push_json rds "[$(route_config web-routes '{"safe_regex":{"regex":"/(a|b)*a(a|b){12}"}}')]" 2x >/dev/null
msg=$(xds_wait_nack rds 20 2x)
if grep -qF "route_config 'web-routes': virtual_host 'all': route 'first': match: safe_regex '/(a|b)*a(a|b){12}': the DFA would need more than 1024 states" <<< "$msg" &&
   [ "$(cfg rds_version)" = 2 ]; then
	expect_backends "RDS: a safe_regex over the DFA state limit is NACKed ($msg); version 2 keeps serving" 10.94.0.3 2 b3=2
else not_ok "RDS: a safe_regex over the state limit is NACKed naming it" "nack: $msg" "rds_version $(cfg rds_version)"; fi

# ---- istiod's shapes: port-wide HTTP listener, current HTTP chain match, inbound -------
# 0.0.0.0_80 + RDS "80": the service's virtual host names its ClusterIP
# 10.94.0.5 (-> svc-c, b4); "*" goes to svc-a (b3) and must not serve it.
# 10.94.0.7_80 is INBOUND (a pod-IP listener): never a frontend.
hcm_rds() {	# STAT_PREFIX ROUTE_CONFIG
	echo "{\"name\":\"envoy.filters.network.http_connection_manager\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\",\"stat_prefix\":\"$1\",\"rds\":{\"route_config_name\":\"$2\",\"config_source\":{\"ads\":{}}}}}"
}
portwide="{\"name\":\"0.0.0.0_80\",\"traffic_direction\":\"OUTBOUND\",\"address\":{\"socket_address\":{\"address\":\"0.0.0.0\",\"port_value\":80}},\"filter_chains\":[{\"filter_chain_match\":{\"transport_protocol\":\"raw_buffer\",\"application_protocols\":[\"http/1.1\",\"h2c\"]},\"filters\":[$(hcm_rds pw 80)]}]}"
inbound_pod=$(tcp_listener 10.94.0.7_80 10.94.0.7 svc-a | jq -c '.traffic_direction = "INBOUND"')
rc80='{"name":"80","virtual_hosts":[{"name":"svc-c.test.svc.cluster.local:80","domains":["svc-c.test.svc.cluster.local","10.94.0.5","10.94.0.5:80"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"svc-c"}}]},{"name":"allow_any","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"svc-a"}}]}]}'
xds_push_json cds "[$(eds_cluster svc-a), $(static_cluster svc-c "$(cla svc-c 10.95.0.4)")]" 5 >/dev/null
xds_push_json rds "[$rc80]" 3 >/dev/null
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $portwide, $inbound_pod]" 8p >/dev/null
if xds_wait_ack cds 5 20 >/dev/null && xds_wait_ack lds 8p 20 >/dev/null && xds_wait_ack rds 3 20 >/dev/null; then
	# no kmesh.ko on this kernel: each VIP at L4 by its own virtual host
	expect_backends "port-wide HTTP listener (0.0.0.0_80 + RDS, raw_buffer + [http/1.1, h2c]): the ClusterIP in a virtual host's domains is served by that host's route" 10.94.0.5 2 b4=2
	out=$(in_app "$CLI" -n 1 -t 1000 10.94.0.6:80)
	if grep -q '^err connect errno=ENETUNREACH' <<< "$out"; then ok "port-wide HTTP listener: an address no virtual host names is left alone"
	else not_ok "port-wide HTTP listener: other addresses left alone" "$out"; fi
	out=$(in_app "$CLI" -n 1 -t 1000 10.94.0.7:80)
	if grep -q '^err connect errno=ENETUNREACH' <<< "$out" && grep -q "inbound listener(s) kept, not served.*10.94.0.7_80" "$LOG"; then
		ok "an INBOUND listener (traffic_direction) is kept and listed, never a frontend"
	else not_ok "an INBOUND listener is never a frontend" "$out" "$(grep inbound "$LOG" | tail -2)"; fi
else not_ok "istiod's port-wide HTTP listener and inbound listener are accepted" "$(tail -3 "$LOG")" "$("${CTL[@]}" config | head -12)"; fi

# ---- partial acceptance, routes to clusters CDS lacks (validate_clusters false) ---------
# A DestinationRule subset renamed (sub-v2 -> sub-v3) while its VirtualService
# moves to it: istiod pushes CDS without sub-v2 before RDS names sub-v3. Both
# must be accepted (no CDS/RDS deadlock); in between, the route to the gone
# cluster is refused and counted no_cluster. The CDS response also holds a bad
# cluster: it alone is NACKed, the rest applied.
sub_routes() { echo "{\"name\":\"sub-routes\",\"virtual_hosts\":[{\"name\":\"all\",\"domains\":[\"*\"],\"routes\":[{\"match\":{\"prefix\":\"/\"},\"route\":{\"cluster\":\"$1\"}}]}]}"; }
xds_push_json cds "[$(eds_cluster svc-a), $(static_cluster sub-v2 "$(cla sub-v2 10.95.0.4)")]" 6 >/dev/null
xds_push_json rds "[$(sub_routes sub-v2)]" 4 >/dev/null
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $(hcm_listener web 10.94.0.3 sub-routes)]" 8s >/dev/null
if xds_wait_ack cds 6 20 >/dev/null && xds_wait_ack rds 4 20 >/dev/null && xds_wait_ack lds 8s 20 >/dev/null; then
	expect_backends "subset rename: before, the route's subset cluster serves" 10.94.0.3 2 b4=2
	nc0=$("${CTL[@]}" -o json status | jq -r .counters.no_cluster)
	xds_push_json cds "[$(eds_cluster svc-a), $(static_cluster sub-v3 "$(cla sub-v3 10.95.0.5)"), $(static_cluster bad-three "$(cla bad-three 10.95.0.4)" CLUSTER_PROVIDED)]" 7 >/dev/null
	msg=$(xds_wait_nack cds 20 7)
	out=$(in_app "$CLI" -n 1 -t 1000 10.94.0.3:80)
	nc1=$("${CTL[@]}" -o json status | jq -r .counters.no_cluster)
	if grep -q "bad-three" <<< "$msg" && ! grep -q "sub-v" <<< "$msg" &&
	   grep -q '^err connect errno=ECONNREFUSED' <<< "$out" && [ "$((nc1 - nc0))" = 1 ]; then
		ok "partial CDS: only the bad cluster is NACKed ($msg); the route to the dropped subset is refused, counted no_cluster"
	else not_ok "partial CDS acceptance and no_cluster" "nack: $msg" "$out" "no_cluster $nc0 -> $nc1" "$(tail -3 "$LOG")"; fi
	xds_push_json rds "[$(sub_routes sub-v3)]" 5 >/dev/null
	if xds_wait_ack rds 5 20 >/dev/null; then
		expect_backends "subset rename: RDS naming the new subset is accepted after CDS (no deadlock) and serves it" 10.94.0.3 2 b5=2
	else not_ok "subset rename: RDS naming the new subset is accepted" "$(cfg rds_last_nack 2>/dev/null)" "$(tail -3 "$LOG")"; fi
else not_ok "subset rename: the first state is accepted" "$(tail -3 "$LOG")"; fi

xds_push_json cds "[$(eds_cluster svc-a)]" 8c >/dev/null
xds_wait_ack cds 8c 20 >/dev/null
xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a)]" 9 >/dev/null
xds_wait_ack lds 9 20 >/dev/null
# no listener names a route config any more: none is left in the state
if [ "$(cfg rds_resources)" = 0 ]; then ok "route configs no listener names are dropped from 'kmeshctl config'"
else not_ok "stale RDS state dropped" "rds_resources: $(cfg rds_resources)"; fi

# GOAWAY (a control plane shutting down gracefully): reconnect at once
r0=$(cfg reconnects)
xds_goaway 100 >/dev/null
xds_push_json eds "[$(cla svc-a 10.95.0.2)]" 8 >/dev/null
if xds_wait_ack eds 8 30 >/dev/null && [ "$(cfg reconnects)" -gt "$r0" ]; then
	expect_backends "after GOAWAY: reconnect and resubscribe" 10.94.0.1 2 b2=2
else not_ok "reconnect after GOAWAY" "$(cfg last_error)" "reconnects $r0 -> $(cfg reconnects)"; fi

# ---- Delta --------------------------------------------------------------------------------
stop_kmeshd

# ---- connected means HTTP/2 is up, not a TCP connect ---------------------------------------
# a server that accepts TCP and never speaks HTTP/2
node -e 'const s = require("net").createServer(() => {}); s.listen(0, "127.0.0.1", () => console.log(s.address().port));' > "$WORK/silent.port" &
silent_pid=$!
for _ in $(seq 50); do [ -s "$WORK/silent.port" ] && break; sleep 0.1; done
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$(head -1 "$WORK/silent.port")" --node-id silent \
	--pin-root "$PIN" --state-dir "$STATE" >> "$LOG" 2>&1 &
KMESHD_PID=$!
sleep 2
c_silent=$(cfg connected)
stop_kmeshd
kill "$silent_pid" 2>/dev/null; wait "$silent_pid" 2>/dev/null
if [ "$c_silent" = 0 ]; then ok "connected stays 0 while the server accepts TCP but HTTP/2 is not up"
else not_ok "connected only after HTTP/2 is up" "connected: $c_silent"; fi

start_kmeshd --xds-delta
if xds_wait_streams 1 20 >/dev/null && sleep 1 &&
   [ "$(xds_requests | jq '[.[] | select(.kind == "delta")] | length')" -gt 0 ]; then
	xds_push_json lds "[$(tcp_listener vip-a 10.94.0.1 svc-a), $(tcp_listener vip-b 10.94.0.2 svc-a)]" 9 >/dev/null
	sleep 1
	expect_backends "Delta: subscribe, sync, and a new listener is served" 10.94.0.2 2 b2=2
	xds_patch_json eds '{"remove":["svc-a"]}' >/dev/null
	sleep 1
	out=$(in_app "$CLI" -n 1 -t 2000 10.94.0.1:80)
	if grep -q '^err connect errno=ECONNREFUSED' <<< "$out"; then ok "Delta: removed_resources drops the endpoints (refused)"
	else not_ok "Delta: removed_resources drops the endpoints" "$out" "$("${CTL[@]}" config)"; fi
	# a bad resource: NACKed with its name, the last accepted set serves
	xds_push_json cds "[$(eds_cluster svc-a), $(static_cluster bad-two "$(cla bad-two 10.95.0.4)" CLUSTER_PROVIDED)]" 10 >/dev/null
	msg=$(xds_wait_nack cds 20 10)
	if grep -q "bad-two" <<< "$msg" && [ "$("${CTL[@]}" -o json status | jq '.maps.clusters')" = 1 ]; then
		ok "Delta: a bad resource is NACKed naming it ($msg)"
	else not_ok "Delta: a bad resource is NACKed" "nack: $msg"; fi
	# reconnect: resubscribe with initial_resource_versions
	xds_drop 14
	sleep 1.5
	xds_patch_json eds "{\"upsert\":[$(cla svc-a 10.95.0.5)]}" >/dev/null
	sleep 1.5
	ivr=$(xds_requests | jq '[.[] | select(.kind == "delta" and .first_for_type and ((.initial_resource_versions // {}) | length) > 0)] | length')
	if [ "$ivr" -gt 0 ]; then
		expect_backends "Delta: after a reset, resubscribe with initial_resource_versions; updates apply" 10.94.0.1 2 b5=2
	else not_ok "Delta: resubscribe with initial_resource_versions after a reset" "$(xds_requests | jq -c '[.[] | select(.kind == "delta")][-4:]' | head -c 600)"; fi
else not_ok "Delta: kmeshd speaks DeltaAggregatedResources" "$(tail -3 "$LOG")"; fi
stop_kmeshd

# ---- node identity from the config file (Envoy bootstrap node) ----------------------
cat > "$WORK/boot.yaml" <<'EOT'
node:
  id: sidecar~10.95.0.101~fromfile.test~test.svc.cluster.local
  metadata: { CLUSTER_ID: FromFile, ISTIO_VERSION: "1.25.0", LABELS: { app: file } }
EOT
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --config "$WORK/boot.yaml" \
	--pin-root "$PIN" --state-dir "$STATE" >> "$LOG" 2>&1 &
KMESHD_PID=$!
sleep 2
node=$(xds_requests | jq -c '[.[] | select(.node != null)][-1].node')
if jq -e '.id == "sidecar~10.95.0.101~fromfile.test~test.svc.cluster.local" and .metadata.CLUSTER_ID == "FromFile" and .metadata.LABELS.app == "file"' <<< "$node" >/dev/null; then
	ok "node id and metadata from a config file holding only the bootstrap node"
else not_ok "node id and metadata from the config file" "$node" "$(tail -2 "$LOG")"; fi
stop_kmeshd

# ---- DNS clusters from CDS (a ServiceEntry with resolution DNS) -----------------------------
# names resolved by kmeshd through a DNS server the test controls
# (km_dns_stub, tests/host/lib.sh)
dns_cluster() {	# NAME TYPE HOST...: port 8080, V4_ONLY, refreshed every 0.2 s
	local n=$1 t=$2 eps=""
	shift 2
	for h in "$@"; do eps="$eps${eps:+,}$(ep "$h")"; done
	echo "{\"name\":\"$n\",\"type\":\"$t\",\"lb_policy\":\"ROUND_ROBIN\",\"dns_lookup_family\":\"V4_ONLY\",\"dns_refresh_rate\":\"0.2s\",\"respect_dns_ttl\":false,\"load_assignment\":{\"cluster_name\":\"$n\",\"endpoints\":[{\"lb_endpoints\":[$eps]}]}}"
}
dns_addrs() { "${CTL[@]}" -o json dns 2>/dev/null | jq -c "[.names[] | select(.name == \"$1\") | .addresses[]]"; }
wait_dns_addrs() {	# NAME JSON-ARRAY (10 s)
	for _ in $(seq 200); do [ "$(dns_addrs "$1")" = "$2" ] && return 0; sleep 0.05; done
	return 1
}
km_dns_zone "$WORK/zone" "ext.kmesh.test A 10.95.0.3" "ext.kmesh.test A 10.95.0.4" "one.kmesh.test A 10.95.0.5"
if km_dns_start "$WORK/zone" "$WORK/dns.log"; then
	xds_push_json cds "[$(dns_cluster ext STRICT_DNS ext.kmesh.test), $(dns_cluster one LOGICAL_DNS one.kmesh.test)]" dns-1 >/dev/null
	xds_push_json lds "[$(tcp_listener vip-ext 10.94.0.20 ext), $(tcp_listener vip-one 10.94.0.21 one)]" dns-1 >/dev/null
	start_kmeshd --dns-server "$KM_DNS_SERVER"
	if xds_wait_ack cds dns-1 20 >/dev/null && xds_wait_ack lds dns-1 20 >/dev/null &&
	   wait_dns_addrs ext.kmesh.test '["10.95.0.3","10.95.0.4"]' && wait_dns_addrs one.kmesh.test '["10.95.0.5"]'; then
		ok "CDS: STRICT_DNS and LOGICAL_DNS clusters (Envoy's dns_lookup_family, dns_refresh_rate, respect_dns_ttl) are ACKed and their names resolved"
	else not_ok "CDS: STRICT_DNS and LOGICAL_DNS clusters ACKed and resolved" "$(tail -3 "$LOG")" "$("${CTL[@]}" dns 2>&1)"; fi
	expect_backends "CDS STRICT_DNS: connects reach every resolved address" 10.94.0.20 4 b3=2 b4=2
	expect_backends "CDS LOGICAL_DNS: connects reach the resolved address" 10.94.0.21 2 b5=2
	km_dns_zone "$WORK/zone" "ext.kmesh.test A 10.95.0.2" "one.kmesh.test A 10.95.0.5"
	if wait_dns_addrs ext.kmesh.test '["10.95.0.2"]'; then
		expect_backends "CDS STRICT_DNS: a changed answer moves new connects (no xDS push)" 10.94.0.20 3 b2=3
	else not_ok "CDS STRICT_DNS: a changed answer moves new connects" "$(dns_addrs ext.kmesh.test)"; fi
	# Envoy's rule, per resource: the bad cluster is NACKed, the rest stays
	xds_push_json cds "[$(dns_cluster ext STRICT_DNS ext.kmesh.test), $(dns_cluster one LOGICAL_DNS one.kmesh.test two.kmesh.test)]" dns-2 >/dev/null
	msg=$(xds_wait_nack cds 20 dns-2)
	if grep -q "cluster 'one': LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint" <<< "$msg"; then
		expect_backends "CDS: a LOGICAL_DNS cluster with two endpoints is NACKed with Envoy's reason; its last version serves" 10.94.0.21 2 b5=2
	else not_ok "CDS: a LOGICAL_DNS cluster with two endpoints is NACKed" "nack: $msg"; fi
	stop_kmeshd
	km_dns_stop
else not_ok "the DNS test server starts" "$(cat "$WORK/dns.log")"; fi

# ---- size ----------------------------------------------------------------------------------
start_kmeshd
xds_wait_streams 1 20 >/dev/null
# a version no earlier response used: an old ACK of the same string would
# end the waits below before the big responses are applied
gen=$(xds_generate 10000 10 scale-1)
# EDS names follow CDS: the endpoints come in the answer to the request
# that subscribes to the new clusters, which may land after the LDS ACK
maps_full() {
	local end=$((SECONDS + 120)) m
	while [ $SECONDS -lt $end ]; do
		m=$("${CTL[@]}" -o json status | jq -c '[.maps.frontends, .maps.endpoints]')
		[ "$m" = "[10000,100000]" ] && return 0
		sleep 0.5
	done
	return 1
}
if xds_wait_ack cds "$(jq -r .cds.version <<< "$gen")" 120 >/dev/null &&
   xds_wait_ack eds "$(jq -r .eds.version <<< "$gen")" 120 >/dev/null &&
   xds_wait_ack lds "$(jq -r .lds.version <<< "$gen")" 120 >/dev/null && maps_full; then
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$KMESHD_PID/status")
	ok "one response with 10,000 clusters and 100,000 endpoints: applied and ACKed (last response $(cfg last_response_bytes) bytes in $(cfg last_response_ms) ms; kmeshd RSS $((rss / 1024)) MB)"
else not_ok "10,000 clusters and 100,000 endpoints" "$gen" "$(tail -3 "$LOG")" "$("${CTL[@]}" -o json status | jq -c .maps)" "$(xds_requests | jq -c "[.[-6:][] | {t: (.type_url | split(\".\") | .[-1]), v: .version_info, e: .error_detail.message}]" | head -c 1500)"; fi

report_summary
[ "$FAIL" -eq 0 ]
