#!/usr/bin/env bash
# kmesh benchmarks (root). Figures and ratios only: nothing here passes or
# fails on a timing. Everything runs side by side in one run, alternating,
# and repeated; medians are reported.
#
#   1. connect(): per-connect cost of the connect hook: the map-miss path
#      every other connect takes, and what a routed connect adds, with and
#      each way of keeping what getpeername shows (--peer-vip cookie, the
#      default; storage; off), plus the program's
#      own run time from kernel.bpf_stats_enabled.
#   2. HTTP (wrk against km_testsrv): direct vs through a VIP, keep-alive and
#      new-connection: p50, p99, requests/s and machine CPU per request.
#
# Loopback only: the VIP is 127.100.0.1:80, the server 127.0.0.1:18080.
# Knobs: ROUNDS (5), CONNECTS (20000), DURATION (4 s), CONNS (8).
set -euo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/bench/http_bench.sh

ROUNDS=${ROUNDS:-5} CONNECTS=${CONNECTS:-20000} DURATION=${DURATION:-4} CONNS=${CONNS:-8}
B=$KM_CG_ROOT/kmbench
PIN=/sys/fs/bpf/kmesh-bench
WORK=$(mktemp -d /tmp/kmesh-bench.XXXXXX)
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$WORK/state/kmeshd.state")
KMESHD_PID= SRV_PID=

cleanup() {
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1 || true
	sysctl -qw kernel.bpf_stats_enabled=0
	for d in "$B/mesh" "$B/plain" "$B/srv" "$B"; do rmdir "$d" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }

mkdir -p "$B/mesh" "$B/plain" "$B/srv"
cat > "$WORK/mesh.yaml" <<EOT
static_resources:
  listeners:
  - name: bench
    address: { socket_address: { address: 127.100.0.1, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { stat_prefix: bench, cluster: bench }
  - name: bench-rr
    address: { socket_address: { address: 127.100.0.2, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { stat_prefix: bench-rr, cluster: bench-rr }
  - name: bench-lr
    address: { socket_address: { address: 127.100.0.3, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { stat_prefix: bench-lr, cluster: bench-lr }
  - name: bench-mg
    address: { socket_address: { address: 127.100.0.4, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { stat_prefix: bench-mg, cluster: bench-mg, hash_policy: [ { source_ip: {} } ] }
  clusters:
  - name: bench
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 18080 } } }
EOT
# three clusters of the same two endpoints (one server, dialed by two
# addresses) for the LB policies' cost, section (c)
for p in ROUND_ROBIN:rr LEAST_REQUEST:lr MAGLEV:mg; do
	cat >> "$WORK/mesh.yaml" <<EOT
  - name: bench-${p#*:}
    lb_policy: ${p%%:*}
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 18080 } } }
        - endpoint: { address: { socket_address: { address: 127.0.0.2, port_value: 18080 } } }
EOT
done

# Server on CPU 1, clients on CPU 0: on a 2-CPU machine this keeps wrk and
# the server from trading places, the main source of noise between runs.
export KM_WRK_CPU=0
( echo $BASHPID > "$B/srv/cgroup.procs"; exec taskset -c 1 "$KM_BUILD/tools/km_testsrv" --name bench \
	--listen 127.0.0.1:18080 --listen 127.0.0.2:18080 --ready-file "$WORK/srv.ready" ) >/dev/null 2>&1 &
SRV_PID=$!
"$KM_BUILD/kmeshd" --config "$WORK/mesh.yaml" --cgroup "$B/mesh" --pin-root "$PIN" \
	--state-dir "$WORK/state" > "$WORK/kmeshd.log" 2>&1 &
KMESHD_PID=$!
for _ in $(seq 100); do
	[ -s "$WORK/srv.ready" ] && grep -qs '^generation=1' "$WORK/state/kmeshd.state" && break
	sleep 0.1
done
"${CTL[@]}" enroll "$B/mesh" >/dev/null

restart_kmeshd() {	# restart_kmeshd [FLAGS...]
	kill "$KMESHD_PID"; wait "$KMESHD_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --config "$WORK/mesh.yaml" --cgroup "$B/mesh" --pin-root "$PIN" \
		--state-dir "$WORK/state" "$@" >> "$WORK/kmeshd.log" 2>&1 &
	KMESHD_PID=$!
	for _ in $(seq 50); do
		grep -qs "^pid=$KMESHD_PID" "$WORK/state/kmeshd.state" && return 0
		sleep 0.1
	done
}
in_cg() { local cg=$1; shift; ( echo $BASHPID > "$B/$cg/cgroup.procs"; exec "$@" ); }
cb() {	# cb CGROUP ADDR -> median ns per connect
	in_cg "$1" "$KM_BUILD/tools/connect_bench" -n "$CONNECTS" -r 3 "$2" |
		sed -n 's/^median_ns_per_connect //p'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

echo "# kmesh benchmark: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "## connect(): cost of the connect hook"
echo
# (a) what every other connect pays: a client outside the attach cgroup
#     against one inside it dialing a non-service address (map miss);
#     separate processes, alternating.
declare -a A C
for r in $(seq "$ROUNDS"); do
	A+=("$(cb plain 127.0.0.1:18080)")
	C+=("$(cb mesh 127.0.0.1:18080)")
done
a=$(printf '%s\n' "${A[@]}" | km_median)
c=$(printf '%s\n' "${C[@]}" | km_median)
echo "| path | median ns/connect | rounds | ratio |"
echo "|---|---|---|---|"
echo "| no program (client outside the attach cgroup) | $a | ${A[*]} | 1.000 |"
echo "| enrolled, non-service address (map miss) | $c | ${C[*]} | $(ratio "$c" "$a") |"
echo

# (b) what a routed connect adds: one process alternates 2000-connect
#     batches to the backend directly and through the VIP, 40 times; the
#     median of the per-batch differences. Then the program's own run time
#     on each path (kernel.bpf_stats_enabled). Once per --peer-vip mode:
#     cookie (the default), storage, off.
run_stats() {	# run_stats ADDR -> ns per connect4 run
	local before after
	sysctl -qw kernel.bpf_stats_enabled=1
	before=$("${CTL[@]}" -o json status | jq '[.programs[] | select(.name == "km_connect4")][0] | [.run_cnt, .run_time_ns]')
	in_cg mesh "$KM_BUILD/tools/connect_bench" -n "$CONNECTS" -r 1 "$1" >/dev/null
	after=$("${CTL[@]}" -o json status | jq '[.programs[] | select(.name == "km_connect4")][0] | [.run_cnt, .run_time_ns]')
	sysctl -qw kernel.bpf_stats_enabled=0
	jq -n --argjson b "$before" --argjson a "$after" '(($a[1] - $b[1]) / ($a[0] - $b[0])) | floor'
}
echo "| mode | direct ns/connect | VIP ns/connect | added by routing (median of 40 paired batches) | connect4 ns/run, VIP | connect4 ns/run, map miss |"
echo "|---|---|---|---|---|---|"
for mode in cookie storage off; do
	restart_kmeshd --peer-vip $mode
	out=$(in_cg mesh "$KM_BUILD/tools/connect_bench" -n 2000 -r 40 127.0.0.1:18080 127.100.0.1:80)
	read -r _ d v <<< "$(grep '^median_ns_per_connect' <<< "$out")"
	delta=$(sed -n 's/^median_delta_ns //p' <<< "$out")
	echo "| $mode | $d | $v | $delta ns | $(run_stats 127.100.0.1:80) | $(run_stats 127.0.0.1:18080) |"
done
echo
echo "connect4 ns/run includes bpf_stats' own clock reads. Target: 500 ns or less added per routed connect."
echo
# (c) what LEAST_REQUEST (two candidates, two counter lookups) and MAGLEV
#     (a table lookup) add over ROUND_ROBIN on the same two endpoints:
#     paired batches as in (b), getpeername on (the default).
restart_kmeshd
echo "| policy | ROUND_ROBIN ns/connect | policy ns/connect | added over ROUND_ROBIN (median of 40 paired batches) |"
echo "|---|---|---|---|"
for p in LEAST_REQUEST:127.100.0.3 MAGLEV:127.100.0.4; do
	out=$(in_cg mesh "$KM_BUILD/tools/connect_bench" -n 2000 -r 40 127.100.0.2:80 "${p#*:}:80")
	read -r _ r v <<< "$(grep '^median_ns_per_connect' <<< "$out")"
	echo "| ${p%%:*} | $r | $v | $(sed -n 's/^median_delta_ns //p' <<< "$out") ns |"
done
echo
echo "Target: under 200 ns added over ROUND_ROBIN."
echo
echo "## HTTP: wrk -c$CONNS, ${DURATION}s per run, $ROUNDS alternating rounds"
echo
echo "| mode | path | mean us | p50 us | p99 us | req/s | CPU us/req | mean ratio | p50 ratio | p99 ratio | CPU ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for run in keepalive:cookie newconn:cookie newconn:storage newconn:off; do
	mode=${run%%:*} flags=${run#*:}
	restart_kmeshd --peer-vip "$flags"
	: > "$WORK/direct" ; : > "$WORK/vip"
	for r in $(seq "$ROUNDS"); do
		km_wrk_run direct http://127.0.0.1:18080/ "$CONNS" "$DURATION" "$mode" "" "$B/plain" >> "$WORK/direct"
		km_wrk_run vip http://127.100.0.1/ "$CONNS" "$DURATION" "$mode" "" "$B/mesh" >> "$WORK/vip"
	done
	for path in direct vip; do
		for f in avg_us p50_us p99_us rps cpu_us_per_req; do
			eval "${path}_$f=\$(sed -n 's/.* $f=\([0-9.]*\).*/\1/p' \"\$WORK/$path\" | km_median)"
		done
	done
	echo "| $mode | direct | $direct_avg_us | $direct_p50_us | $direct_p99_us | $direct_rps | $direct_cpu_us_per_req | 1.000 | 1.000 | 1.000 | 1.000 |"
	echo "| $mode | VIP ($flags) | $vip_avg_us | $vip_p50_us | $vip_p99_us | $vip_rps | $vip_cpu_us_per_req | $(ratio "$vip_avg_us" "$direct_avg_us") | $(ratio "$vip_p50_us" "$direct_p50_us") | $(ratio "$vip_p99_us" "$direct_p99_us") | $(ratio "$vip_cpu_us_per_req" "$direct_cpu_us_per_req") |"
done
echo
echo "Medians of $ROUNDS rounds. Ratios are VIP / direct, measured side by side in this run."
echo "wrk's percentiles have 1 us resolution (2.5% at 40 us); its mean has two decimals."
echo "Keep-alive requests never pass the connect hook: that ratio is the run's noise floor."
