#!/usr/bin/env bash
# The cost of telemetry (root): the new-connection HTTP benchmark through a
# VIP with telemetry off (--no-telemetry), on (the default: metrics, no
# access log) and on with the access log, side by side in one run,
# alternating, ROUNDS times; and kmeshd's own CPU while it reads, counts
# and logs the events. Figures and ratios only:
# nothing here passes or fails on a timing.
#
# Loopback only: the VIP is 127.100.0.2:80, the server 127.0.0.1:18081.
# Knobs: ROUNDS (5), DURATION (4 s), CONNS (8), ACCESS_LOG (1: also the
# access-log variant), BASE_KMESHD (another build's kmeshd, e.g. before a
# change: adds its variants base-on and base-log, same BPF objects needed).
set -euo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/bench/http_bench.sh

ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-4} CONNS=${CONNS:-8} ACCESS_LOG=${ACCESS_LOG:-1}
B=$KM_CG_ROOT/kmtelbench
PIN=/sys/fs/bpf/kmesh-telbench
WORK=$(mktemp -d /tmp/kmesh-telbench.XXXXXX)
MADDR=127.0.0.1:15121
KMESHD_PID= SRV_PID=

cleanup() {
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1 || true
	for d in "$B/mesh" "$B/srv" "$B"; do rmdir "$d" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "telemetry bench: run as root" >&2; exit 1; }

mkdir -p "$B/mesh" "$B/srv"
cat > "$WORK/mesh.yaml" <<EOT
static_resources:
  listeners:
  - name: bench
    address: { socket_address: { address: 127.100.0.2, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { stat_prefix: bench, cluster: "outbound|80||bench.default.svc.cluster.local" }
  clusters:
  - name: "outbound|80||bench.default.svc.cluster.local"
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 18081 } } }
EOT

# server on CPU 1, wrk on CPU 0 (tests/bench/run.sh says why)
export KM_WRK_CPU=0
( echo $BASHPID > "$B/srv/cgroup.procs"; exec taskset -c 1 "$KM_BUILD/tools/km_testsrv" --name bench \
	--listen 127.0.0.1:18081 --ready-file "$WORK/srv.ready" ) >/dev/null 2>&1 &
SRV_PID=$!

start_kmeshd() {	# start_kmeshd [FLAGS...]
	[ -n "$KMESHD_PID" ] && { kill "$KMESHD_PID"; wait "$KMESHD_PID" 2>/dev/null || true; }
	rm -f "$WORK/state/kmeshd.state"
	"${KMESHD:-$KM_BUILD/kmeshd}" --config "$WORK/mesh.yaml" --cgroup "$B/mesh" --pin-root "$PIN" \
		--state-dir "$WORK/state" --metrics "$MADDR" "$@" >> "$WORK/kmeshd.log" 2>&1 &
	KMESHD_PID=$!
	for _ in $(seq 100); do
		grep -qs '^generation=' "$WORK/state/kmeshd.state" && return 0
		sleep 0.05
	done
	echo "kmeshd did not start: $(tail -5 "$WORK/kmeshd.log")" >&2
	return 1
}
# CPU ns of kmeshd's threads, and of the bench cgroup (client and server):
# unlike the whole machine's, not moved by other jobs on a shared machine
agent_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
cg_ns() { awk '$1 == "usage_usec" { printf "%.0f\n", $2 * 1000 }' "$B/cpu.stat"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
med() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$2" | km_median; }

start_kmeshd
for _ in $(seq 100); do [ -s "$WORK/srv.ready" ] && break; sleep 0.05; done
"$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$WORK/state/kmeshd.state" \
	enroll "$B/mesh" --namespace default --workload bench-client --service-account bench >/dev/null

echo "# kmesh telemetry benchmark: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
variants=(off on)
[ "$ACCESS_LOG" = 1 ] && variants+=(log)
[ -n "${BASE_KMESHD:-}" ] && variants+=(base-on) && [ "$ACCESS_LOG" = 1 ] && variants+=(base-log)
echo "# wrk -c$CONNS newconn, ${DURATION}s per run, $ROUNDS alternating rounds of: ${variants[*]}"
echo
for v in "${variants[@]}"; do : > "$WORK/$v"; done
# run VARIANT: one wrk run with kmeshd started for it; kmeshd's CPU as a
# share of one CPU, and scaled to 10k connections/s
run() {
	local a0 a1 g0 g1 line reqs
	local KMESHD=
	case $1 in
	off) start_kmeshd --no-telemetry ;;
	on) start_kmeshd ;;
	log) start_kmeshd --access-log "$WORK/access.log" ;;
	base-on) KMESHD=$BASE_KMESHD start_kmeshd ;;
	base-log) KMESHD=$BASE_KMESHD start_kmeshd --access-log "$WORK/access.log" ;;
	esac
	a0=$(agent_ns "$KMESHD_PID") g0=$(cg_ns)
	line=$(km_wrk_run "$1" http://127.100.0.2/ "$CONNS" "$DURATION" newconn "" "$B/mesh")
	a1=$(agent_ns "$KMESHD_PID") g1=$(cg_ns)
	reqs=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<< "$line" | awk -v d="$DURATION" '{ print $1 * d }')
	# kmeshd's ns per connection (x 1e4 / 1e9 x 100: % of a CPU at 10k/s),
	# and the bench's own CPU (cgroup and kmeshd) per request
	awk -v a=$((a1 - a0)) -v g=$((g1 - g0)) -v n="$reqs" 'BEGIN {
		if (n > 0) printf " per10k=%.2f own_us_per_req=%.2f\n", a / n / 1000, (a + g) / n / 1000 }' |
		sed "s|^|$line|" >> "$WORK/$1"
}
for r in $(seq "$ROUNDS"); do
	for v in "${variants[@]}"; do run "$v"; done
done
start_kmeshd

echo "| telemetry | mean us | p50 us | p99 us | req/s | CPU us/req | own CPU us/req | mean ratio | p99 ratio | CPU ratio | own CPU ratio | kmeshd % of a CPU at 10k conn/s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
o_avg=$(med avg_us "$WORK/off") o_p99=$(med p99_us "$WORK/off")
o_cpu=$(med cpu_us_per_req "$WORK/off") o_own=$(med own_us_per_req "$WORK/off")
for s in "${variants[@]}"; do
	avg=$(med avg_us "$WORK/$s") p99=$(med p99_us "$WORK/$s")
	cpu=$(med cpu_us_per_req "$WORK/$s") own=$(med own_us_per_req "$WORK/$s")
	echo "| $s | $avg | $(med p50_us "$WORK/$s") | $p99 | $(med rps "$WORK/$s") | $cpu | $own |" \
		"$(ratio "$avg" "$o_avg") | $(ratio "$p99" "$o_p99") | $(ratio "$cpu" "$o_cpu") |" \
		"$(ratio "$own" "$o_own") | $(med per10k "$WORK/$s") |"
done
echo
echo "off: --no-telemetry; on: the default (metrics, no access log); log: on with --access-log FILE."
echo "Targets (issue 17): mean ratio <= 1.03, CPU ratio <= 1.05. Ratios are against off, measured side by side in this run (medians of $ROUNDS)."
echo "CPU us/req is the whole machine's (client, server, kernel, kmeshd, and any other job) over the requests wrk completed;"
echo "own CPU us/req counts only the bench's cgroup (client, server, their kernel time) and kmeshd."
echo "kmeshd's share is its threads' CPU time per connection, scaled to 10,000 connections/s."
