#!/usr/bin/env bash
# The mesh benchmark's harness, checked in smoke mode (1 round, 1 s runs):
# every configuration either has well-formed figures for every workload or
# says why it is not available, the traffic took the path it is labelled
# with, and the report and chart are written. Timings are never judged.
# Its own prefix, subnet and pin root, so it runs beside `make bench`.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/report.sh

if [ "$(id -u)" -ne 0 ]; then
	skip "mesh bench smoke" "needs root (BPF, cgroups, network namespaces)"
	report_summary
	exit 0
fi

OUT=$(mktemp -d /tmp/kmesh-meshbench-test.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
MESH_BENCH_SMOKE=1 MESH_BENCH_OUT=$OUT MESH_BENCH_PREFIX=kmbt MESH_BENCH_NET=77 \
MESH_BENCH_PIN=/sys/fs/bpf/kmesh-meshbench-test \
	timeout 300 tests/bench/mesh_bench.sh > "$OUT/stdout" 2> "$OUT/stderr"
rc=$?
MD=$OUT/mesh-bench.md
if [ $rc -eq 0 ] && [ -s "$MD" ]; then
	ok "smoke run completes and writes the report"
else
	not_ok "smoke run completes and writes the report" "exit $rc" \
		"$(tail -5 "$OUT/stderr" | tr '\n' '|')"
	report_summary
	exit 0
fi

WORKLOADS=("keep-alive, 1 conn" "keep-alive, 16 conns" "new conn, 1 conn" "new conn, 16 conns")
N_='[0-9]+' F_='[0-9]+\.[0-9]{2}'
ABS_ROW=" \| $N_ \($N_-$N_\) \| $N_ \($N_-$N_\) \| $N_ \($N_-$N_\) \| $F_ \($F_-$F_\) \|\$"
RATIO=" \| x$F_ \($F_-$F_\)"
RATIO_ROW="$RATIO$RATIO$RATIO$RATIO \|\$"

# check_config LABEL: figures for every workload, or "not available: why"
check_config() {
	local label=$1 wl bad=() why re
	re=$(sed 's/[][().+*?^$|\\]/\\&/g' <<< "$label")
	why=$(grep -F -- "- $label: not available: " "$MD" | head -1 | sed 's/.*: not available: //')
	if [ -n "$why" ]; then
		skip "$label: figures for every workload" "not available: $why"
		return
	fi
	for wl in "${WORKLOADS[@]}"; do
		grep -qE "^\| $wl \| $re$ABS_ROW" "$MD" || bad+=("absolute: $wl")
		[ "$label" = "direct (no mesh)" ] && continue
		grep -qE "^\| $wl \| $re$RATIO_ROW" "$MD" || bad+=("ratio: $wl")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ok "$label: figures for every workload"
	else
		not_ok "$label: figures for every workload" "missing or malformed rows:" "${bad[@]}"
	fi
}

for label in "direct (no mesh)" "sidecar pair (HAProxy)" "sidecar pair + kmesh accelerate" \
	     "kmesh L4" "kmesh L4 + sockmap"; do
	check_config "$label"
done
if grep -qF -- "- direct (no mesh): not available" "$MD"; then
	not_ok "direct is always available" "$(grep -F -- '- direct (no mesh): not' "$MD")"
fi

# the sidecar pair's traffic went through both proxies
line=$(grep -F -- "- sidecar pair (HAProxy): iptables REDIRECT packets" "$MD")
if [ -z "$line" ]; then
	skip "sidecar traffic is REDIRECTed to both proxies" "sidecar pair not measured"
elif [[ $line =~ outbound\ ([1-9][0-9]*),\ inbound\ ([1-9][0-9]*)$ ]]; then
	ok "sidecar traffic is REDIRECTed to both proxies"
else
	not_ok "sidecar traffic is REDIRECTed to both proxies" "$line"
fi

# kmesh L4's connects were routed by kmesh
if grep -qE '^ *routed +[1-9][0-9]*$' "$MD"; then
	ok "kmesh L4 connects were routed by the connect hook"
else
	not_ok "kmesh L4 connects were routed by the connect hook" \
		"$(grep -E 'routed|kmeshctl' "$MD" | tr '\n' '|')"
fi

# sockmap configurations: keep-alive messages went socket to socket
for label in "kmesh L4 + sockmap" "sidecar pair + kmesh accelerate"; do
	line=$(grep -F -- "- $label: messages sk_msg redirected" "$MD")
	if [ -z "$line" ]; then
		skip "$label: keep-alive requests redirected by sk_msg" "not available"
	elif [[ $line =~ keep-alive,\ 1\ conn\ ([0-9.]+) ]] &&
	     awk -v v="${BASH_REMATCH[1]}" 'BEGIN { exit !(v > 0) }'; then
		ok "$label: keep-alive requests redirected by sk_msg"
	else
		not_ok "$label: keep-alive requests redirected by sk_msg" "$line"
	fi
done

if [ "$(grep -cE '^- (kmesh L4 latency|kmesh L4 with sockmap p50|accelerated sidecar pair at least)' "$MD")" -eq 3 ]; then
	ok "the three targets are reported"
else
	not_ok "the three targets are reported" "$(grep -E '^- ' "$MD" | tr '\n' '|')"
fi

if ! command -v gnuplot >/dev/null; then
	skip "chart written" "gnuplot is not installed"
elif grep -qs '<svg' "$OUT/mesh-bench.svg" && [ -s "$OUT/mesh-bench.png" ]; then
	ok "chart written (SVG and PNG)"
else
	not_ok "chart written (SVG and PNG)" "$(grep -E '^chart' "$MD")"
fi

# nothing left behind: namespaces, cgroups, pins
left=$(ip netns list | grep -E '^kmbt-' | tr '\n' ' ')
[ -d /sys/fs/bpf/kmesh-meshbench-test ] && left+=" /sys/fs/bpf/kmesh-meshbench-test"
if [ -z "$left" ]; then
	ok "cleanup leaves no namespace or pin"
else
	not_ok "cleanup leaves no namespace or pin" "$left"
fi
report_summary
