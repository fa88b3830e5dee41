#!/usr/bin/env bash
# Inbound authorization host tests (docs/authz.md, "Inbound"): the server
# side, the sk_lookup program kmeshd attaches to enrolled network
# namespaces. Real connects on the real kernel; needs root. Prints
# "ok N - name" per case and a final "N passed, N failed, N skipped".
#
# Topology (tests/host/lib.sh, prefix kib, subnet 90):
#   kib-srv  enrolled netns (sk_lookup attached): 10.90.0.2:8080 (DENY
#            source 10.90.0.100/32), 10.90.0.3:8080 and [fd00:90::3]:8080 (ALLOW principal
#            good/client), 10.90.0.4:9090 (no policy)
#   kib-cli  10.90.0.100, not enrolled: an off-node client when it runs in
#            cgroup kib/out, which the connect hook is not attached to
#            (kmeshd --cgroup kib/hooked); iptables DNAT of 10.97.90.1:80
#            and 10.97.90.2:80 in it stands for kube-proxy's ClusterIP
#   kib-cli2 10.90.1.100, enrolled as good/client: a peer whose identity
#            kmesh proves by its address
#   kib/hooked/good: a same-node client enrolled by cgroup as good/client,
#            its netns (kib-cli) not enrolled: its address proves nothing
# Every denial must be ECONNREFUSED at once (a reset; never a timeout).
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh

P=kib
WORK=$(mktemp -d /tmp/kmesh-inbound.XXXXXX)
PIN=/sys/fs/bpf/kmesh-inbound-test
STATE=$WORK/state
CONF=$WORK/mesh.yaml
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
KMESHD_PID=

cleanup() {
	if [ -n "$KMESHD_PID" ]; then kill "$KMESHD_PID" 2>/dev/null; wait "$KMESHD_PID" 2>/dev/null; fi
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "inbound authorization host tests" "needs root (BPF, cgroups, network namespaces)"
	report_summary
	exit 0
fi

rbac() {	# rbac LISTENER ADDR PORT NAME ACTION: an inbound listener with one RBAC filter
	cat <<-EOT
	  - name: $1
	    traffic_direction: INBOUND
	    address: { socket_address: { address: $2, port_value: $3 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.rbac
	        typed_config:
	          "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
	          stat_prefix: $4
	          rules:
	            action: $5
	            policies:
	EOT
}
write_config() {
	{
	echo "static_resources:"
	echo "  listeners:"
	rbac in-deny 10.90.0.2 8080 deny-cidr DENY
	cat <<-EOT
	              deny-cli:
	                permissions: [ { any: true } ]
	                principals: [ { direct_remote_ip: { address_prefix: 10.90.0.100, prefix_len: 32 } } ]
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { cluster: a }
	EOT
	for l in in-allow:10.90.0.3 in-allow6:fd00:90::3; do
		rbac "${l%%:*}" "${l#*:}" 8080 allow-good ALLOW
		cat <<-EOT
		              allow-good:
		                permissions: [ { any: true } ]
		                principals:
		                - authenticated: { principal_name: { exact: "spiffe://cluster.local/ns/good/sa/client" } }
		      - name: envoy.filters.network.tcp_proxy
		        typed_config: { cluster: a }
		EOT
	done
	cat <<-EOT
	  clusters:
	  - name: a
	    load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 10.90.0.2, port_value: 8080 } } } } ] } ] }
	EOT
	} > "$CONF"
}

# expect NAME WANT CGROUP NS TARGET: WANT ok (reached the backend) or
# refused (ECONNREFUSED, at once: -t 5000 makes a drop a timeout, a failure)
expect() {
	local name=$1 want=$2 cg=$3 ns=$4 out
	shift 4
	out=$(km_in "$P/$cg" "$P-$ns" "$CLI" -n 1 -t 5000 "$@" | head -1)
	case "$want:$out" in
	ok:"ok backend="*|refused:"err connect errno=ECONNREFUSED")
		ok "$name" ;;
	*)	not_ok "$name" "want $want, got: $out" ;;
	esac
}
row_count() {	# row_count POLICY_SUBSTRING FIELD
	"${CTL[@]}" -o json authz | jq -r --arg p "$1" --arg f "$2" \
		'[.policies[] | select(.name | contains($p))][0][$f]'
}
log_wait() {	# log_wait PATTERN: up to 5 s for the line (the log is async)
	for _ in $(seq 100); do
		grep -F -- "$1" "$LOG" && return 0
		sleep 0.05
	done
	return 1
}

