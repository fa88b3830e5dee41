#!/usr/bin/env bash
# Istio fidelity over xDS (issue 12): shapes istiod sends that kmesh must
# serve as Envoy does, or list as not enforced, or refuse with a reason;
# never drop silently. kmeshd as an ADS client of tests/xds/server.js, real
# connects from namespace kmf-cli (no route out; VIPs 10.91.0.x exist
# nowhere) to backends b2..b5 = 10.92.0.2-5:8080 in kmf-srv. Root; host
# state, so run it under flock /tmp/kmesh-host.lock. Ends with "N passed,
# N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh
. tests/xds/lib.sh

P=kmf
WORK=$(mktemp -d /tmp/kmesh-fidelity.XXXXXX)
PIN=/sys/fs/bpf/kmesh-fidelity
STATE=$WORK/state
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
KMESHD_PID=

stop_kmeshd() {
	[ -n "$KMESHD_PID" ] || return 0
	kill "$KMESHD_PID" 2>/dev/null
	wait "$KMESHD_PID" 2>/dev/null
	KMESHD_PID=
}
cleanup() {
	stop_kmeshd
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	xds_server_stop >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "xDS fidelity" "needs root"; report_summary; exit 0
fi
if ! command -v node >/dev/null; then
	skip "xDS fidelity" "node is not installed (scripts/install-deps.sh)"; report_summary; exit 0
fi

start_kmeshd() {	# start_kmeshd [kmeshd flags...]
	"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" \
		--node-id "sidecar~10.92.0.100~client.test~test.svc.cluster.local" \
		--pin-root "$PIN" --state-dir "$STATE" "$@" >> "$LOG" 2>&1 &
	KMESHD_PID=$!
	xds_wait_streams 1 20 >/dev/null
	for _ in $(seq 50); do "${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null 2>&1 && break; sleep 0.2; done
}
in_app() { km_in "$P/enrolled" "$P-cli" "$@"; }
count_of() { sed -n "s/^count $1 //p" <<< "$2" | grep . || echo 0; }
counter() { "${CTL[@]}" -o json status | jq -r ".counters.$1"; }

ep() { echo "{\"endpoint\":{\"address\":{\"socket_address\":{\"address\":\"$1\",\"port_value\":8080}}}}"; }
cla() {	# cla CLUSTER IP...
	local c=$1 eps=""
	shift
	for ip in "$@"; do eps="$eps${eps:+,}$(ep "$ip")"; done
	echo "{\"cluster_name\":\"$c\",\"endpoints\":[{\"lb_endpoints\":[$eps]}]}"
}
eds_cluster() { echo "{\"name\":\"$1\",\"type\":\"EDS\",\"eds_cluster_config\":{\"eds_config\":{\"ads\":{}}}}"; }
tcp_proxy() { echo "{\"name\":\"envoy.filters.network.tcp_proxy\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\",\"stat_prefix\":\"$1\",\"cluster\":\"$1\"}}"; }
hcm_rds() { echo "{\"name\":\"envoy.filters.network.http_connection_manager\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\",\"stat_prefix\":\"h\",\"rds\":{\"route_config_name\":\"$1\",\"config_source\":{\"ads\":{}}},\"http_filters\":[{\"name\":\"envoy.filters.http.router\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\"}}]}}"; }
listener() {	# NAME VIP CHAINS_JSON [EXTRA_FIELDS_JSON]
	echo "{\"name\":\"$1\",\"traffic_direction\":\"OUTBOUND\",\"address\":{\"socket_address\":{\"address\":\"$2\",\"port_value\":80}},\"filter_chains\":$3${4:+,$4}}"
}
expect_backend() {	# NAME VIP BACKEND
	local out
	out=$(in_app "$CLI" -n 2 -t 3000 "$2:80")
	if [ "$(count_of "$3" "$out")" = 2 ]; then ok "$1"
	else not_ok "$1" "$(grep -E '^(ok|err|count)' <<< "$out" | head -4 | tr '\n' ' ')" "$(tail -3 "$LOG")"; fi
}
# push_all VERSION CDS EDS LDS RDS: every type, then wait for the ACKs
push_all() {
	local v=$1
	xds_push_json cds "$2" "$v" >/dev/null
	xds_push_json eds "$3" "$v" >/dev/null
	xds_push_json rds "$5" "$v" >/dev/null
	xds_push_json lds "$4" "$v" >/dev/null
	xds_wait_ack cds "$v" 20 >/dev/null && xds_wait_ack lds "$v" 20 >/dev/null
}

# ---- set-up --------------------------------------------------------------------
km_topo_up "$P" 92
for i in 2 3 4 5; do
	km_backend "$P-srv" "b$i" "10.92.0.$i:8080" || exit 1
done
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
if ! xds_server_start > "$WORK/server.out" 2>&1; then
	not_ok "the test control plane starts (npm install, node)" "$(tail -5 "$WORK/server.out")"
	report_summary; exit 1
fi
start_kmeshd

# ---- Istio's BlackHoleCluster is STATIC without endpoints ------------------------
# An EDS ClusterLoadAssignment of the same name (left from when the name was
# an EDS cluster, or sent by mistake) must not give it endpoints: only EDS
# clusters take ClusterLoadAssignments, as in Envoy.
bh='{"name":"BlackHoleCluster","type":"STATIC"}'
if push_all bh1 "[$bh, $(eds_cluster svc-a)]" "[$(cla BlackHoleCluster 10.92.0.4), $(cla svc-a 10.92.0.2)]" \
	"[$(listener bh 10.91.0.1 "[{\"filters\":[$(tcp_proxy BlackHoleCluster)]}]")]" '[]'; then
	b0=$(counter blackhole)
	out=$(in_app "$CLI" -n 1 -t 2000 10.91.0.1:80)
	if grep -q '^err connect errno=ECONNREFUSED' <<< "$out" && [ "$(counter blackhole)" = $((b0 + 1)) ]; then
		ok "BlackHoleCluster (STATIC, no load_assignment) refuses the connect, whatever EDS holds under its name"
	else not_ok "BlackHoleCluster refuses the connect" "$out" "blackhole $b0 -> $(counter blackhole)"; fi
	if ! xds_requests | jq -e '[.[] | select(.type_url | endswith("ClusterLoadAssignment")) | .resource_names[]?] | index("BlackHoleCluster")' >/dev/null; then
		ok "EDS subscribes to EDS clusters only (not to a STATIC cluster without load_assignment)"
	else not_ok "EDS subscribes to EDS clusters only" "$(xds_requests | jq -c '[.[] | select(.type_url | endswith("ClusterLoadAssignment")) | .resource_names][-1]')"; fi
else not_ok "BlackHoleCluster config accepted" "$(tail -3 "$LOG")"; fi

# ---- a sniffed port as istiod sends it today -------------------------------------
# The HTTP chain matches raw_buffer + [http/1.1, h2c]; the TCP side is the
# listener's default_filter_chain. Without kmesh.ko the connect is served
# as the TCP side (svc-t, b3), not as the HTTP chain's default route
# (svc-h, b4).
http_chain="{\"filter_chain_match\":{\"transport_protocol\":\"raw_buffer\",\"application_protocols\":[\"http/1.1\",\"h2c\"]},\"filters\":[$(hcm_rds sniffed)]}"
rc='{"name":"sniffed","virtual_hosts":[{"name":"h","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"svc-h"}}]}]}'
if push_all sn1 "[$(eds_cluster svc-t), $(eds_cluster svc-h)]" "[$(cla svc-t 10.92.0.3), $(cla svc-h 10.92.0.4)]" \
	"[$(listener sniffed 10.91.0.2 "[$http_chain]" "\"default_filter_chain\":{\"filters\":[$(tcp_proxy svc-t)]}")]" "[$rc]" &&
   xds_wait_ack rds sn1 20 >/dev/null; then
	expect_backend "default_filter_chain: a sniffed port's TCP side (istiod's current shape) serves it at L4" 10.91.0.2 b3
