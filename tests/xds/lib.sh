# shellcheck shell=bash
# Helpers for bash tests that drive tests/xds/server.js, the scriptable xDS
# (ADS, h2c) server. Source this file. Needs node, npm (first run), curl, jq.
# Every helper is bounded in time.
#
#   xds_server_start [--delta] [server.js args...]
#       npm-install.sh, then the server on free ports; waits until ready.
#       Exports XDS_PORT (gRPC, 127.0.0.1), XDS_CTL (control URL,
#       http://127.0.0.1:N), XDS_CTL_PORT, XDS_PID, XDS_TMP (its files:
#       out, log), XDS_MODE (sotw, or delta with --delta: the server serves
#       both; the mode is for the test to configure its client with).
#       XDS_VERBOSE=1: the server logs to $XDS_TMP/log.
#   xds_server_stop
#   xds_push TYPE JSON_FILE [VERSION]   replace TYPE's resources; prints the
#       version. JSON_FILE: an array of resources, or an object
#       {resources:[...], version?}. TYPE: a type URL or cds/eds/lds/rds.
#   xds_push_json TYPE JSON [VERSION]    the same with inline JSON
#   xds_patch TYPE JSON_FILE             {upsert:[...], remove:[names]}; prints
#       the version (xds_patch_json TYPE JSON: inline)
#   xds_requests [QUERY]                 GET /requests (e.g. "type_url=cds")
#   xds_state                            GET /state
#   xds_wait_ack TYPE VERSION [TIMEOUT_S]   an ACK of VERSION (SotW: a request
#       with that version_info answering a response of that version; delta:
#       an ACK of a response of that system_version_info)
#   xds_wait_nack TYPE [TIMEOUT_S] [VERSION]  a NACK of VERSION (default: the
#       type's current version); prints error_detail.message
#   xds_wait_streams N [TIMEOUT_S]       until N streams are open
#   xds_drop [CODE]                      end every stream with grpc-status CODE
#       (default 14 UNAVAILABLE)
#   xds_goaway [GRACE_MS]                GOAWAY(NO_ERROR) on every HTTP/2
#       connection, then after GRACE_MS (default 100; -1 never) GOAWAY(CANCEL)
#       and close
#   xds_restart DELAY_MS                 close the port and every connection,
#       listen again on the same port after DELAY_MS; returns once listening
#   xds_generate CLUSTERS ENDPOINTS_PER_CLUSTER [VERSION]   server-side set:
#       EDS clusters gen-cI, their ClusterLoadAssignments (198.18.0.0/15),
#       listeners gen-lI on 10.200.x.y:80 -> tcp_proxy gen-cI; prints the
#       server's JSON answer (sizes, encode time)
#   xds_generate_json JSON               the same with /generate's whole body
#       (endpoint_base 127.N.0.0 for loopback endpoints, spare, prefix, ...)
#   xds_churn JSON                       POST /generate/churn {first, count,
#       round, + the layout}: new endpoints for those clusters, one EDS
#       version; prints it
#   xds_ctl METHOD PATH [BODY]           any control request; prints the JSON

: "${XDS_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
XDS_DIR=$XDS_ROOT/tests/xds
: "${XDS_HTTP_TIMEOUT:=60}"
: "${XDS_START_TIMEOUT:=30}"
export XDS_ROOT XDS_DIR XDS_HTTP_TIMEOUT XDS_START_TIMEOUT

xds_type() {	# alias -> type URL
	case ${1,,} in
	cds | cluster) echo type.googleapis.com/envoy.config.cluster.v3.Cluster ;;
	eds | cla | endpoint) echo type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment ;;
	lds | listener) echo type.googleapis.com/envoy.config.listener.v3.Listener ;;
	rds | route) echo type.googleapis.com/envoy.config.route.v3.RouteConfiguration ;;
	authorization) echo type.googleapis.com/istio.security.Authorization ;;
	address) echo type.googleapis.com/istio.workload.Address ;;
	*) echo "$1" ;;
	esac
}

