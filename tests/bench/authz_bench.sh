#!/usr/bin/env bash
# Authorization benchmark (root; docs/authz.md): what the connect hook's
# policy check adds to a new connection, with 0, 10 and 1000 DENY policies
# on the destination, none of which matches. Two kinds: policies on other
# destination ports (constants in the destination's program: folded away
# at compile time) and policies on principals (evaluated at every connect:
# the worst case). A figure, never a verdict.
#
# One process alternates connect()+close() batches to 127.0.0.2:18090 (no
# policy) and 127.0.0.1:18090 (the policies), both the same server
# (connect_bench's median_delta_ns). Keep-alive traffic never meets the
# hook: its cost there is zero by construction.
#   ROUNDS (20), CONNECTS (2000 per batch)
set -euo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh

ROUNDS=${ROUNDS:-20} CONNECTS=${CONNECTS:-2000}
B=$KM_CG_ROOT/kmazbench
PIN=/sys/fs/bpf/kmesh-azbench
WORK=$(mktemp -d /tmp/kmesh-azbench.XXXXXX)
KMESHD_PID= SRV_PID=

cleanup() {
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1 || true
	for d in "$B/mesh" "$B/srv" "$B"; do rmdir "$d" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "authz bench: run as root" >&2; exit 1; }
mkdir -p "$B/mesh" "$B/srv"

config() {	# config N KIND: N DENY policies on 127.0.0.1:18090 (N = 0: the filter, no policy)
	echo "static_resources:"
	echo "  listeners:"
	echo "  - name: in"
	echo "    traffic_direction: INBOUND"
	echo "    address: { socket_address: { address: 127.0.0.1, port_value: 18090 } }"
	echo "    filter_chains:"
	echo "    - filters:"
	echo "      - name: envoy.filters.network.rbac"
	echo "        typed_config:"
	echo "          rules:"
	echo "            action: DENY"
	if [ "$1" -gt 0 ]; then
		echo "            policies:"
		for i in $(seq "$1"); do
			if [ "$2" = port ]; then
				echo "              p$i: { permissions: [ { destination_port: $((20000 + i)) } ], principals: [ { any: true } ] }"
			else
				echo "              p$i: { permissions: [ { any: true } ], principals: [ { authenticated: { principal_name: { exact: \"spiffe://cluster.local/ns/n$i/sa/s\" } } } ] }"
			fi
		done
	fi
	echo "      - { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } }"
	echo "  clusters:"
	echo "  - name: c"
	echo "    load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 18090 } } } } ] } ] }"
}

( echo $BASHPID > "$B/srv/cgroup.procs"; exec taskset -c 1 "$KM_BUILD/tools/km_testsrv" --name bench \
	--listen 127.0.0.1:18090 --listen 127.0.0.2:18090 --ready-file "$WORK/srv.ready" ) >/dev/null 2>&1 &
SRV_PID=$!

echo "# kmesh authorization benchmark: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| DENY policies | on | ops in the program | median ns added per connect | median ns/connect without policy |"
echo "|---|---|---|---|---|"
for run in "0 -" "10 port" "1000 port" "10 principal" "1000 principal"; do
	read -r n kind <<< "$run"
	config "$n" "$kind" > "$WORK/mesh.yaml"
	[ -n "$KMESHD_PID" ] && { kill "$KMESHD_PID"; wait "$KMESHD_PID" 2>/dev/null || true; }
	"$KM_BUILD/kmeshd" --config "$WORK/mesh.yaml" --cgroup "$B/mesh" --pin-root "$PIN" \
		--state-dir "$WORK/state" > "$WORK/kmeshd.log" 2>&1 &
	KMESHD_PID=$!
	for _ in $(seq 100); do
		[ -s "$WORK/srv.ready" ] && grep -qs "^pid=$KMESHD_PID" "$WORK/state/kmeshd.state" &&
			grep -qs '^last_ok=1' "$WORK/state/kmeshd.state" && break
		sleep 0.1
	done
	ops=$("$KM_BUILD/kmeshctl" --pin-root "$PIN" -o json authz | jq '.destinations[0].ops')
	out=$( (echo $BASHPID > "$B/mesh/cgroup.procs"; exec taskset -c 0 "$KM_BUILD/tools/connect_bench" \
		-n "$CONNECTS" -r "$ROUNDS" 127.0.0.2:18090 127.0.0.1:18090) )
	base=$(sed -n 's/^median_ns_per_connect \([0-9]*\) .*/\1/p' <<< "$out")
	delta=$(sed -n 's/^median_delta_ns //p' <<< "$out")
	echo "| $n | $kind | $ops | $delta | $base |"
done
