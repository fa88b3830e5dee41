#!/usr/bin/env bash
# Everyday Istio features in the shape istiod pushes them (issue 12,
# "Features"): tests/xds/features/istiod.py writes each scenario's
# responses, the test control plane serves them to kmeshd, and each
# feature is either served with Envoy's behaviour, or that one resource is
# NACKed with a reason; in each, an unrelated service (ratings, HTTP
# 10.91.1.2:9080, and mongodb, TCP 10.91.1.5:27017, both b5) keeps serving.
#  - VirtualService match kinds and weights: kmeshctl explain (kmesh.ko's
#    own matcher on the live route table; the host has no kmesh.ko), and
#    real connects served at L4 by the service's default route;
#  - a VirtualService with a regex match: its route config alone NACKed;
#  - ServiceEntry with static addresses (TCP) and with resolution DNS;
#  - Sidecar egress scoping: the services istiod stops pushing are let go.
# Covered elsewhere: DestinationRule subsets and their rename (run.sh),
# DNS clusters in depth (run.sh, tests/host/dns.sh); redirect,
# directResponse and REGISTRY_ONLY (the responder's tests). Real connects
# from namespace kff-cli (no route out) to backends b2..b5 =
# 10.92.0.2-5:8080. Root; host state: run it under flock
# /tmp/kmesh-host.lock. Ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh
. tests/xds/lib.sh

P=kff
WORK=$(mktemp -d /tmp/kmesh-features.XXXXXX)
PIN=/sys/fs/bpf/kmesh-features
STATE=$WORK/state
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
CLI=$KM_BUILD/tools/km_testcli
GEN=tests/xds/features/istiod.py
KMESHD_PID=