# xds_ctl METHOD PATH [BODY|@FILE|-]: prints the answer; non-zero (and the
# error on stderr) on a transport error or an HTTP status >= 400
xds_ctl() {
	local m=$1 p=$2 body=${3-} out code
	[ -n "${XDS_CTL:-}" ] || { echo "xds_ctl: no server (xds_server_start)" >&2; return 1; }
	local args=(-sS --max-time "$XDS_HTTP_TIMEOUT" -X "$m" -w '\n%{http_code}')
	case $body in
	'') out=$(curl "${args[@]}" "$XDS_CTL$p") || return 1 ;;
	-) out=$(curl "${args[@]}" -H 'content-type: application/json' --data-binary @- "$XDS_CTL$p") || return 1 ;;
	@*) out=$(curl "${args[@]}" -H 'content-type: application/json' --data-binary "$body" "$XDS_CTL$p") || return 1 ;;
	*) out=$(printf '%s' "$body" | curl "${args[@]}" -H 'content-type: application/json' \
		--data-binary @- "$XDS_CTL$p") || return 1 ;;
	esac
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	if [ "$code" -ge 400 ] 2>/dev/null || [ "$code" = 000 ]; then
		echo "xds_ctl: $m $p: HTTP $code: $out" >&2
		return 1
	fi
	printf '%s\n' "$out"
}

xds_server_start() {
	local mode=sotw a extra=() i
	for a; do
		case $a in
		--delta) mode='delta' ;;
		*) extra+=("$a") ;;
		esac
	done
	[ "${XDS_VERBOSE:-0}" = 1 ] && extra+=(--verbose)
	"$XDS_DIR/npm-install.sh" || { echo "xds_server_start: npm-install.sh failed" >&2; return 1; }
	XDS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xds.XXXXXX")
	node "$XDS_DIR/server.js" --ready-file "$XDS_TMP/ready" "${extra[@]}" \
		</dev/null >"$XDS_TMP/out" 2>"$XDS_TMP/log" &
	XDS_PID=$!
	for ((i = 0; i < XDS_START_TIMEOUT * 10; i++)); do
		[ -s "$XDS_TMP/ready" ] && grep -q '^control ' "$XDS_TMP/out" && break
		if ! kill -0 "$XDS_PID" 2>/dev/null; then
			echo "xds_server_start: server.js exited:" >&2
			cat "$XDS_TMP/log" >&2
			return 1
		fi
		sleep 0.1
	done
	if ! [ -s "$XDS_TMP/ready" ]; then
		echo "xds_server_start: not ready after ${XDS_START_TIMEOUT}s" >&2
		kill "$XDS_PID" 2>/dev/null
		return 1
	fi
	XDS_PORT=$(head -1 "$XDS_TMP/ready")
	XDS_CTL_PORT=$(awk '/^control /{print $2; exit}' "$XDS_TMP/out")
	XDS_CTL=http://127.0.0.1:$XDS_CTL_PORT
	XDS_MODE=$mode
	export XDS_PORT XDS_CTL XDS_CTL_PORT XDS_PID XDS_TMP XDS_MODE
}

xds_server_stop() {
	local i
	[ -n "${XDS_PID:-}" ] || return 0
	XDS_HTTP_TIMEOUT=5 xds_ctl POST /quit '{}' >/dev/null 2>&1
	for ((i = 0; i < 50; i++)); do
		kill -0 "$XDS_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$XDS_PID" 2>/dev/null; then
		kill "$XDS_PID" 2>/dev/null
		sleep 0.2
		kill -9 "$XDS_PID" 2>/dev/null
	fi
	wait "$XDS_PID" 2>/dev/null
	[ "${XDS_KEEP:-0}" = 1 ] || rm -rf "${XDS_TMP:?}"
	unset XDS_PID XDS_PORT XDS_CTL XDS_CTL_PORT
}

# xds_push TYPE FILE [VERSION]
xds_push() {
	local t=$1 f=$2 v=${3-} out
	[ -r "$f" ] || { echo "xds_push: cannot read $f" >&2; return 1; }
	out=$(jq -c --arg t "$t" --arg v "$v" '
		(if type == "array" then {resources: .} else . end)
		| .type_url = $t | if $v != "" then .version = $v else . end' "$f" |
		xds_ctl POST /resources -) || return 1
	jq -r .version <<<"$out"
}

xds_push_json() {
	local t=$1 j=$2 v=${3-} out
	out=$(printf '%s' "$j" | jq -c --arg t "$t" --arg v "$v" '
		(if type == "array" then {resources: .} else . end)
		| .type_url = $t | if $v != "" then .version = $v else . end' |
		xds_ctl POST /resources -) || return 1
	jq -r .version <<<"$out"
}

