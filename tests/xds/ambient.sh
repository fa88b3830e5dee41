#!/usr/bin/env bash
# Istio's ambient API (docs/authz.md): tests/xds/server.js serves
# istio.security.Authorization and istio.workload.Address over Delta ADS as
# istiod does for ztunnel; kmeshd --xds-mode workload enforces them at
# connect, and real connects from enrolled cgroups in network namespaces
# are allowed or refused (ECONNREFUSED at once: -t 5000 and the errno is
# asserted, never a timeout). Root. Ends with "N passed, N failed, N
# skipped".
#
# Topology (tests/host/lib.sh, prefix kam, subnet 94); workloads in kam-srv:
#   a    10.94.0.2:8080,9090  shop, node1; selects shop/allow-ports (ALLOW
#                             destination_ports 8080)
#   b    10.94.0.3:80         shop, node1; selects shop/notip (DENY
#                             notIpBlocks 10.94.1.0/24)
#   c    10.94.0.4:80         other, node1 (other/allow-nothing: an ALLOW
#                             with no rule, NAMESPACE scope)
#   far  10.94.0.5:80         shop, node2: another node's, selects
#                             shop/allow-ports; not this node's to protect
# and shop/deny-bad (DENY from namespace bad, NAMESPACE scope) on a and b.
# Clients: cgroups kam/good (enrolled good/client), kam/bad (bad/client),
# kam/out (not enrolled); kam-cli 10.94.0.100, kam-cli2 10.94.1.100.
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh
. tests/xds/lib.sh

P=kam
WORK=$(mktemp -d /tmp/kmesh-xds-ambient.XXXXXX)
PIN=/sys/fs/bpf/kmesh-xds-ambient
STATE=$WORK/state
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
KMESHD_PID=

cleanup() {
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	xds_server_stop >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "Istio ambient authorization" "needs root"; report_summary; exit 0
fi
if ! command -v node >/dev/null; then
	skip "Istio ambient authorization" "node is not installed (scripts/install-deps.sh)"; report_summary; exit 0
fi

# proto3 JSON of bytes: base64 of the address
b64() { printf "$(printf '\\%03o' ${1//./ })" | base64; }
workload() {	# UID NS NODE IP [POLICY [SERVICE_ACCOUNT]]
	local pol=${5:+\"$5\"}
	echo "{\"workload\":{\"uid\":\"$1\",\"name\":\"${1##*/}\",\"namespace\":\"$2\",\"service_account\":\"${6:-default}\",\"node\":\"$3\",\"addresses\":[\"$(b64 "$4")\"],\"authorization_policies\":[$pol]}}"
}
policy() {	# NS NAME SCOPE ACTION MATCHES_JSON ('' for no rule at all)
	local rules=
	[ -n "$5" ] && rules="{\"clauses\":[{\"matches\":[$5]}]}"
	echo "{\"name\":\"$2\",\"namespace\":\"$1\",\"scope\":\"$3\",\"action\":\"$4\",\"rules\":[$rules]}"
}
DENY_BAD=$(policy shop deny-bad NAMESPACE DENY '{"namespaces":[{"exact":"bad"}]}')
PORTS=$(policy shop allow-ports WORKLOAD_SELECTOR ALLOW '{"destination_ports":[8080]}')
NOTIP=$(policy shop notip WORKLOAD_SELECTOR DENY "{\"not_source_ips\":[{\"address\":\"$(b64 10.94.1.0)\",\"length\":24}]}")
NOTHING=$(policy other allow-nothing NAMESPACE ALLOW '')
PRINCIPAL=$(policy idt allow-sa NAMESPACE ALLOW '{"principals":[{"exact":"cluster.local/ns/good/sa/client"}]}')

# conn CGROUP NS [km_testcli args...] TARGET: one connect, its result line
conn() {
	local cg=$1 ns=$2
	shift 2
	km_in "$P/$cg" "$P-$ns" "$CLI" -n 1 -t 5000 "$@" | head -1
}
# expect NAME WANT CGROUP NS [args] TARGET: WANT is ok (reached a backend)
# or refused (ECONNREFUSED)
expect() {
	local name=$1 want=$2 out t0 t1
	shift 2
	t0=$(date +%s%N)
	out=$(conn "$@")
	t1=$(date +%s%N)
	case "$want:$out" in
	ok:"ok backend="*|refused:"err connect errno=ECONNREFUSED")
		ok "$name" ;;
	*)	not_ok "$name" "want $want, got: $out ($(( (t1 - t0) / 1000000 )) ms)" ;;
	esac
}
row_count() {	# POLICY_SUBSTRING FIELD
	"${CTL[@]}" -o json authz | jq -r --arg p "$1" --arg f "$2" \
		'[.policies[] | select(.name | contains($p))][0][$f]'
}