cleanup() {
	[ -n "$KMESHD_PID" ] && { kill "$KMESHD_PID" 2>/dev/null; wait "$KMESHD_PID" 2>/dev/null; }
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_dns_stop
	xds_server_stop >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "xDS Istio features" "needs root"; report_summary; exit 0
fi
if ! command -v node >/dev/null || ! command -v python3 >/dev/null; then
	skip "xDS Istio features" "node or python3 is not installed (scripts/install-deps.sh)"; report_summary; exit 0
fi

in_app() { km_in "$P/enrolled" "$P-cli" "$@"; }
# connects ADDR N: the backends that answered, sorted and unique, or the error
connects() {
	local out
	out=$(in_app "$CLI" -n "$2" -t 3000 "$1")
	grep -q '^ok backend=' <<< "$out" || { grep -m1 '^err' <<< "$out" || echo "no answer"; return; }
	grep -c '^ok backend=' <<< "$out" | grep -qx "$2" || { echo "only some answered: $(grep -m1 '^err' <<< "$out")"; return; }
	sed -n 's/^ok backend=\([^ ]*\).*/\1/p' <<< "$out" | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# explain LISTENER HOST PATH [HEADER...]: the route's clusters, "name:weight,..."
explain() {
	local l=$1 h=$2 p=$3 args=()
	shift 3
	for x in "$@"; do args+=(--header "$x"); done
	"${CTL[@]}" -o json explain --host "$h" --path "$p" "${args[@]}" "$l" 2>&1 |
		jq -r '[.clusters[]? | "\(.name):\(.weight)"] | join(",")' 2>/dev/null
}
# push SCENARIO VERSION: every type; then wait for kmeshd's answer to each
push() {
	"$GEN" "$1" "$WORK/$1" || return 1
	for t in cds eds rds lds; do xds_push "$t" "$WORK/$1/$t.json" "$2" >/dev/null; done
}
acked() {	# acked VERSION TYPE...
	local v=$1 t
	shift
	for t in "$@"; do xds_wait_ack "$t" "$v" 20 >/dev/null || return 1; done
}
# the unrelated service keeps serving: ratings over HTTP (L4 here), mongodb over TCP
unrelated() {	# unrelated WHAT
	local r m
	r=$(connects 10.91.1.2:9080 2) m=$(connects 10.91.1.5:27017 2)
	if [ "$r" = b5 ] && [ "$m" = b5 ]; then ok "$1: the unrelated services keep serving (ratings HTTP, mongodb TCP)"
	else not_ok "$1: the unrelated services keep serving" "ratings: $r" "mongodb: $m" "$(tail -3 "$LOG")"; fi
}

# ---- set-up --------------------------------------------------------------------
km_topo_up "$P" 92
for i in 2 3 4 5; do
	km_backend "$P-srv" "b$i" "10.92.0.$i:8080" || exit 1
done
km_dns_zone "$WORK/zone" "api.external.test A 10.92.0.3"
km_dns_start "$WORK/zone" "$WORK/dns.log" || exit 1
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
if ! xds_server_start > "$WORK/server.out" 2>&1; then
	not_ok "the test control plane starts (npm install, node)" "$(tail -5 "$WORK/server.out")"
	report_summary; exit 1
fi
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --dns-server "$KM_DNS_SERVER" \
	--node-id "sidecar~10.92.0.100~productpage-v1.default~default.svc.cluster.local" \
	--pin-root "$PIN" --state-dir "$STATE" >> "$LOG" 2>&1 &
KMESHD_PID=$!
xds_wait_streams 1 20 >/dev/null
for _ in $(seq 50); do "${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null 2>&1 && break; sleep 0.2; done

# ---- VirtualService: match kinds and weights --------------------------------------
R=reviews.default.svc.cluster.local
v1="outbound|9080|v1|$R" v2="outbound|9080|v2|$R" v3="outbound|9080|v3|$R"
weighted="$v1:90,$v2:10"
push vs vs1
if acked vs1 cds lds rds; then
	bad=()
	while IFS=';' read -r what host path want hdr; do
		got=$(explain 0.0.0.0_9080 "$host" "$path" ${hdr:+"$hdr"})
		[ "$got" = "$want" ] || bad+=("$what: Host $host $path ${hdr:+[$hdr]}: got '$got', want '$want'")
	done <<-EOF
	headers exact;reviews:9080;/;$v2:1;end-user: jason
	headers exact is case-sensitive;reviews:9080;/;$weighted;end-user: JASON
	uri prefix with ignoreUriCase;reviews.default;/API/V3/books;$v3:1;
	uri exact;reviews;/health;$v1:1;
	uri exact is not a prefix;reviews;/health/x;$weighted;
	queryParams exact;reviews.default.svc.cluster.local:9080;/reviews?version=2;$v3:1;
	queryParams other value;reviews;/reviews?version=3;$weighted;
	headers present;reviews;/;$v3:1;x-canary: 1
	headers prefix;reviews;/;$v3:1;user-agent: curl/8.1
	weights on the default route;reviews;/reviews/1;$weighted;
	the ClusterIP as Host;10.91.1.1:9080;/;$weighted;
	the other service's virtual host;ratings:9080;/;outbound|9080||ratings.default.svc.cluster.local:1;
	EOF
	if [ ${#bad[@]} -eq 0 ]; then
		ok "VirtualService match kinds (headers exact/prefix/present, uri exact/prefix/ignoreUriCase, queryParams) and weights 90/10, as istiod sends them: the route Envoy takes, for 12 requests (kmeshctl explain)"
	else not_ok "VirtualService match kinds and weights route as in Envoy" "${bad[@]}"; fi
	# L4 (no kmesh.ko here): the VIP by its virtual host's default route,
	# the weighted one, not a route that needs a header or a query parameter
	got=$(connects 10.91.1.1:9080 6)
	if [[ $got =~ ^b[23]( b3)?$ ]]; then ok "VirtualService served at L4 by the virtual host's default route (weighted v1/v2: $got), not a conditional route"
	else not_ok "VirtualService served at L4 by its default route (b2/b3)" "got: $got" "$(tail -3 "$LOG")"; fi
	unrelated "VirtualService"
else not_ok "VirtualService as istiod sends it is ACKed" "$(tail -3 "$LOG")" "$(xds_wait_nack rds 2 vs1 2>&1)"; fi

# A regex match (safe_regex) is not supported: that route config ("9080")
# alone is NACKed with the reason and keeps its last version; route config
# "8080" (details, new in the same response) is applied.
push vs-regex vs2
msg=$(xds_wait_nack rds 20 vs2)
if grep -q "route_config '9080'.*safe_regex" <<< "$msg" && ! grep -q "'8080'" <<< "$msg" && acked vs2 cds lds; then
	d=$(explain 0.0.0.0_8080 details /)
	r=$(explain 0.0.0.0_9080 reviews / "end-user: jason")
	if [ "$d" = "outbound|8080||details.default.svc.cluster.local:1" ] && [ "$r" = "$v2:1" ] &&
	   [ "$(connects 10.91.1.3:8080 2)" = b2 ]; then
		ok "VirtualService with a regex match: route config 9080 alone is NACKed ($msg), keeps its last version; 8080 of the same response is applied"
	else not_ok "regex: the rest of the response applied, 9080 kept" "details: $d" "reviews: $r" "$(tail -3 "$LOG")"; fi
	unrelated "VirtualService with a regex match"
else not_ok "VirtualService with a regex match: that route config alone is NACKed" "nack: $msg" "$(tail -3 "$LOG")"; fi

# ---- ServiceEntry -----------------------------------------------------------------
# db.external.test: addresses [10.91.2.1], TCP 5432, resolution STATIC, an
# endpoint (b4): its own listener, an EDS cluster. api.external.test:
# addresses [10.91.2.2], HTTP 80, resolution DNS: a STRICT_DNS cluster
# kmeshd resolves (the test's DNS server: b3), a virtual host on "80".
push se se1
if acked se1 cds lds rds; then
	db=$(connects 10.91.2.1:5432 2)
	for _ in $(seq 100); do [ "$(connects 10.91.2.2:80 1)" = b3 ] && break; sleep 0.1; done
	api=$(connects 10.91.2.2:80 2)
	ex=$(explain 0.0.0.0_80 api.external.test /)
	if [ "$db" = b4 ]; then ok "ServiceEntry with static addresses and endpoints (TCP): its address reaches its endpoint"
	else not_ok "ServiceEntry with static addresses (TCP)" "got: $db" "$(tail -3 "$LOG")"; fi
	if [ "$api" = b3 ] && [ "$ex" = "outbound|80||api.external.test:1" ]; then
		ok "ServiceEntry with resolution DNS (HTTP): its address reaches what kmeshd resolved, its host name routes to its cluster"
	else not_ok "ServiceEntry with resolution DNS" "connects: $api" "explain: $ex" "$("${CTL[@]}" dns 2>&1 | tail -3)"; fi
	unrelated "ServiceEntry"
else not_ok "ServiceEntries as istiod sends them are ACKed" "$(tail -3 "$LOG")" "$(xds_wait_nack cds 2 se1 2>&1)"; fi

# ---- Sidecar egress scoping ---------------------------------------------------------
push sidecar-all sc1
if acked sc1 cds lds rds; then
	c0=$(connects 10.91.3.1:6379 2) s0=$(connects 10.91.3.2:9080 2)
	push sidecar-scoped sc2
	if acked sc2 cds lds rds; then
		c1=$(connects 10.91.3.1:6379 1) s1=$(connects 10.91.3.2:9080 1)
		if [ "$c0" = b3 ] && [ "$s0" = b2 ] &&
		   grep -q ENETUNREACH <<< "$c1" && grep -q ENETUNREACH <<< "$s1"; then
			ok "Sidecar egress scoping: namespace other's services (TCP cache, HTTP search) are served, then left alone once istiod scopes them out"
		else not_ok "Sidecar egress scoping" "before: cache $c0, search $s0" "after: cache $c1, search $s1"; fi
		unrelated "Sidecar egress scoping"
	else not_ok "Sidecar-scoped push ACKed" "$(tail -3 "$LOG")"; fi
else not_ok "unscoped push ACKed" "$(tail -3 "$LOG")"; fi

report_summary
[ "$FAIL" -eq 0 ]
