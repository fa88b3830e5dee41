#!/usr/bin/env bash
# Host integration tests: kmeshd and the BPF connect path on the real kernel,
# with real cgroups, network namespaces, veth test hosts, backend servers and
# clients (km_testcli, curl). Needs root. Prints "ok N - name" per case and
# a final "N passed, N failed, N skipped" line.
#
# VIPs are 10.97.0.x / fd00:97::x, dialed only from namespace kmt-cli, which
# has no route to them: a connect kmesh does not rewrite fails with
# ENETUNREACH and no packet leaves.
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh

P=kmt
WORK=$(mktemp -d /tmp/kmesh-host.XXXXXX)
PIN=/sys/fs/bpf/kmesh-test
STATE=$WORK/state
CONF=$WORK/mesh.yaml
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
KMESHD_PID=
. tests/lib/report.sh

cleanup() {
	stop_kmeshd
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "host tests" "needs root (BPF, cgroups, network namespaces)"
	report_summary
	exit 0
fi

# ---- config ----------------------------------------------------------------
# Variables the tests change between reloads.
RR_EPS="2 3 4 5"		# backends of cluster rr
HEALTH2=HEALTHY HEALTH3=HEALTHY	# cluster health's two endpoints
RR_PORT=8080

ep() {	# ep ADDR PORT [HEALTH] [WEIGHT]
	echo "        - endpoint: { address: { socket_address: { address: \"$1\", port_value: $2 } } }"
	echo "          health_status: ${3:-UNKNOWN}"
	echo "          load_balancing_weight: ${4:-1}"
}
tcp_listener() {	# NAME ADDR PORT CLUSTER
	cat <<-EOT
	  - name: $1
	    address: { socket_address: { address: "$2", port_value: $3 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: $1, cluster: $4 }
	EOT
}
cluster() {	# NAME POLICY, endpoints follow from stdin
	echo "  - name: $1"
	echo "    lb_policy: $2"
	echo "    load_assignment:"
	echo "      endpoints:"
	echo "      - lb_endpoints:"
	cat
}

write_config() {
	local out=${1:-$CONF} e
	{
	echo "node: { locality: { region: r1, zone: zone-a } }"
	echo "static_resources:"
	echo "  listeners:"
	tcp_listener svc-rr 10.97.0.1 80 rr
	tcp_listener svc-wrr 10.97.0.2 80 wrr
	tcp_listener svc-wrand 10.97.0.3 80 wrand
	tcp_listener svc-rand 10.97.0.4 80 rand
	cat <<-EOT
	  - name: svc-split
	    address: { socket_address: { address: 10.97.0.5, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config:
	          stat_prefix: split
	          weighted_clusters:
	            clusters: [ { name: split-a, weight: 80 }, { name: split-b, weight: 20 } ]
	EOT
	tcp_listener svc-health 10.97.0.6 80 health
	tcp_listener svc-prio 10.97.0.7 80 prio
	tcp_listener svc-locality 10.97.0.8 80 locality
	tcp_listener svc-dead 10.97.0.9 80 dead
	tcp_listener svc-v6 "fd00:97::1" 80 v6
	cat <<-EOT
	  - name: svc-http
	    address: { socket_address: { address: 10.97.0.10, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.http_connection_manager
	        typed_config:
	          stat_prefix: http
	          route_config:
	            name: http
	            virtual_hosts:
	            - name: all
	              domains: ["*"]
	              routes:
	              - match: { prefix: "/api" }
	                route: { cluster: rand }
	              - match: { prefix: "/" }
	                route: { cluster: http-default }
	  - name: svc-ports
	    address: { socket_address: { address: 10.97.0.11, port_value: 80 } }
	    filter_chains:
	    - filter_chain_match: { destination_port: 80 }
	      filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: p80, cluster: split-a }
	    - filter_chain_match: { destination_port: 81 }
	      filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: p81, cluster: split-b }
	EOT
	echo "  clusters:"
	for e in $RR_EPS; do ep "10.98.0.$e" "$RR_PORT"; done | cluster rr ROUND_ROBIN
	{ ep 10.98.0.2 8080 HEALTHY 1; ep 10.98.0.3 8080 HEALTHY 3; } | cluster wrr ROUND_ROBIN
	{ ep 10.98.0.2 8080 HEALTHY 1; ep 10.98.0.3 8080 HEALTHY 3; } | cluster wrand RANDOM
	{ ep 10.98.0.2 8080; ep 10.98.0.3 8080; ep 10.98.0.4 8080; } | cluster rand RANDOM
	ep 10.98.0.6 8080 | cluster split-a ROUND_ROBIN
	ep 10.98.0.7 8080 | cluster split-b ROUND_ROBIN
	{ ep 10.98.0.2 8080 "$HEALTH2"; ep 10.98.0.3 8080 "$HEALTH3"; } | cluster health ROUND_ROBIN
	ep 10.98.0.8 8080 | cluster http-default ROUND_ROBIN
	cat <<-EOT
	  - name: prio
	    load_assignment:
	      endpoints:
	      - priority: 0
	        lb_endpoints:
	$(ep 10.98.0.2 8080 UNHEALTHY)
	      - priority: 1
	        lb_endpoints:
	$(ep 10.98.0.3 8080 HEALTHY)
	$(ep 10.98.0.4 8080 DRAINING)
	  - name: locality
	    load_assignment:
	      endpoints:
	      - locality: { region: r1, zone: zone-b }
	        lb_endpoints:
	$(ep 10.98.0.2 8080)
	      - locality: { region: r1, zone: zone-a }
	        lb_endpoints:
	$(ep 10.98.0.3 8080)
	$(ep 10.98.0.4 8080)
	  - name: dead
	    type: EDS
	EOT
	{ ep "fd00:98::2" 8080; ep "fd00:98::3" 8080; } | cluster v6 ROUND_ROBIN
	} > "$out.tmp" && mv "$out.tmp" "$out"
}

# ---- helpers ------------------------------------------------------------------
start_kmeshd() {
	"$KM_BUILD/kmeshd" --config "$CONF" --pin-root "$PIN" --state-dir "$STATE" \
		${KMESHD_FLAGS:-} >> "$LOG" 2>&1 &
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
reload_to() {	# reload_to WAY: SIGHUP or a file rewrite; waits for the attempt
	local before after
	sleep 1.05	# last_attempt has 1 s resolution
	# read after the sleep: a reload the file's own events started before
	# is not the one this waits for
	before=$(state | sed -n 's/^last_attempt=//p')
	if [ "$1" = hup ]; then kill -HUP "$KMESHD_PID"; else write_config; fi
	for _ in $(seq 100); do
		after=$(state | sed -n 's/^last_attempt=//p')
		[ -n "$after" ] && [ "$after" != "$before" ] && return 0
		sleep 0.05
	done
	return 1
}
reloads() { grep -cE 'changed: reloading|SIGHUP: reloading' "$LOG"; }
wait_gen_above() {	# wait until the state's generation is > $1 (5 s)
	for _ in $(seq 100); do
		[ "$(gen)" -gt "$1" ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
wait_log() {	# wait until the log matches a regex (5 s)
	for _ in $(seq 100); do
		grep -qE "$1" "$LOG" && return 0
		sleep 0.05
	done
	return 1
}
# slow_write FILE SRC: write SRC into FILE one line at a time through one
# open; half-way, wait longer than the settle time and report the reloads
# seen so far on fd 4. Whether a reload fires during the pause decides the
# result, not how long the pause is.
slow_write() {
	local n half i=0 line
	n=$(wc -l < "$2"); half=$((n / 2))
	exec 3> "$1"
	while IFS= read -r line; do
		printf '%s\n' "$line" >&3
		i=$((i + 1))
		[ "$i" = "$half" ] && { sleep 0.5; reloads >&4; }
	done < "$2"
	exec 3>&-
}
counter() { "${CTL[@]}" -o json status | jq -r ".counters.$1"; }
in_enrolled() { km_in "$P/enrolled" "$P-cli" "$@"; }
count_of() { sed -n "s/^count $1 //p" <<< "$2" | grep . || echo 0; }
total_ok() { sed -n 's/^total ok=\([0-9]*\).*/\1/p' <<< "$1"; }

# expect_exact NAME OUTPUT backend=count...
expect_counts() {
	local name=$1 out=$2 bad=()
	shift 2
	for pair in "$@"; do
		local b=${pair%%=*} want=${pair#*=} got
		got=$(count_of "$b" "$out")
		[ "$got" = "$want" ] || bad+=("$b: want $want, got $got")
	done
	if [ ${#bad[@]} -eq 0 ]; then ok "$name"; else not_ok "$name" "${bad[@]}" "$(grep -E '^(count|total)' <<< "$out" | tr '\n' ' ')"; fi
}
# expect_range NAME OUTPUT backend LO HI
expect_range() {
	local got
	got=$(count_of "$3" "$2")
	if [ "$got" -ge "$4" ] && [ "$got" -le "$5" ]; then ok "$1 ($3=$got in [$4,$5])"
	else not_ok "$1" "$3: got $got, want [$4,$5]" "$(grep -E '^(count|total)' <<< "$2" | tr '\n' ' ')"; fi
}

# periodic_pairs OUTPUT L: "SAME PAIRS": of the PAIRS picks (the "ok
# backend=" lines, in order) that have one L later, how many SAME equal it.
periodic_pairs() {
	local L=$2 i same=0
	local -a seq
	mapfile -t seq < <(sed -n 's/^ok backend=\([^ ]*\) .*/\1/p' <<< "$1")
	for ((i = 0; i + L < ${#seq[@]}; i++)); do
		[ "${seq[i]}" = "${seq[i + L]}" ] && same=$((same + 1))
	done
	echo "$same $((${#seq[@]} > L ? ${#seq[@]} - L : 0))"
}

# expect_not_cyclic NAME OUTPUT L: the picks are not periodic with period
# L. A round robin over weights summing to L repeats every L picks, wherever
# it starts; a random pick equals the one L later only by chance, so over a
# few hundred picks "all equal" has a chance below 1e-40 (said per call).
# Counts alone cannot tell RANDOM from ROUND_ROBIN.
expect_not_cyclic() {
	local same pairs
	read -r same pairs < <(periodic_pairs "$2" "$3")
	if [ "$pairs" -ge $(($3 * 20)) ] && [ "$same" -lt "$pairs" ]; then
		ok "$1 ($same of $pairs picks equal the one $3 later)"
	else
		not_ok "$1" "$same of $pairs picks equal the one $3 later: a round robin of period $3"
	fi
}

# ---- set-up ----------------------------------------------------------------------
echo "# work dir $WORK"
km_topo_up "$P" 98
for i in 2 3 4 5 6 7 8 9; do
	km_backend "$P-srv" "b$i" "10.98.0.$i:8080" "[fd00:98::$i]:8080" "10.98.0.$i:9090" || exit 1
done
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
write_config
if "$KM_BUILD/kmeshd" --check --config "$CONF" > "$WORK/check.out" 2>&1; then
	ok "kmeshd --check accepts the test config"
else
	not_ok "kmeshd --check accepts the test config" "$(cat "$WORK/check.out")"
fi
start_kmeshd
if state | grep -q '^generation=1$' && [ -e "$PIN/link_km_connect4" ]; then
	ok "kmeshd starts, attaches, applies generation 1"
else
	not_ok "kmeshd starts, attaches, applies generation 1" "$(cat "$LOG")"
	exit 1
fi
# The verifier's work for the connect programs: deterministic for one
# kernel and object. A quarter of its 1M limit leaves room to grow, and
# loading stays quick (an inlined LEAST_REQUEST scan once took it to 400k,
# and minutes per load on the debug kernel under TCG).
v=$(sed -n 's/.*verifier: at most \([0-9]*\) instructions processed for one program (\([a-z0-9_]*\).*/\1 \2/p' "$LOG" | tail -n 1)
if [ -n "$v" ] && [ "${v% *}" -lt 250000 ]; then
	ok "the verifier processes under 250000 instructions for any program (most: ${v% *}, ${v#* })"
else
	not_ok "the verifier processes under 250000 instructions for any program" "kmeshd said: ${v:-nothing}"
fi
"${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null
"${CTL[@]}" enroll "/run/netns/$P-cli2" >/dev/null

# ---- data path -----------------------------------------------------------------------
out=$(in_enrolled "$CLI" -n 8 10.97.0.1:80)
if [ "$(total_ok "$out")" = 8 ]; then ok "VIP connects reach backends"
else not_ok "VIP connects reach backends" "$out"; fi

if grep -q '^ok .*peer=10.97.0.1:80$' <<< "$out" && ! grep -q '^ok .*peer=10.98' <<< "$out"; then
	ok "getpeername shows the VIP (IPv4)"
else not_ok "getpeername shows the VIP (IPv4)" "$(head -3 <<< "$out")"; fi

out=$(in_enrolled "$CLI" -n 40 10.97.0.1:80)
expect_counts "round robin is exact over 40 connects to 4 endpoints" "$out" b2=10 b3=10 b4=10 b5=10
# the control for expect_not_cyclic below: a round robin is periodic
read -r same pairs < <(periodic_pairs "$out" 4)
if [ "$pairs" = 36 ] && [ "$same" = 36 ]; then ok "round robin repeats with period 4 (36 of 36 picks)"
else not_ok "round robin repeats with period 4" "$same of $pairs picks equal the one 4 later"; fi

out=$(in_enrolled "$CLI" -n 40 10.97.0.2:80)
expect_counts "weighted round robin 1:3 is exact over 40 connects" "$out" b2=10 b3=30

# Weighted random 1:3 over 400: expected 100 for b2; +-40 is more than 4 sigma.
out=$(in_enrolled "$CLI" -n 400 10.97.0.3:80)
expect_range "weighted random 1:3 within tolerance over 400 connects" "$out" b2 60 140
# p(equal 4 later) = 1/16 + 9/16: all 396 equal has p = 0.625^396 < 1e-80
expect_not_cyclic "weighted random 1:3 is not a weighted round robin (period 4)" "$out" 4

out=$(in_enrolled "$CLI" -n 300 10.97.0.4:80)
r_ok=1
for b in b2 b3 b4; do
	g=$(count_of $b "$out"); { [ "$g" -ge 60 ] && [ "$g" -le 140 ]; } || r_ok=0
done
if [ $r_ok = 1 ]; then ok "random is roughly even over 300 connects ($(grep '^count' <<< "$out" | tr '\n' ' '))"
else not_ok "random is roughly even over 300 connects" "$(grep '^count' <<< "$out" | tr '\n' ' ')"; fi
# p(equal 3 later) = 1/3: all 297 equal has p = 3^-297
expect_not_cyclic "random is not a round robin (period 3)" "$out" 3

# weighted_clusters 80/20 over 400: expected 80 for split-b; +-32 is 4 sigma.
out=$(in_enrolled "$CLI" -n 400 10.97.0.5:80)
expect_range "tcp_proxy weighted_clusters 80/20 within tolerance over 400 connects" "$out" b7 48 112

out=$(in_enrolled "$CLI" -n 10 10.97.0.7:80)
expect_counts "priority fail-over skips an unhealthy priority 0 and a DRAINING endpoint" "$out" b3=10

out=$(in_enrolled "$CLI" -n 20 10.97.0.8:80)
expect_counts "locality: the node's own zone first" "$out" b2=0 b3=10 b4=10

t0=$(date +%s%N)
out=$(in_enrolled "$CLI" -n 1 -t 5000 10.97.0.9:80)
t1=$(date +%s%N)
if grep -q '^err connect errno=ECONNREFUSED' <<< "$out"; then
	ok "a service with no usable endpoint is refused (ECONNREFUSED, $(( (t1 - t0) / 1000000 )) ms)"
else not_ok "a service with no usable endpoint is refused (ECONNREFUSED)" "$out"; fi

out=$(in_enrolled "$CLI" -n 6 "[fd00:97::1]:80")
if [ "$(total_ok "$out")" = 6 ] && grep -q 'peer=\[fd00:97::1\]:80' <<< "$out"; then
	expect_counts "IPv6 VIP: round robin and getpeername" "$out" b2=3 b3=3
else not_ok "IPv6 VIP: round robin and getpeername" "$out"; fi

out=$(in_enrolled "$CLI" -n 1 "[::ffff:10.97.0.1]:80")
if [ "$(total_ok "$out")" = 1 ]; then ok "a dual-stack IPv6 socket dialing ::ffff:VIP is routed"
else not_ok "a dual-stack IPv6 socket dialing ::ffff:VIP is routed" "$out"; fi

# No kmesh.ko on this kernel (module loading is compiled out): the HTTP
# listener is L4 to its default route, so /api/x, which its route table
# sends to "rand", reaches the default route's backend b8.
l0=$(counter l7_served_as_l4)
body=$(in_enrolled curl -sS --max-time 5 http://10.97.0.10/api/x)
l1=$(counter l7_served_as_l4)
if [ "$body" = b8 ] && [ $((l1 - l0)) = 1 ] && [ "$(counter l7_deferred)" = 0 ]; then
	ok "without kmesh.ko an HTTP listener is served as L4 to its default route (curl; l7_served_as_l4 +1, nothing deferred)"
else not_ok "without kmesh.ko an HTTP listener is served as L4 to its default route" "got '$body', l7_served_as_l4 $l0 -> $l1, l7_deferred $(counter l7_deferred)"; fi
st=$("${CTL[@]}" -o json status)
if "${CTL[@]}" status | grep -q '^L7: .*served as L4 .*kmesh.ko.*svc-http' &&
   [ "$(jq -r '.agent.l7_served_as_l4[0]' <<< "$st")" = svc-http ] &&
   [ "$(jq -r '.agent.l7_mode' <<< "$st")" = l4 ] &&
   jq -r '.agent.l7_reason' <<< "$st" | grep -q 'kmesh.ko'; then
	ok "kmeshctl status says the HTTP listener is served as L4, and why"
else not_ok "kmeshctl status says the HTTP listener is served as L4, and why" "$("${CTL[@]}" status | grep '^L7')" "$st"; fi
if "${CTL[@]}" -o json dump | jq -e '[.. | objects | select(.listener? == "svc-http")][0] | .http == true and .route_table == 0' >/dev/null; then
	ok "kmeshctl dump shows the HTTP listener's route table"
else not_ok "kmeshctl dump shows the HTTP listener's route table" "$("${CTL[@]}" dump | grep svc-http)"; fi
# kmeshctl explain: the live route table, decided by the module's matcher
ex=$("${CTL[@]}" -o json explain --host svc --path /api/x svc-http); rc=$?
if [ $rc = 0 ] && [ "$(jq -r '.result' <<< "$ex")" = matched ] &&
   [ "$(jq -r '.route.match[0]' <<< "$ex")" = "prefix '/api'" ] &&
   [ "$(jq -r '.clusters[0].name' <<< "$ex")" = rand ] &&
   { [ "$(jq -r '.kernel_router' <<< "$ex")" = kmesh.ko ] ||
     [ "$(jq -r '.default_route[0].name' <<< "$ex")" = http-default ]; }; then
	ok "kmeshctl explain: /api/x takes the route to rand by the live route table (without kmesh.ko: the default route)"
else not_ok "kmeshctl explain: /api/x takes the route to rand by the live route table" "exit $rc" "$ex"; fi
"${CTL[@]}" explain --method CONNECT --host svc:443 --path svc:443 svc-http >/dev/null; rc=$?
"${CTL[@]}" explain --path / svc-rr >/dev/null 2>&1; rc2=$?
if [ $rc = 1 ] && [ $rc2 = 2 ]; then
	ok "kmeshctl explain exits 1 when no route matches (CONNECT), 2 for a tcp_proxy listener"
else not_ok "kmeshctl explain exit codes" "CONNECT: exit $rc, want 1" "svc-rr: exit $rc2, want 2"; fi

out80=$(in_enrolled "$CLI" -n 2 10.97.0.11:80); out81=$(in_enrolled "$CLI" -n 2 10.97.0.11:81)
if [ "$(count_of b6 "$out80")" = 2 ] && [ "$(count_of b7 "$out81")" = 2 ]; then
	ok "filter_chain_match.destination_port selects the chain"
else not_ok "filter_chain_match.destination_port selects the chain" "$out80" "$out81"; fi

# ---- enrollment -----------------------------------------------------------------------
out=$(km_in "$P/enrolled/child" "$P-cli" "$CLI" -n 2 10.97.0.1:80)
if [ "$(total_ok "$out")" = 2 ]; then ok "a child cgroup of an enrolled cgroup is routed"
else not_ok "a child cgroup of an enrolled cgroup is routed" "$out"; fi

ne0=$(counter not_enrolled)
out=$(km_in "$P/other" "$P-cli" "$CLI" -n 1 10.97.0.1:80)
ne1=$(counter not_enrolled)
if grep -q '^err connect errno=ENETUNREACH' <<< "$out" && [ "$ne1" -gt "$ne0" ]; then
	ok "a non-enrolled process is untouched (VIP unreachable, not_enrolled counted)"
else not_ok "a non-enrolled process is untouched" "$out" "not_enrolled $ne0 -> $ne1"; fi

out=$(km_in "$P/other" "$P-cli" "$CLI" -n 1 10.98.0.2:8080)
if grep -q '^ok backend=b2 peer=10.98.0.2:8080' <<< "$out"; then
	ok "a non-enrolled process reaches a backend directly, peer unchanged"
else not_ok "a non-enrolled process reaches a backend directly" "$out"; fi

out=$(in_enrolled "$CLI" -n 1 10.98.0.3:8080)
if grep -q '^ok backend=b3 peer=10.98.0.3:8080' <<< "$out"; then
	ok "an enrolled process dialing a non-service address is untouched"
else not_ok "an enrolled process dialing a non-service address is untouched" "$out"; fi

out=$(km_in "$P/other" "$P-cli2" "$CLI" -n 4 10.97.0.1:80)
if [ "$(total_ok "$out")" = 4 ]; then ok "netns enrollment routes any process in that namespace"
else not_ok "netns enrollment routes any process in that namespace" "$out"; fi

"${CTL[@]}" unenroll "/run/netns/$P-cli2" >/dev/null
out=$(km_in "$P/other" "$P-cli2" "$CLI" -n 1 -t 1000 10.97.0.1:80)
if ! grep -q '^ok' <<< "$out"; then ok "unenroll stops routing ($(head -1 <<< "$out"))"
else not_ok "unenroll stops routing" "$out"; fi
"${CTL[@]}" enroll "/run/netns/$P-cli2" >/dev/null

# one row per cgroup, whatever the spelling; the canonical path shown
enrolled_rows() { "${CTL[@]}" status | grep -cE "^  $1 +[0-9]+ +$2\$"; }
CG=$KM_CG_ROOT/$P
mkdir -p "$CG/sp"; ln -sfn "$CG/sp" "$WORK/cglink"
"${CTL[@]}" enroll "$CG/sp/" >/dev/null && "${CTL[@]}" enroll "$KM_CG_ROOT//$P//sp" >/dev/null &&
	(cd "$CG" && "${CTL[@]}" enroll sp >/dev/null) && "${CTL[@]}" enroll "$WORK/cglink" >/dev/null
if [ "$(enrolled_rows cgroup "$CG/sp")" = 1 ] && [ "$("${CTL[@]}" status | grep -c "/sp\$")" = 1 ]; then
	ok "enrolling 'dir/', '//', a relative path and a symlink gives one row with the canonical path"
else not_ok "one enrollment row per cgroup, canonical path" "$("${CTL[@]}" status | grep -A8 '^enrolled')"; fi
rmdir "$CG/sp"; mkdir "$CG/sp"
out=$("${CTL[@]}" enroll "$CG/sp" 2>&1)
if [ "$(enrolled_rows cgroup "$CG/sp")" = 1 ] && grep -q "pruned a stale enrollment: cgroup $CG/sp" <<< "$out"; then
	ok "a cgroup re-created at the same path: the old row is pruned, one row left"
else not_ok "a re-created cgroup: the old row is pruned" "$out" "$("${CTL[@]}" status | grep "/sp\$")"; fi
rmdir "$CG/sp"; mkdir "$CG/sp"
if out=$("${CTL[@]}" unenroll "$CG/sp/" 2>&1) && [ "$(enrolled_rows cgroup "$CG/sp")" = 0 ]; then
	ok "unenroll PATH after the cgroup was re-created (path spelled 'dir/')"
else not_ok "unenroll PATH after the cgroup was re-created" "$out"; fi
mkdir -p "$CG/gone"; "${CTL[@]}" enroll "$CG/gone" >/dev/null; rmdir "$CG/gone"
if out=$(cd "$CG" && "${CTL[@]}" unenroll ./gone/ 2>&1) && [ "$(enrolled_rows cgroup "$CG/gone")" = 0 ]; then
	ok "unenroll of a removed cgroup by another spelling (./gone/)"
else not_ok "unenroll of a removed cgroup by another spelling" "$out"; fi
rmdir "$CG/sp"

# deep cgroups: enrolled at level 20, a child at 21 is routed; level 64 refused
d=$P/deep; for _ in $(seq 18); do d=$d/d; done	# level 20
mkdir -p "$KM_CG_ROOT/$d/c"
"${CTL[@]}" enroll "$KM_CG_ROOT/$d" >/dev/null
out=$(km_in "$d/c" "$P-cli" "$CLI" -n 2 10.97.0.1:80)
if [ "$(total_ok "$out")" = 2 ]; then ok "a child (level 21) of a cgroup enrolled at level 20 is routed"
else not_ok "a child (level 21) of a cgroup enrolled at level 20 is routed" "$out"; fi
"${CTL[@]}" unenroll "$KM_CG_ROOT/$d" >/dev/null
for _ in $(seq 44); do d=$d/d; done	# level 64
mkdir -p "$KM_CG_ROOT/$d"
out=$("${CTL[@]}" enroll "$KM_CG_ROOT/$d" 2>&1); rc=$?
if [ $rc != 0 ] && grep -q "is at cgroup level 64: kmesh matches enrolled cgroups at levels 1-63 only" <<< "$out" &&
   [ "$("${CTL[@]}" status | grep -c "/d/d\$")" = 0 ]; then
	ok "enrolling a cgroup at level 64 is refused with the reason"
else not_ok "enrolling a cgroup at level 64 is refused with the reason" "rc $rc: $out"; fi

# ---- kmeshctl --------------------------------------------------------------------------
js=$("${CTL[@]}" -o json status)
if jq -e '(.programs | length) == 6 and .counters.routed > 0 and .maps.frontends == 13 and .agent.running' <<< "$js" >/dev/null; then
	ok "kmeshctl -o json status: 6 programs (connect4/6, getpeername4/6, sock_release, sockops), 13 frontends, routed counted"
else not_ok "kmeshctl -o json status" "$js"; fi
dj=$("${CTL[@]}" -o json dump)
if jq -e '([.clusters[] | select(.name == "rr") | .endpoints[].address] | sort) == ["10.98.0.2:8080","10.98.0.3:8080","10.98.0.4:8080","10.98.0.5:8080"]
	  and ([.frontends[] | select(.address == "10.97.0.5:80") | .clusters[].weight] == [80,20])
	  and ([.clusters[] | select(.name == "prio") | .endpoints[].address] == ["10.98.0.3:8080"])' <<< "$dj" >/dev/null; then
	ok "kmeshctl -o json dump shows frontends, weights and serving endpoints"
else not_ok "kmeshctl -o json dump" "$(head -c 1500 <<< "$dj")"; fi
if "${CTL[@]}" bogus >/dev/null 2>&1; then not_ok "kmeshctl rejects an unknown command"
else ok "kmeshctl rejects an unknown command"; fi
if err=$("${CTL[@]}" enroll /tmp 2>&1); then not_ok "kmeshctl enroll rejects a path that is neither cgroup nor netns"
elif grep -q 'neither a cgroup v2 directory nor a network namespace' <<< "$err"; then
	ok "kmeshctl enroll rejects a path that is neither cgroup nor netns"
else not_ok "kmeshctl enroll rejects a bad path clearly" "$err"; fi

# ---- reloads ----------------------------------------------------------------------------
g0=$(gen)
RR_EPS="2 3 4"
reload_to file
out=$(in_enrolled "$CLI" -n 30 10.97.0.1:80)
if [ "$(gen)" = $((g0 + 1)) ]; then
	expect_counts "endpoint removal takes effect on the next connect (file change reload)" "$out" b2=10 b3=10 b4=10 b5=0
else not_ok "endpoint removal (file change reload)" "generation $g0 -> $(gen)" "$(tail -3 "$LOG")"; fi

HEALTH2=UNHEALTHY
write_config
reload_to hup
out=$(in_enrolled "$CLI" -n 10 10.97.0.6:80)
expect_counts "health change takes effect on the next connect (SIGHUP reload)" "$out" b2=0 b3=10

HEALTH3=DRAINING
write_config; reload_to hup
nb0=$(counter no_endpoint)
out=$(in_enrolled "$CLI" -n 1 10.97.0.6:80)
if grep -q '^err connect errno=ECONNREFUSED' <<< "$out" && [ "$(counter no_endpoint)" -gt "$nb0" ]; then
	ok "all endpoints unhealthy: connects refused, no_endpoint counted"
else not_ok "all endpoints unhealthy: connects refused" "$out"; fi
HEALTH2=HEALTHY HEALTH3=HEALTHY

g0=$(gen)
cp "$CONF" "$WORK/good.yaml"
sed -i 's/port_value: 8080/port_value: 0/' "$CONF"
kill -HUP "$KMESHD_PID"
if wait_state '^last_ok=0'; then
	st=$(state)
	out=$(in_enrolled "$CLI" -n 6 10.97.0.1:80)
	if [ "$(gen)" = "$g0" ] && grep -qE "^last_error=$CONF:[0-9]+: cluster 'rr'.*port" <<< "$st" &&
	   [ "$(total_ok "$out")" = 6 ]; then
		ok "a reload with bad config is rejected with file:line and the old config keeps serving"
	else not_ok "a reload with bad config keeps the old config serving" "$st" "$out"; fi
	if "${CTL[@]}" status | grep -q "^last reload: REJECTED: $CONF:"; then ok "kmeshctl status shows the rejected reload"
	else not_ok "kmeshctl status shows the rejected reload" "$("${CTL[@]}" status | head -5)"; fi
else not_ok "a reload with bad config is rejected" "$(state)" "$(tail -3 "$LOG")"; fi
if grep -q "config rejected, generation $g0 keeps serving: $CONF:" "$LOG"; then
	ok "the rejection is logged once with file and line"
else not_ok "the rejection is logged with file and line" "$(tail -3 "$LOG")"; fi
write_config	# good again
reload_to hup

# A config that parses but does not compile (unknown cluster) is also rejected.
g0=$(gen)
sed -i 's/cluster: rand }/cluster: nope }/' "$CONF"
kill -HUP "$KMESHD_PID"
if wait_state '^last_ok=0' && state | grep -q "cluster 'nope' is not defined" && [ "$(gen)" = "$g0" ]; then
	ok "a reload referencing an undefined cluster is rejected, generation unchanged"
else not_ok "a reload referencing an undefined cluster is rejected" "$(state)"; fi
write_config; reload_to hup

# ---- restart ------------------------------------------------------------------------------
in_enrolled "$CLI" --hold 5 10.97.0.1:80 > "$WORK/hold.out" 2>&1 &
hold=$!
sleep 0.5
fails=0 total=0
stop_kmeshd
# while kmeshd is down, the pinned programs keep routing
for _ in 1 2 3 4 5; do
	o=$(in_enrolled "$CLI" -n 4 10.97.0.1:80); total=$((total + 4))
	fails=$((fails + 4 - $(total_ok "$o")))
done
g_before=$(km_gen --pin-root "$PIN")
start_kmeshd
for _ in 1 2 3 4 5; do
	o=$(in_enrolled "$CLI" -n 4 10.97.0.1:80); total=$((total + 4))
	fails=$((fails + 4 - $(total_ok "$o")))
done
wait "$hold"; hold_rc=$?
if [ "$hold_rc" = 0 ] && [ $fails = 0 ] && grep -q '^hold ok' "$WORK/hold.out"; then
	ok "kmeshd restart drops no connection ($(cat "$WORK/hold.out"); $total new connects, 0 failed)"
else not_ok "kmeshd restart drops no connection" "$(cat "$WORK/hold.out")" "new connects failed: $fails of $total"; fi
if grep -q 'replaced in place' "$LOG" && grep -q '(0 new, 6 replaced in place)' "$LOG" &&
   [ "$(gen)" -gt "$g_before" ] && "${CTL[@]}" status | grep -q "^  cgroup .*$P/enrolled"; then
	ok "restart reuses pinned links and maps (enrollment kept)"
else not_ok "restart reuses pinned links and maps" "$(grep -E 'attached|generation' "$LOG" | tail -3)"; fi

# ---- kmesh.ko's kfuncs, without the module (this kernel cannot load modules) -------------------
KT=$KM_BUILD/tools/km_kmod_test
if [ -x "$KT" ] && out=$("$KT" attach "$KM_CG_ROOT/$P/enrolled" 10.97.1.1:80 10.98.0.2:8080 10.98.0.3:8080 2>&1); then
	o=$(km_in "$P/enrolled" "$P-cli" "$KM_BUILD/tools/km_defer_client" -n 4 -p /b 10.97.1.1:80)
	st=$("$KT" stats)
	if [ "$out" = "attached kmod=no" ] && [ "$(count_of b2 "$o")" = 4 ] && grep -q 'l4_only 4' <<< "$st" &&
	   grep -q 'deferred 0' <<< "$st"; then
		ok "a BPF object using kmesh.ko's kfuncs (weak) loads without the module and routes L4"
	else not_ok "a BPF object using kmesh.ko's kfuncs (weak) loads without the module and routes L4" "$out" "$o" "$st"; fi
	"$KT" detach
	if "$KM_BUILD/kmeshctl" --pin-root "$PIN" status | grep -q "^module:      kmesh.ko not loaded (L4 only"; then
		ok "kmeshctl status says the module is absent and L4 keeps working"
	else not_ok "kmeshctl status says the module is absent" "$("$KM_BUILD/kmeshctl" --pin-root "$PIN" status | grep -A1 module)"; fi
	if grep -q "kmesh.ko is not loaded (modprobe kmesh: " "$LOG"; then
		ok "kmeshd reports clearly that kmesh.ko is missing"
	else not_ok "kmeshd reports clearly that kmesh.ko is missing" "$(grep -i module "$LOG" | head -3)"; fi
else not_ok "a BPF object using kmesh.ko's kfuncs (weak) loads without the module" "$out"; fi

# ---- systemd notify -------------------------------------------------------------------------
stop_kmeshd
"$KM_BUILD/tools/km_notify_recv" "$WORK/notify.sock" 6 > "$WORK/notify.out" &
nrecv=$!
sleep 0.2
NOTIFY_SOCKET=$WORK/notify.sock start_kmeshd
reload_to hup
sleep 0.3
wait "$nrecv"
if grep -q '^msg: READY=1$' "$WORK/notify.out" && grep -q '^msg: RELOADING=1$' "$WORK/notify.out" &&
   grep -q '^msg: STATUS=generation [0-9]*: 12 listeners, 12 clusters$' "$WORK/notify.out"; then
	ok "sd_notify: READY, RELOADING and STATUS reach NOTIFY_SOCKET (Type=notify)"
else not_ok "sd_notify: READY, RELOADING and STATUS reach NOTIFY_SOCKET" "$(cat "$WORK/notify.out")"; fi

# ---- --peer-vip storage, --no-peer-vip -----------------------------------------------------
# the default keeps what getpeername shows in an LRU keyed by the socket
# cookie (tested above); socket storage is the other way
stop_kmeshd
KMESHD_FLAGS="--peer-vip storage" start_kmeshd
out=$(in_enrolled "$CLI" -n 4 10.97.0.1:80)
if [ "$(total_ok "$out")" = 4 ] && [ "$(grep -c 'peer=10.97.0.1:80' <<< "$out")" = 4 ]; then
	ok "--peer-vip storage: getpeername shows the VIP"
else not_ok "--peer-vip storage: getpeername shows the VIP" "$out"; fi
if "$KM_BUILD/kmeshd" --peer-vip sometimes --check -c "$CONF" > "$WORK/pv.out" 2>&1; then
	not_ok "--peer-vip with an unknown mode is refused" "$(cat "$WORK/pv.out")"
elif grep -q "^kmeshd: --peer-vip sometimes: expected cookie, storage or off$" "$WORK/pv.out"; then
	ok "--peer-vip with an unknown mode is refused, naming the modes"
else not_ok "--peer-vip with an unknown mode is refused, naming the modes" "$(cat "$WORK/pv.out")"; fi
stop_kmeshd
KMESHD_FLAGS=--no-peer-vip start_kmeshd
out=$(in_enrolled "$CLI" -n 4 10.97.0.1:80)
if [ "$(total_ok "$out")" = 4 ] && ! grep -q 'peer=10.97.0.1:80' <<< "$out"; then
	ok "--no-peer-vip: still routed, getpeername shows the endpoint"
else not_ok "--no-peer-vip: still routed, getpeername shows the endpoint" "$out"; fi
stop_kmeshd
start_kmeshd
out=$(in_enrolled "$CLI" -n 2 10.97.0.1:80)
if grep -q 'peer=10.97.0.1:80' <<< "$out" && [ "$(total_ok "$out")" = 2 ]; then
	ok "restarting without --no-peer-vip shows the VIP again"
else not_ok "restarting without --no-peer-vip shows the VIP again" "$out"; fi

# ---- config file watch ----------------------------------------------------------------------
# A reload only after the write completes: in place (truncate, write, close)
# and as a new file.
write_config "$WORK/full.yaml"
for how in in-place new-file; do
	r0=$(reloads) g0=$(gen) mark=$(wc -l < "$LOG")
	if [ "$how" = new-file ]; then
		rm -f "$CONF"
		slow_write "$CONF" "$WORK/full.yaml" 4> "$WORK/mid"
	else	# back-to-back in-place rewrites: the second starts while the
		# first's reload waits to settle
		cat "$WORK/full.yaml" > "$CONF"
		slow_write "$CONF" "$WORK/full.yaml" 4> "$WORK/mid"
		r0=$(cat "$WORK/mid")	# the first write may have been applied
	fi
	wait_gen_above "$g0"; sleep 0.3
	bad=$(tail -n +$((mark + 1)) "$LOG" | grep -E 'rejected|applied' | grep -v ' 12 listeners, 12 clusters')
	if [ "$(cat "$WORK/mid")" = "$r0" ] && [ "$(reloads)" = $((r0 + 1)) ] && [ -z "$bad" ] &&
	   state | grep -q '^listeners=12$' && state | grep -q '^last_ok=1$'; then
		ok "a config written slowly ($how) is reloaded once after close, never half-written"
	else not_ok "a config written slowly ($how) is reloaded once after close" "reloads before: $r0, mid-write: $(cat "$WORK/mid"), after: $(reloads)" "$bad"; fi
done

# rename into place + SIGHUP, as config tools do: one reload
r0=$(reloads) g0=$(gen)
write_config; kill -HUP "$KMESHD_PID"
if wait_gen_above "$g0" && sleep 0.5 && [ "$(reloads)" = $((r0 + 1)) ] && [ "$(gen)" = $((g0 + 1)) ]; then
	ok "a rename followed by SIGHUP reloads once"
else not_ok "a rename followed by SIGHUP reloads once" "reloads $r0 -> $(reloads), generation $g0 -> $(gen)"; fi

# Memory comes back after a big config: 250k clusters (43 MB; rejected
# after loading: more than 32768 clusters) peak at about 1.1 GB
awk 'BEGIN { print "static_resources:\n  clusters:"
	for (i = 0; i < 250000; i++)
		printf "  - name: c%d\n    load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 10.200.%d.%d, port_value: 8080 } } } } ] } ] }\n", i, int(i / 256) % 256, i % 256 }' > "$WORK/big.yaml"
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$KMESHD_PID/status")
mv "$WORK/big.yaml" "$CONF"
for _ in $(seq 1200); do state | grep -q '^last_error=.*clusters' && break; sleep 0.05; done
# the state is written before the model is freed: wait for the memory (10 s)
for _ in $(seq 200); do
	rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$KMESHD_PID/status")
	[ "$rss1" -lt $((rss0 + 65536)) ] && break
	sleep 0.05
done
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$KMESHD_PID/status")
if state | grep -q '^last_error=.*clusters' && [ "$rss1" -lt $((rss0 + 65536)) ] && [ "$hwm" -gt $((rss0 + 262144)) ]; then
	ok "memory comes back after a 250k-cluster config (RSS $((rss0 / 1024)) MB before, peak $((hwm / 1024)) MB, $((rss1 / 1024)) MB after)"
else not_ok "memory comes back after a 250k-cluster config" "RSS before $rss0 kB, peak $hwm kB, after $rss1 kB" "$(state | grep last_)"; fi
write_config; reload_to hup

# A FIFO or a device put at the config path: refused, signals still work
mkfifo "$WORK/fifo"; mv "$WORK/fifo" "$CONF"
if wait_state '^last_error=.*not a regular file \(a FIFO\)' && kill -0 "$KMESHD_PID"; then
	ok "a FIFO at the config path is refused (not a regular file), generation $(gen) keeps serving"
else not_ok "a FIFO at the config path is refused" "$(state | grep last_)" "$(tail -2 "$LOG")"; fi
ln -sfn /dev/zero "$CONF"
if wait_state '^last_error=.*not a regular file \(a character device\)'; then
	ok "a symlink to /dev/zero at the config path is refused (a character device)"
else not_ok "a symlink to /dev/zero at the config path is refused" "$(state | grep last_)"; fi
rm -f "$CONF"; mkfifo "$CONF"; kill -HUP "$KMESHD_PID"; sleep 0.2
kill -TERM "$KMESHD_PID"
for _ in $(seq 100); do kill -0 "$KMESHD_PID" 2>/dev/null || break; sleep 0.05; done
if ! kill -0 "$KMESHD_PID" 2>/dev/null; then ok "SIGTERM is honoured after a reload from a FIFO"
else not_ok "SIGTERM is honoured after a reload from a FIFO" "kmeshd $KMESHD_PID still running"; kill -9 "$KMESHD_PID"; fi
wait "$KMESHD_PID" 2>/dev/null; KMESHD_PID=
rm -f "$CONF"; write_config

# The state file after exit, and per run
if state | grep -q '^running=0$'; then ok "the state file says running=0 after kmeshd exits"
else not_ok "the state file says running=0 after kmeshd exits" "$(state | head -4)"; fi
id0=$(state | sed -n 's/^run_id=//p')
chmod 600 "$CONF"
start_kmeshd
wait_state '^running=1$'
id1=$(state | sed -n 's/^run_id=//p')
mode=$(stat -c %a "$STATE/kmeshd.state")
if [ -n "$id1" ] && [ "$id0" != "$id1" ] && state | grep -q '^running=1$' && [ "$mode" = 600 ]; then
	ok "each kmeshd run has its own run_id; the state file is as readable as the config (600)"
else not_ok "each kmeshd run has its own run_id; state file mode follows the config" "run_id $id0 -> $id1, mode $mode"; fi
chmod 644 "$CONF"; reload_to hup
mode=$(stat -c %a "$STATE/kmeshd.state")
if [ "$mode" = 644 ]; then ok "a world-readable config gives a world-readable state file (644)"
else not_ok "a world-readable config gives a world-readable state file" "mode $mode"; fi

# A ConfigMap volume: mesh.yaml -> ..data/mesh.yaml, ..data -> ..TIMESTAMP
stop_kmeshd
CONF0=$CONF CM=$WORK/cm
mkdir -p "$CM/..2026_01"; write_config "$CM/..2026_01/mesh.yaml"
ln -s ..2026_01 "$CM/..data"; ln -s ..data/mesh.yaml "$CM/mesh.yaml"
CONF=$CM/mesh.yaml
start_kmeshd
g0=$(gen) e0=$(state | sed -n 's/^endpoints=//p')
RR_EPS="2 3"
mkdir "$CM/..2026_02"; write_config "$CM/..2026_02/mesh.yaml"
ln -s ..2026_02 "$CM/..data_tmp"; mv -T "$CM/..data_tmp" "$CM/..data"; rm -rf "$CM/..2026_01"
if wait_gen_above "$g0" && [ "$(state | sed -n 's/^endpoints=//p')" -lt "$e0" ] && [ "$(state | sed -n 's/^last_ok=//p')" = 1 ] &&
   [ "$(gen)" = $((g0 + 1)) ]; then
	ok "a ConfigMap-style swap of ..data is seen and applied once"
else not_ok "a ConfigMap-style swap of ..data is seen" "generation $g0 -> $(gen)" "$(tail -3 "$LOG")"; fi
RR_EPS="2 3 4 5"
stop_kmeshd

# The config's directory deleted and re-created, or renamed away and replaced
mkdir -p "$WORK/cfg"; CONF=$WORK/cfg/mesh.yaml; write_config
start_kmeshd
g0=$(gen)
rm -rf "$WORK/cfg"
wait_log "watch on $WORK/cfg lost \(directory deleted\)"; lost=$?
mkdir "$WORK/cfg"; write_config
if [ $lost = 0 ] && wait_gen_above "$g0"; then
	ok "the config directory deleted and re-created: watch lost (logged), re-armed, the new file applied"
else not_ok "the config directory deleted and re-created: watch re-armed" "generation $g0 -> $(gen)" "$(tail -3 "$LOG")"; fi
g0=$(gen)
mv "$WORK/cfg" "$WORK/cfg.old"; mkdir "$WORK/cfg"; write_config
g1=$(gen)
if wait_gen_above "$g0" && grep -q "watch on $WORK/cfg lost (directory moved away)" "$LOG" &&
   g1=$(gen) && write_config && wait_gen_above "$g1"; then
	ok "the config directory renamed away and replaced: the new directory is watched, edits there applied"
else not_ok "the config directory renamed away and replaced" "generation $g0 -> $g1 -> $(gen)" "$(tail -3 "$LOG")"; fi
stop_kmeshd
CONF=$CONF0
start_kmeshd

# ---- uninstall ----------------------------------------------------------------------------
# only kmesh's pins, only on bpffs, clear messages
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" 2>&1); rc=$?
if [ $rc != 0 ] && grep -q "uninstall: $PIN: Permission denied (BPF pins and links are root's: run as root)" <<< "$out"; then
	ok "kmeshd --uninstall as non-root fails and says why"
else not_ok "kmeshd --uninstall as non-root fails and says why" "rc $rc: $out"; fi
mkdir -p "$WORK/notbpf"; touch "$WORK/notbpf/keep"
out=$("$KM_BUILD/kmeshd" --uninstall --pin-root "$WORK/notbpf" 2>&1); rc=$?
if [ $rc != 0 ] && [ -e "$WORK/notbpf/keep" ] && grep -q "is not on a bpffs mount: refused" <<< "$out"; then
	ok "kmeshd --uninstall refuses a pin root that is not on bpffs and removes nothing"
else not_ok "kmeshd --uninstall refuses a pin root not on bpffs" "rc $rc: $out" "$(ls "$WORK/notbpf")"; fi
bpftool map create "$PIN/other_tool" type array key 4 value 4 entries 1 name other_tool
stop_kmeshd
out=$("$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" 2>&1); rc=$?
cli=$(in_enrolled "$CLI" -n 1 -t 1000 10.97.0.1:80)
if [ $rc = 0 ] && [ "$(ls "$PIN")" = other_tool ] && grep -q "$PIN kept: it holds 1 file(s) kmesh did not pin, e.g. 'other_tool'" <<< "$out" &&
   grep -q '^err connect errno=ENETUNREACH' <<< "$cli"; then
	ok "kmeshd --uninstall detaches everything and removes only kmesh's pins (another tool's pin kept)"
else not_ok "kmeshd --uninstall detaches everything, only kmesh's pins" "$(ls "$PIN" 2>&1)" "$out" "$cli"; fi
rm -f "$PIN/other_tool"; rmdir "$PIN"
out=$("$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" 2>&1); rc=$?
if [ $rc != 0 ] && grep -q "pin root $PIN does not exist" <<< "$out"; then
	ok "kmeshd --uninstall on a missing pin root says so and fails"
else not_ok "kmeshd --uninstall on a missing pin root says so" "rc $rc: $out"; fi

report_summary
[ "$FAIL" -eq 0 ]
