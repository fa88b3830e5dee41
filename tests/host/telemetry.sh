#!/usr/bin/env bash
# Telemetry on the real kernel (docs/telemetry.md): known traffic through
# kmesh, then exact counts, bytes and labels in kmeshd's /metrics, in a
# real Prometheus that scrapes it (Debian's prometheus, bounded run), and
# in the access log; the access log across a kmeshd restart; a full
# events ring (drops counted, traffic unaffected); the cap on label sets.
# Needs root. Prints "ok N - name" per case and "N passed, N failed, N
# skipped".
#
# VIPs 10.92.0.x are dialed from namespace kmtel-cli, which has no route to
# them; km_bytes servers listen on 10.93.0.2-3:9000 in kmtel-srv, and
# 10.93.0.4:9000 has no listener (its connects are reset: UF).
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh

P=kmtel
WORK=$(mktemp -d /tmp/kmesh-telemetry.XXXXXX)
PIN=/sys/fs/bpf/kmesh-telemetry-test
STATE=$WORK/state
CONF=$WORK/mesh.yaml
LOG=$WORK/kmeshd.log
ALOG=$WORK/access.log
MADDR=127.0.0.1:15120		# not the default: another kmeshd may hold it
PROM_ADDR=127.0.0.1:19120
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
BYTES=$KM_BUILD/tools/km_bytes
KMESHD_PID= PROM_PID=
. tests/lib/report.sh

cleanup() {
	stop_kmeshd
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_topo_down "$P"
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "telemetry tests" "needs root (BPF, cgroups, network namespaces)"
	report_summary
	exit 0
fi

SVC_A="outbound|80||svc-a.ns-a.svc.cluster.local"
write_config() {
	cat > "$CONF" <<-EOT
	static_resources:
	  listeners:
	  - name: svc-a
	    address: { socket_address: { address: 10.92.0.1, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: a, cluster: "$SVC_A" }
	  - name: svc-b
	    address: { socket_address: { address: 10.92.0.2, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: b, cluster: svc-b }
	  - name: svc-dead
	    address: { socket_address: { address: 10.92.0.3, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: dead, cluster: dead }
	  - name: svc-down
	    address: { socket_address: { address: 10.92.0.4, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: down, cluster: down }
	  clusters:
	  - name: "$SVC_A"
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: 10.93.0.2, port_value: 9000 } } }
	  - name: svc-b
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: 10.93.0.3, port_value: 9000 } } }
	  - name: down
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: 10.93.0.4, port_value: 9000 } } }
	  - name: dead
	    type: EDS
	EOT
}

