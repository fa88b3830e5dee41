#!/usr/bin/env bash
# Self-test of the xDS test server (tests/xds/server.js) and its bash helpers
# (tests/xds/lib.sh), driven by a tiny grpc-js ADS client
# (tests/xds/selftest_client.js) and a raw HTTP/2 probe. Prints "ok N - ..."
# / "not ok N - ..." per step and "N passed, N failed, N skipped" last.
# Each step runs under timeout(1). Needs node, npm (first run), curl, jq.
#   tests/xds/server_selftest.sh [-v]     -v: the server's log on failures
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
[ "${1-}" = -v ] && export XDS_VERBOSE=1

n=0 pass=0 fail=0 skip=0
W=$(mktemp -d "${TMPDIR:-/tmp}/xds-selftest.XXXXXX")
export W here

cleanup() {
	local f
	for f in "$W"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	xds_server_stop
	rm -rf "$W"
}
trap cleanup EXIT

summary() {
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}

for tool in node npm curl jq timeout; do
	if ! command -v "$tool" >/dev/null; then
		echo "ok 1 - xDS server self-test # SKIP $tool not installed"
		skip=1
		summary
		exit 0
	fi
done

# ---------------------------------------------------------------- helpers
# (exported: every step runs in its own bash under timeout)

# start_client NAME ARGS...: selftest_client.js in the background, events to
# $W/NAME.ev
start_client() {
	local name=$1
	shift
	: >"$W/$name.ev"
	node "$here/selftest_client.js" --port "$XDS_PORT" --exit-after-ms 600000 "$@" \
		</dev/null >"$W/$name.ev" 2>"$W/$name.err" &
	echo $! >"$W/$name.pid"
}

stop_client() {
	local f=$W/$1.pid i p
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	kill "$p" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null
	rm -f "$f"
}

# ev FILE JQ_FILTER: the matching events, one JSON per line
ev() {
	jq -c "select($2)" "$1" 2>/dev/null
}

# wait_ev FILE JQ_FILTER [TIMEOUT_S]: prints the first matching event
wait_ev() {
	local f=$1 q=$2 to=${3:-10} end out
	end=$((SECONDS + to))
	while :; do
		out=$(ev "$f" "$q" | head -1)
		if [ -n "$out" ]; then
			printf '%s\n' "$out"
			return 0
		fi
		if [ $SECONDS -ge $end ]; then
			echo "# no event matching $q in ${to}s; last events of $(basename "$f"):" >&2
			tail -5 "$f" | cut -c1-300 | sed 's/^/#   /' >&2
			return 1
		fi
		sleep 0.1
	done
}

# newest open stream id on the server
last_stream() {
	xds_ctl GET '/state?names=0' | jq '[.streams[] | select(.open) | .id] | max // 0'
}

# requests of TYPE (cds|eds|lds) on stream S: JSON lines
reqs() {
	xds_ctl GET "/requests?type_url=$1${2:+&stream=$2}" | jq -c '.[]'
}

die() {
	echo "# $*" >&2
	exit 1
}

# step NAME TIMEOUT_S FUNCTION: rc 0 ok, 77 skip, else not ok
step() {
	local name=$1 to=$2 fn=$3 out rc
	n=$((n + 1))
	out=$(timeout -k 5 "$to" bash -c "$fn" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^\([^#]\)/# \1/'
	case $rc in
	0) echo "ok $n - $name"; pass=$((pass + 1)) ;;
	77) echo "ok $n - $name # SKIP"; skip=$((skip + 1)) ;;
	124 | 137) echo "not ok $n - $name (timed out after ${to}s)"; fail=$((fail + 1)) ;;
	*) echo "not ok $n - $name"; fail=$((fail + 1)) ;;
	esac
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ "${XDS_VERBOSE:-0}" = 1 ] && [ -n "${XDS_TMP:-}" ]; then
		tail -30 "$XDS_TMP/log" | sed 's/^/#   server: /'
	fi
	return 0
}

