#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# HTTP latency / CPU benchmark helpers around wrk. Source it, or run it:
#
#   . tests/bench/http_bench.sh
#   km_wrk_run LABEL URL CONNS DURATION_S MODE [NETNS] [CGROUP_DIR]
#   printf '3\n1\n2\n' | km_median
#
#   tests/bench/http_bench.sh LABEL URL CONNS DURATION_S MODE [NETNS] [CGROUP_DIR]
#   tests/bench/http_bench.sh median < numbers
#
# MODE is keepalive (wrk reuses its connections) or newconn (every request
# carries "Connection: close", so every request pays a connect: the path the
# cgroup connect hooks sit on). km_wrk_run prints exactly one line:
#
#   LABEL MODE conns=C rps=R p50_us=X p99_us=Y avg_us=A cpu_us_per_req=Z
#
# cpu_us_per_req is the whole machine's busy CPU (user+nice+system+irq+
# softirq from /proc/stat) during the run, over the requests wrk completed:
# client, server and kernel together. Figures only; nothing here judges them.

# wrk prints a time as NUMBER followed by us, ms, s, m or h.
km__to_us() {
	awk -v t="$1" -v d="${KM_DECIMALS:-0}" 'BEGIN {
		if (match(t, /^[0-9.]+/) == 0) { exit 1 }
		n = substr(t, 1, RLENGTH); u = substr(t, RLENGTH + 1)
		if (u == "us") f = 1
		else if (u == "ms") f = 1000
		else if (u == "s") f = 1000000
		else if (u == "m") f = 60000000
		else if (u == "h") f = 3600000000
		else exit 1
		printf "%." d "f\n", n * f
	}'
}

# Busy jiffies so far, summed over all CPUs.
km__busy_jiffies() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

# Median of the numbers on stdin (whitespace separated); mean of the two
# middle ones for an even count. Prints nothing and fails on no input.
km_median() {
	tr -s ' \t' '\n' | awk 'NF { print $1 + 0 }' | sort -g |
		awk '{ v[NR] = $1 }
		     END {
			if (NR == 0) exit 1
			if (NR % 2) m = v[(NR + 1) / 2]
			else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (m == int(m)) printf "%d\n", m
			else printf "%.2f\n", m
		     }'
}

# km_wrk_run LABEL URL CONNS DURATION_S MODE NETNS_OR_EMPTY CGROUP_DIR_OR_EMPTY
km_wrk_run() {
	local label=$1 url=$2 conns=$3 dur=$4 mode=$5 netns=${6:-} cg=${7:-}
	local -a hdr=()
	local out tck j0 j1 reqs rps p50 p99 p50_us p99_us cpu_us per_req rc

	if [[ $# -lt 5 || ! $conns =~ ^[0-9]+$ || ! $dur =~ ^[0-9]+$ ||
	      $conns -lt 1 || $dur -lt 1 ]]; then
		echo "km_wrk_run: usage: LABEL URL CONNS DURATION_S MODE [NETNS] [CGROUP_DIR]" >&2
		return 2
	fi
	case $mode in
	keepalive) ;;
	newconn) hdr=(-H 'Connection: close') ;;
	*) echo "km_wrk_run: MODE must be keepalive or newconn, not '$mode'" >&2
	   return 2 ;;
	esac
	if [[ -n $netns && ! -e /run/netns/$netns ]]; then
		echo "km_wrk_run: no network namespace /run/netns/$netns" >&2
		return 2
	fi
	if [[ -n $cg && ! -w $cg/cgroup.procs ]]; then
		echo "km_wrk_run: cannot join cgroup $cg" >&2
		return 2
	fi

	out=$(mktemp /tmp/km_wrk.XXXXXX) || return 1
	tck=$(getconf CLK_TCK)
	j0=$(km__busy_jiffies)
	# Join the cgroup first, then the netns: `ip netns exec` would remount
	# /sys and hide the cgroup fs. timeout bounds a wedged wrk.
	(
		if [[ -n $cg ]]; then
			echo "$BASHPID" > "$cg/cgroup.procs" || exit 125
		fi
		# KM_WRK_CPU pins wrk (e.g. away from the server) to cut
		# scheduler noise on small machines.
		cmd=(timeout -k 5 $((dur + 30))
		     ${KM_WRK_CPU:+taskset -c "$KM_WRK_CPU"} wrk -t1 -c"$conns" -d"${dur}s" --latency "${hdr[@]}" "$url")
		if [[ -n $netns ]]; then
			exec nsenter --net="/run/netns/$netns" "${cmd[@]}"
		fi
		exec "${cmd[@]}"
	) > "$out" 2>&1
	rc=$?
	j1=$(km__busy_jiffies)

	reqs=$(awk '/ requests in / { print $1; exit }' "$out")
	rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
	p50=$(awk '$1 == "50%" { print $2; exit }' "$out")
	p99=$(awk '$1 == "99%" { print $2; exit }' "$out")
	# wrk's percentiles come from a 1 us histogram; the mean has decimals
	avg=$(awk '$1 == "Latency" { print $2; exit }' "$out")
	if [[ $rc -ne 0 || -z $reqs || -z $rps || -z $p50 || -z $p99 ]]; then
		echo "km_wrk_run: $label: wrk failed (rc=$rc):" >&2
		sed 's/^/  /' "$out" >&2
		rm -f "$out"
		return 1
	fi
	if grep -qE '^ *(Socket errors|Non-2xx or 3xx responses):' "$out"; then
		echo "km_wrk_run: $label $mode: wrk reported errors:" >&2
		grep -E '^ *(Socket errors|Non-2xx or 3xx responses):' "$out" |
			sed 's/^ */  /' >&2
	fi
	rm -f "$out"

	p50_us=$(km__to_us "$p50") || { echo "km_wrk_run: bad time '$p50'" >&2; return 1; }
	p99_us=$(km__to_us "$p99") || { echo "km_wrk_run: bad time '$p99'" >&2; return 1; }
	avg_us=$(KM_DECIMALS=2 km__to_us "$avg") || { echo "km_wrk_run: bad time '$avg'" >&2; return 1; }
	cpu_us=$(( (j1 - j0) * 1000000 / tck ))
	if [[ $reqs -gt 0 ]]; then
		per_req=$(awk -v c="$cpu_us" -v r="$reqs" 'BEGIN { printf "%.2f", c / r }')
	else
		per_req=0
	fi
	printf '%s %s conns=%s rps=%.0f p50_us=%s p99_us=%s avg_us=%s cpu_us_per_req=%s\n' \
		"$label" "$mode" "$conns" "$rps" "$p50_us" "$p99_us" "$avg_us" "$per_req"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -u
	if [[ ${1:-} == median ]]; then
		km_median
		exit
	fi
	km_wrk_run "$@"
fi
