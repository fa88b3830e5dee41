#!/usr/bin/env bash
# The Istio corpus (tests/xds/corpus): real sidecar config dumps from Istio's
# repository, converted into the responses istiod pushes, served to kmeshd by
# the test control plane one after the other. For every outbound destination
# the oracle (corpus/oracle.py) says what Envoy does with that config; this
# test checks that kmesh does the same:
#  - L4: a real connect from namespace kmc-cli, which has no route out (the
#    dumps' VIPs exist nowhere); endpoints are 10.93.128.0/17 in kmc-srv,
#    answered by one identity server (corpus/idsrv.py) that names the
#    address, hence the cluster;
#  - HTTP, by Host, path and headers: kmeshctl explain, the module's own
#    matcher on the live route table (no kmesh.ko on the host).
# Disagreements must be listed with their reason in corpus/known.txt; an
# unlisted one, or a listed one that no longer happens, fails. Root; host
# state, so run it under flock /tmp/kmesh-host.lock. Ends with "N passed,
# N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh
. tests/xds/lib.sh

P=kmc
CORPUS=tests/xds/corpus
WORK=$(mktemp -d /tmp/kmesh-corpus.XXXXXX)
PIN=/sys/fs/bpf/kmesh-corpus
STATE=$WORK/state
LOG=$WORK/kmeshd.log
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
KMESHD_PID=
ID_PID=

cleanup() {
	[ -n "$KMESHD_PID" ] && { kill "$KMESHD_PID" 2>/dev/null; wait "$KMESHD_PID" 2>/dev/null; }
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	xds_server_stop >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "xDS corpus" "needs root"; report_summary; exit 0
fi
if ! command -v node >/dev/null || ! command -v python3 >/dev/null; then
	skip "xDS corpus" "node or python3 is not installed (scripts/install-deps.sh)"; report_summary; exit 0
fi

# settled TYPE VERSION: kmeshd answered that version (ACK or NACK); prints
# the NACK's message
settled() {
	local t end=$((SECONDS + 60)) out
	t=$(xds_type "$1")
	while [ $SECONDS -lt $end ]; do
		out=$(xds_ctl GET "/requests?names=0&type_url=$t" | jq -c --arg v "$2" '
			[.[] | select((.ack or .nack) and .response_version == $v)] | last // empty')
		if [ -n "$out" ]; then
			jq -r 'select(.nack) | .error_detail.message' <<< "$out"
			return 0
		fi
		sleep 0.2
	done
	echo "no answer to $1 version $2 in 60 s"
	return 1
}

# ---- set-up --------------------------------------------------------------------
km_topo_up "$P" 93
km_ns "$P-srv" ip route add local 10.93.128.0/17 dev lo
km_ns "$P-cli" ip route add 10.93.128.0/17 via 10.93.0.1
km_ns "$P-srv" python3 "$CORPUS/idsrv.py" 8080 "$WORK/id.ready" > "$WORK/idsrv.log" 2>&1 &
ID_PID=$!
for _ in $(seq 100); do [ -s "$WORK/id.ready" ] && break; sleep 0.05; done
if [ -n "$(km_ns "$P-cli" ip route show default)" ]; then
	not_ok "the client namespace has no route out" "$(km_ns "$P-cli" ip route)"; report_summary; exit 1
fi
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
if ! xds_server_start > "$WORK/server.out" 2>&1; then
	not_ok "the test control plane starts" "$(tail -5 "$WORK/server.out")"; report_summary; exit 1
fi
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --node-id "sidecar~10.93.0.100~corpus.test~test.svc.cluster.local" \
	--pin-root "$PIN" --state-dir "$STATE" >> "$LOG" 2>&1 &
KMESHD_PID=$!
xds_wait_streams 1 20 >/dev/null
for _ in $(seq 50); do "${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" >/dev/null 2>&1 && break; sleep 0.2; done

# ---- each entry ------------------------------------------------------------------
tot_l4=0 ok_l4=0 tot_http=0 ok_http=0 n_expl=0
for dir in "$CORPUS"/data/*/; do
	name=$(basename "$dir")
	v="corpus-$name"
	for t in cds eds lds rds; do xds_push "$t" "$dir/$t.json" "$v" >/dev/null; done
	nacks=""
	for t in cds eds lds rds; do
		[ "$(jq length "$dir/$t.json")" -gt 0 ] || continue
		m=$(settled "$t" "$v") || { nacks+="$t: $m; "; continue; }
		[ -n "$m" ] && nacks+="$t NACK: $m; "
	done
	sleep 0.5
	res=$(python3 "$CORPUS/check.py" --data "$dir" --cgroup "$KM_CG_ROOT/$P/enrolled" --netns "$P-cli" \
		--testcli "$KM_BUILD/tools/km_testcli" --kmeshctl "${CTL[*]}" --known "$CORPUS/known.txt" --http)
	echo "$res" > "$WORK/$name.json"
	read -r l4t l4a ht ha ne nu ns < <(jq -r '[.l4.total, .l4.agree, .http.total, .http.agree,
		(.explained | length), (.unexplained | length), (.stale_known | length)] | @tsv' <<< "$res")
	tot_l4=$((tot_l4 + l4t)) ok_l4=$((ok_l4 + l4a)) tot_http=$((tot_http + ht)) ok_http=$((ok_http + ha))
	n_expl=$((n_expl + ne))
	what="corpus $name (Istio $(jq -r .istio_version "$dir/meta.json")): L4 $l4a of $l4t agree, HTTP $ha of $ht agree, $ne disagreements explained"
	if [ "$nu" = 0 ] && [ "$ns" = 0 ]; then
		ok "$what"
	else
		mapfile -t det < <(jq -r '(.unexplained[] | "unexplained: \(.id): Envoy \(.envoy.kind) \(.envoy.clusters | map(.[0]) | join(",")) (\(.envoy_why)); kmesh \(.kmesh)"),
			(.stale_known[] | "listed in known.txt, but kmesh now agrees: \(.)")' <<< "$res" | head -40)
		not_ok "$what" "${det[@]}" "${nacks:+NACKs: ${nacks:0:600}}"
	fi
done
echo "# corpus: L4 $ok_l4 of $tot_l4 destinations agree, HTTP $ok_http of $tot_http; $n_expl disagreements, each explained in tests/xds/corpus/known.txt"
if [ "$tot_l4" -gt 0 ] && [ $((ok_l4 + ok_http + n_expl)) -eq $((tot_l4 + tot_http)) ]; then
	ok "corpus: every destination agrees with Envoy or is an explained disagreement ($((tot_l4 + tot_http)) destinations)"
else
	not_ok "corpus: every destination agrees with Envoy or is an explained disagreement" "L4 $ok_l4/$tot_l4, HTTP $ok_http/$tot_http, explained $n_expl"
fi
kill "$ID_PID" 2>/dev/null
report_summary
[ "$FAIL" -eq 0 ]