# ---------------------------------------------------------------- fixtures
cluster() {	# cluster NAME: an EDS cluster
	printf '{"name":"%s","type":"EDS","connect_timeout":"1s","lb_policy":"ROUND_ROBIN","eds_cluster_config":{"eds_config":{"ads":{},"resource_api_version":"V3"}}}' "$1"
}
cla() {		# cla NAME IP...: its ClusterLoadAssignment
	local name=$1 ip eps=()
	shift
	for ip; do
		eps+=("{\"endpoint\":{\"address\":{\"socket_address\":{\"address\":\"$ip\",\"port_value\":8080}}},\"load_balancing_weight\":1}")
	done
	local IFS=,
	printf '{"cluster_name":"%s","endpoints":[{"locality":{"zone":"z1"},"lb_endpoints":[%s]}]}' "$name" "${eps[*]}"
}
clusters() {	# clusters NAME...: a JSON array
	local c out=()
	for c; do out+=("$(cluster "$c")"); done
	local IFS=,
	echo "[${out[*]}]"
}

# ---------------------------------------------------------------- steps
s_install() {
	"$here/npm-install.sh" || die "npm-install.sh failed"
	"$here/npm-install.sh" || die "second npm-install.sh failed"
	[ -f "$XDS_ROOT/build/xds-node/.installed" ] || [ -n "${XDS_NODE_DIR:-}" ] || die "no .installed stamp"
}

s_debug() {
	local out
	out=$(node "$here/server.js" --debug) || die "--debug failed"
	grep '^version @grpc' <<<"$out"
	grep -q '^include .*/deps/envoy-api$' <<<"$out" || die "no envoy-api include"
	grep -q '^include .*/deps/protoc-gen-validate$' <<<"$out" || die "no protoc-gen-validate include"
	grep '^protos loaded' <<<"$out"
}

