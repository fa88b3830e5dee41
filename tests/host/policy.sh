#!/usr/bin/env bash
# Host tests of traffic policy (issue 16, docs/traffic-policy.md) with real
# connects: LEAST_REQUEST by the kernel's active-connection counts (held
# connections, a generation flip, a kmeshd restart), circuit_breakers
# max_connections (ECONNREFUSED, upstream_cx_overflow), Maglev by source
# address (stable, and little moved when an endpoint goes), outlier
# detection (a dead endpoint ejected after failed connects, by reset and by
# SYN timeout, and back after base_ejection_time; max_ejection_percent),
# and the not-enforced list. Needs root. Prints "ok N - name" per case and a final
# "N passed, N failed, N skipped" line.
#
# VIPs are 10.92.0.x, dialed only from namespace kmp-cli, which has no route
# to them: a connect kmesh does not rewrite fails with ENETUNREACH.
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh

P=kmp
NET=93
WORK=$(mktemp -d /tmp/kmesh-policy.XXXXXX)
PIN=/sys/fs/bpf/kmesh-policy-test
STATE=$WORK/state
CONF=$WORK/mesh.yaml
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
KMESHD_PID=
declare -A HOLDER=()
. tests/lib/report.sh

cleanup() {
	local h
	for h in "${HOLDER[@]}"; do kill "$h" 2>/dev/null; done
	stop_kmeshd
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "traffic policy host tests" "needs root (BPF, cgroups, network namespaces)"
	report_summary
	exit 0
fi

# ---- config -----------------------------------------------------------------
LR_EPS="2"		# endpoints of the LEAST_REQUEST cluster
MG_EPS="2 3 4 5"	# endpoints of the MAGLEV cluster

ep() {	# ep HOST_NUMBER
	echo "        - endpoint: { address: { socket_address: { address: 10.$NET.0.$1, port_value: 8080 } } }"
}
od_cluster() {	# NAME "HOSTS" FAILURES BASE_EJECTION_TIME MAX_EJECTION_PERCENT
	local e
	echo "  - name: $1"
	echo "    outlier_detection: { consecutive_gateway_failure: $3, enforcing_consecutive_gateway_failure: 100,"
	echo "      consecutive_5xx: 0, enforcing_consecutive_5xx: 0, enforcing_success_rate: 0,"
	echo "      interval: 1s, base_ejection_time: $4, max_ejection_percent: $5 }"
	echo "    load_assignment:"
	echo "      endpoints:"
	echo "      - lb_endpoints:"
	for e in $2; do ep "$e"; done
}
tcp_listener() {	# NAME VIP CLUSTER [TYPED_CONFIG_EXTRA]
	cat <<-EOT
	  - name: $1
	    address: { socket_address: { address: $2, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: $1, cluster: $3 ${4:-} }
	EOT
}
write_config() {
	local e
	{
	echo "static_resources:"
	echo "  listeners:"
	tcp_listener svc-lr 10.92.0.1 lr
	tcp_listener svc-cb 10.92.0.2 cb
	tcp_listener svc-mg 10.92.0.3 mg ", hash_policy: [ { source_ip: {} } ]"
	tcp_listener svc-od 10.92.0.4 od
	tcp_listener svc-od2 10.92.0.5 od2
	tcp_listener svc-odt 10.92.0.6 odt
	echo "  clusters:"
	# outlier detection as istiod sends consecutiveGatewayErrors N with
	# consecutive5xxErrors 0: enforced, so not listed
	od_cluster od "7 8" 2 2s 50
	od_cluster od2 "7 8 9" 2 60s 50
	od_cluster odt "50 8" 1 60s 50
	echo "  - name: lr"
	echo "    lb_policy: LEAST_REQUEST"
	echo "    outlier_detection: { consecutive_gateway_failure: 3 }"
	echo "    load_assignment:"
	echo "      endpoints:"
	echo "      - lb_endpoints:"
	for e in $LR_EPS; do ep "$e"; done
	echo "  - name: cb"
	echo "    circuit_breakers: { thresholds: [ { max_connections: 3 } ] }"
	echo "    load_assignment:"
	echo "      endpoints:"
	echo "      - lb_endpoints:"
	ep 6
	echo "  - name: mg"
	echo "    lb_policy: MAGLEV"
	echo "    load_assignment:"
	echo "      endpoints:"
	echo "      - lb_endpoints:"
	for e in $MG_EPS; do ep "$e"; done
	} > "$CONF.tmp" && mv "$CONF.tmp" "$CONF"
}

# ---- helpers ------------------------------------------------------------------
start_kmeshd() {
	"$KM_BUILD/kmeshd" --config "$CONF" --pin-root "$PIN" --state-dir "$STATE" \
		>> "$LOG" 2>&1 &
	KMESHD_PID=$!
	wait_state '^last_attempt=[1-9]'
}
stop_kmeshd() {
	[ -n "$KMESHD_PID" ] || return 0
	kill "$KMESHD_PID" 2>/dev/null
	wait "$KMESHD_PID" 2>/dev/null
	KMESHD_PID=
	rm -f "$STATE/kmeshd.state"
}
state() { cat "$STATE/kmeshd.state" 2>/dev/null; }
wait_state() {	# wait until the state file matches a regex (5 s)
	for _ in $(seq 100); do
		state | grep -qE "$1" && return 0
		sleep 0.05
	done
	return 1
}
gen() { state | sed -n 's/^generation=//p'; }
# reload: rewrite the config (the caller changed the variables), wait for
# the next generation
reload() {
	local g
	g=$(gen)
	write_config
	kill -HUP "$KMESHD_PID"
	for _ in $(seq 100); do
		[ "$(gen)" -gt "$g" ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
in_cli() { km_in "$P/enrolled" "$P-cli" "$@"; }
count_of() { sed -n "s/^count $1 //p" <<< "$2" | grep . || echo 0; }
total_ok() { sed -n 's/^total ok=\([0-9]*\).*/\1/p' <<< "$1"; }
counter() { "${CTL[@]}" -o json status | jq -r ".counters.$1"; }
# active CLUSTER HOST_NUMBER: the endpoint's active connections (kmeshctl)
active() {
	"${CTL[@]}" -o json dump | jq -r --arg c "$1" --arg a "10.$NET.0.$2:8080" \
		'.clusters[] | select(.name == $c) | .endpoints[] | select(.address == $a) | .active'
}
cluster_stat() {	# cluster_stat CLUSTER FIELD
	"${CTL[@]}" -o json dump | jq -r --arg c "$1" ".clusters[] | select(.name == \$c) | .$2"
}
# hold NAME ARGS...: km_testcli --keep in the enrolled cgroup, in the
# background, until its total line is out; its output in $WORK/hold.NAME.
# km_in forks on its way to the client, so the client writes its own pid.
hold() {
	local name=$1 pidf=$WORK/pid.$1
	shift
	rm -f "$pidf"
	in_cli sh -c 'echo $$ > "$0"; exec "$@"' "$pidf" "$CLI" --keep "$@" \
		> "$WORK/hold.$name" 2>&1 &
	for _ in $(seq 200); do
		[ -s "$pidf" ] && grep -q '^total' "$WORK/hold.$name" && break
		sleep 0.05
	done
	HOLDER[$name]=$(cat "$pidf" 2>/dev/null)
	[ -n "${HOLDER[$name]}" ]
}
held() { cat "$WORK/hold.$1"; }
# release NAME: end the holder; its sockets close with it
release() {
	local pid=${HOLDER[$1]}
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do
		[ -e "/proc/$pid" ] || break
		sleep 0.05
	done
	unset "HOLDER[$1]"
}
# wait_active CLUSTER HOST WANT: the count once the releases are through
wait_active() {
	for _ in $(seq 100); do
		[ "$(active "$1" "$2")" = "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- set-up ----------------------------------------------------------------------
echo "# work dir $WORK"
km_topo_up "$P" "$NET"
for i in 2 3 4 5 6; do
	km_backend "$P-srv" "b$i" "10.$NET.0.$i:8080" || exit 1
done
# source addresses for the Maglev cases: 10.NET.0.101-132 on the client
for i in $(seq 101 132); do
	km_ns "$P-cli" ip addr add "10.$NET.0.$i/32" dev "$P-c0"
done
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
write_config
start_kmeshd
if state | grep -q '^generation=1$'; then
	ok "kmeshd starts with the traffic policy config"
else
	not_ok "kmeshd starts with the traffic policy config" "$(cat "$LOG")"
	exit 1
fi
"${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null

# ---- not enforced: listed, never silent ------------------------------------------
if grep -q "not enforced: outlier_detection in 1 resource(s), e.g. 'lr'" "$LOG"; then
	ok "outlier_detection is accepted and listed as not enforced"
else not_ok "outlier_detection is listed as not enforced" "$(grep -i enforced "$LOG")"; fi
if "${CTL[@]}" status | grep -q "^  outlier_detection: 1 resource(s), e.g. 'lr'$" &&
   [ "$("${CTL[@]}" -o json status | jq -r '.agent.not_enforced[0].kind')" = outlier_detection ]; then
	ok "kmeshctl status lists what is not enforced (text and JSON)"
else not_ok "kmeshctl status lists what is not enforced" "$("${CTL[@]}" status | head -12)"; fi

# ---- LEAST_REQUEST ------------------------------------------------------------------
# Four connections held while lr has only b2; then b3 joins (a generation
# flip). Two endpoints, two choices: both are candidates on every connect,
# so each new connection goes to b3 until it holds as many as b2.
hold a -n 4 10.92.0.1:80
if [ "$(count_of b2 "$(held a)")" = 4 ] && [ "$(active lr 2)" = 4 ] &&
   [ "$(cluster_stat lr cx_active)" = 4 ]; then
	ok "4 held connections to b2 are counted in the kernel (endpoint 4, cluster 4)"
else not_ok "4 held connections to b2 are counted" "$(held a)" "b2 active $(active lr 2), cluster $(cluster_stat lr cx_active)"; fi

LR_EPS="2 3"
reload
if [ "$(active lr 2)" = 4 ] && [ "$(active lr 3)" = 0 ]; then
	ok "the counts survive a generation flip (b3 added: b2 4, b3 0)"
else not_ok "the counts survive a generation flip" "b2 $(active lr 2), b3 $(active lr 3)"; fi

hold b -n 4 10.92.0.1:80
if [ "$(count_of b3 "$(held b)")" = 4 ] && [ "$(active lr 3)" = 4 ]; then
	ok "LEAST_REQUEST: 4 new connections all go to b3, which held none (b2 holds 4)"
else not_ok "LEAST_REQUEST: new connections go to the less loaded b3" "$(held b)" "b2 $(active lr 2), b3 $(active lr 3)"; fi

stop_kmeshd
start_kmeshd
if [ "$(active lr 2)" = 4 ] && [ "$(active lr 3)" = 4 ]; then
	ok "the counts survive a kmeshd restart (b2 4, b3 4)"
else not_ok "the counts survive a kmeshd restart" "b2 $(active lr 2), b3 $(active lr 3)"; fi

release a
if wait_active lr 2 0 && [ "$(active lr 3)" = 4 ]; then
	ok "closing b2's 4 connections takes its count to 0 (cgroup/sock_release)"
else not_ok "closing connections takes the count down" "b2 $(active lr 2), b3 $(active lr 3)"; fi

hold c -n 3 10.92.0.1:80
if [ "$(count_of b2 "$(held c)")" = 3 ] && [ "$(active lr 2)" = 3 ]; then
	ok "LEAST_REQUEST follows the counts: 3 new connections all go to b2 (b3 holds 4)"
else not_ok "LEAST_REQUEST follows the counts back to b2" "$(held c)" "b2 $(active lr 2), b3 $(active lr 3)"; fi
release b
release c
if wait_active lr 3 0 && wait_active lr 2 0 && [ "$(cluster_stat lr cx_active)" = 0 ]; then
	ok "every count is back to 0 once all connections are closed"
else not_ok "every count is back to 0" "b2 $(active lr 2), b3 $(active lr 3), cluster $(cluster_stat lr cx_active)"; fi

# ---- circuit_breakers max_connections -------------------------------------------
o0=$(counter upstream_cx_overflow)
hold cb -n 3 10.92.0.2:80
out=$(in_cli "$CLI" -n 1 10.92.0.2:80)
o1=$(counter upstream_cx_overflow)
if [ "$(total_ok "$(held cb)")" = 3 ] && grep -q 'err connect errno=ECONNREFUSED' <<< "$out" &&
   [ "$((o1 - o0))" = 1 ] && [ "$(cluster_stat cb upstream_cx_overflow)" = 1 ]; then
	ok "max_connections 3: the 4th connect is refused with ECONNREFUSED, counted upstream_cx_overflow (node and cluster)"
else not_ok "max_connections 3 refuses the 4th connect" "$(held cb)" "$out" "overflow $o0 -> $o1, cluster $(cluster_stat cb upstream_cx_overflow)"; fi
if "${CTL[@]}" dump | grep -q "max_connections 3, 1 refused (upstream_cx_overflow)"; then
	ok "kmeshctl dump shows the cluster's overflow"
else not_ok "kmeshctl dump shows the cluster's overflow" "$("${CTL[@]}" dump | grep -A2 ' cb:')"; fi
release cb
for _ in $(seq 100); do [ "$(cluster_stat cb cx_active)" = 0 ] && break; sleep 0.05; done
out=$(in_cli "$CLI" -n 3 10.92.0.2:80)
if [ "$(total_ok "$out")" = 3 ]; then ok "below the limit again, connects go through"
else not_ok "below the limit again, connects go through" "$out"; fi

# ---- MAGLEV by source address ------------------------------------------------------
# map_sources: "SRC BACKEND" per source address, each dialed twice
map_sources() {
	local i out a b
	for i in $(seq 101 132); do
		out=$(in_cli "$CLI" --bind "10.$NET.0.$i" -n 2 10.92.0.3:80)
		a=$(sed -n 's/^ok backend=\([^ ]*\).*/\1/p' <<< "$out" | sed -n 1p)
		b=$(sed -n 's/^ok backend=\([^ ]*\).*/\1/p' <<< "$out" | sed -n 2p)
		if [ -z "$a" ] || [ "$a" != "$b" ]; then echo "$i split:$a/$b"; else echo "$i $a"; fi
	done
}
before=$(map_sources)
used=$(awk '{print $2}' <<< "$before" | sort -u | tr '\n' ' ')
if ! grep -q split <<< "$before" && [ "$(wc -w <<< "$used")" -ge 3 ]; then
	ok "Maglev: each of 32 source addresses lands on one endpoint every time (endpoints used: $used)"
else not_ok "Maglev: a source address always lands on the same endpoint" "$(grep split <<< "$before" | head -3)" "used: $used"; fi

out=$(in_cli "$CLI" -n 6 10.92.0.3:80)
if [ "$(grep -c '^count ' <<< "$out")" = 1 ] && [ "$(total_ok "$out")" = 6 ]; then
	ok "Maglev: an unbound socket is keyed by its network namespace (6 connects, one endpoint)"
else not_ok "Maglev: unbound sockets of one namespace stay together" "$out"; fi

MG_EPS="2 3 5"	# b4 goes
reload
after=$(map_sources)
gone=0 moved=0 kept=0
while read -r src b; do
	a=$(awk -v s="$src" '$1 == s {print $2}' <<< "$after")
	if [ "$b" = b4 ]; then gone=$((gone + 1))
	elif [ "$a" != "$b" ]; then moved=$((moved + 1))
	else kept=$((kept + 1)); fi
done <<< "$before"
echo "# maglev, 4 endpoints, one removed: $gone of 32 sources were on it and moved; $moved of the other $((32 - gone)) moved"
if ! grep -q b4 <<< "$after" && ! grep -q split <<< "$after" && [ "$moved" -le 1 ] &&
   [ "$kept" -ge $((32 - gone - 1)) ]; then
	ok "Maglev: removing 1 of 4 endpoints moves its $gone sources and $moved of the other $((32 - gone))"
else not_ok "Maglev: removing an endpoint moves few other sources" "gone $gone, moved $moved, kept $kept" "$(paste <(echo "$before") <(echo "$after") | head -40 | tr '\n' ';')"; fi

# ---- outlier detection ----------------------------------------------------------
# od_stat CLUSTER FIELD: a field of the cluster's outlier_detection (dump)
od_stat() {
	"${CTL[@]}" -o json dump | jq -r --arg c "$1" ".clusters[] | select(.name == \$c) | .outlier_detection.$2"
}
# od_ep CLUSTER HOST FIELD: an endpoint's outlier state (dump)
od_ep() {
	"${CTL[@]}" -o json dump | jq -r --arg c "$1" --arg a "10.$NET.0.$2:8080" \
		".clusters[] | select(.name == \$c) | .endpoints[] | select(.address == \$a) | .$3"
}
errs() { sed -n 's/^total ok=[0-9]* err=\([0-9]*\).*/\1/p' <<< "$1"; }
km_backend "$P-srv" b8 "10.$NET.0.8:8080" || exit 1

# max_ejection_percent 50 of 3 endpoints: one ejection. Round robin over
# b7 and b9 (nothing listens: reset) and b8; 2 failures in a row eject.
out=$(in_cli "$CLI" -n 12 10.92.0.5:80)
e7=$(od_ep od2 7 ejected_ms_left) e9=$(od_ep od2 9 ejected_ms_left)
if [ "$(od_stat od2 ejections_enforced_total)" = 1 ] && [ "$(od_stat od2 ejections_active)" = 1 ] &&
   [ "$(od_stat od2 ejections_overflow)" -ge 1 ] && [ "$(errs "$out")" -ge 3 ] &&
   [ "$(counter outlier_ejections_overflow)" -ge 1 ] &&
   { { [ "$e7" -gt 0 ] && [ "$e9" = 0 ]; } || { [ "$e7" = 0 ] && [ "$e9" -gt 0 ]; }; }; then
	ok "max_ejection_percent 50 of 3 endpoints: one of the two dead ones is ejected, the other stays in, counted ejections_overflow ($(od_stat od2 ejections_overflow))"
else not_ok "max_ejection_percent bounds the ejections" "$out" "b7 $e7 ms left, b9 $e9" "$("${CTL[@]}" -o json dump | jq -c '.clusters[] | select(.name == "od2")')"; fi

# od: b7 dead, b8 alive, round robin; 2 failed connects in a row eject b7
# for 2 s x its ejections
out=$(in_cli "$CLI" -n 6 10.92.0.4:80)
if [ "$(errs "$out")" = 2 ] && [ "$(count_of b8 "$out")" = 4 ] &&
   [ "$(od_stat od ejections_enforced_total)" = 1 ] && [ "$(od_ep od 7 ejections)" = 1 ] &&
   [ "$(counter outlier_ejections)" = 2 ] &&
   "${CTL[@]}" dump | grep -q "10.$NET.0.7:8080 .*, ejected ("; then
	ok "outlier detection: b7 (connects reset) is ejected after 2 failed connects in a row, counted per cluster and per node"
else not_ok "outlier detection ejects a dead endpoint" "$out" "$("${CTL[@]}" dump | grep -A4 ' od:')"; fi

stop_kmeshd
start_kmeshd
LR_EPS="2 3 4"
reload
if [ "$(od_stat od ejections_enforced_total)" = 1 ] && [ "$(od_ep od 7 ejections)" = 1 ] &&
   [ "$(od_stat od2 ejections_enforced_total)" = 1 ]; then
	ok "the ejection state survives a kmeshd restart and a generation flip (keyed by endpoint address)"
else not_ok "the ejection state survives a restart and a flip" "$("${CTL[@]}" dump | grep -A4 ' od:')"; fi

# While b7 is out, every connect goes to b8. Judged on a run that ended
# with b7 still ejected; if its time ran out first (a slow machine), dead
# b7 is ejected again, for longer, and the run repeated.
verdict=
for _ in 1 2 3; do
	if [ "$(od_ep od 7 ejected_ms_left)" = 0 ]; then
		in_cli "$CLI" -n 4 10.92.0.4:80 >/dev/null
	fi
	out=$(in_cli "$CLI" -n 10 10.92.0.4:80)
	if [ "$(od_ep od 7 ejected_ms_left)" -gt 0 ]; then verdict=$out; break; fi
done
if [ -n "$verdict" ] && [ "$(count_of b8 "$verdict")" = 10 ]; then
	ok "while b7 is ejected, 10 of 10 connects go to b8"
else not_ok "an ejected endpoint gets no connects" "${verdict:-b7 was never still ejected after a run}"; fi

# b7 comes alive; once its ejection time has run out it is picked again
km_backend "$P-srv" b7 "10.$NET.0.7:8080" || exit 1
back=
for _ in $(seq 60); do
	out=$(in_cli "$CLI" -n 2 10.92.0.4:80)
	[ "$(count_of b7 "$out")" -gt 0 ] && { back=1; break; }
	sleep 0.5
done
if [ -n "$back" ] && [ "$(od_ep od 7 ejected_ms_left)" = 0 ] && [ "$(od_stat od ejections_active)" = 0 ]; then
	ok "b7 is back once its ejection time has run out (connects reach it again)"
else not_ok "an ejected endpoint comes back after its ejection time" "$out" "$("${CTL[@]}" dump | grep -A4 ' od:')"; fi

# A SYN that is never answered (no host has 10.NET.0.50): the connect
# fails when the SYN retries run out (1 retry here, about 3 s).
km_ns "$P-cli" sysctl -qw net.ipv4.tcp_syn_retries=1
out=$(in_cli "$CLI" -t 20000 -n 3 10.92.0.6:80)
km_ns "$P-cli" sysctl -qw net.ipv4.tcp_syn_retries=6
if [ "$(errs "$out")" = 1 ] && [ "$(count_of b8 "$out")" = 2 ] &&
   [ "$(od_stat odt ejections_enforced_total)" = 1 ] && [ "$(od_ep odt 50 ejected_ms_left)" -gt 0 ]; then
	ok "outlier detection: a connect that times out in SYN_SENT ejects (consecutive 1)"
else not_ok "a SYN timeout counts as a failed connect" "$out" "$("${CTL[@]}" dump | grep -A4 ' odt:')"; fi

# ---- refused with a reason ----------------------------------------------------------
sed 's/hash_policy: \[ { source_ip: {} } \]/hash_policy: [ { filter_state: { key: k } } ]/' "$CONF" > "$WORK/bad.yaml"
if ! out=$("$KM_BUILD/kmeshd" --check --config "$WORK/bad.yaml" 2>&1) &&
   grep -q "hash_policy\[0\]: filter_state is not supported" <<< "$out"; then
	ok "a hash policy kmesh cannot apply is refused, naming the listener and why"
else not_ok "a hash policy kmesh cannot apply is refused" "$out"; fi

report_summary
[ "$FAIL" -eq 0 ]