else not_ok "default_filter_chain config accepted" "$(tail -3 "$LOG")" "$(xds_wait_nack lds 1 sn1 2>&1)"; fi

# ---- REGISTRY_ONLY: istiod's block_all, a direct_response 502 --------------------
# Accepted, not NACKed: the route is compiled to a local reply that kmeshd's
# responder writes (docs/l7.md, "Local replies"), and kmeshctl explain names
# it. kmf-cli is another network namespace than kmeshd's and is not
# enrolled itself (only the client's cgroup is), so the responder does not
# listen there: the connect fails (docs/l7.md, "Network namespaces"), and
# is never let through to the address dialed. tests/host/reply.sh has the
# enrolled-namespace case, answered.
block_rc='{"name":"blocked","virtual_hosts":[{"name":"block_all","domains":["*"],"routes":[{"name":"block_all","match":{"prefix":"/"},"direct_response":{"status":502}}]}]}'
if push_all ro1 "[$(eds_cluster svc-t)]" "[$(cla svc-t 10.92.0.3)]" \
	"[$(listener blocked 10.91.0.6 "[{\"filters\":[$(hcm_rds blocked)]}]")]" "[$block_rc]" &&
   xds_wait_ack rds ro1 20 >/dev/null; then
	out=$(in_app "$CLI" -n 1 -t 2000 10.91.0.6:80)
	ex=$("${CTL[@]}" explain --path / blocked 2>&1)
	if grep -q '^err ' <<< "$out" && ! grep -q '^count ' <<< "$out" &&
	   grep -q "(direct_response 502): a local reply, written by kmeshd's responder" <<< "$ex"; then
		ok "REGISTRY_ONLY's block_all (direct_response 502) is accepted and explained as a local reply; from another network namespace the connect fails ($(grep '^err' <<< "$out" | head -n 1))"
	else not_ok "REGISTRY_ONLY's block_all accepted" "$out" "$ex"; fi
