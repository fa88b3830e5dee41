#!/usr/bin/env bash
# Mesh benchmark (root): one HTTP workload through five data paths, side by
# side in one run, repeated, interleaved. Figures, ratios and a chart; nothing
# here passes or fails on a timing.
#
#   direct         no mesh: the client dials the server
#   sidecar        an Istio-like sidecar pair: HAProxy in the client netns
#                  (iptables nat OUTPUT REDIRECT to 15001, the proxy's own
#                  traffic excluded by uid 1337) and HAProxy in the server
#                  netns (nat PREROUTING REDIRECT to 15006, forwarding to the
#                  app on 127.0.0.1)
#   sidecar-accel  the same pair with kmesh accelerate mode
#                  (kmeshctl sockmap enable --accelerate)
#   l4             kmesh L4: the client dials a VIP, kmesh's connect hook
#                  sends it to the server
#   l4-sockmap     kmesh L4 with sockmap (kmeshctl sockmap enable)
#
# Workloads: wrk keep-alive and new-connection (Connection: close), with 1
# and 16 connections. Figures: p50 and p99 latency, requests/s, and CPU time
# per request: the machine's busy CPU (user+nice+system+irq+softirq of all
# CPUs, /proc/stat) over the run divided by the requests wrk completed, so
# client, proxies, server and kernel are all in it.
#
# Topology: one client/server pair of network namespaces per data path, on
# this node, joined by veth (10.N.K.100 -> 10.N.K.1), no default route:
#   P-c0/P-s0  direct, l4 (server 10.N.0.1), l4-sockmap (server 10.N.0.2;
#              its new-connection workload dials another VIP and port,
#              since sockmap learns per destination whether joining pays)
#   P-c1/P-s1  sidecar        (iptables nat and conntrack live only here)
#   P-c2/P-s2  sidecar-accel
# VIPs are 10.N.200.x, which no namespace routes: an unrewritten connect
# fails with ENETUNREACH. Client-side processes (wrk, outbound proxy) run on
# CPU 0, server-side ones (server, inbound proxy) on CPU 1, as two pods.
#
# Output: markdown on stdout and in OUT/mesh-bench.md, raw rounds in
# OUT/mesh-bench.raw, chart OUT/mesh-bench.svg (gnuplot).
#
# Knobs (environment):
#   MESH_BENCH_ROUNDS (5)  MESH_BENCH_DURATION (3 s per wrk run)
#   MESH_BENCH_CONNS ("1 16")  MESH_BENCH_MODES ("keepalive newconn")
#   MESH_BENCH_CONFIGS ("direct sidecar sidecar-accel l4 l4-sockmap")
#   MESH_BENCH_QUIET_WAIT (20 s): before each round, wait up to this long
#                          for the machine to be idle (other work busy < 0.1
#                          CPU); the load seen is reported either way
#   MESH_BENCH_MAX_FOREIGN (0.10), MESH_BENCH_RETRIES (20): a run during
#                          which work outside the bench's cgroups took more
#                          than this share of the busy CPU is run again (at
#                          most twice each, this many in all)
#   MESH_BENCH_SMOKE=1     1 round of 1 s: checks the harness, not the figures
#   MESH_BENCH_OUT (build/bench)  MESH_BENCH_PREFIX (kmb)  MESH_BENCH_NET (78)
#   MESH_BENCH_PIN (/sys/fs/bpf/kmesh-meshbench)
set -euo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/bench/http_bench.sh

if [ "${MESH_BENCH_SMOKE:-0}" = 1 ]; then
	ROUNDS=${MESH_BENCH_ROUNDS:-1} DURATION=${MESH_BENCH_DURATION:-1}
	QUIET_WAIT=${MESH_BENCH_QUIET_WAIT:-0} RETRY_BUDGET=${MESH_BENCH_RETRIES:-0}
else
	ROUNDS=${MESH_BENCH_ROUNDS:-5} DURATION=${MESH_BENCH_DURATION:-3}
	QUIET_WAIT=${MESH_BENCH_QUIET_WAIT:-20} RETRY_BUDGET=${MESH_BENCH_RETRIES:-20}