xds_patch() {
	local t=$1 f=$2 out
	[ -r "$f" ] || { echo "xds_patch: cannot read $f" >&2; return 1; }
	out=$(jq -c --arg t "$t" '.type_url = $t' "$f" | xds_ctl POST /resources/patch -) || return 1
	jq -r .version <<<"$out"
}

xds_patch_json() {
	local t=$1 j=$2 out
	out=$(printf '%s' "$j" | jq -c --arg t "$t" '.type_url = $t' | xds_ctl POST /resources/patch -) || return 1
	jq -r .version <<<"$out"
}

xds_requests() {
	xds_ctl GET "/requests${1:+?$1}" | jq .
}

xds_state() {
	xds_ctl GET /state | jq .
}

# xds_wait_ack TYPE VERSION [TIMEOUT_S]
xds_wait_ack() {
	local t v=$2 to=${3:-10} end out
	t=$(xds_type "$1")
	end=$((SECONDS + to))
	while :; do
		out=$(xds_ctl GET "/requests?names=0&type_url=$t" | jq -c --arg v "$v" '
			[.[] | select(.ack and ((.kind == "sotw" and .version_info == $v and .response_version == $v)
				or (.kind == "delta" and .response_version == $v)))] | first // empty') || return 1
		[ -n "$out" ] && return 0
		if [ $SECONDS -ge $end ]; then
			echo "xds_wait_ack: no ACK of $t version $v in ${to}s; its last requests:" >&2
			xds_ctl GET "/requests?names=0&type_url=$t" | jq -c '.[-5:][]' >&2
			return 1
		fi
		sleep 0.1
	done
}

# xds_wait_nack TYPE [TIMEOUT_S] [VERSION]: prints the error_detail message
xds_wait_nack() {
	local t to=${2:-10} v=${3-} end out
	t=$(xds_type "$1")
	if [ -z "$v" ]; then
		v=$(xds_ctl GET /state | jq -r --arg t "$t" '.resources[$t].version // empty') || return 1
	fi
	end=$((SECONDS + to))
	while :; do
		out=$(xds_ctl GET "/requests?names=0&type_url=$t" | jq -c --arg v "$v" '
			[.[] | select(.nack and .response_version == $v)] | first // empty') || return 1
		if [ -n "$out" ]; then
			jq -r '.error_detail.message' <<<"$out"
			return 0
		fi
		if [ $SECONDS -ge $end ]; then
			echo "xds_wait_nack: no NACK of $t version $v in ${to}s; its last requests:" >&2
			xds_ctl GET "/requests?names=0&type_url=$t" | jq -c '.[-5:][]' >&2
			return 1
		fi
		sleep 0.1
	done
}

# xds_wait_streams N [TIMEOUT_S]: until at least N streams are open
xds_wait_streams() {
	local n=$1 to=${2:-10} end c
	end=$((SECONDS + to))
	while :; do
		c=$(xds_ctl GET '/state?names=0' | jq '[.streams[] | select(.open)] | length') || return 1
		[ "$c" -ge "$n" ] && return 0
		if [ $SECONDS -ge $end ]; then
			echo "xds_wait_streams: $c open streams after ${to}s, wanted $n" >&2
			return 1
		fi
		sleep 0.1
	done
}

xds_drop() {
	xds_ctl POST /drop "{\"code\": ${1:-14}}" >/dev/null
}

xds_goaway() {
	xds_ctl POST /goaway "{\"grace_ms\": ${1:-100}}" >/dev/null
}

xds_restart() {
	local d=${1:-0}
	XDS_HTTP_TIMEOUT=$((d / 1000 + 30)) xds_ctl POST /restart "{\"delay_ms\": $d, \"wait\": true}" >/dev/null
}

xds_generate_json() {
	XDS_HTTP_TIMEOUT=600 xds_ctl POST /generate "$1"
}

xds_churn() {
	xds_ctl POST /generate/churn "$1" | jq -r .version
}

xds_generate() {
	local body
	body=$(jq -nc --argjson c "${1:-10000}" --argjson e "${2:-10}" --arg v "${3-}" \
		'{clusters: $c, endpoints_per_cluster: $e} + (if $v != "" then {version: $v} else {} end)')
	XDS_HTTP_TIMEOUT=300 xds_ctl POST /generate "$body"
}