else not_ok "REGISTRY_ONLY's block_all accepted" "$(tail -3 "$LOG")" "$(xds_wait_nack rds 1 ro1 2>&1)"; fi

# ---- no silent drops: enforced, refused, or listed as not enforced -----------------
# svc-n carries what istiod puts on every cluster: a connect timeout,
# outlier detection, and auto mTLS (transport_socket_matches, Istio's
# certificates). Its listener has istio.stats and a tcp_proxy idle timeout.
tls_ctx='{"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext","common_tls_context":{"tls_certificate_sds_secret_configs":[{"name":"default"}],"combined_validation_context":{"default_validation_context":{},"validation_context_sds_secret_config":{"name":"ROOTCA"}}},"sni":"outbound_.80_._.svc-n.test.svc.cluster.local"}'
mtls_matches="[{\"name\":\"tlsMode-istio\",\"match\":{\"tlsMode\":\"istio\"},\"transport_socket\":{\"name\":\"envoy.transport_sockets.tls\",\"typed_config\":$tls_ctx}},{\"name\":\"tlsMode-disabled\",\"match\":{},\"transport_socket\":{\"name\":\"envoy.transport_sockets.raw_buffer\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer\"}}}]"
svc_n="{\"name\":\"svc-n\",\"type\":\"EDS\",\"eds_cluster_config\":{\"eds_config\":{\"ads\":{}}},\"connect_timeout\":\"5s\",\"outlier_detection\":{\"consecutive_5xx\":3},\"transport_socket_matches\":$mtls_matches}"
stats='{"name":"istio.stats","typed_config":{"@type":"type.googleapis.com/udpa.type.v1.TypedStruct","type_url":"type.googleapis.com/stats.PluginConfig","value":{}}}'
tcp_idle='{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"svc-n","cluster":"svc-n","idle_timeout":"3600s"}}'
lds_n="$(listener ne 10.91.0.3 "[{\"filters\":[$stats, $tcp_idle]}]")"
if push_all ne1 "[$svc_n]" "[$(cla svc-n 10.92.0.5)]" "[$lds_n]" '[]'; then
	expect_backend "not-enforced fields and filters (timeouts, outlier detection, istio.stats, Istio mTLS) are accepted and the service is served" 10.91.0.3 b5
	ne=$("${CTL[@]}" -o json config | jq -c '.not_enforced | map({(.kind): .count}) | add')
	ex=$("${CTL[@]}" -o json config | jq -r '.not_enforced[] | select(.kind == "mtls") | .example')
	# by Envoy field from the readers (connect_timeout, outlier_detection,
	# the tcp_proxy's idle timeout), by kind from the audit (telemetry,
	# mtls)
	if jq -e '.connect_timeout == 1 and .outlier_detection == 1 and .timeout == 1 and .mtls == 1 and .telemetry == 1' <<< "$ne" >/dev/null &&
	   [ "$ex" = "cluster 'svc-n': transport_socket_matches" ]; then
		ok "kmeshctl config lists the not-enforced items by kind with counts and an example ($ne)"
	else not_ok "kmeshctl config lists the not-enforced items" "$ne" "mtls example: $ex" "$("${CTL[@]}" config | tail -8)"; fi
	st=$("${CTL[@]}" status)
	if grep -q "^WARNING: .*Istio mutual TLS: traffic goes out plaintext: 1 resource(s), e.g. cluster 'svc-n': transport_socket_matches" <<< "$st" &&
	   grep -q "^  telemetry: 1 resource(s)" <<< "$st" && grep -q "^  connect_timeout: 1 resource(s)" <<< "$st"; then
		ok "kmeshctl status: the not-enforced list, and a WARNING line for Istio mTLS with its count and an example"
	else not_ok "kmeshctl status shows the list and the mTLS warning" "$(grep -iE -A8 'warning|not enforced' <<< "$st")"; fi
else not_ok "not-enforced config accepted" "$(xds_wait_nack cds 1 ne1 2>&1)" "$(xds_wait_nack lds 1 ne1 2>&1)"; fi

# refused, one resource at a time, named: a filter kmesh does not know, TLS
# origination (not Istio's certificates)
redis='{"name":"envoy.filters.network.redis_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy","stat_prefix":"r"}}'
tls_orig='{"name":"svc-x","type":"EDS","eds_cluster_config":{"eds_config":{"ads":{}}},"transport_socket":{"name":"envoy.transport_sockets.tls","typed_config":{"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext","sni":"api.example.com"}}}'
xds_push_json cds "[$svc_n, $tls_orig]" rf1 >/dev/null
xds_push_json lds "[$lds_n, $(listener redis 10.91.0.4 "[{\"filters\":[$redis]}]")]" rf1 >/dev/null
mc=$(xds_wait_nack cds 20 rf1)
ml=$(xds_wait_nack lds 20 rf1)
if grep -q "cluster 'svc-x': transport_socket: TLS origination is not supported" <<< "$mc" &&
   grep -q "listener 'redis': filter_chains\[0\]: envoy.filters.network.redis_proxy: network filter envoy.extensions.filters.network.redis_proxy.v3.RedisProxy is not supported" <<< "$ml"; then
	expect_backend "an unknown network filter and TLS origination are refused, each alone and named ($mc; $ml); the rest serves" 10.91.0.3 b5
else not_ok "unknown filter and TLS origination refused, named" "cds: $mc" "lds: $ml"; fi

# --strict: what would be accepted without being enforced is refused
stop_kmeshd
start_kmeshd --strict
xds_push_json cds "[$svc_n]" st1 >/dev/null
xds_push_json lds "[$lds_n]" st1 >/dev/null
mc=$(xds_wait_nack cds 20 st1)
if grep -qE "cluster 'svc-n': [a-z_]+ is not enforced by kmesh \(.*\), refused under --strict" <<< "$mc" &&
   [ "$("${CTL[@]}" -o json config | jq -r .strict)" = true ]; then
	ok "kmeshd --strict NACKs not-enforced items, naming the resource and the kind ($mc)"
else not_ok "kmeshd --strict NACKs not-enforced items" "cds: $mc" "$("${CTL[@]}" -o json config | jq -c '{strict, cds_last_nack}')"; fi

# ---- --strict on the YAML file: refused, naming file, line and item ----------------
# The same svc-n as a static config: Istio mTLS is listed (with the status
# warning) without --strict; with it, a reload that adds it is refused and
# the running config keeps serving.
stop_kmeshd
yaml_cfg() {	# yaml_cfg ENDPOINT [mtls]: 10.91.0.3:80 -> ENDPOINT:8080
	cat <<-EOF
	static_resources:
	  listeners:
	  - name: ne
	    address: { socket_address: { address: 10.91.0.3, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { cluster: svc-n }
	  clusters:
	  - name: svc-n
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: $1, port_value: 8080 } } }
	EOF
	[ "${2:-}" = mtls ] || return 0
	cat <<-EOF
	    transport_socket_matches:
	    - name: tlsMode-istio
	      match: { tlsMode: istio }
	      transport_socket:
	        name: envoy.transport_sockets.tls
	        typed_config: $tls_ctx
	    - name: tlsMode-disabled
	      match: {}
	      transport_socket: { name: envoy.transport_sockets.raw_buffer }
	EOF
}
YCFG=$WORK/strict.yaml
start_file_kmeshd() {	# start_file_kmeshd [kmeshd flags...]
	"$KM_BUILD/kmeshd" --config "$YCFG" --pin-root "$PIN" --state-dir "$STATE" "$@" >> "$LOG" 2>&1 &
	KMESHD_PID=$!
	for _ in $(seq 50); do "${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null 2>&1 && break; sleep 0.2; done
}
attempts() { grep -c 'config rejected\|applied from /' "$LOG"; }
wait_attempt() {	# wait_attempt N: until kmeshd tried the file more than N times
	for _ in $(seq 100); do
		[ "$(attempts)" -gt "$1" ] && return 0
		sleep 0.2
	done
}
yaml_cfg 10.92.0.5 mtls > "$YCFG"
n=$(attempts)
start_file_kmeshd
wait_attempt "$n"
st=$("${CTL[@]}" status)
if grep -q "^WARNING: .*Istio mutual TLS: traffic goes out plaintext: 1 resource(s), e.g. svc-n" <<< "$st"; then
	expect_backend "YAML: Istio mTLS (transport_socket_matches) is accepted, served plaintext, with the status WARNING line" 10.91.0.3 b5
