#!/usr/bin/env bash
# xDS at scale (root): figures next to their targets, never pass/fail.
#  - apply: 10,000 and 50,000 services x 10 endpoints, one Delta response
#    per type, into a fresh kmeshd: kmeshd's arrival-to-applied time of
#    each response (xds_<type>_last_us), the sum against 2 s at 50k; RSS
#    after the apply and the peak (VmHWM, decoding included);
#  - one endpoint change at 50k (ROUNDS rounds, median): kmeshd's time
#    from the response's arrival to the flip (xds_eds_last_us; the compile
#    and map write alone: incr_last_us), then a connect routed to the new
#    set is checked (not timed);
#  - 1% churn: 500 clusters' endpoints in one response, same figures;
#  - connect(): ns per connect to one VIP with 10, 10,000 and 50,000
#    services loaded, in this run, and the ratio 50k / 10.
# Loopback only: endpoints are 127.16.0.0 + N (all loopback), served by one
# km_testsrv on 0.0.0.0:18090; VIPs 10.200.x.y:80 are only ever rewritten.
# Knobs: ROUNDS (7), CONNECTS (5000), SCALE (50000); XSCALE_LOG=FILE keeps
# kmeshd's log.
set -euo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/xds/lib.sh

ROUNDS=${ROUNDS:-7} CONNECTS=${CONNECTS:-5000} SCALE=${SCALE:-50000}
B=$KM_CG_ROOT/kmxscale
PIN=/sys/fs/bpf/kmesh-xscale
WORK=$(mktemp -d /tmp/kmesh-xscale.XXXXXX)
STATE=$WORK/state/kmeshd.state
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE")
KMESHD_PID= SRV_PID=
LAYOUT='"endpoints_per_cluster": 10, "spare": 1, "endpoint_base": "127.16.0.0", "endpoint_port": 18090'

cleanup() {
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && { wait "$KMESHD_PID" 2>/dev/null || true; }
	[ -n "${XSCALE_LOG-}" ] && cp "$WORK/kmeshd.log" "$XSCALE_LOG"
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1 || true
	xds_server_stop >/dev/null 2>&1 || true
	for d in "$B/mesh" "$B"; do rmdir "$d" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "xds_scale_bench: run as root" >&2; exit 1; }
mkdir -p "$B/mesh"

st() { sed -n "s/^$1=//p" "$STATE" 2>/dev/null | tail -1; }
proc() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' "/proc/$KMESHD_PID/status"; }
in_cg() { ( echo $BASHPID > "$B/mesh/cgroup.procs"; exec "$@" ); }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }
vip() { echo "10.200.$(($1 / 250)).$(($1 % 250 + 1))"; }
# the address of cluster I's endpoint slot S (0..10) in the layout
ep_addr() {
	local n=$((0x7f100000 + $1 * 11 + $2 + 1))
	echo "$((n >> 24 & 255)).$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255))"
}
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "met" : "**not met**") }'; }

start_kmeshd() {
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && { wait "$KMESHD_PID" 2>/dev/null || true; }
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1 || true
	rm -rf "$WORK/state"
	"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --xds-delta --peer-vip off \
		--node-id "sidecar~127.0.0.1~bench.default~default.svc.cluster.local" \
		--cgroup "$B/mesh" --pin-root "$PIN" --state-dir "$WORK/state" >> "$WORK/kmeshd.log" 2>&1 &
	KMESHD_PID=$!
	xds_wait_streams 1 30 >/dev/null
	for _ in $(seq 100); do [ -s "$STATE" ] && break; sleep 0.1; done
	"${CTL[@]}" enroll "$B/mesh" >/dev/null
}
# generate N services; waits for the three ACKs
generate() {
	local out
	out=$(xds_generate_json "{\"clusters\": $1, $LAYOUT}")
	for t in cds eds lds; do
		xds_wait_ack "$t" "$(jq -r ".$t.version" <<< "$out")" 600 >/dev/null
	done
}
# churn FIRST COUNT ROUND: waits for kmeshd's state to show the version
churn() {
	local v
	v=$(xds_churn "{\"first\": $1, \"count\": $2, \"round\": $3, $LAYOUT}")
	for _ in $(seq 600); do
		[ "$(st xds_eds_version)" = "$v" ] && return 0
		sleep 0.01
	done
	echo "xds_scale_bench: EDS version $v never applied" >&2
	return 1
}
# the endpoint slots a connect to cluster I landed on (km_testcli's peer:
# --peer-vip off shows the endpoint)
landed() {
	in_cg "$KM_BUILD/tools/km_testcli" -n "$2" "$(vip "$1"):80" |
		sed -n 's/^ok backend=[^ ]* peer=\([0-9.]*\):.*/\1/p' | sort -u
}