# ---- setup ---------------------------------------------------------------------
km_topo_up "$P" 90
km_backend "$P-srv" deny 10.90.0.2:8080 || exit 1
km_backend "$P-srv" allow 10.90.0.3:8080 "[fd00:90::3]:8080" || exit 1
km_backend "$P-srv" open 10.90.0.4:9090 || exit 1
mkdir -p "$KM_CG_ROOT/$P/hooked/good" "$KM_CG_ROOT/$P/out"
km_ns "$P-cli" ip route add 10.97.90.0/24 via 10.90.0.1
# Istio's kubelet probe address (istio-cni SNATs probes to it)
km_ns "$P-cli" ip addr add 169.254.7.127/32 dev "$P-c0"
km_ns "$P-srv" ip route add 169.254.7.127/32 dev "$P-s0"
km_ns "$P-cli" iptables -t nat -A OUTPUT -p tcp -d 10.97.90.1 --dport 80 -j DNAT --to-destination 10.90.0.3:8080
km_ns "$P-cli" iptables -t nat -A OUTPUT -p tcp -d 10.97.90.2 --dport 80 -j DNAT --to-destination 10.90.0.4:9090
write_config
"$KM_BUILD/kmeshd" --config "$CONF" --pin-root "$PIN" --state-dir "$STATE" \
	--cgroup "$KM_CG_ROOT/$P/hooked" >> "$LOG" 2>&1 &
KMESHD_PID=$!
for _ in $(seq 100); do
	grep -q '^last_attempt=[1-9]' "$STATE/kmeshd.state" 2>/dev/null && break
	sleep 0.05
done
"${CTL[@]}" enroll /run/netns/$P-srv >/dev/null &&
"${CTL[@]}" enroll --namespace good --service-account client /run/netns/$P-cli2 >/dev/null &&
"${CTL[@]}" enroll --namespace good --service-account client "$KM_CG_ROOT/$P/hooked/good" >/dev/null ||
	not_ok "enroll" "$(tail -5 "$LOG")"
if log_wait "authorization: inbound: sk_lookup attached to the netns /run/netns/$P-srv" >/dev/null &&
   log_wait "authorization: inbound: sk_lookup attached to the netns /run/netns/$P-cli2" >/dev/null; then
	ok "kmeshd attaches the sk_lookup program to the enrolled netns"
else not_ok "sk_lookup attached to the enrolled netns" "$(grep -i 'inbound\|error' "$LOG")"; fi
# the peer map is written in the same pass as the links: wait for the address
for _ in $(seq 100); do
	bpftool map dump pinned "$PIN/km_authz_peer" 2>/dev/null | grep -q '"good"' && break
	sleep 0.05
done

# ---- off-node clients: no connect hook, only the server side ------------------------
expect "off-node client, no policy at the destination: allowed" ok out cli 10.90.0.4:9090
expect "off-node client, DENY by source ipBlock: reset (ECONNREFUSED)" refused out cli 10.90.0.2:8080
expect "off-node client from another address, DENY ipBlock does not match: allowed" ok out cli2 -b 10.90.1.100 10.90.0.2:8080
expect "off-node client (unproven peer), ALLOW by principal: reset" refused out cli 10.90.0.3:8080
expect "off-node client over IPv6 (unproven peer), ALLOW by principal: reset" refused out cli "[fd00:90::3]:8080"
expect "a source of 169.254.7.127 (Istio's kubelet probe SNAT) is no exemption: unproven, reset" refused out cli -b 169.254.7.127 10.90.0.3:8080
expect "peer proven by its address (enrolled netns good/client), ALLOW by principal: allowed" ok out cli2 10.90.0.3:8080
expect "ClusterIP-like DNAT to the ALLOW-by-principal pod, unproven peer: reset" refused out cli 10.97.90.1:80
expect "ClusterIP-like DNAT to a pod without policy: allowed" ok out cli 10.97.90.2:80
# ---- same-node client: the connect hook vouched for its identity ---------------------
expect "same-node client enrolled by cgroup as good/client (address unproven): allowed" ok hooked/good cli 10.90.0.3:8080
expect "same-node client, not enrolled, through the connect hook: refused" refused hooked cli 10.90.0.3:8080

# ---- counted and logged as the connect hook's denials ------------------------------------
d_cli=$(row_count "policy 'deny-cli'" denied)
n_allow=$(row_count "'allow-good': no ALLOW policy matched" denied)
a_good=$(row_count "policy 'allow-good'" allowed)
if [ "$d_cli" = 1 ] && [ "$n_allow" = 4 ] && [ "$a_good" = 2 ]; then
	ok "counted per policy: deny-cli denied 1, allow-good (10.90.0.3) no match 4 (3 at the server, 1 at the connect hook), allowed 2 (one each side, none twice)"
else not_ok "counted per policy" "deny-cli=$d_cli no-allow=$n_allow allow-good=$a_good" "$("${CTL[@]}" authz)"; fi
if log_wait "authorization: denied inbound 10.90.0.100:" | grep -q "(unproven peer) -> 10.90.0.2:8080: a DENY policy matched: listener 'in-deny': chain 0: rbac 'deny-cidr': policy 'deny-cli'" &&
   log_wait "(unproven peer) -> 10.90.0.3:8080: no ALLOW policy matched: listener 'in-allow': chain 0: rbac 'allow-good': no ALLOW policy matched" >/dev/null; then
	ok "kmeshd logs each inbound denial with the peer and the policy that decided"
else not_ok "inbound denial log lines" "$(grep -F 'authorization: denied' "$LOG")"; fi

report_summary