else not_ok "YAML: Istio mTLS listed with a WARNING line" "$(grep -iE -A4 'warning|not enforced|error' <<< "$st")" "$(tail -3 "$LOG")"; fi
out=$("$KM_BUILD/kmeshd" --check --strict --config "$YCFG" 2>&1); rc=$?
want="$YCFG:16: cluster 'svc-n': transport_socket_matches is not enforced by kmesh, refused under --strict"
if [ "$rc" = 1 ] && [ "$out" = "kmeshd: $want" ]; then
	ok "YAML: kmeshd --check --strict refuses Istio mTLS, naming file, line and item"
else not_ok "YAML: kmeshd --check --strict refuses Istio mTLS" "rc $rc: $out" "want: kmeshd: $want"; fi
stop_kmeshd
yaml_cfg 10.92.0.5 > "$YCFG"
n=$(attempts)
start_file_kmeshd --strict
wait_attempt "$n"
n=$(attempts)
yaml_cfg 10.92.0.4 mtls > "$YCFG"
kill -HUP "$KMESHD_PID"
wait_attempt "$n"
st=$("${CTL[@]}" -o json status)
if [ "$(jq -r .agent.last_reload_ok <<< "$st")" = false ] &&
   [ "$(jq -r .agent.last_error <<< "$st")" = "$want" ]; then
	expect_backend "YAML --strict: a reload adding Istio mTLS is refused ($want), the running config keeps serving" 10.91.0.3 b5