fi
MAX_FOREIGN=${MESH_BENCH_MAX_FOREIGN:-0.10}
CONNS=${MESH_BENCH_CONNS:-1 16}
MODES=${MESH_BENCH_MODES:-keepalive newconn}
CONFIGS=${MESH_BENCH_CONFIGS:-direct sidecar sidecar-accel l4 l4-sockmap}
OUT=${MESH_BENCH_OUT:-build/bench}
P=${MESH_BENCH_PREFIX:-kmb}
N=${MESH_BENCH_NET:-78}
PIN=${MESH_BENCH_PIN:-/sys/fs/bpf/kmesh-meshbench}
PROXY_UID=1337		# Istio's proxy uid: its traffic is not redirected
SRV_PORT=8080
CG=$KM_CG_ROOT/$P	# cgroups: CG/plain/* outside kmesh, CG/mesh/* under it
WORK=$(mktemp -d "/tmp/kmesh-meshbench.XXXXXX")
chmod 755 "$WORK"	# the proxies read their configs as uid 1337
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$WORK/state/kmeshd.state")
KMESHD_PID=
PIDS=()
declare -A URL URL_NEWCONN NS CGRP LABEL REASON

LABEL[direct]="direct (no mesh)"
LABEL[sidecar]="sidecar pair (HAProxy)"
LABEL[sidecar-accel]="sidecar pair + kmesh accelerate"
LABEL[l4]="kmesh L4"
LABEL[l4-sockmap]="kmesh L4 + sockmap"

log() { echo "mesh_bench: $*" >&2; }

cleanup() {
	local pid
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1 || true
	topo_down
	rm -rf "$WORK"
}

topo_down() {
	local k ns d
	for k in 0 1 2; do
		for ns in "$P-c$k" "$P-s$k"; do
			[ -e "/run/netns/$ns" ] || continue
			ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		done
	done
	if [ -d "$CG" ]; then
		for d in $(find "$CG" -depth -type d); do rmdir "$d" 2>/dev/null; done
	fi
	return 0
}

# pair K: client netns P-cK (10.N.K.100) and server netns P-sK (10.N.K.1,
# plus 10.N.K.2), one veth, no default route
pair_up() {
	local k=$1
	ip netns add "$P-c$k"
	ip netns add "$P-s$k"
	ip link add "$P-c${k}v" type veth peer name "$P-s${k}v"
	ip link set "$P-c${k}v" netns "$P-c$k"
	ip link set "$P-s${k}v" netns "$P-s$k"
	ip -n "$P-c$k" link set lo up
	# As load generators do: with new-connection requests the sidecar's
	# client side ends each connection in TIME_WAIT (wrk and the proxy
	# close together), and without reuse the ephemeral ports run out
	# within seconds: throughput falls to the rate TIME_WAITs expire
	# (~500/s), in whichever round follows a busy one.
	ip netns exec "$P-c$k" sysctl -qw net.ipv4.tcp_tw_reuse=1
	ip -n "$P-s$k" link set lo up
	ip -n "$P-c$k" addr add "10.$N.$k.100/24" dev "$P-c${k}v"
	ip -n "$P-s$k" addr add "10.$N.$k.1/24" dev "$P-s${k}v"
	ip -n "$P-s$k" addr add "10.$N.$k.2/32" dev "$P-s${k}v"
	ip -n "$P-c$k" link set "$P-c${k}v" up
	ip -n "$P-s$k" link set "$P-s${k}v" up
}

# spawn CGROUP NETNS CPU CMD...: start CMD in that cgroup (joined first:
# `ip netns exec` would remount /sys), netns and CPU; remember its pid
spawn() {
	local cg=$1 ns=$2 cpu=$3
	shift 3
	( echo "$BASHPID" > "$CG/$cg/cgroup.procs" &&
	  exec nsenter --net="/run/netns/$ns" taskset -c "$cpu" "$@" ) \
		>> "$WORK/procs.log" 2>&1 &
	PIDS+=($!)
}

# server CGROUP NETNS ADDR:PORT...: a km_testsrv on CPU 1; every server has
# the same name, so every response has the same size
server() {
	local ready=$WORK/ready.$RANDOM$RANDOM cg=$1 ns=$2 a
	local -a listen=()
	shift 2
	for a in "$@"; do listen+=(--listen "$a"); done
	spawn "$cg" "$ns" 1 "$KM_BUILD/tools/km_testsrv" --name bench "${listen[@]}" --ready-file "$ready"
	for _ in $(seq 100); do
		[ -s "$ready" ] && return 0
		sleep 0.05
	done
	log "server $* in $ns did not start"
	return 1
}

# HAProxy as Envoy would be set up: HTTP mode, upstream connections pooled
# and shared between downstream connections (http-reuse always), one thread.
# Outbound: server 0.0.0.0:0 is "the client's original destination", which
# HAProxy reads with SO_ORIGINAL_DST on an iptables-REDIRECTed socket, as
# Envoy's original_dst listener filter does. Inbound: the app on localhost.
haproxy_cfg() {	# haproxy_cfg NAME BIND SERVER
	cat > "$WORK/$1.cfg" <<-EOT
	global
	  nbthread 1
	  maxconn 4096
	defaults
	  mode http
	  timeout connect 2s
	  timeout client 30s
	  timeout server 30s
	  http-reuse always
	frontend $1
	  bind $2
	  default_backend $1
	backend $1
	  server $1 $3
	EOT
	echo "$WORK/$1.cfg"
}

