#!/usr/bin/env bash
# kmesh-cni against the CNI spec (0.4.0, 1.0.0, 1.1.0) and a real kmeshd:
# VERSION, ADD (prevResult through unchanged, the pod's netns enrolled and
# routed; a namespace the policy leaves out passes unenrolled), CHECK, DEL
# (idempotent, netns already gone), STATUS, GC; kmeshd down: ADD fails with
# the reason unless failOpen, DEL passes; bad configs; the control socket
# (0600 root, peer credentials); restart safety (kept pod names, a netns
# deleted meanwhile pruned); 200 pods added and deleted leave nothing.
# Root; run under flock /tmp/kmesh-host.lock. Prints ok/not ok lines and
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh

P=kmc
WORK=$(mktemp -d /tmp/kmesh-cni.XXXXXX)
PIN=/sys/fs/bpf/kmesh-cni-test
STATE=$WORK/state
CONF=$WORK/mesh.yaml
LOG=$WORK/kmeshd.log
. tests/cni/lib.sh
CLI=$KM_BUILD/tools/km_testcli
NPODS=${KM_CNI_PODS:-200}

cleanup() {
	stop_kmeshd
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_topo_down "$P"
	for n in /run/netns/$P-p*; do [ -e "$n" ] && ip netns del "${n##*/}"; done
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT
finish() { report_summary; [ "$FAIL" -eq 0 ]; exit; }
[ "$(id -u)" -eq 0 ] || { skip "kmesh-cni" "needs root (BPF, network namespaces)"; finish; }

# the service 10.95.9.9:80 -> backend 10.95.0.2:8080; pods: $P-cli, $P-cli2
policy=${1:-"enrollment: { namespaces: [shop] }"}
write_conf() {
	cat > "$CONF" <<-EOT
	$1
	static_resources:
	  listeners:
	  - name: svc
	    address: { socket_address: { address: 10.95.9.9, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: svc, cluster: svc }
	  clusters:
	  - name: svc
	    load_assignment:
	      cluster_name: svc
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: 10.95.0.2, port_value: 8080 } } }
	EOT
}
write_conf "$policy"
km_topo_up "$P" 95
km_backend "$P-srv" svc-backend 10.95.0.2:8080 || { not_ok "backend starts"; finish; }
mkdir -p "$STATE"
start_kmeshd || { not_ok "kmeshd starts"; finish; }

PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"10.95.0.100/24","interface":0}],"dns":{}}'
# netconf VERSION [MEMBERS]: the network config on stdin
netconf() {
	printf '{"cniVersion":"%s","name":"kmcni","type":"kmesh-cni","socket":"%s"%s,"prevResult":%s}' \
		"$1" "$SOCK" "${2:+,$2}" "$(sed "s/\"1.0.0\"/\"$1\"/" <<< "$PREV")"
}
# cni CMD NETNS ARGS CONF: runs the plugin; OUT, ERR, RC
cni() {
	OUT=$(CNI_COMMAND=$1 CNI_CONTAINERID=ctr-${2##*/} CNI_NETNS=$2 CNI_IFNAME=eth0 \
		CNI_PATH=/usr/lib/cni CNI_ARGS=$3 "$CNI_BIN" <<< "$4" 2> "$WORK/err")
	RC=$?
	ERR=$(cat "$WORK/err")
}
same_json() { python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
json_get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null; }
reach() { km_in "$P/other" "$1" "$CLI" -n 2 -t 1000 10.95.9.9:80 | sed -n 's/^total ok=\([0-9]*\).*/\1/p'; }
SHOP="IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-1"
OTHER="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1"
mkdir -p "$KM_CG_ROOT/$P/other"

# ---- VERSION ------------------------------------------------------------------
cni VERSION "" "" '{"cniVersion":"1.1.0"}'
sv=$(python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])["supportedVersions"]))' "$OUT" 2>/dev/null)
if [ $RC = 0 ] && [ "$sv" = "0.4.0 1.0.0 1.1.0" ]; then ok "VERSION: supportedVersions $sv"
else not_ok "VERSION lists 0.4.0, 1.0.0, 1.1.0" "rc $RC out $OUT"; fi

# ---- ADD, in a meshed namespace and not -----------------------------------------
before=$(reach "$P-cli")
for v in 1.0.0 1.1.0; do
	conf=$(netconf $v)
	cni ADD "/run/netns/$P-cli" "$SHOP" "$conf"
	prev=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["prevResult"]))' "$conf")
	if [ $RC = 0 ] && same_json "$OUT" "$prev" && grep -qx "shop/cart-1 /run/netns/$P-cli" <<< "$(pods)"; then
		ok "ADD ($v): prevResult passed through unchanged; kmeshd enrolled the netns for shop/cart-1"
	else not_ok "ADD ($v): prevResult through, netns enrolled" "rc $RC out $OUT" "err $ERR" "$(pods)"; fi
