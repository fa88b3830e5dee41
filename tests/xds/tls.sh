#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# kmeshd to an xDS server over TLS, the way it reaches istiod:15012: the test
# control plane (tests/xds/server.js) serves TLS with a CA and certificates
# made here by the openssl CLI, and checks the bearer token of every call.
# Cases: a good CA and token; token rotation; a token the server refuses; a
# missing token file; the server's certificate rotated; a wrong CA; a wrong
# SAN; a SPIFFE URI SAN; a client certificate; plaintext to a TLS port; flag
# errors. Each asserts what kmeshd logged and did (ACKs, the state file, the
# server's view of the call). Root (kmeshd loads its programs). Ends with
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh
. tests/xds/lib.sh

WORK=$(mktemp -d /tmp/kmesh-xds-tls.XXXXXX)
PIN=/sys/fs/bpf/kmesh-xds-tls
CG=$KM_CG_ROOT/kmx-tls
STATE=$WORK/state
LOG=$WORK/kmeshd.log
PKI=$WORK/pki
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
SAN=istiod.istio-system.svc
SPIFFE=spiffe://cluster.local/ns/istio-system/sa/istiod
KMESHD_PID=

cleanup() {
	stop_kmeshd
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	xds_server_stop >/dev/null 2>&1
	rmdir "$CG" 2>/dev/null
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "xDS over TLS suite" "needs root"; report_summary; exit 0
fi
for t in node openssl jq curl; do
	if ! command -v $t >/dev/null; then
		skip "xDS over TLS suite" "$t is not installed (scripts/install-deps.sh)"; report_summary; exit 0
	fi
done

# ---- PKI, by the openssl CLI -------------------------------------------------------
# ca NAME: a self-signed root; cert NAME CA SAN...: a server certificate
ossl() { openssl "$@" 2>>"$PKI/openssl.log"; }
ca() {
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/O=kmesh test/CN=$1" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$PKI/$1.key" -out "$PKI/$1.pem"
}
cert() {	# NAME CA EKU SAN-LIST
	ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/O=kmesh test/CN=$1" -keyout "$PKI/$1.key" -out "$PKI/$1.csr" &&
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
		"$3" "$4" > "$PKI/$1.ext" &&
	ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.pem"
}
serial() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=//'; }
mkdir -p "$PKI"
if ! { ca mesh-root && ca other-root &&
       cert istiod mesh-root serverAuth "DNS:$SAN,URI:$SPIFFE" &&
       cert istiod-2 mesh-root serverAuth "DNS:$SAN,URI:$SPIFFE" &&
       cert client mesh-root clientAuth "URI:spiffe://cluster.local/ns/kmesh-system/sa/kmesh"; }; then
	not_ok "test certificates made by openssl" "$(tail -5 "$PKI/openssl.log")"
	report_summary; exit 1
fi
# the server reads these at every listen: replacing them + a restart rotates
cp "$PKI/istiod.pem" "$WORK/server.pem"
cp "$PKI/istiod.key" "$WORK/server.key"
printf 'tok-1\n' > "$WORK/server-token"	# what the server accepts
printf 'tok-1\n' > "$WORK/token"	# what kmeshd sends

# ---- helpers -------------------------------------------------------------------------
mkdir -p "$CG"
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
start_kmeshd() {	# start_kmeshd [kmeshd flags...]
	"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --node-id "sidecar~10.96.0.1~tls.test~test.svc.cluster.local" \
		--cgroup "$CG" --pin-root "$PIN" --state-dir "$STATE" "$@" >> "$LOG" 2>&1 &
	KMESHD_PID=$!
}
stop_kmeshd() {
	[ -n "$KMESHD_PID" ] || return 0
	kill "$KMESHD_PID" 2>/dev/null
	wait "$KMESHD_PID" 2>/dev/null
	KMESHD_PID=
}
cfg() { "${CTL[@]}" -o json config 2>/dev/null | jq -r ".$1"; }
clusters() { "${CTL[@]}" -o json status 2>/dev/null | jq -r '.maps.clusters'; }
mark() { wc -l < "$LOG"; }
since() { tail -n +"$(($1 + 1))" "$LOG"; }
# wait_log MARK REGEX [N] [TIMEOUT_S]: N lines (default 1) matching REGEX
# logged after MARK; a bound, not a judgement on time
wait_log() {
	local m=$1 re=$2 n=${3:-1} end=$((SECONDS + ${4:-30}))
	while [ $SECONDS -lt $end ]; do
		[ "$(since "$m" | grep -cE -- "$re")" -ge "$n" ] && return 0
		sleep 0.2
	done
	return 1
}
# the streams the server saw, oldest first: "open ok authorization transport client_cert"
streams() { xds_ctl GET '/state?names=0' | jq -c '[.streams[] | {id, open, auth}]'; }
last_auth() { xds_ctl GET '/state?names=0' | jq -c '[.streams[] | .auth] | last'; }
n_streams() { xds_ctl GET '/state?names=0' | jq '.streams | length'; }
# the retry delays kmeshd logged after MARK for lines matching REGEX
delays() { since "$1" | grep -E -- "$2" | sed -n 's/.*retrying in \([0-9]*\) ms$/\1/p' | paste -sd ' '; }
increasing() {	# at least two numbers, each larger than the one before
	local prev=-1 n=0 d
	for d in $1; do [ "$d" -gt "$prev" ] || return 1; prev=$d; n=$((n + 1)); done
	[ $n -ge 2 ]
}
tcp_listener() {	# NAME VIP CLUSTER
	echo "{\"name\":\"$1\",\"address\":{\"socket_address\":{\"address\":\"$2\",\"port_value\":80}},\"filter_chains\":[{\"filters\":[{\"name\":\"envoy.filters.network.tcp_proxy\",\"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\",\"stat_prefix\":\"$1\",\"cluster\":\"$3\"}}]}]}"
}
static_cluster() {	# NAME IP
	echo "{\"name\":\"$1\",\"type\":\"STATIC\",\"lb_policy\":\"ROUND_ROBIN\",\"load_assignment\":{\"cluster_name\":\"$1\",\"endpoints\":[{\"lb_endpoints\":[{\"endpoint\":{\"address\":{\"socket_address\":{\"address\":\"$2\",\"port_value\":8080}}}}]}]}}"
}

# ---- flag errors (no server needed) -----------------------------------------------------
out=$("$KM_BUILD/kmeshd" --xds 127.0.0.1:15012 --node-id x --xds-token "$WORK/token" 2>&1); rc=$?
if [ $rc = 2 ] && grep -q -- "--xds-token needs --xds-ca FILE.*a token is only sent over TLS" <<< "$out"; then
	ok "a token without --xds-ca is refused at start (never sent in plaintext): $out"
else not_ok "a token without --xds-ca is refused at start" "rc $rc" "$out"; fi
out=$("$KM_BUILD/kmeshd" --xds-ca "$PKI/mesh-root.pem" 2>&1); rc=$?
if [ $rc = 2 ] && grep -q -- "--xds-ca needs --xds HOST:PORT" <<< "$out"; then ok "--xds-ca without --xds is refused: $out"
else not_ok "--xds-ca without --xds is refused" "rc $rc" "$out"; fi

if ! xds_server_start --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key" \
	--token-file "$WORK/server-token" > "$WORK/server.out" 2>&1; then
	not_ok "the test control plane starts with TLS (npm install, node)" "$(tail -5 "$WORK/server.out")"
	report_summary; exit 1
fi
xds_push_json cds "[$(static_cluster tls-a 10.96.0.2)]" 1 >/dev/null
xds_push_json lds "[$(tcp_listener tls-vip 10.96.1.1 tls-a)]" 1 >/dev/null

# ---- a good CA and token ----------------------------------------------------------------
: > "$LOG"
m=$(mark)
start_kmeshd --xds-ca "$PKI/mesh-root.pem" --xds-token "$WORK/token"
if xds_wait_ack cds 1 30 >/dev/null && xds_wait_ack lds 1 30 >/dev/null &&
   wait_log "$m" "xDS: stream to 127.0.0.1:$XDS_PORT up \(TLSv1\.[23], ALPN h2, server identity '$SAN' verified against $PKI/mesh-root.pem; certificate serial $(serial "$PKI/istiod.pem")" &&
   jq -e '.ok and .authorization == "Bearer tok-1" and .transport == "tls"' <<< "$(last_auth)" >/dev/null &&
   [ "$(cfg transport)" = tls ] && [ "$(clusters)" = 1 ]; then
	ok "good CA and token: TLS with ALPN h2, istiod's SAN verified, 'authorization: Bearer' accepted, CDS and LDS ACKed"
else not_ok "good CA and token" "$(since "$m" | tail -4)" "server: $(last_auth)" "transport $(cfg transport), clusters $(clusters)"; fi
if since "$m" | grep -q "xDS: to xds 127.0.0.1:$XDS_PORT over TLS (root CA $PKI/mesh-root.pem, server identity '$SAN', bearer token from $WORK/token)"; then
	ok "the start line says TLS, the CA, the identity and the token file"
else not_ok "the start line says TLS" "$(since "$m" | grep 'xDS: to' | head -2)"; fi

# ---- token rotation -------------------------------------------------------------------------
printf 'tok-2\n' > "$WORK/server-token"
printf 'tok-2\n' > "$WORK/token.new" && mv "$WORK/token.new" "$WORK/token"	# as the kubelet swaps it
m=$(mark)
xds_drop 14
xds_push_json cds "[$(static_cluster tls-a 10.96.0.2)]" 2 >/dev/null
if xds_wait_ack cds 2 30 >/dev/null && wait_log "$m" "stream to .* up \(TLS" &&
   jq -e '.ok and .authorization == "Bearer tok-2"' <<< "$(last_auth)" >/dev/null; then
	ok "token rotation: the file changed, the next connection sent the new token and was accepted"
else not_ok "token rotation" "server: $(streams | head -c 600)" "$(since "$m" | tail -3)"; fi

# ---- a token the server refuses ----------------------------------------------------------------
c0=$(clusters)
printf 'tok-3\n' > "$WORK/server-token"
m=$(mark); s0=$(n_streams)
xds_drop 14
re="grpc-status 16 \(UNAUTHENTICATED\): authentication failure: the bearer token is not valid; the server refused the bearer token from $WORK/token; the running config keeps serving; retrying in [0-9]+ ms"
if wait_log "$m" "$re" 3 30; then
	d=$(delays "$m" "UNAUTHENTICATED")
	refused=$(xds_ctl GET '/state?names=0' | jq --argjson s "$s0" '[.streams[$s:][] | select(.auth.ok == false and .auth.authorization == "Bearer tok-2")] | length')
	if increasing "$d" && [ "$refused" -ge 3 ] && [ "$(clusters)" = "$c0" ] && [ "$(cfg cds_version)" = 2 ]; then
		ok "a bad token: refused by the server with UNAUTHENTICATED, logged with its message and the token file, retried with growing backoff ($d ms); the config keeps serving"
	else not_ok "a bad token: backoff, config kept" "delays: $d" "refused streams: $refused" "clusters $(clusters), cds_version $(cfg cds_version)"; fi
else not_ok "a bad token is refused and logged" "$(since "$m" | tail -3)" "server: $(last_auth)"; fi
if grep -q "grpc-status 16 (UNAUTHENTICATED)" <<< "$(cfg last_error)"; then
	ok "kmeshctl config shows the refusal as the last error"
else not_ok "kmeshctl config shows the refusal" "$(cfg last_error)"; fi
# the right token again: the next retry gets in
m=$(mark)
printf 'tok-3\n' > "$WORK/token"
xds_push_json cds "[$(static_cluster tls-a 10.96.0.2)]" 3 >/dev/null
if xds_wait_ack cds 3 40 >/dev/null && wait_log "$m" "stream to .* up \(TLS"; then
	ok "after the token file is fixed, the next retry is accepted and syncs"
else not_ok "recovery after the token is fixed" "$(since "$m" | tail -3)"; fi

# ---- a missing token file -----------------------------------------------------------------
m=$(mark); s0=$(n_streams)
rm "$WORK/token"
xds_drop 14
if wait_log "$m" "xDS: 127\.0\.0\.1:$XDS_PORT: token file $WORK/token: No such file or directory; the running config keeps serving; retrying in [0-9]+ ms" 2 30; then
	d=$(delays "$m" "token file")
	if increasing "$d" && [ "$(n_streams)" = "$s0" ] && [ "$(cfg cds_version)" = 3 ]; then
		ok "a missing token file: logged naming the file, no call made without it, retried with growing backoff ($d ms); the config keeps serving"
	else not_ok "a missing token file: no call, backoff" "delays $d" "streams $s0 -> $(n_streams)" "cds_version $(cfg cds_version)"; fi
else not_ok "a missing token file is logged" "$(since "$m" | tail -3)"; fi
m=$(mark)
printf 'tok-3\n' > "$WORK/token"
if wait_log "$m" "stream to .* up \(TLS" 1 40 && jq -e '.ok' <<< "$(last_auth)" >/dev/null; then
	ok "the token file back: reconnected"
else not_ok "the token file back: reconnected" "$(since "$m" | tail -3)"; fi

# ---- the server's certificate rotated -------------------------------------------------------
cp "$PKI/istiod-2.pem" "$WORK/server.pem"
cp "$PKI/istiod-2.key" "$WORK/server.key"
m=$(mark); r0=$(cfg reconnects)
xds_restart 300
xds_push_json cds "[$(static_cluster tls-a 10.96.0.2)]" 4 >/dev/null
if xds_wait_ack cds 4 40 >/dev/null &&
   wait_log "$m" "stream to .* up \(TLS.*certificate serial $(serial "$PKI/istiod-2.pem")," && [ "$(cfg reconnects)" -gt "$r0" ]; then
	ok "the server's certificate rotated (same CA, new key and serial $(serial "$PKI/istiod-2.pem")): kmeshd reconnects, verifies it, syncs"
else not_ok "server certificate rotation" "$(since "$m" | tail -4)"; fi
stop_kmeshd

# ---- a wrong CA --------------------------------------------------------------------------------
m=$(mark); s0=$(n_streams); c0=$(clusters)
start_kmeshd --xds-ca "$PKI/other-root.pem" --xds-token "$WORK/token"
re="TLS handshake with 127\.0\.0\.1:$XDS_PORT: TLS: the server's certificate .*CN ?= ?istiod.* is not trusted by the CA file $PKI/other-root.pem: unable to get local issuer certificate; the running config keeps serving; retrying in [0-9]+ ms"
if wait_log "$m" "$re" 3 30; then
	d=$(delays "$m" "not trusted")
	if increasing "$d" && [ "$(n_streams)" = "$s0" ] && [ "$(clusters)" = "$c0" ]; then
		ok "a wrong CA: refused naming the certificate and the CA file, no call made, retried with growing backoff ($d ms); generation kept"
	else not_ok "a wrong CA: backoff, no call" "delays $d" "streams $s0 -> $(n_streams)" "clusters $c0 -> $(clusters)"; fi
else not_ok "a wrong CA is refused with a clear message" "$(since "$m" | tail -3)"; fi
stop_kmeshd

# ---- a wrong SAN ----------------------------------------------------------------------------
m=$(mark); s0=$(n_streams)
start_kmeshd --xds-ca "$PKI/mesh-root.pem" --xds-token "$WORK/token" --xds-san spiffe://cluster.local/ns/other/sa/impostor
re="TLS: the server's certificate is not for 'spiffe://cluster.local/ns/other/sa/impostor': it names DNS:$SAN, URI:$SPIFFE; the running config keeps serving; retrying in [0-9]+ ms"
if wait_log "$m" "$re" 3 30; then
	d=$(delays "$m" "is not for")
	if increasing "$d" && [ "$(n_streams)" = "$s0" ]; then
		ok "a wrong SAN: refused listing what the certificate names, no call made (no token sent), retried with growing backoff ($d ms)"
	else not_ok "a wrong SAN: backoff, no call" "delays $d" "streams $s0 -> $(n_streams)"; fi
else not_ok "a wrong SAN is refused with a clear message" "$(since "$m" | tail -3)"; fi
stop_kmeshd
m=$(mark)
start_kmeshd --xds-ca "$PKI/mesh-root.pem" --xds-token "$WORK/token" --xds-san wrong.istio-system.svc
if wait_log "$m" "not for 'wrong.istio-system.svc': it names DNS:$SAN" 1 30; then ok "a wrong DNS SAN is refused the same way"
else not_ok "a wrong DNS SAN is refused" "$(since "$m" | tail -2)"; fi
stop_kmeshd

# ---- istiod's SPIFFE identity, and a client certificate ---------------------------------------
xds_server_stop
if xds_server_start --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key" --tls-client-ca "$PKI/mesh-root.pem" \
	--token-file "$WORK/server-token" > "$WORK/server.out" 2>&1; then
	xds_push_json cds "[$(static_cluster tls-a 10.96.0.2)]" 5 >/dev/null
	m=$(mark)
	start_kmeshd --xds-ca "$PKI/mesh-root.pem" --xds-token "$WORK/token" --xds-san "$SPIFFE"
	if wait_log "$m" "TLS .*alert certificate required \(the server requires a client certificate: --xds-cert\); the running config keeps serving; retrying in" 1 30; then
		ok "a server that requires a client certificate refuses a client without one, and the log says so"
	else not_ok "a server requiring a client certificate refuses kmeshd without one" "$(since "$m" | tail -2)"; fi
	stop_kmeshd
	m=$(mark)
	start_kmeshd --xds-ca "$PKI/mesh-root.pem" --xds-token "$WORK/token" --xds-san "$SPIFFE" \
		--xds-cert "$PKI/client.pem" --xds-key "$PKI/client.key"
	if xds_wait_ack cds 5 30 >/dev/null && wait_log "$m" "server identity '$SPIFFE' verified" &&
	   jq -e '.ok and .client_cert == "client"' <<< "$(last_auth)" >/dev/null; then
		ok "istiod's SPIFFE URI SAN verified, and a client certificate presented (--xds-cert/--xds-key): synced"
	else not_ok "SPIFFE SAN and client certificate" "$(since "$m" | tail -3)" "server: $(last_auth)"; fi
	stop_kmeshd
else not_ok "the test control plane starts requiring client certificates" "$(tail -3 "$WORK/server.out")"; fi

# ---- plaintext -----------------------------------------------------------------------------------
m=$(mark)
"$KM_BUILD/kmeshd" --xds "127.0.0.1:$XDS_PORT" --node-id plain --cgroup "$CG" --pin-root "$PIN" \
	--state-dir "$STATE" >> "$LOG" 2>&1 &
KMESHD_PID=$!
if wait_log "$m" "xDS: to xds 127.0.0.1:$XDS_PORT over plaintext \(h2c: no TLS, no token" 1 20 &&
   wait_log "$m" "xDS: 127\.0\.0\.1:$XDS_PORT: .*retrying in" 1 20 && [ "$(cfg transport)" = plaintext ]; then
	ok "without --xds-ca: plaintext, and the log says so; a TLS server does not take it"
else not_ok "plaintext is logged as such" "$(since "$m" | tail -3)"; fi
stop_kmeshd

report_summary
[ "$FAIL" -eq 0 ]