# sidecars K CGROUP_CLI CGROUP_SRV: Istio's capture on pair K
sidecars() {
	local k=$1 cgc=$2 cgs=$3 cfg
	ip netns exec "$P-c$k" iptables -w -t nat -A OUTPUT -p tcp -o lo -j RETURN
	ip netns exec "$P-c$k" iptables -w -t nat -A OUTPUT -p tcp -m owner --uid-owner $PROXY_UID -j RETURN
	ip netns exec "$P-c$k" iptables -w -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 15001
	ip netns exec "$P-s$k" iptables -w -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 15006
	cfg=$(haproxy_cfg "out$k" "0.0.0.0:15001" "0.0.0.0:0")
	spawn "$cgc" "$P-c$k" 0 setpriv --reuid $PROXY_UID --regid $PROXY_UID --clear-groups haproxy -db -f "$cfg"
	cfg=$(haproxy_cfg "in$k" "0.0.0.0:15006" "127.0.0.1:$SRV_PORT")
	spawn "$cgs" "$P-s$k" 1 setpriv --reuid $PROXY_UID --regid $PROXY_UID --clear-groups haproxy -db -f "$cfg"
}

redirect_hits() {	# redirect_hits K -> "outbound inbound" packets REDIRECTed
	local o i
	o=$(ip netns exec "$P-c$1" iptables -w -t nat -L OUTPUT -v -n -x | awk '/REDIRECT/ { print $1 }')
	i=$(ip netns exec "$P-s$1" iptables -w -t nat -L PREROUTING -v -n -x | awk '/REDIRECT/ { print $1 }')
	echo "${o:-0} ${i:-0}"
}

wait_up() {	# wait_up URL NETNS: the path answers
	for _ in $(seq 50); do
		nsenter --net="/run/netns/$2" curl -sf -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.1
	done
	return 1
}

start_kmeshd() {	# start_kmeshd [FLAGS...]: 0 once generation 1 is live
	rm -f "$WORK/state/kmeshd.state"
	"$KM_BUILD/kmeshd" --config "$WORK/mesh.yaml" --cgroup "$CG/mesh" --pin-root "$PIN" \
		--state-dir "$WORK/state" "$@" >> "$WORK/kmeshd.log" 2>&1 &
	KMESHD_PID=$!
	for _ in $(seq 100); do
		grep -qs '^generation=1' "$WORK/state/kmeshd.state" && return 0
		kill -0 "$KMESHD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$KMESHD_PID" 2>/dev/null; wait "$KMESHD_PID" 2>/dev/null
	KMESHD_PID=
	return 1
}

# The sockmap feature: kmeshd --sockmap, kmeshctl sockmap enable
# [--accelerate] PATH. Probed, never assumed: a configuration that cannot
# be set up gets REASON[cfg] and no figures.
setup_kmesh() {
	local want_sm=0 c err
	for c in $CONFIGS; do
		case $c in l4-sockmap|sidecar-accel) want_sm=1 ;; esac
	done
	if [ $want_sm = 1 ]; then
		# the whole help first: grep -q stops reading at the match, and
		# under pipefail kmeshd's SIGPIPE would fail the pipeline
		help=$("$KM_BUILD/kmeshd" --help 2>&1 || true)
		if ! grep -q -- '--sockmap' <<< "$help"; then
			err="kmeshd has no --sockmap option (sockmap is not in this build)"
		elif ! grep -q 'sockmap' <<< "$("$KM_BUILD/kmeshctl" --help 2>&1 || true)"; then
			err="kmeshctl has no sockmap command (sockmap is not in this build)"
		elif ! start_kmeshd --sockmap; then
			err="kmeshd --sockmap did not start: $(tail -1 "$WORK/kmeshd.log" | sed "s/^<[0-9]>//")"
		else
			err=
		fi
		if [ -n "$err" ]; then
			REASON[l4-sockmap]=$err REASON[sidecar-accel]=$err
		fi
	fi
	if [ -z "$KMESHD_PID" ] && ! start_kmeshd; then
		err="kmeshd did not start: $(tail -1 "$WORK/kmeshd.log" | sed "s/^<[0-9]>//")"
		REASON[l4]=$err REASON[l4-sockmap]=$err REASON[sidecar-accel]=$err
		return 0
	fi
	"${CTL[@]}" enroll "$CG/mesh/l4" >/dev/null
	"${CTL[@]}" enroll "$CG/mesh/sm" >/dev/null
	# both ends of each joined connection: client and server pods
	for c in mesh/sm mesh/sm-srv; do
		if [ -z "${REASON[l4-sockmap]:-}" ] &&
		   ! err=$("${CTL[@]}" sockmap enable "$CG/$c" 2>&1 >/dev/null); then
			REASON[l4-sockmap]="kmeshctl sockmap enable failed: $err"
		fi
	done
	for c in mesh/sca/cli mesh/sca/srv; do
		if [ -z "${REASON[sidecar-accel]:-}" ] &&
		   ! err=$("${CTL[@]}" sockmap enable --accelerate "$CG/$c" 2>&1 >/dev/null); then
			REASON[sidecar-accel]="kmeshctl sockmap enable --accelerate failed: $err"
		fi
	done
	return 0
}

