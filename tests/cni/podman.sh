#!/usr/bin/env bash
# kmesh-cni under a real container runtime: Debian's podman 4.3 with its CNI
# backend and containernetworking-plugins. Two CNI networks chain bridge +
# host-local + kmesh-cni: kmcni-shop (defaultNamespace shop, which the
# enrollment policy meshes) and kmcni-plain (namespace default, not meshed);
# podman passes no K8S_POD_NAMESPACE, so the network says it. The image is
# busybox-static imported with `podman import` (no registry), in a private
# podman storage. A container on kmcni-shop reaches the service VIP through
# kmesh, one on kmcni-plain does not; removing a container unenrolls it;
# kmeshd stopped: `podman run` fails with the reason, or runs with
# failOpen; 200 containers run and removed (KM_CNI_CONTAINERS) leave no
# enrollment.
# Root; run under flock /tmp/kmesh-host.lock. Prints ok/not ok lines and
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
KM_ROOT=$PWD
. tests/host/lib.sh
. tests/lib/report.sh

P=kmp
WORK=$(mktemp -d /tmp/kmesh-podman.XXXXXX)
PIN=/sys/fs/bpf/kmesh-podman-test
STATE=$WORK/state
CONF=$WORK/mesh.yaml
LOG=$WORK/kmeshd.log
. tests/cni/lib.sh
NCTR=${KM_CNI_CONTAINERS:-200}
# test-only subnets on bridges this test makes; the VIP is routed nowhere
SHOP_NET=10.211.0 PLAIN_NET=10.212.0 VIP=10.211.9.9
IMG=localhost/kmesh-cni-busybox:1

finish() { report_summary; [ "$FAIL" -eq 0 ]; exit; }
[ "$(id -u)" -eq 0 ] || { skip "podman + kmesh-cni" "needs root"; finish; }
for t in podman busybox; do
	command -v $t >/dev/null || { skip "podman + kmesh-cni" "$t is not installed (scripts/install-deps.sh)"; finish; }
done
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] ||
	{ skip "podman + kmesh-cni" "containernetworking-plugins is not installed"; finish; }
if grep -qE "^($SHOP_NET|$PLAIN_NET)\." <<< "$(ip route)"; then
	skip "podman + kmesh-cni" "$SHOP_NET.0/24 or $PLAIN_NET.0/24 is routed on this host already"; finish
fi

# podman's settings for this machine (tests/pkg/image.sh says why), its own
# storage, and CNI config and plugin directories of its own
mkdir -p "$WORK/net.d" "$WORK/bin" "$WORK/rootfs/bin" "$STATE"
cat > "$WORK/containers.conf" <<EOT
[network]
network_backend = "cni"
cni_plugin_dirs = ["$WORK/bin"]
network_config_dir = "$WORK/net.d"
EOT
export CONTAINERS_CONF=$WORK/containers.conf
PODMAN=(podman --root "$WORK/storage" --runroot "$WORK/run" --cgroup-manager cgroupfs)
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] && grep -q . "$KM_CG_ROOT/cgroup.controllers" &&
   command -v runc >/dev/null; then
	PODMAN+=(--runtime runc)
fi
RUN=(run --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768)