done
after=$(reach "$P-cli")
if [ "${before:-0}" = 0 ] && [ "$after" = 2 ]; then ok "the enrolled pod reaches the service VIP through kmesh (before ADD: not at all)"
else not_ok "the enrolled pod reaches the VIP" "before: ok=$before after: ok=$after"; fi

cni ADD "/run/netns/$P-cli2" "$OTHER" "$(netconf 1.0.0)"
if [ $RC = 0 ] && same_json "$OUT" "$PREV" && ! grep -q "$P-cli2" <<< "$(pods)" &&
   grep -q "namespace 'default' is not meshed: the enrollment policy meshes namespaces shop" <<< "$ERR" &&
   [ "$(reach "$P-cli2")" = 0 ]; then
	ok "ADD in namespace default (not in the policy): passes, says why, not enrolled, the VIP is not reached"
else not_ok "ADD outside the policy passes unenrolled" "rc $RC out $OUT" "err $ERR" "$(pods)"; fi

# ---- CHECK --------------------------------------------------------------------
cni CHECK "/run/netns/$P-cli" "$SHOP" "$(netconf 1.0.0)"
rc1=$RC
"${CTL[@]}" unenroll "/run/netns/$P-cli" >/dev/null
cni CHECK "/run/netns/$P-cli" "$SHOP" "$(netconf 1.0.0)"
if [ $rc1 = 0 ] && [ $RC != 0 ] && [ "$(json_get "$OUT" code)" = 100 ] &&
   grep -q "is not enrolled" <<< "$(json_get "$OUT" msg)"; then
	ok "CHECK: passes while enrolled; fails with code 100 and the reason once unenrolled"
else not_ok "CHECK verifies the enrollment" "first rc $rc1; then rc $RC out $OUT"; fi
cni ADD "/run/netns/$P-cli" "$SHOP" "$(netconf 1.0.0)"

# ---- DEL ----------------------------------------------------------------------
cni DEL "/run/netns/$P-cli" "$SHOP" "$(netconf 1.0.0)"
rc1=$RC out1=$OUT
cni DEL "/run/netns/$P-cli" "$SHOP" "$(netconf 1.0.0)"
if [ $rc1 = 0 ] && [ -z "$out1" ] && [ $RC = 0 ] && [ -z "$OUT" ] && ! grep -q "$P-cli\$" <<< "$(pods)" &&
   [ "$(reach "$P-cli")" = 0 ]; then
	ok "DEL unenrolls (the VIP is not reached any more); DEL again succeeds (idempotent)"
else not_ok "DEL unenrolls, twice" "first rc $rc1 out $out1; second rc $RC out $OUT err $ERR" "$(pods)"; fi

ip netns add "$P-pgone"
cni ADD "/run/netns/$P-pgone" "$SHOP" "$(netconf 1.0.0)"
ip netns del "$P-pgone"
OUT=$(CNI_COMMAND=DEL CNI_CONTAINERID=ctr-$P-pgone CNI_NETNS= CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	CNI_ARGS=$SHOP "$CNI_BIN" <<< "$(netconf 1.0.0)" 2>&1); RC=$?
if [ $RC = 0 ] && [ "$(rows "/run/netns/$P-pgone")" = 0 ]; then
	ok "DEL without CNI_NETNS (the netns is gone): unenrolled by container id"
else not_ok "DEL by container id" "rc $RC $OUT" "$("${CTL[@]}" status | grep pgone)"; fi

# ---- STATUS, GC -----------------------------------------------------------------
cni STATUS "" "" "$(netconf 1.1.0)"
[ $RC = 0 ] && [ -z "$OUT" ] && ok "STATUS: 0, nothing printed, while kmeshd answers" ||
	not_ok "STATUS while kmeshd answers" "rc $RC out $OUT err $ERR"

ip netns add "$P-pa"; ip netns add "$P-pb"
cni ADD "/run/netns/$P-pa" "$SHOP" "$(netconf 1.1.0)"
cni ADD "/run/netns/$P-pb" "$SHOP" "$(netconf 1.1.0)"
OUT=$(CNI_COMMAND=GC CNI_PATH=/usr/lib/cni "$CNI_BIN" 2>&1 <<< \
	"{\"cniVersion\":\"1.1.0\",\"name\":\"kmcni\",\"type\":\"kmesh-cni\",\"socket\":\"$SOCK\",\"cni.dev/valid-attachments\":[{\"containerID\":\"ctr-$P-pa\",\"ifname\":\"eth0\"}]}")