setup() {
	local c
	topo_down
	mkdir -p "$CG/plain/cli" "$CG/plain/srv" "$CG/plain/sc-cli" "$CG/plain/sc-srv" \
		"$CG/mesh/l4" "$CG/mesh/sm" "$CG/mesh/sm-srv" "$CG/mesh/sca/cli" "$CG/mesh/sca/srv" \
		"$WORK/state"
	pair_up 0
	pair_up 1
	pair_up 2
	cat > "$WORK/mesh.yaml" <<-EOT
	static_resources:
	  listeners:
	  - name: l4
	    address: { socket_address: { address: 10.$N.200.1, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: l4, cluster: l4 }
	  - name: sm
	    address: { socket_address: { address: 10.$N.200.2, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: sm, cluster: sm }
	  - name: smnew
	    address: { socket_address: { address: 10.$N.200.3, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: smnew, cluster: smnew }
	  clusters:
	  - name: l4
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: 10.$N.0.1, port_value: $SRV_PORT } } }
	  - name: sm
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: 10.$N.0.2, port_value: $SRV_PORT } } }
	  - name: smnew
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: 10.$N.0.2, port_value: $((SRV_PORT + 1)) } } }
	EOT
	# direct and l4 share one server outside kmesh's cgroup; l4-sockmap
	# has its own under it (sockmap needs both ends)
	server plain/srv "$P-s0" "10.$N.0.1:$SRV_PORT"
	# sockmap learns per destination whether joining pays; the
	# new-connection workload gets its own, so it does not decide for the
	# keep-alive one
	server mesh/sm-srv "$P-s0" "10.$N.0.2:$SRV_PORT" "10.$N.0.2:$((SRV_PORT + 1))"
	server plain/sc-srv "$P-s1" "0.0.0.0:$SRV_PORT"
	server mesh/sca/srv "$P-s2" "0.0.0.0:$SRV_PORT"
	sidecars 1 plain/sc-cli plain/sc-srv
	sidecars 2 mesh/sca/cli mesh/sca/srv
	setup_kmesh

	URL[direct]=http://10.$N.0.1:$SRV_PORT/   NS[direct]=$P-c0 CGRP[direct]=plain/cli
	URL[l4]=http://10.$N.200.1/               NS[l4]=$P-c0     CGRP[l4]=mesh/l4
	URL[l4-sockmap]=http://10.$N.200.2/       NS[l4-sockmap]=$P-c0 CGRP[l4-sockmap]=mesh/sm
	URL_NEWCONN[l4-sockmap]=http://10.$N.200.3/
	URL[sidecar]=http://10.$N.1.1:$SRV_PORT/  NS[sidecar]=$P-c1 CGRP[sidecar]=plain/sc-cli
	URL[sidecar-accel]=http://10.$N.2.1:$SRV_PORT/ NS[sidecar-accel]=$P-c2 CGRP[sidecar-accel]=mesh/sca/cli
	for c in $CONFIGS; do
		[ -n "${URL[$c]:-}" ] || { log "unknown configuration '$c'"; exit 2; }
		[ -z "${REASON[$c]:-}" ] || continue
		if ! ( echo "$BASHPID" > "$CG/${CGRP[$c]}/cgroup.procs"; wait_up "${URL[$c]}" "${NS[$c]}" &&
		       wait_up "${URL_NEWCONN[$c]:-${URL[$c]}}" "${NS[$c]}" ); then
			REASON[$c]="no answer from ${URL[$c]} in ${NS[$c]}"
			log "$c: ${REASON[$c]}; server and proxy output:"
			sed 's/^/  /' "$WORK/procs.log" >&2
		fi
	done
}

# ---- figures -------------------------------------------------------------


