#!/usr/bin/env bash
# Host tests of local replies in enrolled network namespaces (docs/l7.md
# "Network namespaces"): kmeshd's responder listens in each one, so a pod
# in its own netns gets the reply rather than ECONNREFUSED. The listener's
# default route is a direct_response 502 (REGISTRY_ONLY's block_all), which
# is served at L4 without kmesh.ko, as on this host. Also: a netns whose
# port is taken is told and stops no other, is served once the port is
# free; unenrolled or gone, its listener is closed. Needs root. Prints
# "ok N - name" per case and a final "N passed, N failed, N skipped" line.
#
# The VIP 10.89.0.1 is dialed only from namespaces with no route to it.
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh

P=krp
WORK=$(mktemp -d /tmp/kmesh-reply.XXXXXX)
PIN=/sys/fs/bpf/kmesh-reply-test
STATE=$WORK/state
CONF=$WORK/mesh.yaml
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
PORT=15007	# KM_RESPONDER_PORT
VIP=10.89.0.1:80
KMESHD_PID=
HOLDER=
. tests/lib/report.sh

cleanup() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	if [ -n "$KMESHD_PID" ]; then
		kill "$KMESHD_PID" 2>/dev/null
		wait "$KMESHD_PID" 2>/dev/null
	fi
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "local reply host tests" "needs root (BPF, network namespaces)"
	report_summary
	exit 0
fi

cat > "$CONF" <<EOF
static_resources:
  listeners:
  - name: blocked
    address: { socket_address: { address: ${VIP%:*}, port_value: ${VIP#*:} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          stat_prefix: blocked
          route_config:
            name: blocked
            virtual_hosts:
            - name: block_all
              domains: [ "*" ]
              routes:
              - name: block_all
                match: { prefix: / }
                direct_response: { status: 502 }
EOF
WANT=$(printf 'HTTP/1.1 502 Bad Gateway\ndate: D\nserver: kmesh\ncontent-length: 0\nconnection: close')

# reply NS: the raw response to a GET of the VIP from netns NS, CRs dropped
# and the date masked; "err STEP errno=NAME" when it failed
reply() {
	km_in "$P/other" "$1" "$KM_BUILD/tools/km_http_raw" -t 5000 -H www.example.org \
		-p / "$VIP" 2>&1 | tr -d '\r' |
		sed 's/^date: [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] [0-9]\{4\} [0-9:]\{8\} GMT$/date: D/'
}
oneline() { tr '\n' '|'; }
# listening NS: something listens on lo port $PORT in netns NS
listening() { [ -n "$(km_ns "$1" ss -Hltn "sport = :$PORT")" ]; }
# wait_for CMD...: until CMD succeeds (kmeshd scans enrollments once a
# second, and right after a control request), 5 s at most
wait_for() {
	for _ in $(seq 100); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
not() { ! "$@"; }
logged() { grep -qF "$1" "$LOG"; }

km_topo_up "$P" 88
"$KM_BUILD/kmeshd" --config "$CONF" --pin-root "$PIN" --state-dir "$STATE" \
	>> "$LOG" 2>&1 &
KMESHD_PID=$!
if wait_for grep -qs '^generation=1$' "$STATE/kmeshd.state"; then
	ok "kmeshd starts and applies the config"
else
	not_ok "kmeshd starts and applies the config" "$(tail -5 "$LOG")"
	report_summary
	exit 1
fi

# ---- a pod's netns: the reply, not ECONNREFUSED ---------------------------
"${CTL[@]}" enroll "/run/netns/$P-cli" >/dev/null
wait_for listening "$P-cli"
got=$(reply "$P-cli")
if [ "$got" = "$WANT" ]; then
	ok "a client in an enrolled netns gets the direct_response 502 (HTTP/1.1 502 Bad Gateway)"
else
	not_ok "a client in an enrolled netns gets the direct_response 502" \
		"got '$(oneline <<< "$got")'" "want '$(oneline <<< "$WANT")'" "$(tail -3 "$LOG")"
fi
if logged "local replies: serving the network namespace /run/netns/$P-cli on lo port $PORT"; then
	ok "kmeshd says it serves the netns"
else not_ok "kmeshd says it serves the netns" "$(tail -3 "$LOG")"; fi

# ---- a netns whose port is taken: told, the others still served ------------
# ip itself, not a function's subshell: $! is the server's pid
ip netns exec "$P-srv" "$KM_BUILD/tools/km_testsrv" --name holder --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
HOLDER=$!
wait_for listening "$P-srv"
"${CTL[@]}" enroll "/run/netns/$P-srv" >/dev/null
"${CTL[@]}" enroll "/run/netns/$P-cli2" >/dev/null
wait_for listening "$P-cli2"
busy="local replies: network namespace /run/netns/$P-srv: cannot listen on lo port $PORT: Address already in use"
wait_for logged "$busy"
got_srv=$(reply "$P-srv")
got_cli2=$(reply "$P-cli2")
if logged "$busy" && [ "$got_cli2" = "$WANT" ] && grep -q '^err .*errno=ECONNREFUSED' <<< "$got_srv"; then
	ok "a netns whose port is taken is named in the log, its replies refuse, another netns is served"
else
	not_ok "a netns whose port is taken is named in the log, the others are served" \
		"log: $(grep -F "$P-srv" "$LOG" | oneline)" "$P-srv: $(oneline <<< "$got_srv")" \
		"$P-cli2: $(oneline <<< "$got_cli2")"
fi
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null; HOLDER=
wait_for listening "$P-srv"
got=$(reply "$P-srv")
if [ "$got" = "$WANT" ] && [ "$(grep -cF "$busy" "$LOG")" = 1 ]; then
	ok "once the port is free the netns is served (the failure logged once)"
else
	not_ok "once the port is free the netns is served" "got '$(oneline <<< "$got")'" \
		"$(grep -cF "$busy" "$LOG") busy lines"
fi

# ---- unenrolled, gone: the listener is closed ------------------------------
"${CTL[@]}" unenroll "/run/netns/$P-cli" >/dev/null
if wait_for not listening "$P-cli" &&
   logged "local replies: network namespace /run/netns/$P-cli: no longer served (unenrolled or gone)"; then
	ok "unenroll closes the netns's listener"
else not_ok "unenroll closes the netns's listener" "$(km_ns "$P-cli" ss -Hltn)"; fi

ip netns del "$P-cli2"
if wait_for logged "local replies: network namespace /run/netns/$P-cli2: no longer served (unenrolled or gone)"; then
	ok "a deleted netns's listener is closed (kmeshd does not keep it alive)"
else not_ok "a deleted netns's listener is closed" "$(tail -3 "$LOG")"; fi

got=$(reply "$P-srv")
if [ "$got" = "$WANT" ] && kill -0 "$KMESHD_PID"; then
	ok "the remaining netns is still served"
else not_ok "the remaining netns is still served" "got '$(oneline <<< "$got")'"; fi

report_summary
[ "$FAIL" -eq 0 ]