( exec "$KM_BUILD/tools/km_testsrv" --name scale --listen 0.0.0.0:18090 \
	--ready-file "$WORK/srv.ready" ) >/dev/null 2>&1 &
SRV_PID=$!
xds_server_start --delta >/dev/null

echo "# kmesh xDS at scale: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "## apply: one Delta response per type into a fresh kmeshd"
echo
echo "| services x 10 endpoints | CDS / EDS / LDS arrival to applied | sum | target | RSS after | peak (VmHWM) | target |"
echo "|---|---|---|---|---|---|---|"
for n in 10000 "$SCALE"; do
	start_kmeshd
	generate "$n"
	c=$(($(st xds_cds_last_us) / 1000)) e=$(($(st xds_eds_last_us) / 1000)) l=$(($(st xds_lds_last_us) / 1000))
	sum=$((c + e + l)) rss=$(proc VmRSS) hwm=$(proc VmHWM)
	tgt="-" rtgt="-"
	if [ "$n" = 50000 ]; then
		tgt="2000 ms: $(verdict "$sum" 2000)"
		rtgt="RSS 60 MB: $(verdict "$rss" 60); peak 1.5x: $(verdict "$hwm" $((rss * 3 / 2)))"
	fi
	echo "| $n | $c / $e / $l ms | $sum ms | $tgt | $rss MB | $hwm MB | $rtgt |"
done
echo
"${CTL[@]}" status | grep '^maps:' | sed 's/^/    /'
echo

echo "## endpoint changes at $SCALE services ($ROUNDS rounds, medians)"
echo
: > "$WORK/one" ; : > "$WORK/one_w" ; : > "$WORK/churn" ; : > "$WORK/churn_w"
bad=0
for r in $(seq "$ROUNDS"); do
	i=$(( (r * 7919) % SCALE ))
	churn "$i" 1 "$r"
	st xds_eds_last_us >> "$WORK/one"; st incr_last_us >> "$WORK/one_w"
	# the connect sees the new set: never the slot round r left out
	gone=$(ep_addr "$i" $(( (r + 10) % 11 )))
	if landed "$i" 20 | grep -qx "$gone"; then bad=$((bad + 1)); fi
	first=$(( (r * 3001) % (SCALE - 500) ))
	churn "$first" $((SCALE / 100)) $((ROUNDS + r))
	st xds_eds_last_us >> "$WORK/churn"; st incr_last_us >> "$WORK/churn_w"
done
one=$(median < "$WORK/one") onew=$(median < "$WORK/one_w")
ch=$(median < "$WORK/churn") chw=$(median < "$WORK/churn_w")
echo "| change | arrival to applied (median) | compile + map write | rounds (us) | target |"
echo "|---|---|---|---|---|"
echo "| one endpoint (one cluster) | $one us | $onew us | $(paste -sd' ' "$WORK/one") | 10 ms: $(verdict "$one" 10000) |"
echo "| 1% churn ($((SCALE / 100)) clusters) | $ch us | $chw us | $(paste -sd' ' "$WORK/churn") | 50 ms: $(verdict "$ch" 50000) |"
echo
echo "Connects after each one-endpoint change that reached the endpoint it removed: $bad of $ROUNDS rounds (20 connects each)."
echo "In place: $(st incr_updates) clusters replaced without a new generation; generation $(st generation)."
echo "kmeshd RSS at the end: $(proc VmRSS) MB, peak $(proc VmHWM) MB."
echo

echo "## connect(): one VIP with 10, 10,000 and $SCALE services loaded (same kmeshd)"
echo
start_kmeshd
echo "| services | ns per connect (median of 5 rounds of $CONNECTS) | ratio to 10 |"
echo "|---|---|---|"
base=
for n in 10 10000 "$SCALE"; do
	generate "$n"
	ns=$(in_cg "$KM_BUILD/tools/connect_bench" -n "$CONNECTS" -r 5 "$(vip 0):80" |
		sed -n 's/^median_ns_per_connect //p')
	base=${base:-$ns}
	echo "| $n | $ns | $(awk -v a="$ns" -v b="$base" 'BEGIN { printf "%.3f", a / b }') |"
done
echo
echo "Target: ratio 1.05 or less at $SCALE."