start_kmeshd() {
	rm -f "$STATE/kmeshd.state"
	"$KM_BUILD/kmeshd" --config "$CONF" --pin-root "$PIN" --state-dir "$STATE" \
		--metrics "$MADDR" --access-log "$ALOG" --tcp-report-interval 1 "$@" >> "$LOG" 2>&1 &
	KMESHD_PID=$!
	for _ in $(seq 100); do
		grep -qE '^last_attempt=[1-9]' "$STATE/kmeshd.state" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
stop_kmeshd() {
	[ -n "$KMESHD_PID" ] || return 0
	kill "$KMESHD_PID" 2>/dev/null
	wait "$KMESHD_PID" 2>/dev/null
	KMESHD_PID=
}
scrape() { curl -sf "http://$MADDR/metrics"; }
# metric NAME: the value of one sample, by its name and labels (a regex)
metric() { scrape | grep -E "^$1 " | awk '{ print $2 }'; }
# wait until kmeshd has read N events in all (5 s)
wait_read() {
	for _ in $(seq 100); do
		[ "$(metric kmesh_events_read_total)" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
in_cli() { km_in "$P/enrolled" "$P-cli" "$@"; }
# tcp SERIES: an istio_tcp_* sample's labels, in kmeshd's order, as a regex
labels() {	# SVC SVC_NAME SVC_NS FLAGS
	printf 'reporter="source",source_workload="client",source_workload_namespace="ns-client",source_principal="spiffe://cluster.local/ns/ns-client/sa/sa-client",destination_service="%s",destination_service_name="%s",destination_service_namespace="%s",destination_workload="unknown",response_flags="%s",connection_security_policy="none"' "$@"
}
# expect_metric NAME VALUE LABELS
expect_metric() {
	local got sample=$1
	[ -n "$3" ] && sample="$1{$3}"
	got=$(scrape | awk -v s="$sample" '$1 == s { print $2 }')
	if [ "$got" = "$2" ]; then ok "$1 = $2 {$(cut -d, -f5,9 <<< "$3")}"
	else not_ok "$1 {$3}" "want $2, got '${got:-none}'" "$(scrape | grep -F "$1{" | head -8)"; fi
}

# ---- set-up ----------------------------------------------------------------
echo "# work dir $WORK"
km_topo_up "$P" 93
for i in 2 3; do
	ready=$WORK/ready.$i
	km_ns "$P-srv" "$BYTES" --listen "10.93.0.$i:9000" --ready-file "$ready" &
	disown $!	# killed with the namespace at the end, silently
	for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
done
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
write_config
if start_kmeshd && grep -q '^generation=1$' "$STATE/kmeshd.state"; then
	ok "kmeshd starts with --metrics and --access-log"
else
	not_ok "kmeshd starts with --metrics and --access-log" "$(cat "$LOG")"
	exit 1
fi
"${CTL[@]}" enroll "$KM_CG_ROOT/$P/enrolled" --namespace ns-client \
	--workload client --service-account sa-client >/dev/null

code=$(curl -s -o /dev/null -w '%{http_code}' "http://$MADDR/healthz/ready")
if [ "$code" = 200 ]; then ok "/healthz/ready is 200 once a generation serves"
else not_ok "/healthz/ready is 200 once a generation serves" "got $code"; fi

# ---- known traffic ------------------------------------------------------------
# svc-a: 5 connections, 100 bytes up, 2000 down; svc-b: 3, 300 up, 50 down;
# svc-dead: 2 refused (no endpoint: UH); svc-down: 2 reset by the endpoint
# host (UF). Events: 2 per connection that reached TCP, 1 per refusal.
out_a=$(in_cli "$BYTES" -n 5 --send 100 --recv 2000 10.92.0.1:80)
out_b=$(in_cli "$BYTES" -n 3 --send 300 --recv 50 10.92.0.2:80)
out_d=$(in_cli "$BYTES" -n 2 --send 16 --recv 0 10.92.0.3:80)
out_u=$(in_cli "$BYTES" -n 2 --send 16 --recv 0 10.92.0.4:80)
if grep -q 'total ok=5 err=0' <<< "$out_a" && grep -q 'total ok=3 err=0' <<< "$out_b" &&
   [ "$(grep -c 'errno=ECONNREFUSED' <<< "$out_d$out_u")" = 4 ]; then
	ok "traffic: 8 connections carried, 4 refused (2 by kmesh, 2 by the endpoint's host)"
else
	not_ok "traffic as planned" "$out_a" "$out_b" "$out_d" "$out_u"
fi
if wait_read 22; then ok "kmeshd read all 22 events (8x2 + 2x2 connect failures + 2 refusals)"
else not_ok "kmeshd read all 22 events" "read $(metric kmesh_events_read_total)" "$(scrape | grep kmesh_events)"; fi

LA=$(labels "svc-a.ns-a.svc.cluster.local" svc-a ns-a -)
LB=$(labels svc-b svc-b unknown -)
expect_metric istio_tcp_connections_opened_total 5 "$LA"
expect_metric istio_tcp_connections_closed_total 5 "$LA"
expect_metric istio_tcp_received_bytes_total 500 "$LA"
expect_metric istio_tcp_sent_bytes_total 10000 "$LA"
expect_metric istio_tcp_connections_opened_total 3 "$LB"
expect_metric istio_tcp_received_bytes_total 900 "$LB"
expect_metric istio_tcp_sent_bytes_total 150 "$LB"
expect_metric istio_tcp_connections_closed_total 2 "$(labels dead dead unknown UH)"
expect_metric istio_tcp_connections_opened_total 2 "$(labels dead dead unknown UH)"
expect_metric istio_tcp_connections_closed_total 2 "$(labels down down unknown UF)"
expect_metric istio_tcp_sent_bytes_total 0 "$(labels down down unknown UF)"
expect_metric kmesh_no_endpoint_total 2 ""

# ---- access log ----------------------------------------------------------------
lines=$(wc -l < "$ALOG")
if [ "$lines" = 12 ]; then ok "access log: one line per connection (12)"
else not_ok "access log: one line per connection" "want 12, got $lines" "$(cat "$ALOG")"; fi
a=$(jq -c 'select(.upstream_cluster == "'"$SVC_A"'")' "$ALOG" | head -1)
want='{"bytes_received":100,"bytes_sent":2000,"upstream_host":"10.93.0.2:9000","downstream_local_address":"10.92.0.1:80","response_flags":"-","connection_termination":"fin","listener":"svc-a","source_workload":"client"}'
got=$(jq -c '{bytes_received, bytes_sent, upstream_host, downstream_local_address, response_flags, connection_termination, listener, source_workload}' <<< "$a")
if [ "$got" = "$want" ] && jq -e '.start_time | test("^20[0-9-]+T[0-9:.]+Z$")' <<< "$a" >/dev/null &&
   jq -e '.downstream_remote_address | startswith("10.93.0.100:")' <<< "$a" >/dev/null; then
	ok "access log: Envoy's TCP fields for a svc-a connection"
else
	not_ok "access log: Envoy's TCP fields" "want $want" "got  $got" "$a"
fi
n_uh=$(jq -r 'select(.response_flags == "UH") | .connection_termination' "$ALOG" | sort | uniq -c | tr -s ' ')
n_uf=$(jq -r 'select(.response_flags == "UF") | .connection_termination' "$ALOG" | sort | uniq -c | tr -s ' ')
if [ "$n_uh" = " 2 refused" ] && [ "$n_uf" = " 2 connect_failed" ]; then
	ok "access log: refusals UH/refused, failed connects UF/connect_failed"
else not_ok "access log: refusals and failed connects" "UH: $n_uh" "UF: $n_uf"; fi

# ---- Prometheus ----------------------------------------------------------------
if command -v prometheus >/dev/null; then
	cat > "$WORK/prometheus.yml" <<-EOT
	global: { scrape_interval: 1s }
	scrape_configs:
	- job_name: kmesh
	  static_configs: [ { targets: [ "$MADDR" ] } ]
	EOT
	prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
		--web.listen-address="$PROM_ADDR" > "$WORK/prometheus.log" 2>&1 &
	PROM_PID=$!
	q() { curl -sf --get "http://$PROM_ADDR/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty'; }
	for _ in $(seq 300); do	# 30 s: start-up and the first scrapes
		[ -n "$(q 'istio_tcp_connections_opened_total{destination_service_name="svc-a"}')" ] && break
		sleep 0.1
	done
	pq() {	# NAME QUERY WANT
		local got
		got=$(q "$2")
		if [ "$got" = "$3" ]; then ok "Prometheus: $1 = $3"
		else not_ok "Prometheus: $1" "query $2" "want $3, got '${got:-none}'" "$(tail -5 "$WORK/prometheus.log")"; fi
	}
	pq "svc-a connections opened" 'sum(istio_tcp_connections_opened_total{destination_service="svc-a.ns-a.svc.cluster.local",response_flags="-"})' 5
	pq "svc-a request bytes" 'sum(istio_tcp_received_bytes_total{destination_service_name="svc-a",destination_service_namespace="ns-a"})' 500
	pq "svc-a response bytes" 'sum(istio_tcp_sent_bytes_total{destination_service_name="svc-a"})' 10000
	pq "svc-b connections closed" 'sum(istio_tcp_connections_closed_total{destination_service_name="svc-b",reporter="source"})' 3
	pq "refusals by UH" 'sum(istio_tcp_connections_closed_total{response_flags="UH"})' 2
	pq "failed connects by UF" 'sum(istio_tcp_connections_closed_total{response_flags="UF"})' 2
	# svc-a, svc-b, down opened "-"; dead UH; down's close UF
	pq "series with the source's labels" 'count(istio_tcp_connections_opened_total{source_workload="client",source_workload_namespace="ns-client",source_principal="spiffe://cluster.local/ns/ns-client/sa/sa-client",connection_security_policy="none"})' 5
	pq "kmesh_events_read_total" 'kmesh_events_read_total' 22
	kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null; PROM_PID=
else
	skip "Prometheus scrapes kmeshd" "no prometheus binary (scripts/install-deps.sh installs Debian's)"
fi

# ---- kmeshctl top ----------------------------------------------------------------
# rates are not judged (they depend on timing): the snapshot's rows are
top=$("${CTL[@]}" -o json top --metrics "$MADDR")
if jq -e '(.services | map(.name) | sort) == ["dead", "down", "svc-a.ns-a.svc.cluster.local", "svc-b"]' <<< "$top" >/dev/null &&
   jq -e '.workloads | map(.name) == ["client.ns-client"]' <<< "$top" >/dev/null; then
	ok "kmeshctl top -o json: one row per destination service and per source workload"
else
	not_ok "kmeshctl top -o json" "$top"
fi

# ---- bytes of an open connection ------------------------------------------------
# Reported every --tcp-report-interval (1 s here) while the connection is
# open, the rest at its close; each byte once. The traffic above lasted
# milliseconds: it was reported at its close only (the counts above).
# km_bytes sends its 6000 bytes, holds 4 s, then shuts down its side; the
# server answers (7000 bytes) after that EOF: while open, the request's
# bytes are in, the response's not yet.
sample() { scrape | awk -v s="$1{$LA}" '$1 == s { print $2 }'; }
rx0=$(sample istio_tcp_received_bytes_total) tx0=$(sample istio_tcp_sent_bytes_total)
cl0=$(sample istio_tcp_connections_closed_total)
in_cli "$BYTES" --send 6000 --recv 7000 --hold-ms 4000 10.92.0.1:80 > "$WORK/hold.out" &
hold=$!
seen=
for _ in $(seq 70); do	# 3.5 s of the 4 s hold
	if [ "$(sample istio_tcp_received_bytes_total)" = $((rx0 + 6000)) ] &&
	   [ "$(sample istio_tcp_sent_bytes_total)" = "$tx0" ]; then
		seen="closed $(sample istio_tcp_connections_closed_total), client running $(kill -0 $hold 2>/dev/null && echo yes)"
		break
	fi
	sleep 0.05
done
wait "$hold"
for _ in $(seq 100); do
	[ "$(sample istio_tcp_connections_closed_total)" = $((cl0 + 1)) ] && break
	sleep 0.05
done
rx1=$(sample istio_tcp_received_bytes_total) tx1=$(sample istio_tcp_sent_bytes_total)
if [ "$seen" = "closed $cl0, client running yes" ] && [ "$rx1" = $((rx0 + 6000)) ] &&
   [ "$tx1" = $((tx0 + 7000)) ] && grep -q '^ok' "$WORK/hold.out"; then
	ok "an open connection's bytes are reported while it is open (6000 in), each byte once after its close (6000/7000)"
else
	not_ok "bytes of an open connection" "while open: ${seen:-not seen} (want closed $cl0, client running yes)" \
		"after close: received $rx0 -> $rx1, sent $tx0 -> $tx1 (want +6000, +7000)" "$(cat "$WORK/hold.out")"
fi

# ---- access log across a restart ----------------------------------------------
# The rule: a connection is logged once, by the kmeshd that reads its close
# event (the close record has all the open one had; the ring is pinned).
# One connection spans the restart; one closes while no kmeshd runs.
in_cli "$BYTES" --send 777 --recv 333 --hold-ms 2500 10.92.0.2:80 > "$WORK/span.out" &
span=$!
in_cli "$BYTES" --send 555 --recv 111 --hold-ms 500 10.92.0.2:80 > "$WORK/down.out" &
down=$!
sleep 0.2
stop_kmeshd
wait "$down"
start_kmeshd
wait "$span"
for _ in $(seq 100); do
	[ "$(jq -s '[.[] | select(.bytes_received == 777)] | length' "$ALOG")" = 1 ] && break
	sleep 0.05
done
n777=$(jq -s '[.[] | select(.bytes_received == 777 and .bytes_sent == 333)] | length' "$ALOG")
n555=$(jq -s '[.[] | select(.bytes_received == 555 and .bytes_sent == 111)] | length' "$ALOG")
if [ "$n777" = 1 ] && [ "$n555" = 1 ] && grep -q '^ok' "$WORK/span.out" "$WORK/down.out"; then
	ok "access log across a restart: the spanning and the closed-while-down connection once each"
else
	not_ok "access log across a restart" "spanning: $n777 lines, closed while down: $n555 (want 1, 1)" \
		"$(cat "$WORK/span.out" "$WORK/down.out")"
fi

# SIGUSR1 reopens the log (logrotate moved it)
mv "$ALOG" "$ALOG.1"
kill -USR1 "$KMESHD_PID"
sleep 0.3
in_cli "$BYTES" --send 16 --recv 1 10.92.0.2:80 >/dev/null
for _ in $(seq 100); do [ -s "$ALOG" ] && break; sleep 0.05; done
if [ "$(wc -l < "$ALOG" 2>/dev/null)" = 1 ]; then ok "SIGUSR1 reopens the access log"
else not_ok "SIGUSR1 reopens the access log" "$(ls -l "$WORK")"; fi

# ---- the other record: socket storage ------------------------------------------
# With --peer-vip storage the events' fields ride in the socket storage,
# not in the cookie slot: the same lines and bytes come out.
stop_kmeshd
start_kmeshd --peer-vip storage
in_cli "$BYTES" -n 2 --send 4321 --recv 1234 10.92.0.1:80 >/dev/null
for _ in $(seq 100); do
	[ "$(jq -s '[.[] | select(.bytes_received == 4321)] | length' "$ALOG")" = 2 ] && break
	sleep 0.05
done
n=$(jq -s '[.[] | select(.bytes_received == 4321 and .bytes_sent == 1234 and .connection_termination == "fin" and .listener == "svc-a")] | length' "$ALOG")
if [ "$n" = 2 ]; then ok "--peer-vip storage: the events come from the socket storage record (2 lines, exact bytes)"
else not_ok "--peer-vip storage: events" "want 2 lines, got $n" "$(tail -n 3 "$ALOG")"; fi

# ---- a full ring ----------------------------------------------------------------
# A 4 KiB ring holds 28 events; with kmeshd stopped nobody reads it, so 100
# connections (200 events) overflow it. Every connection still succeeds;
# the kernel counts what it could not write; the next kmeshd reads what fit.
stop_kmeshd
start_kmeshd --events-ring-kb 4
sub0=$(metric kmesh_events_submitted_total) drop0=$(metric kmesh_events_dropped_total)
stop_kmeshd
flood=$(in_cli "$BYTES" -n 100 --send 16 --recv 1 10.92.0.2:80 | tail -1)
start_kmeshd --events-ring-kb 4
sleep 0.3
sub1=$(metric kmesh_events_submitted_total) drop1=$(metric kmesh_events_dropped_total)
read1=$(metric kmesh_events_read_total)
dsub=$((sub1 - sub0)) ddrop=$((drop1 - drop0))
if [ "$flood" = "total ok=100 err=0" ] && [ "$ddrop" -gt 0 ] &&
   [ $((dsub + ddrop)) = 200 ] && [ "$read1" = "$dsub" ]; then
	ok "full ring: $ddrop of 200 events dropped and counted, $dsub read, all 100 connections served"
else
	not_ok "full ring" "$flood" "submitted +$dsub, dropped +$ddrop (want sum 200, dropped > 0), read $read1"
fi

# ---- the cap on label sets ----------------------------------------------------
stop_kmeshd
start_kmeshd --metrics-max-series 2
for v in 1 2 3 4; do in_cli "$BYTES" --send 16 --recv 0 "10.92.0.$v:80" >/dev/null; done
sleep 0.3
series=$(metric 'kmesh_telemetry_series\{family="tcp"\}')
over=$(metric 'kmesh_telemetry_overflow_total\{family="tcp"\}')
if [ "$series" = 3 ] && [ "${over:-0}" -gt 0 ] &&
   grep -q '^istio_tcp_connections_opened_total{reporter="source",source_workload="overflow"' <<< "$(scrape)"; then
	ok "label sets capped at 2 plus the overflow series ($over events in it)"
else
	not_ok "label sets capped" "series $series, overflow $over" "$(scrape | grep istio_tcp_connections_opened)"
fi

# ---- telemetry off ---------------------------------------------------------------
stop_kmeshd
start_kmeshd --no-telemetry
sub0=$("${CTL[@]}" status >/dev/null; bpftool map dump pinned "$PIN/km_ev_stats" -j 2>/dev/null | jq '[.[0].values[].value] | add')
out=$(in_cli "$BYTES" -n 3 --send 16 --recv 1 10.92.0.2:80 | tail -1)
sub1=$(bpftool map dump pinned "$PIN/km_ev_stats" -j 2>/dev/null | jq '[.[0].values[].value] | add')
if [ "$out" = "total ok=3 err=0" ] && [ -n "$sub0" ] && [ "$sub0" = "$sub1" ] &&
   ! curl -sf "http://$MADDR/metrics" >/dev/null; then
	ok "--no-telemetry: traffic served, no events, no metrics server"
else
	not_ok "--no-telemetry" "$out" "events submitted before $sub0, after $sub1"
fi

report_summary
