#!/usr/bin/env bash
# CPU per new-connection request with the sockmap enabled (learned "insert
# only where it pays" policy) and without the sockmap programs, side by
# side. A benchmark: prints figures and the ratio, never passes or fails.
#
#   tests/bench/sockmap_cpu.sh [ROUNDS] [CONNS]      (default 7 rounds, 20000)
#
# Each round runs, in both modes, CONNS connections of one 100-byte request
# and response each (km_smtest rr) from netns kmc-a to a server in kmc-b
# (veth). CPU is the cgroup's cpu.stat usage_usec of client plus server:
# scheduler runtime in microseconds, only our processes, including the
# softirq work done in their context (this kernel has no
# CONFIG_IRQ_TIME_ACCOUNTING, so softirq time is charged to the task it
# interrupted). Softirq work that ksoftirqd picks up is not in it; the
# /proc/stat softirq delta (system-wide, other load included) is printed
# beside it. Modes alternate within a round so drift hits both alike; the
# figures are the medians over the rounds.
#   off: kmeshd without --sockmap (no sockops/sk_msg program attached)
#   on:  kmeshd --sockmap, both namespaces enabled (kmeshctl sockmap enable)
# With KM_BENCH_BPF_STATS=1 it also turns on kernel.bpf_stats_enabled (and
# restores it) and prints, per round and mode, each kmesh program's runs and
# run time during the traffic, per connection. The programs are attached to
# the root cgroup, so other TCP traffic on the machine adds runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh

ROUNDS=${1:-7}
CONNS=${2:-20000}
PIN=/sys/fs/bpf/kmesh-sockmap-cpu
WORK=$(mktemp -d /tmp/kmesh-smcpu.XXXXXX)
CG=$KM_CG_ROOT/kmc
SMT=$KM_BUILD/tools/km_smtest
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$WORK/kmeshd.state")
KPID=

down() {
	[ -n "$KPID" ] && kill "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	KPID=
	for ns in kmc-a kmc-b; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" > /dev/null 2>&1
	rmdir "$CG/run" "$CG" 2>/dev/null
}
STATS=
OLD_STATS=$(cat /proc/sys/kernel/bpf_stats_enabled)
if [ "${KM_BENCH_BPF_STATS:-0}" = 1 ]; then
	STATS=1
	sysctl -qw kernel.bpf_stats_enabled=1
fi
trap 'down; rm -rf "$WORK"; sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"' EXIT
down
for ns in kmc-a kmc-b; do ip netns add "$ns"; km_ns "$ns" ip link set lo up; done
ip link add kmc-a0 type veth peer name kmc-b0
ip link set kmc-a0 netns kmc-a
ip link set kmc-b0 netns kmc-b
km_ns kmc-a ip addr add 10.79.0.1/24 dev kmc-a0
km_ns kmc-b ip addr add 10.79.0.2/24 dev kmc-b0
km_ns kmc-a ip link set kmc-a0 up
km_ns kmc-b ip link set kmc-b0 up
km_ns kmc-a sysctl -qw net.ipv4.tcp_tw_reuse=1
mkdir -p "$CG/run"
printf 'static_resources:\n  listeners: []\n  clusters: []\n' > "$WORK/mesh.yaml"

in_cg() { (echo "$BASHPID" > "$CG/run/cgroup.procs" && exec nsenter --net="/run/netns/$1" "${@:2}"); }
usage() { sed -n 's/^usage_usec //p' "$CG/cpu.stat"; }
softirq() { awk '/^cpu / { print $8 }' /proc/stat; }	# USER_HZ ticks

kmeshd_start() {	# [--sockmap]
	rm -f "$WORK/kmeshd.state"
	"$KM_BUILD/kmeshd" --config "$WORK/mesh.yaml" --pin-root "$PIN" --state-dir "$WORK" "$@" \
		>> "$WORK/kmeshd.log" 2>&1 &
	KPID=$!
	for _ in $(seq 100); do [ -s "$WORK/kmeshd.state" ] && break; sleep 0.05; done
}
kmeshd_stop() { kill "$KPID"; wait "$KPID" 2>/dev/null; KPID=; }

