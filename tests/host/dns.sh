#!/usr/bin/env bash
# DNS clusters on the real kernel: kmeshd resolves STRICT_DNS and
# LOGICAL_DNS names with c-ares against a DNS server the test controls
# (km_dns_stub on 127.0.0.1, kmeshd --dns-server), and real connects to the
# clusters' VIPs reach what the names resolve to. Needs root. Prints
# "ok N - name" per case and a final "N passed, N failed, N skipped" line.
#
# Topology (tests/host/lib.sh, prefix kmd, subnet 93): backends b2..b6 on
# 10.93.0.2-6:8080 in kmd-srv; clients in kmd-cli, which has no route to
# the VIPs 10.92.0.x: a connect kmesh does not rewrite fails, no packet
# leaves. Waits are for a state (the state file, kmeshctl), bounded, never
# a fixed time that decides the result.
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh

P=kmd
WORK=$(mktemp -d /tmp/kmesh-dns.XXXXXX)
PIN=/sys/fs/bpf/kmesh-dns-test
STATE=$WORK/state
CONF=$WORK/mesh.yaml
LOG=$WORK/kmeshd.log
ZONE=$WORK/zone
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
KMESHD_PID=

cleanup() {
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	km_dns_stop
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "DNS cluster tests" "needs root (BPF, cgroups, network namespaces)"
	report_summary
	exit 0
fi

# ---- the DNS server (km_dns_stub, tests/host/lib.sh) ------------------------------
zone() { km_dns_zone "$ZONE" "$@"; }
stub_start() { km_dns_start "$ZONE" "$WORK/stub.log"; }
stub_stop() { km_dns_stop; }

# ---- config ---------------------------------------------------------------------
REFRESH=0.3s
write_config() {
	cat > "$CONF.tmp" <<-EOT
	static_resources:
	  listeners:
	  - name: svc-strict
	    address: { socket_address: { address: 10.92.0.1, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: strict, cluster: strict }
	  - name: svc-logical
	    address: { socket_address: { address: 10.92.0.2, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: logical, cluster: logical }
	  - name: svc-auto
	    address: { socket_address: { address: 10.92.0.3, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: auto, cluster: auto }
	  clusters:
	  - name: strict
	    type: STRICT_DNS
	    dns_lookup_family: V4_ONLY
	    dns_refresh_rate: $REFRESH
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: web.kmesh.test, port_value: 8080 } } }
	  - name: logical
	    type: LOGICAL_DNS
	    dns_lookup_family: V4_ONLY
	    dns_refresh_rate: $REFRESH
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: db.kmesh.test, port_value: 8080 } } }
	  - name: auto
	    type: STRICT_DNS
	    dns_refresh_rate: $REFRESH
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: auto.kmesh.test, port_value: 8080 } } }
	        - endpoint: { address: { socket_address: { address: 10.93.0.6, port_value: 8080 } } }
	EOT
	mv "$CONF.tmp" "$CONF"
}

