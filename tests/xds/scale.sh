#!/usr/bin/env bash
# xDS at scale (issue 19), not timed: kmeshd takes 50,000 services x 10
# endpoints from the test control plane (Delta ADS), routes connects to
# services across the whole range, then a churn soak: EDS responses
# replace clusters' endpoints while connects run; no connect fails, none
# reaches an address outside its cluster's (every address a connect lands
# on was allowed by some version), every change is made in place (no new
# generation), and once the churn stops no connect reaches an endpoint the
# last version removed. Root. Ends with "N passed, N failed, N skipped".
#
# Loopback only: endpoints are 127.16.0.0 + N (all of 127/8 is loopback),
# one km_testsrv on 0.0.0.0:18091 answers them; VIPs 10.200.x.y:80 are
# only ever rewritten. Knobs: SCALE (50000), SOAK_RESPONSES (1000),
# SOAK_PER (clusters per response, 10), HOT (clusters churned, 1000).
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh
. tests/xds/lib.sh

SCALE=${SCALE:-50000} SOAK_RESPONSES=${SOAK_RESPONSES:-1000} SOAK_PER=${SOAK_PER:-10}
HOT=${HOT:-1000}
B=$KM_CG_ROOT/kmxscale-t
PIN=/sys/fs/bpf/kmesh-xds-scale
WORK=$(mktemp -d /tmp/kmesh-xds-scale.XXXXXX)
STATE=$WORK/state/kmeshd.state
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE")
CLI=$KM_BUILD/tools/km_testcli
LAYOUT='"endpoints_per_cluster": 10, "spare": 1, "endpoint_base": "127.16.0.0", "endpoint_port": 18091'
KMESHD_PID= SRV_PID= LOAD_PID=

