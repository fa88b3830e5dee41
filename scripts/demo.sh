#!/usr/bin/env bash
# The main job, on a fresh Debian bookworm machine, as root:
#   sudo ./scripts/demo.sh
# installs what is missing, builds, starts kmeshd with examples/mesh.yaml and
# sends real traffic through the kernel data path: clients in one network
# namespace dial service VIPs that exist nowhere, and kmesh's connect hook
# sends them to backend pods in another. KEEP=1 leaves it all running.
set -euo pipefail
cd "$(dirname "$0")/.."
KM_ROOT=$PWD

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it loads BPF programs and creates network namespaces)" >&2
	exit 1
fi
if ! command -v clang-19 >/dev/null || ! command -v bpftool >/dev/null ||
   ! pkg-config --atleast-version=1.4 libbpf 2>/dev/null ||
   ! command -v wrk >/dev/null; then
	echo "== installing build and test dependencies (scripts/install-deps.sh)"
	scripts/install-deps.sh
fi
echo "== building"
make -s all

. tests/host/lib.sh
PIN=/sys/fs/bpf/kmesh-demo
STATE=/run/kmesh-demo
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
KMESHD_PID=

cleanup() {
	[ "${KEEP:-0}" = 1 ] && { echo "== KEEP=1: left running (kmeshd pid $KMESHD_PID, namespaces kmdemo-*)"; return; }
	echo "== cleaning up"
	[ -n "$KMESHD_PID" ] && kill "$KMESHD_PID" 2>/dev/null && wait "$KMESHD_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" 2>/dev/null || true
	km_topo_down kmdemo
}
trap cleanup EXIT

echo "== test hosts: namespaces kmdemo-srv (pods) and kmdemo-cli (clients)"
km_topo_up kmdemo 99
for i in 2 3 4; do
	km_backend kmdemo-srv "reviews-pod-$i" "10.99.0.$i:8080"
done
km_backend kmdemo-srv ratings-v1-pod 10.99.0.2:8081
km_backend kmdemo-srv ratings-v2-pod 10.99.0.3:8081
km_backend kmdemo-srv reviews-v6-pod-2 "[fd00:99::2]:8080"
km_backend kmdemo-srv reviews-v6-pod-3 "[fd00:99::3]:8080"

echo "== starting kmeshd with examples/mesh.yaml"
"$KM_BUILD/kmeshd" --config examples/mesh.yaml --pin-root "$PIN" \
	--state-dir "$STATE" > "$STATE.log" 2>&1 &
KMESHD_PID=$!
for _ in $(seq 100); do
	grep -q '^generation=[1-9]' "$STATE/kmeshd.state" 2>/dev/null && break
	sleep 0.1
done
sed 's/^<[0-9]>/  /' "$STATE.log"
"${CTL[@]}" enroll "$KM_CG_ROOT/kmdemo/enrolled"

cli() { km_in kmdemo/enrolled kmdemo-cli "$@"; }
echo
echo "== 9 connects to reviews 10.96.0.10:80 (ROUND_ROBIN over 3 pods)"
cli "$KM_BUILD/tools/km_testcli" -n 9 10.96.0.10:80 | sed 's/^/  /'
echo
echo "== curl http://10.96.0.10/ (the app sees the VIP as its peer)"
cli curl -sS -w '  curl: HTTP %{http_code} from %{remote_ip}:%{remote_port}\n' http://10.96.0.10/ | sed 's/^/  body: /'
echo
echo "== 100 connects to ratings 10.96.0.11:80 (weighted 80/20 canary)"
cli "$KM_BUILD/tools/km_testcli" -n 100 10.96.0.11:80 | grep -E '^(count|total)' | sed 's/^/  /'
echo
echo "== productpage 10.96.0.12:80 is an HTTP listener, served as L4 to its default route"
cli "$KM_BUILD/tools/km_testcli" -n 2 10.96.0.12:80 | grep -E '^(ok|total)' | sed 's/^/  /'
echo
echo "== IPv6: 4 connects to [fd00:96::10]:80"
cli "$KM_BUILD/tools/km_testcli" -n 4 "[fd00:96::10]:80" | grep -E '^(ok|total)' | sed 's/^/  /'
echo
echo "== a process that is not enrolled is left alone (the VIP is unreachable for it)"
km_in kmdemo/other kmdemo-cli "$KM_BUILD/tools/km_testcli" -n 1 10.96.0.10:80 | head -1 | sed 's/^/  /' || true
echo
echo "== kmeshctl status"
"${CTL[@]}" status | sed 's/^/  /'
echo
echo "== kmeshctl dump"
"${CTL[@]}" dump | sed 's/^/  /'
