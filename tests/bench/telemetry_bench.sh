#!/usr/bin/env bash
# The cost of telemetry (root): the new-connection HTTP benchmark through a
# VIP with connection events on (the default) and off (--no-telemetry),
# side by side in one run, alternating, ROUNDS times; and kmeshd's own CPU
# while it reads, counts and logs the events. Figures and ratios only:
# nothing here passes or fails on a timing.
#
# Loopback only: the VIP is 127.100.0.2:80, the server 127.0.0.1:18081.
# Knobs: ROUNDS (5), DURATION (4 s), CONNS (8), ACCESS_LOG (1: on).
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
	"$KM_BUILD/kmeshd" --config "$WORK/mesh.yaml" --cgroup "$B/mesh" --pin-root "$PIN" \
		--state-dir "$WORK/state" --metrics "$MADDR" "$@" >> "$WORK/kmeshd.log" 2>&1 &
	KMESHD_PID=$!
	for _ in $(seq 100); do
		grep -qs '^generation=' "$WORK/state/kmeshd.state" && return 0
		sleep 0.05
	done
	echo "kmeshd did not start: $(tail -5 "$WORK/kmeshd.log")" >&2
	return 1
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
med() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$2" | km_median; }

log_flags=()
[ "$ACCESS_LOG" = 1 ] && log_flags=(--access-log "$WORK/access.log")
start_kmeshd "${log_flags[@]}"
for _ in $(seq 100); do [ -s "$WORK/srv.ready" ] && break; sleep 0.05; done
"$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$WORK/state/kmeshd.state" \
	enroll "$B/mesh" --namespace default --workload bench-client --service-account bench >/dev/null

echo "# kmesh telemetry benchmark: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# wrk -c$CONNS newconn, ${DURATION}s per run, $ROUNDS alternating rounds; access log: $([ "$ACCESS_LOG" = 1 ] && echo on || echo off)"
echo
: > "$WORK/on"; : > "$WORK/off"; : > "$WORK/agent"
tck=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
	start_kmeshd "${log_flags[@]}"
	c0=$(cpu_ticks "$KMESHD_PID")
	line=$(km_wrk_run on http://127.100.0.2/ "$CONNS" "$DURATION" newconn "" "$B/mesh")
	c1=$(cpu_ticks "$KMESHD_PID")
	echo "$line" >> "$WORK/on"
	rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<< "$line")
	# kmeshd's CPU as a share of one CPU, and scaled to 10k connections/s
	awk -v t=$((c1 - c0)) -v hz="$tck" -v d="$DURATION" -v rps="$rps" \
		'BEGIN { pct = 100 * t / hz / d; printf "pct=%.2f per10k=%.2f\n", pct, (rps > 0 ? pct * 10000 / rps : 0) }' >> "$WORK/agent"
	start_kmeshd --no-telemetry
	km_wrk_run off http://127.100.0.2/ "$CONNS" "$DURATION" newconn "" "$B/mesh" >> "$WORK/off"
done
start_kmeshd "${log_flags[@]}"

echo "| telemetry | mean us | p50 us | p99 us | req/s | CPU us/req | mean ratio | p99 ratio | CPU ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
for s in off on; do
	eval "${s}_avg=\$(med avg_us \"\$WORK/$s\") ${s}_p50=\$(med p50_us \"\$WORK/$s\")"
	eval "${s}_p99=\$(med p99_us \"\$WORK/$s\") ${s}_rps=\$(med rps \"\$WORK/$s\")"
	eval "${s}_cpu=\$(med cpu_us_per_req \"\$WORK/$s\")"
done
echo "| off | $off_avg | $off_p50 | $off_p99 | $off_rps | $off_cpu | 1.000 | 1.000 | 1.000 |"
echo "| on | $on_avg | $on_p50 | $on_p99 | $on_rps | $on_cpu | $(ratio "$on_avg" "$off_avg") | $(ratio "$on_p99" "$off_p99") | $(ratio "$on_cpu" "$off_cpu") |"
echo
pct=$(sed -n 's/^pct=\([0-9.]*\).*/\1/p' "$WORK/agent" | km_median)
per10k=$(sed -n 's/.*per10k=\([0-9.]*\).*/\1/p' "$WORK/agent" | km_median)
echo "kmeshd CPU while telemetry is on: ${pct}% of one CPU at ${on_rps} connections/s; ${per10k}% scaled to 10,000 connections/s (median of $ROUNDS)."
echo "Targets (issue 17): mean ratio <= 1.03, CPU ratio <= 1.05. Ratios are on / off, measured side by side in this run."
echo "CPU us/req is the whole machine's (client, server, kernel, kmeshd) over the requests wrk completed."