# stat CFG MODE CONNS COLUMN [BASE]: "median min max" of CFG's rounds, then
# with BASE also "ratio rmin rmax": median(CFG) / median(BASE), and the
# extremes of the per-round ratios (each round runs both close together).
# Raw columns: round cfg mode conns rps p50 p99 avg cpu sm_msgs_per_req
# foreign_cpu_share.
# Fails on no data.
stat() {
	awk -v cfg="$1" -v mode="$2" -v conns="$3" -v col="$4" -v base="${5:-}" '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) {
			t = a[i]
			for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$3 != mode || $4 != conns { next }
	$2 == cfg { v[++n] = $col; by[$1] = $col }
	$2 == base { b[++nb] = $col; bb[$1] = $col }
	END {
		if (n == 0 || (base != "" && nb == 0)) exit 1
		lo = hi = v[1]
		for (i = 2; i <= n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
		m = med(v, n)
		printf "%s %s %s", m, lo, hi
		if (base != "") {
			mb = med(b, nb); rlo = rhi = ""
			for (r in by) if ((r in bb) && bb[r] > 0) {
				x = by[r] / bb[r]
				if (rlo == "" || x < rlo) rlo = x
				if (rhi == "" || x > rhi) rhi = x
			}
			printf " %s %s %s", (mb > 0 ? m / mb : 0), rlo, rhi
		}
		printf "\n"
	}' "$RAW"
}

col_of() {	# metric name -> raw column
	case $1 in rps) echo 5 ;; p50) echo 6 ;; p99) echo 7 ;; cpu) echo 9 ;; sm) echo 10 ;; esac
}

wl_label() {	# MODE CONNS
	local m=keep-alive
	[ "$1" = newconn ] && m="new conn"
	if [ "$2" = 1 ]; then echo "$m, 1 conn"; else echo "$m, $2 conns"; fi
}

# abs_cell CFG MODE CONNS METRIC: "median (min-max)" in the metric's unit
abs_cell() {
	local s f=%.0f
	[ "$4" = cpu ] && f=%.2f
	s=$(stat "$1" "$2" "$3" "$(col_of "$4")") || { echo "no data"; return; }
	awk -v f="$f" -v s="$s" 'BEGIN { split(s, a, " "); printf f " (" f "-" f ")\n", a[1], a[2], a[3] }'
}

# ratio_cell CFG MODE CONNS METRIC [BASE]: "ratio (min-max per round)"
ratio_cell() {
	local s
	s=$(stat "$1" "$2" "$3" "$(col_of "$4")" "${5:-direct}") || { echo "no data"; return; }
	awk -v s="$s" 'BEGIN { split(s, a, " "); printf "%.2f (%.2f-%.2f)\n", a[4], a[5], a[6] }'
}

ratio_of() {	# ratio_of CFG MODE CONNS METRIC [BASE] -> ratio of medians, or fail
	local s
	s=$(stat "$1" "$2" "$3" "$(col_of "$4")" "${5:-direct}") || return 1
	awk -v s="$s" 'BEGIN { split(s, a, " "); printf "%.3f\n", a[4] }'
}

available() { [ -z "${REASON[$1]:-}" ]; }
in_list() { [[ " $2 " == *" $1 "* ]]; }

# Messages sk_msg has sent straight to a peer socket so far (0 without
# sockmap): what shows a sockmap configuration took the sockmap path.
sm_redirected() {
	local v=
	[ -n "$KMESHD_PID" ] &&
		v=$("${CTL[@]}" -o json sockmap status 2>/dev/null |
			jq '[.. | objects | .redirected_msgs? // empty] | first // empty' 2>/dev/null)
	echo "${v:-0}"
}

# "machine_us bench_us": busy CPU time so far of the whole machine
# (/proc/stat, as km_wrk_run counts it) and of the bench's own cgroups.
# Their difference over a run is work that is not the bench's: other
# processes, and softirq work the kernel runs in ksoftirqd.
cpu_split() {
	local m c
	m=$(awk -v t="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.0f", ($2 + $3 + $4 + $7 + $8) * 1000000 / t; exit }' /proc/stat)
	c=$(awk '$1 == "usage_usec" { print $2 }' "$CG/cpu.stat")
	echo "$m ${c:-0}"
}

# Busy CPUs (0..nproc) over one idle second: what else runs on the machine.
background_load() {
	local a b
	a=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat)
	sleep 1
	b=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat)
	awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "%.2f\n", (y[2] > x[2] ? (y[1] - x[1]) / (y[2] - x[2]) * n : 0) }'
}