run_mode() {	# MODE ROUND -> appends "usec_per_conn softirq_ticks" to $WORK/MODE
	local mode=$1 port=$((7300 + $2)) u0 u1 s0 s1 out b0 st=
	if [ "$mode" = on ]; then
		kmeshd_start --sockmap
		"${CTL[@]}" sockmap enable netns:kmc-a > /dev/null
		"${CTL[@]}" sockmap enable netns:kmc-b > /dev/null
	else
		kmeshd_start
	fi
	rm -f "$WORK/rr.ready"
	in_cg kmc-b "$SMT" rr-serve "10.79.0.2:$port" --ready-file "$WORK/rr.ready" > /dev/null 2>&1 &
	local spid=$!
	for _ in $(seq 100); do [ -s "$WORK/rr.ready" ] && break; sleep 0.05; done
	[ -n "$STATS" ] && b0=$(prog_stats)
	u0=$(usage); s0=$(softirq)
	out=$(in_cg kmc-a "$SMT" rr "10.79.0.2:$port" --conns "$CONNS" --msgs 1)
	u1=$(usage); s1=$(softirq)
	[ -n "$STATS" ] && st=$(stats_delta "$b0" "$(prog_stats)")
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
	[ "$mode" = on ] && "${CTL[@]}" -o json sockmap status |
		jq -r '.sockmap.counters | "    joined \(.joined_connecting)+\(.joined_accepted) skipped_short \(.skipped_short) sampled \(.sampled_short)"'
	kmeshd_stop
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" > /dev/null 2>&1
	echo "  round $2 $mode: $out; $(( (u1 - u0) * 1000 / CONNS )) ns CPU per connection; softirq $((s1 - s0)) ticks"
	[ -n "$st" ] && echo "$st"
	echo "$(( (u1 - u0) * 1000 / CONNS )) $((s1 - s0))" >> "$WORK/$mode"
}

# kmesh's programs: those of the pinned links and the sk_msg program on the
# sockhash. Prints "NAME RUN_CNT RUN_TIME_NS" per program.
prog_stats() {
	local f ids=() smap
	for f in "$PIN"/link_* "$PIN"/sm_link_*; do
		[ -e "$f" ] && ids+=("$(bpftool -j link show pinned "$f" | jq .prog_id)")
	done
	smap=$(bpftool -j map show pinned "$PIN/km_sm_socks" 2>/dev/null | jq .id)
	bpftool -j prog show | jq -r --argjson ids "[$(IFS=,; echo "${ids[*]}")]" --argjson sm "${smap:-0}" \
		'.[] | select((.id as $i | $ids | index($i)) or (.name == "km_sm_msg" and ((.map_ids // []) | index($sm))))
		| "\(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"' | sort
}
stats_delta() {	# BEFORE AFTER: per program, runs and ns per connection
	join <(echo "$1") <(echo "$2") | awk -v n="$CONNS" '{
		r = $4 - $2; t = $5 - $3
		printf "    %s: %.2f runs, %.0f ns per connection (%.0f ns per run)\n", $1, r / n, t / n, r ? t / r : 0 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "sockmap CPU per new-connection request: $ROUNDS rounds x $CONNS connections per mode (kernel $(uname -r))"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then run_mode off "$r"; run_mode on "$r"; else run_mode on "$r"; run_mode off "$r"; fi
done
off=$(cut -d' ' -f1 "$WORK/off" | median)
on=$(cut -d' ' -f1 "$WORK/on" | median)
soff=$(cut -d' ' -f2 "$WORK/off" | median)
son=$(cut -d' ' -f2 "$WORK/on" | median)
echo "median CPU per connection: off $off ns, on $on ns, ratio on/off $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }') (target <= 1.03)"
echo "median softirq ticks per round (system-wide): off $soff, on $son"
# Load from other work drifts between rounds more than the two modes
# differ; a round's own on/off ratio cancels that drift.
paste -d' ' "$WORK/on" "$WORK/off" | awk '{ printf "%.4f\n", $1 / $3 }' | sort -n |
	awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "per-round ratio on/off: median %.3f, range %.3f-%.3f\n", m, v[1], v[NR] }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