# shellcheck disable=SC2015	# A && B || die: die when either fails
s_control_errors() {
	local out code
	code=$(curl -s -o "$W/e1" -w '%{http_code}' --max-time 10 -X POST "$XDS_CTL/resources" --data-binary '{not json')
	[ "$code" = 400 ] && jq -e .error "$W/e1" >/dev/null || die "bad JSON: HTTP $code $(cat "$W/e1")"
	code=$(curl -s -o "$W/e2" -w '%{http_code}' --max-time 10 -X POST "$XDS_CTL/resources" \
		--data-binary '{"type_url":"cds","resources":[{"name":"x","lb_polcy":"ROUND_ROBIN"}]}')
	[ "$code" = 400 ] && grep -q 'lb_polcy' "$W/e2" || die "unknown field: HTTP $code $(cat "$W/e2")"
	code=$(curl -s -o "$W/e3" -w '%{http_code}' --max-time 10 -X POST "$XDS_CTL/resources" \
		--data-binary '{"type_url":"cds","resources":[{"name":"x","type":"MAGIC"}]}')
	[ "$code" = 400 ] && grep -q 'MAGIC' "$W/e3" || die "bad enum: HTTP $code $(cat "$W/e3")"
	code=$(curl -s -o "$W/e4" -w '%{http_code}' --max-time 10 -X POST "$XDS_CTL/resources" \
		--data-binary '{"type_url":"lds","resources":[{"name":"l","filter_chains":[{"filters":[{"name":"f","typed_config":{"@type":"type.googleapis.com/no.such.Type"}}]}]}]}')
	[ "$code" = 400 ] && grep -q 'no.such.Type' "$W/e4" || die "unknown @type: HTTP $code $(cat "$W/e4")"
	code=$(curl -s -o "$W/e5" -w '%{http_code}' --max-time 10 -X POST "$XDS_CTL/resources" \
		--data-binary '{"type_url":"cds","resources":[{"name":"x","connect_timeout":5}]}')
	[ "$code" = 400 ] || die "numeric Duration accepted: HTTP $code $(cat "$W/e5")"
	code=$(curl -s -o "$W/e6" -w '%{http_code}' --max-time 10 "$XDS_CTL/nope")
	[ "$code" = 404 ] || die "unknown path: HTTP $code"
	code=$(curl -s -o "$W/e7" -w '%{http_code}' --max-time 10 -X POST "$XDS_CTL/resources" --data-binary '[1,2]')
	[ "$code" = 400 ] || die "array body: HTTP $code"
	code=$(printf 'GARBAGE\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$XDS_CTL_PORT; cat >&3; head -1 <&3" | cut -d' ' -f2)
	[ "$code" = 400 ] || die "garbage HTTP: '$code'"
	out=$(xds_ctl GET /health) || die "server not healthy after bad requests"
	jq -e .ok <<<"$out" >/dev/null || die "health: $out"
	# nothing was stored by the failed pushes
	out=$(xds_ctl GET /state | jq -c .resources)
	[ "$out" = '{}' ] || die "resources after failed pushes: $out"
}

s_sotw_sync() {
	local v q first
	v=$(xds_push_json cds "$(clusters c1 c2)" cds-1) || die "push cds"
	[ "$v" = cds-1 ] || die "version $v"
	xds_push_json eds "[$(cla c1 192.0.2.1 192.0.2.2),$(cla c2 192.0.2.3)]" eds-1 >/dev/null || die "push eds"
	xds_push_json lds '[{"name":"l1","address":{"socket_address":{"address":"10.200.0.1","port_value":80}},
		"filter_chains":[{"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{
			"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
			"stat_prefix":"l1","cluster":"c1"}}]}]},
		{"name":"l2","address":{"socket_address":{"address":"10.200.0.2","port_value":80}},
		"filter_chains":[{"filters":[{"name":"envoy.filters.network.http_connection_manager","typed_config":{
			"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"statPrefix":"l2","rds":{"route_config_name":"r1","config_source":{"ads":{},"resource_api_version":"V3"}},
			"http_filters":[{"name":"envoy.filters.http.router","typed_config":{
				"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}]' lds-1 >/dev/null ||
		die "push lds"
	start_client A --nack-cluster bad
	xds_wait_ack cds cds-1 10 || exit 1
	xds_wait_ack eds eds-1 10 || exit 1
	xds_wait_ack lds lds-1 10 || exit 1
	wait_ev "$W/A.ev" '.type == "ClusterLoadAssignment" and .count == 2' >/dev/null || exit 1
	wait_ev "$W/A.ev" '.type == "Listener" and .count == 2' >/dev/null || exit 1
	# the first EDS request: a new subscription, empty nonce, both names
	first=$(reqs eds | head -1)
	q=$(jq -c '[.response_nonce, .resource_names, .node.id, .node.metadata.role]' <<<"$first")
	[ "$q" = '["",["c1","c2"],"selftest-node","selftest"]' ] || die "first EDS request: $first"
	echo "$(jq -r '"CDS \(.bytes) B, "' <(ev "$W/A.ev" '.type == "Cluster"'))$(jq -r '"EDS \(.bytes) B, "' <(ev "$W/A.ev" '.type == "ClusterLoadAssignment"'))$(jq -r '"LDS \(.bytes) B"' <(ev "$W/A.ev" '.type == "Listener"'))"
}

s_nack() {
	local msg st
	xds_push_json cds "$(clusters c1 c2 bad)" cds-2 >/dev/null || die "push"
	msg=$(xds_wait_nack cds 10) || exit 1
	echo "NACK: $msg"
	[[ $msg == *"'bad'"* ]] || die "message: $msg"
	st=$(xds_ctl GET /state | jq -c --arg t "$(xds_type cds)" \
		'[.streams[] | select(.open) | .types[$t] | .acked_version, .nacked.version, .nacked.code]')
	[ "$st" = '["cds-1","cds-2",3]' ] || die "state after NACK: $st"
	# the NACK carries the last accepted version
	st=$(reqs cds | jq -sc '[.[] | select(.nack)] | last | .version_info')
	[ "$st" = '"cds-1"' ] || die "NACK version_info $st"
}

s_update() {
	xds_push_json eds "[$(cla c1 192.0.2.1 192.0.2.2),$(cla c2 192.0.2.3),$(cla c3 192.0.2.4)]" eds-2 >/dev/null || die "push eds"
	xds_wait_ack eds eds-2 10 || exit 1
	xds_push_json cds "$(clusters c1 c2 c3)" cds-3 >/dev/null || die "push cds"
	xds_wait_ack cds cds-3 10 || exit 1
	wait_ev "$W/A.ev" '.type == "ClusterLoadAssignment" and .count == 3' >/dev/null || exit 1
	# the 3-name subscription was ACKed
	for ((i = 0; i < 50; i++)); do
		reqs eds | jq -e -s '[.[] | select(.ack and (.resource_names | length) == 3)] | length > 0' >/dev/null && return 0
		sleep 0.1
	done
	die "no ACK with 3 EDS names"
}

s_eds_sub_change() {
	local st
	xds_push_json cds "$(clusters c1)" cds-4 >/dev/null || die "push"
	xds_wait_ack cds cds-4 10 || exit 1
	wait_ev "$W/A.ev" '.type == "ClusterLoadAssignment" and .names == ["c1"]' >/dev/null || exit 1
	st=$(xds_ctl GET /state | jq -c --arg t "$(xds_type eds)" '[.streams[] | select(.open) | .types[$t].subscribed_names]')
	[ "$st" = '[["c1"]]' ] || die "EDS subscription in /state: $st"
	# unsubscribe-all is an empty list for EDS: not a wildcard
	st=$(xds_ctl GET /state | jq -c --arg t "$(xds_type eds)" '[.streams[] | select(.open) | .types[$t].wildcard]')
	[ "$st" = '[false]' ] || die "EDS wildcard: $st"
}

s_eds_patch() {
	local v
	v=$(xds_patch_json eds "{\"upsert\":[$(cla c1 192.0.2.7 192.0.2.8 192.0.2.9)],\"remove\":[\"c3\"]}") || die "patch"
	xds_wait_ack eds "$v" 10 || exit 1
	wait_ev "$W/A.ev" ".type == \"ClusterLoadAssignment\" and .version == \"$v\" and .count == 1" >/dev/null || exit 1
	[ "$(xds_ctl GET '/resources?type_url=eds' | jq -c '[.[].resources[].name]')" = '["c1","c2"]' ] || die "store after patch"
}

s_drop() {
	local old new r
	old=$(last_stream)
	node "$here/selftest_client.js" --port "$XDS_PORT" --raw-probe --timeout-ms 5000 >"$W/probe1.ev" 2>&1 &
	echo $! >"$W/probe1.pid"
	wait_ev "$W/probe1.ev" '.ev == "data"' 5 >/dev/null || exit 1
	xds_drop 14 || die "drop"
	wait_ev "$W/A.ev" '.ev == "closed" and .code == 14' 5 || exit 1
	wait_ev "$W/probe1.ev" '.ev == "trailers" and .grpc_status == 14' 5 >/dev/null || exit 1
	wait_ev "$W/A.ev" '.ev == "stream" and .n == 2' 5 >/dev/null || exit 1
	xds_wait_streams 1 5 || exit 1
	new=$(last_stream)
	[ "$new" -gt "$old" ] || die "no new stream ($old -> $new)"
	# the new stream re-requests with the accepted version and an empty nonce
	r=$(reqs cds "$new" | head -1 | jq -c '[.version_info, .response_nonce]')
	[ "$r" = '["cds-4",""]' ] || die "first CDS request on the new stream: $r"
	for ((i = 0; i < 50; i++)); do
		reqs cds "$new" | jq -e -s 'map(select(.ack)) | length > 0' >/dev/null && return 0
		sleep 0.1
	done
	die "no ACK on the new stream"
}

s_goaway() {
	local old new
	old=$(last_stream)
	node "$here/selftest_client.js" --port "$XDS_PORT" --raw-probe --timeout-ms 5000 >"$W/probe2.ev" 2>&1 &
	echo $! >"$W/probe2.pid"
	wait_ev "$W/probe2.ev" '.ev == "data"' 5 >/dev/null || exit 1
	xds_goaway 300 || die "goaway"
	wait_ev "$W/probe2.ev" '.ev == "goaway"' 5 || exit 1
	wait_ev "$W/probe2.ev" '.ev == "session_closed"' 5 >/dev/null || exit 1
	jq -e -s '[.[] | select(.ev == "goaway")][0] | .code == 0 and .last_stream_id == 1' "$W/probe2.ev" >/dev/null ||
		die "first GOAWAY is not NO_ERROR/last stream 1"
	wait_ev "$W/A.ev" '.ev == "stream" and .n == 3' 5 >/dev/null || exit 1
	xds_wait_streams 1 5 || exit 1
	new=$(last_stream)
	[ "$new" -gt "$old" ] || die "no new stream after GOAWAY ($old -> $new)"
}

s_restart() {
	local old new t0 refused
	old=$(last_stream)
	t0=$(date +%s%N)
	xds_restart 700 || die "restart"
	echo "restart returned after $((($(date +%s%N) - t0) / 1000000)) ms"
	xds_ctl GET /health | jq -e '.listening' >/dev/null || die "not listening"
	xds_wait_streams 1 10 || exit 1
	new=$(last_stream)
	[ "$new" -gt "$old" ] || die "no new stream after restart"
	refused=$(ev "$W/A.ev" '.ev == "closed" and (.details | test("ECONNREFUSED"))' | wc -l)
	echo "client saw $refused refused connects while the port was closed"
	[ "$refused" -ge 1 ] || die "the port was never closed?"
	for ((i = 0; i < 50; i++)); do
		reqs cds "$new" | jq -e -s 'map(select(.ack and .version_info == "cds-4")) | length > 0' >/dev/null && return 0
		sleep 0.1
	done
	die "no ACK of cds-4 after restart"
}

s_delta_sub() {
	local r
	stop_client A
	xds_push_json cds "$(clusters c1 c2)" d-1 >/dev/null || die "push"
	xds_push_json eds "[$(cla c1 192.0.2.1),$(cla c2 192.0.2.3)]" d-1 >/dev/null || die "push"
	start_client B --delta --nack-cluster bad
	xds_wait_ack cds d-1 10 || exit 1
	xds_wait_ack eds d-1 10 || exit 1
	xds_wait_ack lds lds-1 10 || exit 1
	r=$(xds_ctl GET '/requests?kind=delta&type_url=eds' | jq -c '[.[] | select(.subscribe | length > 0)][0] | [.subscribe, .response_nonce]')
	[ "$r" = '[["c1","c2"],""]' ] || die "EDS subscribe: $r"
	wait_ev "$W/B.ev" '.type == "Cluster" and .count == 2 and .kind == "delta"' >/dev/null || exit 1
}

s_delta_changed() {
	local v
	v=$(xds_patch_json eds "{\"upsert\":[$(cla c1 192.0.2.1),$(cla c2 192.0.2.5)]}") || die "patch"
	xds_wait_ack eds "$v" 10 || exit 1
	# c1 is unchanged: only c2 is sent
	wait_ev "$W/B.ev" ".type == \"ClusterLoadAssignment\" and .version == \"$v\" and .names == [\"c2\"]" >/dev/null || exit 1
}

s_delta_remove() {
	xds_push_json cds "$(clusters c1)" d-2 >/dev/null || die "push"
	xds_wait_ack cds d-2 10 || exit 1
	wait_ev "$W/B.ev" '.type == "Cluster" and .version == "d-2" and .count == 0 and .removed == ["c2"]' >/dev/null || exit 1
	for ((i = 0; i < 50; i++)); do
		xds_ctl GET '/requests?kind=delta&type_url=eds' | jq -e '[.[] | select(.unsubscribe == ["c2"])] | length == 1' >/dev/null && return 0
		sleep 0.1
	done
	die "no EDS unsubscribe of c2"
}

s_delta_reconnect() {
	local new r
	xds_drop 14 || die "drop"
	wait_ev "$W/B.ev" '.ev == "stream" and .n == 2' 5 >/dev/null || exit 1
	xds_wait_streams 1 5 || exit 1
	new=$(last_stream)
	for ((i = 0; i < 50; i++)); do
		r=$(reqs cds "$new" | head -1 | jq -c '.initial_resource_versions | keys')
		[ -n "$r" ] && break
		sleep 0.1
	done
	[ "$r" = '["c1"]' ] || die "initial_resource_versions: $r"
	sleep 1
	# it has c1 at the current version: nothing to send
	r=$(ev "$W/B.ev" '.ev == "response" and .stream == 2 and .type == "Cluster"' | wc -l)
	[ "$r" = 0 ] || die "$r CDS responses resent on reconnect"
}

s_delta_nack() {
	local msg
	xds_push_json cds "$(clusters c1 bad)" d-3 >/dev/null || die "push"
	msg=$(xds_wait_nack cds 10) || exit 1
	echo "NACK: $msg"
	[[ $msg == *"'bad'"* ]] || die "message: $msg"
}

s_generate() {
	local out c e l t0
	stop_client B
	t0=$(date +%s%N)
	out=$(xds_generate 10000 10 gen-1) || die "generate"
	echo "generate: $(jq -c '{clusters, endpoints, listeners, encode_ms: (.encode_ms | floor), bytes}' <<<"$out"), HTTP round trip $((($(date +%s%N) - t0) / 1000000)) ms"
	start_client C --max-names 2
	c=$(wait_ev "$W/C.ev" '.type == "Cluster" and .count == 10000' 60) || exit 1
	l=$(wait_ev "$W/C.ev" '.type == "Listener" and .count == 10000' 60) || exit 1
	e=$(wait_ev "$W/C.ev" '.type == "ClusterLoadAssignment" and .count == 10000' 60) || exit 1
	for x in "$c" "$l" "$e"; do
		jq -r '"SotW \(.type): \(.count) resources, \(.bytes) bytes, received \(.ms) ms after the stream opened"' <<<"$x"
	done
	xds_wait_ack cds gen-1 60 || exit 1
	xds_wait_ack lds gen-1 60 || exit 1
	xds_wait_ack eds gen-1 60 || exit 1
	stop_client C
}

s_healthy() {
	kill -0 "$XDS_PID" || die "server gone"
	xds_ctl GET /health | jq -e .ok >/dev/null || die "health"
	! grep -q 'uncaught' "$XDS_TMP/log" || die "uncaught exception in the server's log"
}

mapfile -t fns < <(compgen -A function)
export -f "${fns[@]}"

# ---------------------------------------------------------------- run
step "npm-install.sh: build/xds-node installed, second run a no-op" 330 s_install
n=$((n + 1))
if xds_server_start >"$W/start.out" 2>&1; then
	echo "ok $n - server.js listening on 127.0.0.1:$XDS_PORT, control $XDS_CTL"
	pass=$((pass + 1))
else
	sed 's/^/# /' "$W/start.out"
	echo "not ok $n - server.js starts"
	fail=$((fail + 1))
	summary
	exit 1
fi
step "--debug prints versions and the proto include paths" 30 s_debug
step "control API: malformed requests get 400/404 JSON errors, server unharmed" 30 s_control_errors
step "SotW: CDS+EDS+LDS full sync, each ACKed; EDS subscribed with an empty nonce" 40 s_sotw_sync
step "SotW: NACK recorded with error_detail; last ACKed version kept" 30 s_nack
step "SotW: update pushed and ACKed (new EDS names subscribed)" 30 s_update
step "SotW: EDS subscription change (cluster removed -> EDS names [c1])" 30 s_eds_sub_change
step "SotW: EDS partial update with /resources/patch" 30 s_eds_patch
step "drop: grpc-status 14, client reconnects with its versions and an empty nonce" 30 s_drop
step "goaway: GOAWAY(NO_ERROR, last stream 1), then close; client reconnects" 30 s_goaway
step "restart: port closed 700 ms, listening again, client back and ACKing" 40 s_restart
step "delta: wildcard CDS/LDS + EDS subscribe, ACKs by system_version_info" 40 s_delta_sub
step "delta: only the changed resource is sent" 30 s_delta_changed
step "delta: removed cluster in removed_resources; client unsubscribes its EDS" 30 s_delta_remove
step "delta: reconnect with initial_resource_versions, nothing resent" 30 s_delta_reconnect
step "delta: NACK recorded with error_detail" 30 s_delta_nack
step "generate 10000 clusters x 10 endpoints (+10000 listeners), SotW to a client, ACKed" 240 s_generate
step "server still healthy, no uncaught exception" 20 s_healthy

summary