else not_ok "YAML --strict: a reload adding Istio mTLS is refused, named" "$(jq -c ".agent | {last_reload_ok, last_error}" <<< "$st")" "want: $want" "$(tail -3 "$LOG")"; fi

# ---- node metadata as istio-agent sends it, from a DaemonSet's environment -------
stop_kmeshd
env INSTANCE_IP=10.92.0.100 POD_NAME=kmesh-abcde POD_NAMESPACE=kmesh-system SERVICE_ACCOUNT=kmesh \
	NODE_NAME=node-1 CLUSTER_ID=Kubernetes ISTIO_VERSION=1.24.0 ISTIO_LABELS=app=kmesh,version=v1 \
	ISTIO_META_MESH_ID=cluster.local ISTIO_META_WORKLOAD_NAME=kmesh ISTIO_META_CLUSTER_ID=ignored \
	"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --pin-root "$PIN" --state-dir "$STATE" >> "$LOG" 2>&1 &
KMESHD_PID=$!
for _ in $(seq 50); do
	node=$(xds_requests | jq -c '[.[] | select(.node != null)][-1].node | select(.id | contains("kmesh-abcde"))')
	[ -n "$node" ] && break
	sleep 0.2
done
if jq -e '.id == "sidecar~10.92.0.100~kmesh-abcde.kmesh-system~kmesh-system.svc.cluster.local" and
	.metadata.NAME == "kmesh-abcde" and .metadata.NAMESPACE == "kmesh-system" and
	.metadata.INSTANCE_IPS == "10.92.0.100" and .metadata.SERVICE_ACCOUNT == "kmesh" and
	.metadata.CLUSTER_ID == "Kubernetes" and .metadata.ISTIO_VERSION == "1.24.0" and
	.metadata.NODE_NAME == "node-1" and .metadata.LABELS.app == "kmesh" and
	.metadata.MESH_ID == "cluster.local" and .metadata.WORKLOAD_NAME == "kmesh"' <<< "$node" >/dev/null; then
	ok "node id and metadata from a DaemonSet's environment, as istio-agent sends them (NAME, NAMESPACE, INSTANCE_IPS, SERVICE_ACCOUNT, CLUSTER_ID, ISTIO_VERSION, NODE_NAME, LABELS, ISTIO_META_*)"
else not_ok "node metadata from the environment" "$node" "$(tail -2 "$LOG")"; fi

stop_kmeshd
report_summary
[ "$FAIL" -eq 0 ]