# ---- helpers ----------------------------------------------------------------------
state() { cat "$STATE/kmeshd.state" 2>/dev/null; }
gen() { state | sed -n 's/^generation=//p'; }
# the record of NAME in kmeshctl dns -o json
dns_rec() { "${CTL[@]}" -o json dns 2>/dev/null | jq -c ".names[] | select(.name == \"$1\")"; }
# wait_dns NAME JQ: until NAME's record satisfies JQ (10 s)
wait_dns() {
	for _ in $(seq 200); do
		dns_rec "$1" | jq -e "$2" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
in_enrolled() { km_in "$P/enrolled" "$P-cli" "$@"; }
count_of() { sed -n "s/^count $1 //p" <<< "$2" | grep . || echo 0; }
# expect_counts NAME VIP N backend=count...
expect_counts() {
	local name=$1 vip=$2 n=$3 out bad=()
	shift 3
	out=$(in_enrolled "$CLI" -n "$n" -t 3000 "$vip:80")
	for pair in "$@"; do
		local b=${pair%%=*} want=${pair#*=} got
		got=$(count_of "$b" "$out")
		[ "$got" = "$want" ] || bad+=("$b: want $want, got $got")
	done
	if [ ${#bad[@]} -eq 0 ]; then ok "$name"
	else not_ok "$name" "${bad[@]}" "$(grep -E '^(count|total|err)' <<< "$out" | head -4 | tr '\n' ' ')" "$(dns_rec "${DNS_NAME:-}")" "$(tail -3 "$LOG")"; fi
}
failures_of() { dns_rec "$1" | jq -r '.failures'; }

# ---- set-up ------------------------------------------------------------------------
echo "# work dir $WORK"
km_topo_up "$P" 93
for i in 2 3 4 5 6; do
	km_backend "$P-srv" "b$i" "10.93.0.$i:8080" || exit 1
done
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
zone "web.kmesh.test A 10.93.0.2" "web.kmesh.test A 10.93.0.3" \
     "db.kmesh.test A 10.93.0.4" "db.kmesh.test A 10.93.0.5" \
     "auto.kmesh.test A 10.93.0.3"
stub_start || exit 1
write_config

out=$("$KM_BUILD/kmeshd" --check --config "$CONF" 2>&1)
if grep -q "cluster 'strict' is STRICT_DNS: its names are resolved by kmeshd (dns_lookup_family V4_ONLY)" <<< "$out" &&
   grep -q "cluster 'logical' is LOGICAL_DNS" <<< "$out"; then
	ok "kmeshd --check accepts STRICT_DNS and LOGICAL_DNS clusters and lists them"
else not_ok "kmeshd --check accepts STRICT_DNS and LOGICAL_DNS clusters and lists them" "$out"; fi

"$KM_BUILD/kmeshd" --config "$CONF" --pin-root "$PIN" --state-dir "$STATE" \
	--dns-server "$KM_DNS_SERVER" >> "$LOG" 2>&1 &
KMESHD_PID=$!
if wait_dns web.kmesh.test '.status == "ok"' && wait_dns db.kmesh.test '.status == "ok"' &&
   wait_dns auto.kmesh.test '.status == "ok"'; then
	ok "kmeshd resolves the names of its DNS clusters at start (through --dns-server)"
else not_ok "kmeshd resolves the names of its DNS clusters at start" "$(tail -5 "$LOG")" "$("${CTL[@]}" dns 2>&1)"; fi
"${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null

# ---- resolved endpoints ---------------------------------------------------------------
DNS_NAME=web.kmesh.test
expect_counts "STRICT_DNS: connects to the VIP reach every resolved address (round robin over 2)" \
	10.92.0.1 20 b2=10 b3=10
DNS_NAME=db.kmesh.test
expect_counts "LOGICAL_DNS: connects reach the first resolved address only" \
	10.92.0.2 10 b4=10 b5=0
DNS_NAME=auto.kmesh.test
expect_counts "STRICT_DNS, dns_lookup_family AUTO: IPv4 when there is no IPv6 answer; an IP endpoint beside the name stays" \
	10.92.0.3 20 b3=10 b6=10

txt=$("${CTL[@]}" dns)
if grep -q "^cluster 'strict' STRICT_DNS web.kmesh.test (V4_ONLY): ok: 10.93.0.2, 10.93.0.3" <<< "$txt" &&
   grep -q "^DNS servers: $KM_DNS_SERVER" <<< "$txt" &&
   "${CTL[@]}" status | grep -q '^DNS: .*3 names of DNS clusters: 3 ok'; then
	ok "kmeshctl dns lists each name with its addresses; status counts them"
else not_ok "kmeshctl dns lists each name with its addresses; status counts them" "$txt" "$("${CTL[@]}" status | grep DNS)"; fi

# ---- a changed answer ------------------------------------------------------------------
g0=$(gen)
zone "web.kmesh.test A 10.93.0.6" \
     "db.kmesh.test A 10.93.0.5" "db.kmesh.test A 10.93.0.4" \
     "auto.kmesh.test A 10.93.0.3"
if wait_dns web.kmesh.test '.addresses == ["10.93.0.6"]' && wait_dns db.kmesh.test '.addresses == ["10.93.0.5"]'; then
	ok "a changed DNS answer is picked up at the next refresh (dns_refresh_rate $REFRESH)"
else not_ok "a changed DNS answer is picked up at the next refresh" "$(dns_rec web.kmesh.test)" "$(tail -5 "$LOG")"; fi
# the state file's record is written when the generation flip is done
if [ "$(gen)" -gt "$g0" ] && grep -q "DNS: cluster 'strict': 'web.kmesh.test' is now 10.93.0.6 (was 10.93.0.2, 10.93.0.3): applying" "$LOG"; then
	ok "the new addresses are applied as a new generation ($g0 -> $(gen)) and logged"
else not_ok "the new addresses are applied as a new generation" "generation $g0 -> $(gen)" "$(grep 'DNS' "$LOG" | tail -5)"; fi
DNS_NAME=web.kmesh.test
expect_counts "STRICT_DNS: new connects go to the new address" 10.92.0.1 10 b6=10 b2=0 b3=0
DNS_NAME=db.kmesh.test
expect_counts "LOGICAL_DNS: a new first address takes the new connects" 10.92.0.2 10 b5=10 b4=0

# ---- failures keep the last good answer ---------------------------------------------------
g0=$(gen)
zone "web.kmesh.test SERVFAIL" "db.kmesh.test REFUSED" "auto.kmesh.test A 10.93.0.3"
if wait_dns web.kmesh.test '.status == "failing" and .failures >= 2 and .addresses == ["10.93.0.6"]' &&
   wait_dns db.kmesh.test '.status == "failing" and .addresses == ["10.93.0.5"]'; then
	ok "a failing server (SERVFAIL, REFUSED) marks the names failing and keeps their last good addresses"
else not_ok "a failing server marks the names failing and keeps their last good addresses" "$(dns_rec web.kmesh.test)" "$(dns_rec db.kmesh.test)"; fi
DNS_NAME=web.kmesh.test
expect_counts "STRICT_DNS: while resolution fails, connects still reach the last good address" 10.92.0.1 10 b6=10
DNS_NAME=db.kmesh.test
expect_counts "LOGICAL_DNS: while resolution fails, connects still reach the last good address" 10.92.0.2 10 b5=10
txt=$("${CTL[@]}" dns)
if [ "$(gen)" = "$g0" ] &&
   grep -q "^cluster 'strict' STRICT_DNS web.kmesh.test (V4_ONLY): FAILING, keeping the last good answer: 10.93.0.6 ([^)]*, [0-9]* in a row)" <<< "$txt" &&
   "${CTL[@]}" status | grep -q '^DNS: .*2 FAILING (their last good answers kept)' &&
   grep -q "DNS: cluster 'strict': resolving 'web.kmesh.test' failed (.*); keeping the last good answer: 10.93.0.6" "$LOG"; then
	ok "a failure changes no generation; it is logged and shown by kmeshctl dns and status"
else not_ok "a failure changes no generation; it is logged and shown by kmeshctl dns and status" "generation $g0 -> $(gen)" "$txt" "$("${CTL[@]}" status | grep DNS)" "$(grep 'DNS' "$LOG" | tail -3)"; fi

# the server gone altogether: the queries are refused (ICMP) or time out
zone "web.kmesh.test A 10.93.0.6" "db.kmesh.test A 10.93.0.5" "auto.kmesh.test A 10.93.0.3"
wait_dns web.kmesh.test '.status == "ok"'
stub_stop
f0=$(failures_of web.kmesh.test)
if wait_dns web.kmesh.test '.status == "failing" and .addresses == ["10.93.0.6"]'; then
	ok "no DNS server at all: failing, the last good addresses kept ($(dns_rec web.kmesh.test | jq -r .error))"
else not_ok "no DNS server at all: failing, the last good addresses kept" "failures before $f0" "$(dns_rec web.kmesh.test)"; fi
DNS_NAME=web.kmesh.test
expect_counts "without a DNS server, connects still reach the last good address" 10.92.0.1 10 b6=10

# ---- a reload keeps the resolved endpoints ---------------------------------------------------
zone "web.kmesh.test A 10.93.0.2" "db.kmesh.test A 10.93.0.4" "auto.kmesh.test A 10.93.0.3"
stub_start || exit 1
if wait_dns web.kmesh.test '.status == "ok" and .addresses == ["10.93.0.2"]'; then
	ok "the server back: the name resolves again, the new answer is applied"
else not_ok "the server back: the name resolves again" "$(dns_rec web.kmesh.test)"; fi
# stop the server: the reload below must not wait for DNS, and the
# generation it makes must serve the names' addresses at once
stub_stop
g0=$(gen)
kill -HUP "$KMESHD_PID"
for _ in $(seq 100); do [ "$(gen)" -gt "$g0" ] && break; sleep 0.05; done
DNS_NAME=web.kmesh.test
if [ "$(gen)" -gt "$g0" ]; then
	expect_counts "a reload (SIGHUP) serves the names' last addresses in its own generation, DNS server down" \
		10.92.0.1 10 b2=10
else not_ok "a reload (SIGHUP) serves the names' last addresses in its own generation" "no new generation after SIGHUP" "$(tail -3 "$LOG")"; fi

# ---- NXDOMAIN: a STRICT_DNS name with no address has no endpoint -----------------------------
zone "db.kmesh.test A 10.93.0.4" "auto.kmesh.test A 10.93.0.3"
stub_start || exit 1
if wait_dns web.kmesh.test '.status == "ok" and .addresses == []'; then
	out=$(in_enrolled "$CLI" -n 1 -t 3000 10.92.0.1:80)
	if grep -q '^err connect errno=ECONNREFUSED' <<< "$out"; then
		ok "STRICT_DNS: NXDOMAIN is an answer with no address, as in Envoy: the cluster has no endpoint, connects are refused"
	else not_ok "STRICT_DNS: NXDOMAIN leaves no endpoint, connects refused" "$out"; fi
else not_ok "STRICT_DNS: NXDOMAIN is an answer with no address" "$(dns_rec web.kmesh.test)"; fi
# LOGICAL_DNS takes only an answer with an address
zone "auto.kmesh.test A 10.93.0.3"
if wait_dns db.kmesh.test '.status == "failing" and .addresses == ["10.93.0.4"]'; then
	ok "LOGICAL_DNS: NXDOMAIN is a failure, the last address is kept (Envoy)"
else not_ok "LOGICAL_DNS: NXDOMAIN is a failure, the last address is kept" "$(dns_rec db.kmesh.test)"; fi

# ---- a config without the cluster forgets its names --------------------------------------------
sed -i '/- name: auto$/,$d' "$CONF"
sed -i '/- name: svc-auto$/,/cluster: auto }/d' "$CONF"
kill -HUP "$KMESHD_PID"
for _ in $(seq 100); do dns_rec auto.kmesh.test | grep -q . || break; sleep 0.05; done
if [ -z "$(dns_rec auto.kmesh.test)" ] && [ -n "$(dns_rec web.kmesh.test)" ]; then
	ok "a reload without a DNS cluster stops resolving its names"
else not_ok "a reload without a DNS cluster stops resolving its names" "$("${CTL[@]}" dns)" "$(tail -3 "$LOG")"; fi

if kill -0 "$KMESHD_PID" 2>/dev/null; then ok "kmeshd still running"
else not_ok "kmeshd still running" "$(tail -20 "$LOG")"; fi
report_summary