RC=$?
if [ $RC = 0 ] && [ "$(rows "/run/netns/$P-pa")" = 1 ] && [ "$(rows "/run/netns/$P-pb")" = 0 ]; then
	ok "GC (1.1): the attachment not in cni.dev/valid-attachments is unenrolled, the valid one kept"
else not_ok "GC drops what the runtime no longer has" "rc $RC $OUT" "$("${CTL[@]}" status | grep -E "$P-p[ab]")"; fi

# ---- bad input ----------------------------------------------------------------
cni ADD "/run/netns/$P-cli" "$SHOP" '{"cniVersion":"0.2.0","name":"x","type":"kmesh-cni"}'
c1=$(json_get "$OUT" code) m1=$(json_get "$OUT" msg)
cni ADD "/run/netns/$P-cli" "$SHOP" $'{"cniVersion":"1.0.0",\n "name": x}'
c2=$(json_get "$OUT" code) m2=$(json_get "$OUT" msg)
cni ADD "/run/netns/$P-cli" "$SHOP" '{"cniVersion":"1.0.0","name":"x","type":"kmesh-cni"}'
c3=$(json_get "$OUT" code) m3=$(json_get "$OUT" msg)
if [ "$c1" = 1 ] && grep -q "incompatible CNI version 0.2.0" <<< "$m1" &&
   [ "$c2" = 6 ] && grep -q "line 2, column" <<< "$m2" &&
   [ "$c3" = 7 ] && grep -q "no prevResult: kmesh-cni is a chained plugin" <<< "$m3"; then
	ok "bad configs: version 0.2.0 (code 1), broken JSON (code 6, line and column), no prevResult (code 7)"
else not_ok "bad configs refused with their reasons" "$c1 $m1" "$c2 $m2" "$c3 $m3"; fi

# ---- the control socket -----------------------------------------------------------
perm=$(stat -c '%a %U' "$SOCK")
chmod 0666 "$SOCK"; chmod 0711 "$WORK"	# so only the peer check stands in the way
nobody=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
try: s.sendall(b"{\"op\":\"list\"}\n")
except BrokenPipeError: pass  # refused before the request was read
print(s.recv(4096).decode().strip())' "$SOCK" 2>&1)
chmod 0600 "$SOCK"; chmod 0700 "$WORK"
if [ "$perm" = "600 root" ] && grep -q '"permission denied: uid 65534 is not root"' <<< "$nobody"; then
	ok "control socket: mode 0600, owner root; a non-root peer (made able to connect) is refused by its credentials"
else not_ok "control socket 0600 root, peer credentials checked" "mode: $perm" "as nobody: $nobody"; fi

# ---- restart: names kept, a netns deleted meanwhile pruned ----------------------------
cni ADD "/run/netns/$P-cli" "$SHOP" "$(netconf 1.0.0)"
stop_kmeshd
ip netns del "$P-pa"
start_kmeshd
if grep -qx "shop/cart-1 /run/netns/$P-cli" <<< "$(pods)" && [ "$(rows "/run/netns/$P-pa")" = 0 ] &&
   grep -q "pruned a stale enrollment: netns /run/netns/$P-pa (id [0-9]*) is gone" "$LOG" &&
   [ "$(reach "$P-cli")" = 2 ]; then
	ok "kmeshd restarted: the pod keeps its enrollment and name, routed; the netns deleted while it was down is pruned"
else not_ok "restart safety" "$(pods)" "$(grep pruned "$LOG")"; fi

# ---- kmeshd down ------------------------------------------------------------------
stop_kmeshd
cni ADD "/run/netns/$P-cli2" "$SHOP" "$(netconf 1.0.0)"
rc1=$RC c1=$(json_get "$OUT" code) m1=$(json_get "$OUT" msg)
cni ADD "/run/netns/$P-cli2" "$SHOP" "$(netconf 1.0.0 '"failOpen":true')"
rc2=$RC out2=$OUT err2=$ERR
cni STATUS "" "" "$(netconf 1.1.0)"
rc3=$RC c3=$(json_get "$OUT" code)
cni DEL "/run/netns/$P-cli" "$SHOP" "$(netconf 1.0.0)"
rc4=$RC
if [ $rc1 = 1 ] && [ "$c1" = 11 ] &&
   grep -q "enrolling pod shop/cart-1: kmeshd is not reachable at $SOCK: .*(is kmeshd running?) (failOpen is off" <<< "$m1"; then
	ok "kmeshd down: ADD fails closed, code 11, naming the socket and why"