wait_quiet() {	# wait_quiet MAX_S: until other work is < 0.1 CPU; prints the last load
	local bg waited=1
	bg=$(background_load)
	while [ "$waited" -lt "$1" ] && awk -v b="$bg" 'BEGIN { exit !(b > 0.10) }'; do
		bg=$(background_load) waited=$((waited + 1))
	done
	echo "$bg"
}

# measure ROUND CFG MODE CONNS: one wrk run, appended to RAW. A run during
# which other work took more than MAX_FOREIGN of the machine's busy CPU is
# run again after a (bounded) wait for quiet, while RETRY_BUDGET lasts.
measure() {
	local r=$1 c=$2 mode=$3 conns=$4 line sm0 sm1 cpu0 cpu1 foreign tries=0 url=${URL[$2]}
	[ "$mode" = newconn ] && url=${URL_NEWCONN[$c]:-$url}
	while :; do
		sm0=$(sm_redirected) cpu0=$(cpu_split)
		if ! line=$(km_wrk_run "$c" "$url" "$conns" "$DURATION" "$mode" \
			"${NS[$c]}" "$CG/${CGRP[$c]}"); then
			log "round $r: $c $mode c$conns: wrk failed, no figures"
			return 0
		fi
		cpu1=$(cpu_split) sm1=$(sm_redirected)
		foreign=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {
			split(a, x, " "); split(b, y, " "); m = y[1] - x[1]; c = y[2] - x[2]
			printf "%.2f\n", (m > 0 && m > c ? (m - c) / m : 0) }')
		log "round $r/$ROUNDS: $line foreign_cpu=$foreign"
		awk -v f="$foreign" -v m="$MAX_FOREIGN" 'BEGIN { exit !(f > m) }' || break
		[ "$tries" -lt 2 ] && [ "$RETRY_BUDGET" -gt 0 ] || break
		tries=$((tries + 1)) RETRY_BUDGET=$((RETRY_BUDGET - 1)) RETRIED=$((RETRIED + 1))
		log "other work took ${foreign} of the CPU: running it again"
		wait_quiet 10 >/dev/null
	done
	sed 's/[a-z0-9_]*=//g' <<< "$line" |
		awk -v r="$r" -v d="$DURATION" -v s0="$sm0" -v s1="$sm1" -v f="$foreign" '{
			print r, $1, $2, $3, $4, $5, $6, $7, $8,
			      (s1 > s0 && $4 > 0 ? (s1 - s0) / ($4 * d) : 0), f }' >> "$RAW"
}