cleanup() {
	"${PODMAN[@]}" rm -a -f >/dev/null 2>&1
	stop_kmeshd
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	[ -n "${SRV_PID:-}" ] && kill "$SRV_PID" 2>/dev/null
	"${PODMAN[@]}" system reset -f >/dev/null 2>&1
	ip link del "$P-shop0" 2>/dev/null
	ip link del "$P-plain0" 2>/dev/null
	rm -rf /var/lib/cni/networks/kmcni-shop /var/lib/cni/networks/kmcni-plain
	[ "$FAIL" -eq 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT

for f in /usr/lib/cni/*; do ln -s "$f" "$WORK/bin/"; done
ln -s "$CNI_BIN" "$WORK/bin/kmesh-cni"
# network NAME BRIDGE SUBNET NAMESPACE [MEMBERS]
network() {
	cat > "$WORK/net.d/$1.conflist" <<-EOT
	{ "cniVersion": "1.0.0", "name": "$1", "plugins": [
	  { "type": "bridge", "bridge": "$2", "isGateway": true,
	    "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$3.0/24" }]] } },
	  { "type": "kmesh-cni", "socket": "$SOCK", "defaultNamespace": "$4"${5:+, $5} } ] }
	EOT
}
network kmcni-shop "$P-shop0" "$SHOP_NET" shop
network kmcni-plain "$P-plain0" "$PLAIN_NET" default
network kmcni-open "$P-shop0" "$SHOP_NET" shop '"failOpen": true'

# busybox from busybox-static, imported (no registry)
cp "$(command -v busybox)" "$WORK/rootfs/bin/busybox"
for a in sh nc sleep cat tail; do ln -s busybox "$WORK/rootfs/bin/$a"; done
if ! out=$(tar -C "$WORK/rootfs" -c . | "${PODMAN[@]}" import - "$IMG" 2>&1); then
	not_ok "podman import of busybox-static" "$out"; finish
fi

# the service: VIP:80 -> the backend on the shop bridge's gateway address
cat > "$CONF" <<EOT
enrollment: { namespaces: [shop] }
static_resources:
  listeners:
  - name: svc
    address: { socket_address: { address: $VIP, port_value: 80 } }
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
        - endpoint: { address: { socket_address: { address: $SHOP_NET.1, port_value: 18080 } } }
EOT
ip link add "$P-shop0" type bridge && ip addr add "$SHOP_NET.1/24" dev "$P-shop0" &&
	ip link set "$P-shop0" up || { not_ok "the test bridge"; finish; }
ready=$WORK/srv.ready
"$KM_BUILD/tools/km_testsrv" --name shop-backend --listen "$SHOP_NET.1:18080" --ready-file "$ready" >/dev/null 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
start_kmeshd || { not_ok "kmeshd starts" "$(tail -n 5 "$LOG")"; finish; }

# probe NETWORK NAME: a container that asks the VIP once: "shop-backend"
# (the backend's answer), or "unreached: " and what was said (busybox's
# wget crashes in a rootfs without NSS files, nc does not)
probe() {
	local o
	o=$("${PODMAN[@]}" "${RUN[@]}" --rm --network "$1" --name "$2" "$IMG" \
		sh -c "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $VIP 80" 2>&1)
	if grep -q '^HTTP/1.1 200' <<< "$o" && grep -q 'shop-backend' <<< "$o"; then
		echo shop-backend
	else
		echo "unreached: $o"
	fi
}

out=$(probe kmcni-shop shop-probe)
if [ "$out" = shop-backend ] && [ -z "$(pods | grep shop-probe)" ]; then
	ok "a container on the meshed network (namespace shop) reaches the VIP through kmesh; removed, it is unenrolled"
else not_ok "meshed container reaches the VIP" "got: $out" "$(pods)" "$(tail -n 5 "$LOG")"; fi

out=$(probe kmcni-plain plain-probe)
if grep -q unreached <<< "$out" && ! grep -q shop-backend <<< "$out"; then
	ok "a container in namespace default (not meshed) does not reach the VIP"
else not_ok "container outside the policy does not reach the VIP" "got: $out"; fi

# a long-running container: enrolled while it runs, unenrolled when removed
"${PODMAN[@]}" "${RUN[@]}" -d --network kmcni-shop --name shop-web "$IMG" sleep 600 >/dev/null 2>&1
while_up=$(pods | grep -c '^shop/shop-web ')
cid=$("${PODMAN[@]}" inspect -f '{{.Id}}' shop-web 2>/dev/null)
ck=$("${CTL[@]}" -o json enrollments | grep -c "\"container_id\": \"$cid\"")
"${PODMAN[@]}" rm -f shop-web >/dev/null 2>&1
after=$(pods | grep -c '^shop/shop-web ')
if [ "$while_up" = 1 ] && [ "$ck" = 1 ] && [ "$after" = 0 ]; then
	ok "podman run -d: enrolled as shop/shop-web with its container id; podman rm: unenrolled"
else not_ok "enrolled while running, unenrolled on removal" "while up: $while_up (container id seen: $ck), after rm: $after" "$(pods)"; fi

# kmeshd stopped: fail closed with the reason, or open with failOpen
stop_kmeshd
closed=$(probe kmcni-shop shop-closed)
rc_closed=$?
open=$(probe kmcni-open shop-open)
"${PODMAN[@]}" rm -f shop-closed shop-open >/dev/null 2>&1
if grep -q "kmeshd is not reachable at $SOCK" <<< "$closed" && grep -q "failOpen is off" <<< "$closed" &&
   ! grep -q shop-backend <<< "$closed"; then
	ok "kmeshd stopped: podman run fails, and says kmeshd is not reachable and failOpen is off"
else not_ok "kmeshd stopped: fails closed with the reason" "rc $rc_closed: $closed"; fi
if grep -q unreached <<< "$open" && ! grep -q "not reachable" <<< "$open"; then
	ok "kmeshd stopped, failOpen network: the container runs, unmeshed (VIP not reached)"
else not_ok "failOpen: the container runs" "$open"; fi
start_kmeshd || { not_ok "kmeshd restarts" "$(tail -n 5 "$LOG")"; finish; }

# many containers, one after the other, then no enrollment left
bad=0
for i in $(seq "$NCTR"); do
	out=$(probe kmcni-shop "loop-$i")
	[ "$out" = shop-backend ] || bad=$((bad + 1))
done
left=$(pods | grep -c '^shop/loop-')
rowsleft=$("${CTL[@]}" status | grep -cE '^  netns ')
if [ "$bad" = 0 ] && [ "$left" = 0 ] && [ "$rowsleft" = 0 ]; then
	ok "$NCTR containers run (each reached the VIP) and removed: no enrollment left"
else not_ok "$NCTR containers leave nothing" "failed: $bad, records left: $left, rows left: $rowsleft"; fi

finish
