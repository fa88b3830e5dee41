#!/usr/bin/env bash
# xDS benchmark (root): figures only, never pass/fail.
#  - 10,000 services x 10 endpoints pushed in one response per type: time
#    from each response's arrival to the maps being switched (kmeshd's own
#    measurement, xds_last_response_ms), and from the push to the ACK the
#    control plane saw;
#  - one endpoint change at that size: push to ACK, and kmeshd's time;
#  - kmeshd's RSS at that size.
# Loopback only; the generated VIPs are never dialed.
set -euo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/xds/lib.sh

ROUNDS=${ROUNDS:-5}
PIN=/sys/fs/bpf/kmesh-xbench
WORK=$(mktemp -d /tmp/kmesh-xbench.XXXXXX)
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$WORK/state/kmeshd.state")
KMESHD_PID=
cleanup() {
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1 || true
	xds_server_stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "xds_bench: run as root" >&2; exit 1; }

cfg() { "${CTL[@]}" -o json config | jq -r ".$1"; }
ack_at() {	# ack_at TYPE VERSION -> ms timestamp of the control plane's ACK record
	xds_requests "type_url=$1" | jq -r --arg v "$2" '[.[] | select(.ack and .response_version == $v)][0].at'
}

xds_server_start >/dev/null
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --node-id "sidecar~127.0.0.1~bench.default~default.svc.cluster.local" \
	--pin-root "$PIN" --state-dir "$WORK/state" > "$WORK/kmeshd.log" 2>&1 &
KMESHD_PID=$!
xds_wait_streams 1 20 >/dev/null

echo "# kmesh xDS benchmark: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
t0=$(date +%s%3N)
gen=$(xds_generate 10000 10)
for t in cds eds lds; do
	xds_wait_ack "$t" "$(jq -r ".$t.version" <<< "$gen")" 180 >/dev/null
done
t1=$(date +%s%3N)
eds_ms=$(cfg last_response_ms)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$KMESHD_PID/status")
echo "## 10,000 services x 10 endpoints"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| response sizes (CDS / EDS / LDS) | $(jq -r '"\(.bytes.cds) / \(.bytes.eds) / \(.bytes.lds) bytes"' <<< "$gen") |"
echo "| control plane encode time | $(jq -r '.encode_ms | floor' <<< "$gen") ms |"
echo "| EDS response (100,000 endpoints): arrival to maps switched | $eds_ms ms |"
echo "| kmeshd compile + map write per response (log) | $(grep -o 'in [0-9]* ms: [0-9]* listeners' "$WORK/kmeshd.log" | awk '{print $2}' | tail -3 | paste -sd/ -) ms |"
echo "| push of all three to last ACK (wall, incl. encode and gRPC) | $((t1 - t0)) ms |"
echo "| kmeshd RSS after the sync | $((rss / 1024)) MB |"
echo
echo "## one endpoint change at that size ($ROUNDS rounds)"
echo
echo "| round | push to ACK (control plane clock) | kmeshd arrival to switched |"
echo "|---|---|---|"
for r in $(seq "$ROUNDS"); do
	ip="198.19.255.$r"
	p0=$(date +%s%3N)
	v=$(xds_patch_json eds "{\"upsert\":[{\"cluster_name\":\"gen-c0\",\"endpoints\":[{\"lb_endpoints\":[{\"endpoint\":{\"address\":{\"socket_address\":{\"address\":\"$ip\",\"port_value\":80}}}}]}]}]}")
	xds_wait_ack eds "$v" 60 >/dev/null
	a=$(ack_at eds "$v")
	echo "| $r | $((a - p0)) ms | $(cfg last_response_ms) ms |"
done
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$KMESHD_PID/status")
echo
echo "kmeshd RSS at the end: $((rss / 1024)) MB. Targets: 1 s or less to switch, 25 MB or less RSS."