run_rounds() {
	local -a cfgs=($CONFIGS)
	local r i c mode conns n=${#cfgs[@]}
	: > "$RAW"
	BACKGROUND=() RETRIED=0
	export KM_WRK_CPU=0
	for r in $(seq "$ROUNDS"); do
		BACKGROUND+=("$(wait_quiet "$QUIET_WAIT")")
		# round-robin, starting one further each round: drift and order
		# effects hit every configuration alike
		for i in $(seq 0 $((n - 1))); do
			c=${cfgs[$(((i + r - 1) % n))]}
			available "$c" || continue
			for mode in $MODES; do
				for conns in $CONNS; do
					measure "$r" "$c" "$mode" "$conns"
				done
			done
		done
	done
}

report_ratios() {
	local mode conns c wl m
	echo "| workload | configuration | p50 latency | p99 latency | requests/s | CPU per request |"
	echo "|---|---|---|---|---|---|"
	for mode in $MODES; do
		for conns in $CONNS; do
			wl=$(wl_label "$mode" "$conns")
			if in_list direct "$CONFIGS" && available direct; then
				echo "| $wl | ${LABEL[direct]} | $(abs_cell direct "$mode" "$conns" p50) us" \
				     "| $(abs_cell direct "$mode" "$conns" p99) us" \
				     "| $(abs_cell direct "$mode" "$conns" rps)" \
				     "| $(abs_cell direct "$mode" "$conns" cpu) us |"
			fi
			for c in $CONFIGS; do
				[ "$c" = direct ] && continue
				available "$c" || continue
				echo -n "| $wl | ${LABEL[$c]}"
				for m in p50 p99 rps cpu; do echo -n " | x$(ratio_cell "$c" "$mode" "$conns" $m)"; done
				echo " |"
			done
		done
	done
	local sep=
	for c in $CONFIGS; do
		available "$c" && continue
		[ -n "$sep" ] || { echo; sep=1; }
		echo "- ${LABEL[$c]}: not available: ${REASON[$c]}"
	done
	return 0
}

report_absolute() {
	local mode conns c
	echo "| workload | configuration | p50 us | p99 us | requests/s | CPU us/request |"
	echo "|---|---|---|---|---|---|"
	for mode in $MODES; do
		for conns in $CONNS; do
			for c in $CONFIGS; do
				available "$c" || continue
				echo "| $(wl_label "$mode" "$conns") | ${LABEL[$c]} | $(abs_cell "$c" "$mode" "$conns" p50)" \
				     "| $(abs_cell "$c" "$mode" "$conns" p99) | $(abs_cell "$c" "$mode" "$conns" rps)" \
				     "| $(abs_cell "$c" "$mode" "$conns" cpu) |"
			done
		done
	done
}

# target LINE CFG BASE LIMIT MODES: one line per workload, p50 ratio of CFG
# against BASE judged against LIMIT (p99 shown alongside)
target() {
	local title=$1 cfg=$2 base=$3 limit=$4 modes=$5 mode conns r r99 verdict
	echo "- $title"
	for c in "$cfg" "$base"; do
		if ! in_list "$c" "$CONFIGS"; then
			echo "  - not measured: $c is not in MESH_BENCH_CONFIGS"; return
		fi
		if ! available "$c"; then
			echo "  - not measured: ${LABEL[$c]} not available: ${REASON[$c]}"; return
		fi
	done
	for mode in $modes; do
		in_list "$mode" "$MODES" || continue
		for conns in $CONNS; do
			if ! r=$(ratio_of "$cfg" "$mode" "$conns" p50 "$base"); then
				echo "  - $(wl_label "$mode" "$conns"): no data"; continue
			fi
			r99=$(ratio_of "$cfg" "$mode" "$conns" p99 "$base") || r99=?
			verdict=$(awk -v r="$r" -v l="$limit" 'BEGIN { print (r <= l ? "met" : "not met") }')
			echo "  - $(wl_label "$mode" "$conns"): p50 x$r (p99 x$r99): **$verdict**"
		done
	done
}

report_targets() {
	target "kmesh L4 latency at most 1.02 times direct (p50):" l4 direct 1.02 "keepalive newconn"
	target "kmesh L4 with sockmap p50 at most 0.75 times direct, same node, keep-alive:" \
		l4-sockmap direct 0.75 keepalive
	target "accelerated sidecar pair at least 15% lower latency than the plain pair (p50 ratio at most 0.85):" \
		sidecar-accel sidecar 0.85 "keepalive newconn"
}

# What shows the traffic took the path it is labelled with.
report_evidence() {
	local k c hits mode conns s sep
	for k in 1 2; do
		case $k in 1) c=sidecar ;; 2) c=sidecar-accel ;; esac
		in_list "$c" "$CONFIGS" && available "$c" || continue
		hits=$(redirect_hits $k)
		echo "- ${LABEL[$c]}: iptables REDIRECT packets outbound ${hits% *}, inbound ${hits#* }"
	done
	for c in l4-sockmap sidecar-accel; do
		in_list "$c" "$CONFIGS" && available "$c" || continue
		echo -n "- ${LABEL[$c]}: messages sk_msg redirected to the peer socket, per request (median):"
		sep=
		for mode in $MODES; do
			for conns in $CONNS; do
				if s=$(stat "$c" "$mode" "$conns" "$(col_of sm)"); then
					s=$(printf '%.2f' "${s%% *}")
				else
					s=?
				fi
				echo -n "$sep $(wl_label "$mode" "$conns") $s"
				sep=,
			done
		done
		echo
	done
	if [ -n "$KMESHD_PID" ]; then
		echo "- kmeshctl status counters:"
		echo
		echo '```'
		"${CTL[@]}" status 2>&1 | awk '/^counters/ { f = 1; print; next } f && /^[a-z]/ { exit } f'
		echo '```'
		if available l4-sockmap || available sidecar-accel; then
			echo
			echo '```'
			"${CTL[@]}" sockmap status 2>&1 | head -40
			echo '```'
		fi
	fi
}