else not_ok "kmeshd down: ADD fails closed with the reason" "rc $rc1 code $c1 msg $m1"; fi
if [ $rc2 = 0 ] && same_json "$out2" "$PREV" && grep -q "failOpen: going on without kmesh" <<< "$err2"; then
	ok "kmeshd down, failOpen: ADD passes prevResult through and says so on stderr"
else not_ok "failOpen passes" "rc $rc2 out $out2 err $err2"; fi
if [ $rc3 = 1 ] && [ "$c3" = 50 ] && [ $rc4 = 0 ]; then
	ok "kmeshd down: STATUS fails with code 50; DEL succeeds (kmeshd prunes when it starts)"
else not_ok "kmeshd down: STATUS 50, DEL 0" "STATUS rc $rc3 code $c3; DEL rc $rc4"; fi
start_kmeshd

# ---- a bad policy: refused with file and line, the previous one kept --------------------
write_conf "enrollment: { namespaces: [shop], exclude_namespaces: [kube-system] }"
kill -HUP "$KMESHD_PID"
for _ in $(seq 100); do grep -q "the previous policy stays" "$LOG" && break; sleep 0.05; done
cni ADD "/run/netns/$P-cli" "$SHOP" "$(netconf 1.0.0)"
if grep -q "enrollment policy: $CONF:1: enrollment: namespaces and exclude_namespaces together: give one .*; the previous policy stays" "$LOG" &&
   [ $RC = 0 ] && grep -q "shop/cart-1" <<< "$(pods)"; then
	ok "a bad enrollment policy on reload: logged with file and line, the previous policy stays"
else not_ok "bad policy on reload" "$(grep 'enrollment policy' "$LOG" | tail -n 3)" "rc $RC $OUT"; fi
stop_kmeshd
start_kmeshd
cni ADD "/run/netns/$P-cli2" "$OTHER" "$(netconf 1.0.0)"
if [ $RC = 1 ] && grep -q "the enrollment policy is unusable, no pod is enrolled until it is fixed: $CONF:1: enrollment: namespaces and exclude_namespaces together" <<< "$(json_get "$OUT" msg)"; then
	ok "a bad enrollment policy at start: ADD fails closed, naming file, line and fault"
else not_ok "bad policy at start fails closed" "rc $RC $OUT"; fi
out=$("$KM_BUILD/kmeshd" --check --config "$CONF" 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "^kmeshd: $CONF:1: enrollment: namespaces and exclude_namespaces together" <<< "$out"; then
	ok "kmeshd --check refuses the bad enrollment policy with file and line"
else not_ok "kmeshd --check checks the enrollment policy" "rc $rc: $out"; fi
write_conf "$policy"
kill -HUP "$KMESHD_PID"
for _ in $(seq 100); do grep -q "pods of namespaces shop" <(tail -n 3 "$LOG") && break; sleep 0.05; done

# ---- kmeshctl through the socket ------------------------------------------------------
"${CTL[@]}" enroll "/run/netns/$P-cli2" --namespace ops --workload job-7 --service-account batch >/dev/null
if grep -qx "ops/job-7 /run/netns/$P-cli2" <<< "$(pods)" && grep -q " batch " <<< "$("${CTL[@]}" enrollments)"; then
	ok "kmeshctl enroll --namespace/--workload/--service-account goes through kmeshd, which keeps them"
else not_ok "kmeshctl enroll through kmeshd" "$("${CTL[@]}" enrollments)"; fi
"${CTL[@]}" unenroll "/run/netns/$P-cli2" >/dev/null

# ---- many pods ----------------------------------------------------------------------
bad=0
for i in $(seq "$NPODS"); do
	ip netns add "$P-p$i"
	cni ADD "/run/netns/$P-p$i" "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=p$i" "$(netconf 1.0.0)"
	[ $RC = 0 ] || bad=$((bad + 1))
	cni DEL "/run/netns/$P-p$i" "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=p$i" "$(netconf 1.0.0)"
	[ $RC = 0 ] || bad=$((bad + 1))
	ip netns del "$P-p$i"
done
left=$("${CTL[@]}" status | grep -cE "/run/netns/$P-p[0-9]+\$")
kept=$(grep -c '"container_id": "ctr-'"$P"'-p[0-9]' "$STATE/enrollments.json")
if [ "$bad" = 0 ] && [ "$left" = 0 ] && [ "$kept" = 0 ]; then
	ok "$NPODS pods added and deleted: every call succeeded, no row and no record left"
else not_ok "$NPODS pods leave nothing" "failed calls: $bad, rows left: $left, records left: $kept"; fi

finish