# ---- set-up ----------------------------------------------------------------------
km_topo_up "$P" 94
km_backend "$P-srv" a 10.94.0.2:8080 10.94.0.2:9090 || exit 1
km_backend "$P-srv" b 10.94.0.3:80 || exit 1
km_backend "$P-srv" c 10.94.0.4:80 || exit 1
km_backend "$P-srv" far 10.94.0.5:80 || exit 1
km_backend "$P-srv" d 10.94.0.6:80 || exit 1
for cg in good bad out; do mkdir -p "$KM_CG_ROOT/$P/$cg"; done
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
if ! xds_server_start --delta > "$WORK/server.out" 2>&1; then
	not_ok "the test control plane starts (npm install, node)" "$(tail -5 "$WORK/server.out")"
	report_summary; exit 1
fi
xds_push_json authorization "[$DENY_BAD, $PORTS, $NOTIP, $NOTHING, $PRINCIPAL]" 1 >/dev/null &&
xds_push_json address "[$(workload K//Pod/shop/a shop node1 10.94.0.2 shop/allow-ports),
	$(workload K//Pod/shop/b shop node1 10.94.0.3 shop/notip),
	$(workload K//Pod/other/c other node1 10.94.0.4),
	$(workload K//Pod/shop/far shop node2 10.94.0.5 shop/allow-ports),
	$(workload K//Pod/idt/d idt node1 10.94.0.6),
	$(workload K//Pod/good/cli2 good node1 10.94.1.100 '' client),
	$(workload K//Pod/good/cli good node2 10.94.0.100 '' client)]" 1 >/dev/null ||
	{ not_ok "the control plane takes Istio's Authorization and Address JSON"; report_summary; exit 1; }
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --xds-mode workload --node-name node1 \
	--node-id "ztunnel~10.94.0.1~ztunnel-x.istio-system~istio-system.svc.cluster.local" \
	--pin-root "$PIN" --state-dir "$STATE" >> "$LOG" 2>&1 &
KMESHD_PID=$!
if xds_wait_ack authorization 1 30 >/dev/null && xds_wait_ack address 1 30 >/dev/null; then
	ok "kmeshd --xds-mode workload: Delta subscriptions to Authorization and Address, both ACKed"
else not_ok "Authorization and Address ACKed" "$(tail -5 "$LOG")" "$(xds_requests | jq -c '[.[] | select(.error_detail) | .error_detail.message]' | head -c 800)"; fi
node=$(xds_state | jq -r '[.streams[] | select(.node) | .node.id][0]')
kinds=$(xds_requests | jq -r '[.[] | .type_url] | unique | join(" ")')
if [ "$node" = "ztunnel~10.94.0.1~ztunnel-x.istio-system~istio-system.svc.cluster.local" ] &&
   [ "$kinds" = "type.googleapis.com/istio.security.Authorization type.googleapis.com/istio.workload.Address" ]; then
	ok "as ztunnel: node id ztunnel~..., only the two ambient types asked for"
else not_ok "as ztunnel: node and types" "node=$node" "types=$kinds"; fi
"${CTL[@]}" enroll --namespace good --service-account client "$KM_CG_ROOT/$P/good" >/dev/null &&
"${CTL[@]}" enroll --namespace bad --service-account client "$KM_CG_ROOT/$P/bad" >/dev/null ||
	not_ok "enroll with identities" "$("${CTL[@]}" status 2>&1 | tail -5)"
for _ in $(seq 100); do grep -q "authorization: 4 destination(s) with policies" "$LOG" && break; sleep 0.1; done

# ---- the policies --------------------------------------------------------------------
expect "allow-list on ports: good/client to a:8080 gets through" ok good cli 10.94.0.2:8080
expect "allow-list on ports: good/client to a:9090 refused" refused good cli 10.94.0.2:9090
expect "deny from namespace bad: refused, though the port is allowed (DENY, then ALLOW)" refused bad cli 10.94.0.2:8080
expect "unproven peer: DENY by namespace does not match it, the port is allowed" ok out cli 10.94.0.2:8080
expect "notIpBlocks: a source in 10.94.1.0/24 gets through" ok out cli2 -b 10.94.1.100 10.94.0.3:80
expect "notIpBlocks: a source outside refused" refused out cli -b 10.94.0.100 10.94.0.3:80
expect "notIpBlocks: a source not bound at connect fails closed" refused out cli2 10.94.0.3:80
expect "namespace scope: deny-bad holds on b too" refused bad cli2 -b 10.94.1.100 10.94.0.3:80
expect "empty ALLOW (no rule): good/client refused" refused good cli 10.94.0.4:80
expect "a workload on another node is not this node's to protect" ok good cli 10.94.0.5:80
da=$(row_count "shop/a': DENY policy 'shop/deny-bad'" denied)
db=$(row_count "shop/b': DENY policy 'shop/deny-bad'" denied)
n=$(row_count "shop/a': ALLOW: no ALLOW policy matched" denied)
ni=$(row_count "shop/b': DENY policy 'shop/notip'" fail_closed)
dest=$("${CTL[@]}" authz | grep -c '10\.94\.0\.[234]:\*')
if [ "$da" = 1 ] && [ "$db" = 1 ] && [ "$n" = 1 ] && [ "$ni" = 1 ] && [ "$dest" = 3 ]; then
	ok "kmeshctl authz: a, b, c on every port; counted per workload and policy (deny-bad 1 on a and 1 on b, a's ALLOW list 1, notip fail_closed 1)"
else not_ok "kmeshctl authz: destinations and counters" "deny-bad a=$da b=$db no-allow=$n notip fail_closed=$ni destinations=$dest" "$("${CTL[@]}" authz)"; fi

# ---- identity from this node's Workloads ----------------------------------------------
# the netns of kam-cli2 holds 10.94.1.100, the address of good/cli2 (good/
# client) on node1; kam-cli holds 10.94.0.100, good/cli's on node2
"${CTL[@]}" enroll /run/netns/$P-cli2 >/dev/null && "${CTL[@]}" enroll /run/netns/$P-cli >/dev/null ||
	not_ok "enroll the client network namespaces" "$("${CTL[@]}" status 2>&1 | tail -3)"
for _ in $(seq 50); do grep -q "identity good/client for the enrolled netns /run/netns/$P-cli2" "$LOG" && break; sleep 0.1; done
if grep -q "identity good/client for the enrolled netns /run/netns/$P-cli2, from workload 'K//Pod/good/cli2' on this node" "$LOG" &&
   ! grep -q "enrolled netns /run/netns/$P-cli," "$LOG"; then
	ok "kmeshd: an enrolled netns takes the identity of this node's Workload owning its address, not another node's"
else not_ok "identity from this node's Workload" "$(grep identity "$LOG" | tail -3)"; fi
expect "principals: the netns with good/client's address (this node's workload) gets through" ok out cli2 10.94.0.6:80
expect "principals: another node's workload address proves nothing: refused" refused out cli 10.94.0.6:80
# an enrolled netns is found before the cgroup (bpf/lib/enroll.h): take
# them off again for the cgroups' identities below
"${CTL[@]}" unenroll /run/netns/$P-cli2 >/dev/null; "${CTL[@]}" unenroll /run/netns/$P-cli >/dev/null

# ---- updates ------------------------------------------------------------------------
# a malformed policy (a 5-byte address) is NACKed naming the field; the
# accepted ones keep being enforced
bad=$(policy shop broken NAMESPACE DENY "{\"source_ips\":[{\"address\":\"AAAAAAA=\",\"length\":8}]}")
v=$(xds_patch_json authorization "{\"upsert\":[$bad]}")
msg=$(xds_wait_nack authorization 20 "$v")
if grep -q "authorization 'shop/broken': rules\[0\].clauses\[0\].matches\[0\].source_ips\[0\]: an address of 5 bytes (4 or 16)" <<< "$msg"; then
	ok "a malformed Authorization is NACKed naming the resource and the field"
else not_ok "malformed Authorization NACKed" "$msg"; fi
expect "after the NACK, deny-bad still holds" refused bad cli 10.94.0.2:8080
# Delta removal: without allow-nothing, c is open again
v=$(xds_patch_json authorization '{"remove":["shop/broken","other/allow-nothing"]}')
xds_wait_ack authorization "$v" 20 >/dev/null
for _ in $(seq 50); do [ "$(conn good cli 10.94.0.4:80)" != "err connect errno=ECONNREFUSED" ] && break; sleep 0.1; done
expect "the empty ALLOW removed (Delta removed_resources): c open again" ok good cli 10.94.0.4:80

# ---- the server side (sk_lookup), and --trust-workload-addresses -----------------------
# kmeshd again, attached to a cgroup the clients of kam/out are not in: they
# stand for clients on other nodes, which only the server side sees. kam-srv
# is enrolled, so its connections are checked as they arrive.
restart_kmeshd() {	# restart_kmeshd [EXTRA ARGS]
	kill "$KMESHD_PID" 2>/dev/null; wait "$KMESHD_PID" 2>/dev/null
	rm -f "$STATE/kmeshd.state"
	mkdir -p "$KM_CG_ROOT/$P/hooked"
	"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --xds-mode workload --node-name node1 \
		--node-id "ztunnel~10.94.0.1~ztunnel-x.istio-system~istio-system.svc.cluster.local" \
		--cgroup "$KM_CG_ROOT/$P/hooked" "$@" \
		--pin-root "$PIN" --state-dir "$STATE" >> "$LOG" 2>&1 &
	KMESHD_PID=$!
	for _ in $(seq 100); do
		grep -q '^last_ok=1' "$STATE/kmeshd.state" 2>/dev/null && return 0
		sleep 0.1
	done
}
peer_known() {	# peer_known: wait (5 s at most) until an identity is vouched for by address
	for _ in $(seq 50); do
		bpftool map dump pinned "$PIN/km_authz_peer" 2>/dev/null | grep -q '"good"' && return 0
		sleep 0.1
	done
	return 1
}
restart_kmeshd
"${CTL[@]}" enroll /run/netns/$P-srv >/dev/null || not_ok "enroll the server netns"
for _ in $(seq 50); do grep -q "inbound: sk_lookup attached to the netns /run/netns/$P-srv" "$LOG" && break; sleep 0.1; done
expect "server side: an off-node client to a:9090 (ALLOW destination_ports 8080): reset" refused out cli 10.94.0.2:9090
expect "server side: an off-node client to a:8080: allowed" ok out cli 10.94.0.2:8080
expect "server side: notIpBlocks, an off-node source outside 10.94.1.0/24: reset" refused out cli 10.94.0.3:80
expect "server side: notIpBlocks, an off-node source inside (known at the server): allowed" ok out cli2 10.94.0.3:80
expect "server side: ALLOW by principal, off-node 10.94.0.100 (another node's workload good/cli): unproven, reset" refused out cli 10.94.0.6:80
restart_kmeshd --trust-workload-addresses
peer_known
expect "--trust-workload-addresses: 10.94.0.100, good/cli's address on node2, stands for good/client: allowed" ok out cli 10.94.0.6:80
expect "--trust-workload-addresses: a DENY still holds (a:9090, ALLOW ports)" refused out cli 10.94.0.2:9090
if grep -q "warning.*--trust-workload-addresses: a connection's source address stands for the identity\|kmeshd: authorization: --trust-workload-addresses: a connection's source address stands for the identity" "$LOG"; then
	ok "kmeshd --trust-workload-addresses says its risk at start"
else not_ok "kmeshd --trust-workload-addresses says its risk" "$(grep -i trust "$LOG")"; fi
restart_kmeshd
for _ in $(seq 50); do
	bpftool map dump pinned "$PIN/km_authz_peer" 2>/dev/null | grep -q '"good"' || break
	sleep 0.1
done
expect "without the flag again: 10.94.0.100 unproven, reset" refused out cli 10.94.0.6:80

report_summary
[ "$FAIL" -eq 0 ]