cleanup() {
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	xds_server_stop >/dev/null 2>&1
	for d in "$B/mesh" "$B"; do rmdir "$d" 2>/dev/null; done
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "xDS at scale" "needs root"; report_summary; exit 0
fi
if ! command -v node >/dev/null; then
	skip "xDS at scale" "node is not installed (scripts/install-deps.sh)"; report_summary; exit 0
fi

st() { sed -n "s/^$1=//p" "$STATE" 2>/dev/null | tail -1; }
vip() { echo "10.200.$(($1 / 250)).$(($1 % 250 + 1))"; }
in_cg() { ( echo $BASHPID > "$B/mesh/cgroup.procs"; exec "$@" ); }
# connects to cluster I's VIP: "ok SLOT" per connect (SLOT: the endpoint's
# place in cluster I's 11 addresses, "out" for an address outside them),
# "err ..." per failure
dial() {	# dial I COUNT
	in_cg "$CLI" -n "$2" -t 2000 "$(vip "$1"):80" | awk -v i="$1" '
		/^ok / {
			if (!match($0, /peer=[0-9.]+/)) { print "ok out"; next }
			split(substr($0, RSTART + 5, RLENGTH - 5), q, ".")
			n = ((q[1] * 256 + q[2]) * 256 + q[3]) * 256 + q[4] - 2131755008 - 1
			s = n - i * 11
			print "ok " ((s >= 0 && s < 11) ? s : "out")
		}
		/^err / { print }'
}
# churn FIRST COUNT ROUND: one EDS response; waits for kmeshd to ACK it
churn() {
	local v
	v=$(xds_churn "{\"first\": $1, \"count\": $2, \"round\": $3, $LAYOUT}") || return 1
	for _ in $(seq 3000); do
		[ "$(st xds_eds_version)" = "$v" ] && return 0
		sleep 0.01
	done
	return 1
}

mkdir -p "$B/mesh"
( exec "$KM_BUILD/tools/km_testsrv" --name scale --listen 0.0.0.0:18091 \
	--ready-file "$WORK/srv.ready" ) >/dev/null 2>&1 &
SRV_PID=$!
xds_server_start --delta >/dev/null
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --xds-delta --peer-vip off \
	--max-endpoints $((SCALE * 10)) \
	--node-id "sidecar~127.0.0.1~scale.default~default.svc.cluster.local" \
	--cgroup "$B/mesh" --pin-root "$PIN" --state-dir "$WORK/state" > "$WORK/kmeshd.log" 2>&1 &
KMESHD_PID=$!
xds_wait_streams 1 30 >/dev/null
for _ in $(seq 100); do [ -s "$STATE" ] && break; sleep 0.1; done
"${CTL[@]}" enroll "$B/mesh" >/dev/null

# 1. the whole set
gen=$(xds_generate_json "{\"clusters\": $SCALE, $LAYOUT}")
acked=0
for t in cds eds lds; do
	xds_wait_ack "$t" "$(jq -r ".$t.version" <<< "$gen")" 900 >/dev/null && acked=$((acked + 1))
done
maps=$("${CTL[@]}" -o json status | jq -c '[.maps.clusters, .maps.endpoints, .maps.frontends]')
if [ "$acked" = 3 ] && [ "$maps" = "[$SCALE,$((SCALE * 10)),$SCALE]" ]; then
	ok "$SCALE services x 10 endpoints ACKed and live (clusters, endpoints, frontends: $maps)"
else
	not_ok "$SCALE services x 10 endpoints ACKed and live" "$acked of 3 ACKs; maps $maps; $(tail -3 "$WORK/kmeshd.log")"
fi

# 2. connects across the range land on their own cluster's endpoints
: > "$WORK/range"
for k in $(seq 0 49); do
	i=$(( k * (SCALE - 1) / 49 ))
	dial "$i" 4 | sed "s/^/$i /" >> "$WORK/range"
done
good=$(grep -c ' ok [0-9]' "$WORK/range")
bad=$(grep -vc ' ok [0-9]' "$WORK/range")
spare=$(grep -c ' ok 10$' "$WORK/range")
if [ "$good" = 200 ] && [ "$bad" = 0 ] && [ "$spare" = 0 ]; then
	ok "200 connects to 50 services from the first to the last reach their own cluster's endpoints"
else
	not_ok "connects across the range reach their own cluster's endpoints" \
		"$good good, $bad bad, $spare on the slot version 0 leaves out: $(grep -v ' ok [0-9]' "$WORK/range" | head -3)"
fi

# 3. churn soak: SOAK_RESPONSES responses of SOAK_PER clusters among the
#    first HOT while a loop dials those clusters
gen0=$(st generation) upd0=$(st incr_updates)
declare -A last
( while :; do
	i=$((RANDOM % HOT))
	dial "$i" 10 | sed "s/^/$i /"
  done > "$WORK/load" 2>&1 ) &
LOAD_PID=$!
churned=0 t0=$SECONDS
for r in $(seq "$SOAK_RESPONSES"); do
	first=$(( (r * 7919) % (HOT - SOAK_PER + 1) ))
	churn "$first" "$SOAK_PER" "$r" || break
	for i in $(seq "$first" $((first + SOAK_PER - 1))); do last[$i]=$r; done
	churned=$((churned + SOAK_PER))
done
kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null; LOAD_PID=
n=$(grep -c ' ok ' "$WORK/load") fails=$(grep -c ' err ' "$WORK/load")
outside=$(grep -c ' ok out' "$WORK/load")
if [ "$churned" = $((SOAK_RESPONSES * SOAK_PER)) ] && [ "$n" -gt 0 ] && [ "$fails" = 0 ] && [ "$outside" = 0 ]; then
	ok "churn soak: $churned cluster updates in $SOAK_RESPONSES EDS responses ($((SECONDS - t0)) s) at $SCALE services, $n connects meanwhile: 0 failed, 0 outside every version's endpoints"
else
	not_ok "churn soak" "$churned of $((SOAK_RESPONSES * SOAK_PER)) updates applied; $n connects, $fails failed, $outside outside: $(grep -e ' err ' -e ' out' "$WORK/load" | head -3)"
fi
upd=$(( $(st incr_updates) - upd0 ))
if [ "$(st generation)" = "$gen0" ] && [ "$upd" = "$churned" ]; then
	ok "every update was made in place: generation $gen0 kept, $upd clusters replaced"
else
	not_ok "every update was made in place" "generation $gen0 -> $(st generation); $upd of $churned in place"
fi

# 4. churn stopped: the slot each cluster's last round leaves out is never dialed
: > "$WORK/after"
for i in $(printf '%s\n' "${!last[@]}" | sort -n | awk 'NR % 40 == 1'); do
	gone=$(( (last[$i] + 10) % 11 ))
	dial "$i" 10 | sed "s/^/$i $gone /" >> "$WORK/after"
done
n=$(wc -l < "$WORK/after")
stale=$(awk '$3 != "ok" || $4 == $2' "$WORK/after" | wc -l)
if [ "$n" -gt 0 ] && [ "$stale" = 0 ]; then
	ok "after the churn, $n connects to $((n / 10)) churned clusters reach only their last version's endpoints"
else
	not_ok "after the churn, connects reach only the last version's endpoints" \
		"$stale of $n stale or failed: $(awk '$3 != "ok" || $4 == $2' "$WORK/after" | head -3)"
fi

# 5. limits: one endpoint over --max-endpoints is NACKed with the numbers,
#    and the cluster keeps its endpoints
eps=$(jq -nc '[range(11) | {endpoint: {address: {socket_address: {address: "127.15.0.\(. + 1)", port_value: 18091}}}}]')
v=$(xds_patch_json eds "{\"upsert\": [{\"cluster_name\": \"gen-c0\", \"endpoints\": [{\"lb_endpoints\": $eps}]}]}")
msg=$(xds_wait_nack eds 60 "$v")
after=$(dial 0 4 | grep -c '^ok [0-9]')
if grep -q "$((SCALE * 10 + 1)) endpoints in all clusters, limit is $((SCALE * 10)) (--max-endpoints)" <<< "$msg" &&
	[ "$after" = 4 ]; then
	ok "an EDS change over --max-endpoints is NACKed with the numbers; the cluster keeps serving"
else
	not_ok "an EDS change over --max-endpoints is NACKed with the numbers" "NACK: '$msg'; $after of 4 connects ok"
fi

# 6. pinned maps keep their sizes: another --max-services is refused
out=$(timeout 60 "$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --max-services $((SCALE / 2)) \
	--node-id "sidecar~127.0.0.1~scale2.default~default.svc.cluster.local" \
	--cgroup "$B/mesh" --pin-root "$PIN" --state-dir "$WORK/state2" 2>&1)
rc=$?
if [ "$rc" = 1 ] && grep -q "km_frontend is pinned with $((2 * 65536)) entries, --max-services $((SCALE / 2)) --max-endpoints 524288 need $SCALE" <<< "$out"; then
	ok "kmeshd with another --max-services than the pinned maps have is refused, naming both sizes"
else
	not_ok "kmeshd with another --max-services is refused, naming both sizes" "rc $rc: $(tail -2 <<< "$out")"
fi

report_summary