chart() {	# chart: OUT/mesh-bench.svg, p50 and CPU/request ratios
	local -a shown=()
	local c mode conns m dat svg=$OUT/mesh-bench.svg line s term
	if ! command -v gnuplot >/dev/null; then
		echo "chart skipped: gnuplot is not installed (scripts/install-deps.sh)"; return
	fi
	for c in $CONFIGS; do
		[ "$c" != direct ] && available "$c" && shown+=("$c")
	done
	if [ ${#shown[@]} -eq 0 ] || ! available direct; then
		echo "chart skipped: nothing to compare with direct"; return
	fi
	for m in p50 cpu; do
		dat=$WORK/chart-$m.dat
		line='"workload"'
		for c in "${shown[@]}"; do line+=" \"${LABEL[$c]}\" lo hi"; done
		echo "$line" > "$dat"
		for mode in $MODES; do
			for conns in $CONNS; do
				line="\"$(wl_label "$mode" "$conns")\""
				for c in "${shown[@]}"; do
					s=$(stat "$c" "$mode" "$conns" "$(col_of $m)" direct) || s="? ? ? ? ? ?"
					line+=" $(awk -v s="$s" 'BEGIN { split(s, a, " "); print a[4], a[5], a[6] }')"
				done
				echo "$line" >> "$dat"
			done
		done
	done
	# the same chart as SVG (for the README) and PNG
	for term in "svg size 900,640 font 'sans,11' background '#ffffff'" \
		    "pngcairo size 900,640 font 'sans,10' background '#ffffff'"; do
		plot_ratios "$term" "${#shown[@]}" || { echo "chart failed: $(tail -1 "$WORK/gnuplot.log")"; return; }
	done
	echo "![ratios against direct]($svg)"
}

plot_ratios() {	# plot_ratios TERMINAL NCONFIGS
	local out=$OUT/mesh-bench.svg
	[[ $1 == png* ]] && out=$OUT/mesh-bench.png
	gnuplot <<-EOT 2> "$WORK/gnuplot.log"
	set terminal $1
	set output "$out"
	set datafile missing "?"
	set style data histograms
	set style histogram errorbars gap 1 lw 1
	set style fill solid 0.8 border -1
	set boxwidth 0.9
	set yrange [0:*]
	set grid ytics
	set key top right font "sans,9"
	set multiplot layout 2,1 title "kmesh mesh benchmark: ratio against direct, median and per-round min-max (lower is better)" font "sans,12"
	set title "p50 latency"
	plot for [k=0:$2-1] "$WORK/chart-p50.dat" using (column(2+3*k)):(column(3+3*k)):(column(4+3*k)):xtic(1) title columnheader(2+3*k), \
	     1 with lines dt 2 lc rgb "black" notitle
	set title "CPU time per request"
	unset key
	plot for [k=0:$2-1] "$WORK/chart-cpu.dat" using (column(2+3*k)):(column(3+3*k)):(column(4+3*k)):xtic(1) title columnheader(2+3*k), \
	     1 with lines dt 2 lc rgb "black" notitle
	unset multiplot
	EOT
}

main() {
	local c cpu bg fg
	[ "$(id -u)" -eq 0 ] || { log "run as root"; exit 1; }
	for c in wrk curl; do
		command -v $c >/dev/null || { log "$c is not installed (scripts/install-deps.sh)"; exit 1; }
	done
	if ! command -v haproxy >/dev/null || ! command -v iptables >/dev/null; then
		REASON[sidecar]="haproxy or iptables is not installed (scripts/install-deps.sh)"
		REASON[sidecar-accel]=${REASON[sidecar]}
	fi
	trap cleanup EXIT
	mkdir -p "$OUT"
	RAW=$OUT/mesh-bench.raw
	setup
	run_rounds
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	{
		echo "## Mesh benchmark: $ROUNDS rounds, wrk ${DURATION}s per run"
		echo
		echo "Machine: $(nproc) CPUs ($cpu), $(free -g | awk '/^Mem:/ { print $2 }') GiB," \
		     "Linux $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME"), $(date -u +%Y-%m-%d)."
		echo "Configurations interleaved round-robin, one wrk -t1 run per workload each round."
		bg=$(printf '%s\n' "${BACKGROUND[@]}" | sort -g | tail -1)
		echo "Background load, busy CPUs in one idle second before each round (waiting up to ${QUIET_WAIT}s for < 0.10): ${BACKGROUND[*]}."
		fg=$(awk '{ print $11 }' "$RAW" | sort -g | tail -1)
		echo "CPU taken by work outside the bench's cgroups during a kept run: at most ${fg:-0} of the busy CPU;" \
		     "$RETRIED runs were repeated because it exceeded $MAX_FOREIGN."
		if awk -v b="$bg" -v f="${fg:-0}" -v m="$MAX_FOREIGN" 'BEGIN { exit !(b > 0.10 || f > m) }'; then
			echo "**Something else used the CPU during this run: latency and CPU per request include it.**"
		fi
		echo
		echo "Ratios against direct: ratio of medians, (min-max) of the per-round ratios."
		echo "Direct rows: absolute medians, (min-max) over the rounds."
		echo
		report_ratios
		echo
		echo "Targets (judged on the medians; the bench never fails on them):"
		echo
		report_targets
		echo
		echo "Absolute figures, median (min-max) over $ROUNDS rounds:"
		echo
		report_absolute
		echo
		echo "Path checks:"
		echo
		report_evidence
		echo
		chart
	} | tee "$OUT/mesh-bench.md"
}

main "$@"
