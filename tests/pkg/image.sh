#!/usr/bin/env bash
# Image test (root): make image, then run it with podman as a node agent
# (privileged, host network, host PID, /sys/fs/bpf, the cgroup v2 mount and
# /run/netns mounted) on the demo config, and check an enrolled test workload
# gets what it gets from kmeshd installed on the host: the same probes, the
# same answers. Prints "ok"/"not ok" lines and "N passed, N failed, N skipped".
# Run it under flock /tmp/kmesh-host.lock (BPF attaches, netns, cgroups).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/report.sh
. tests/host/lib.sh
ver=$(cat VERSION)
IMG=localhost/kmesh:$ver
VM_BIN=$KM_BUILD/vm/bin
P=kmimg PIN=/sys/fs/bpf/kmesh-img STATE=/run/kmesh-img CTR=kmesh-img-test
WORK=$(mktemp -d /tmp/kmesh-img.XXXXXX)

finish() { report_summary; [ "$FAIL" -eq 0 ]; exit; }
[ "$(id -u)" -eq 0 ] || { skip "image" "needs root"; finish; }
for t in buildah podman; do
	command -v $t >/dev/null || { skip "image" "$t is not installed (scripts/install-deps.sh)"; finish; }
done

# podman's defaults this machine refuses, and why:
# - crun 1.8 refuses hybrid cgroups with a controller on the v2 hierarchy
#   ("cgroups in hybrid mode not supported"); runc runs there.
# - the default RLIMIT_NOFILE (1048576) and RLIMIT_NPROC are above this
#   machine's hard limits, and root here lacks CAP_SYS_RESOURCE to raise them.
PODMAN=(podman)
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] && grep -q . "$KM_CG_ROOT/cgroup.controllers" &&
   command -v runc >/dev/null; then
	PODMAN+=(--runtime runc)
fi
ULIMITS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768)

cleanup() {
	podman rm -f "$CTR" >/dev/null 2>&1
	[ -n "${HOST_PID:-}" ] && kill "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null
	"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
	km_topo_down "$P"
	rm -rf "$WORK" "$STATE"
}
trap cleanup EXIT

if ! out=$(make -s image 2>&1); then
	not_ok "make image" "$(tail -n 8 <<< "$out")"; finish
fi
layers=$(podman image inspect -f '{{len .RootFS.Layers}}' "$IMG" 2>&1)
files=$(podman image mount "$IMG" 2>/dev/null)
list=$([ -n "$files" ] && cd "$files" && find . -type f | sort | tr '\n' ' ')
podman image unmount "$IMG" >/dev/null 2>&1
if [ "$layers" = 1 ] && [ "$list" = "./etc/kmesh/mesh.yaml.example ./usr/bin/kmeshctl ./usr/lib/cni/kmesh-cni ./usr/sbin/kmeshd " ]; then
	ok "make image: $IMG, one layer from scratch: kmeshd, kmeshctl, kmesh-cni, the example config"
else
	not_ok "make image: one layer from scratch" "layers: $layers" "files: $list"
fi

# The DaemonSet's init step: kmesh-cni install from the image into a node's
# CNI directories (here test directories with a bridge conflist)
mkdir -p "$WORK/cni/bin" "$WORK/cni/net.d"
echo '{"cniVersion":"1.0.0","name":"node","plugins":[{"type":"bridge","bridge":"x"}]}' \
	> "$WORK/cni/net.d/10-node.conflist"
out=$("${PODMAN[@]}" run --rm "${ULIMITS[@]}" -v "$WORK/cni/bin:/host/opt/cni/bin" \
	-v "$WORK/cni/net.d:/host/etc/cni/net.d" --entrypoint /usr/lib/cni/kmesh-cni "$IMG" \
	install --bin-dir=/host/opt/cni/bin --conf-dir=/host/etc/cni/net.d 2>&1)
chained=$(python3 -c 'import json,sys; print(" ".join(p["type"] + ":" + p.get("socket", "") for p in json.load(open(sys.argv[1]))["plugins"]))' \
	"$WORK/cni/net.d/10-node.conflist" 2>&1)
if cmp -s "$WORK/cni/bin/kmesh-cni" "$VM_BIN/kmesh-cni" && [ -x "$WORK/cni/bin/kmesh-cni" ] &&
   [ "$chained" = "bridge: kmesh-cni:/run/kmesh/kmeshd.sock" ]; then
	ok "kmesh-cni install from the image: the plugin in the host's CNI bin directory, chained into its conflist"
else
	not_ok "kmesh-cni install from the image" "$out" "plugins: $chained" "$(ls -l "$WORK/cni/bin")"
fi

# The demo's test hosts (scripts/demo.sh): backends in $P-srv, clients in $P-cli
km_topo_up "$P" 99
for i in 2 3 4; do km_backend "$P-srv" "reviews-pod-$i" "10.99.0.$i:8080"; done
km_backend "$P-srv" ratings-v1-pod 10.99.0.2:8081
km_backend "$P-srv" ratings-v2-pod 10.99.0.3:8081
km_backend "$P-srv" reviews-v6-pod-2 "[fd00:99::2]:8080"
km_backend "$P-srv" reviews-v6-pod-3 "[fd00:99::3]:8080"
mkdir -p "$KM_CG_ROOT/$P/enrolled" "$KM_CG_ROOT/$P/other"

wait_gen() {
	for _ in $(seq 100); do
		grep -q '^generation=[1-9]' "$STATE/kmeshd.state" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# probes: what the enrolled workload and a non-enrolled one get; backends
# sorted (round robin's order depends on where it left off), the canary as
# which versions answered
probes() {
	local cli=("$KM_BUILD/tools/km_testcli")
	echo "reviews: $(km_in "$P/enrolled" "$P-cli" "${cli[@]}" -n 9 10.96.0.10:80 | grep -E '^(count|total)' | sort | tr '\n' ' ')"
	echo "ratings: $(km_in "$P/enrolled" "$P-cli" "${cli[@]}" -n 60 10.96.0.11:80 | awk '/^count/ { print $2 } /^total/' | sort | tr '\n' ' ')"
	echo "productpage: $(km_in "$P/enrolled" "$P-cli" "${cli[@]}" -n 2 10.96.0.12:80 | grep -E '^total')"
	echo "ipv6: $(km_in "$P/enrolled" "$P-cli" "${cli[@]}" -n 4 '[fd00:96::10]:80' | grep -E '^(count|total)' | sort | tr '\n' ' ')"
	echo "not enrolled: $(km_in "$P/other" "$P-cli" "${cli[@]}" -n 1 10.96.0.10:80 | grep -E '^total')"
}

# ---- kmeshd on the host ----------------------------------------------------
"$KM_BUILD/kmeshd" --config examples/mesh.yaml --pin-root "$PIN" --state-dir "$STATE" \
	--cgroup "$KM_CG_ROOT" > "$WORK/host.log" 2>&1 &
HOST_PID=$!
if wait_gen && "$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state" \
	enroll "$KM_CG_ROOT/$P/enrolled" > "$WORK/enroll.log" 2>&1; then
	probes > "$WORK/host.out"
else
	not_ok "host kmeshd serves the demo config" "$(tail -n 5 "$WORK/host.log" "$WORK/enroll.log" 2>/dev/null)"
fi
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null; HOST_PID=
"$KM_BUILD/kmeshd" --uninstall --pin-root "$PIN" >/dev/null 2>&1
rm -rf "$STATE"

# ---- the same from the image -------------------------------------------------
mkdir -p "$STATE"
run=("${PODMAN[@]}" run -d --name "$CTR" --privileged --network host --pid host "${ULIMITS[@]}"
	-v /sys/fs/bpf:/sys/fs/bpf -v "$KM_CG_ROOT:$KM_CG_ROOT" -v /run/netns:/run/netns:rshared
	-v "$STATE:$STATE" -v "$PWD/examples/mesh.yaml:/etc/kmesh/mesh.yaml:ro"
	"$IMG" --config /etc/kmesh/mesh.yaml --pin-root "$PIN" --state-dir "$STATE" --cgroup "$KM_CG_ROOT")
if ! out=$("${run[@]}" 2>&1); then
	not_ok "podman run $IMG (privileged, host network and PID)" "$out"; finish
fi
if wait_gen && out=$(podman exec "$CTR" kmeshctl --pin-root "$PIN" --state-file "$STATE/kmeshd.state" \
	enroll "$KM_CG_ROOT/$P/enrolled" 2>&1); then
	ok "podman run $IMG: kmeshd serves the demo config; kmeshctl in the container enrolls"
	probes > "$WORK/image.out"
else
	not_ok "podman run $IMG: kmeshd serves the demo config" "$out" "$(podman logs "$CTR" 2>&1 | tail -n 8)"
fi

if [ ! -s "$WORK/host.out" ] || [ ! -s "$WORK/image.out" ]; then
	not_ok "the image serves the enrolled workload as the host install does" "no probes from one side"
elif ! grep -q '^reviews: .*count reviews-pod-2 3 count reviews-pod-3 3 count reviews-pod-4 3 total ok=9 err=0' "$WORK/host.out" ||
     ! grep -q '^not enrolled: total ok=0 err=1' "$WORK/host.out"; then
	not_ok "the host install serves the demo config (the reference)" "$(cat "$WORK/host.out")"
elif ! out=$(diff "$WORK/host.out" "$WORK/image.out"); then
	not_ok "the image serves the enrolled workload as the host install does" "$out"
else
	ok "the image serves the enrolled workload as the host install does ($(wc -l < "$WORK/host.out") probes: RR, canary, L4 default route, IPv6, not enrolled)"
fi
sed 's/^/# /' "$WORK/image.out" 2>/dev/null

# SIGTERM leaves traffic served (as on the host); --uninstall from the image
podman stop -t 10 "$CTR" >/dev/null 2>&1
if out=$("${PODMAN[@]}" run --rm --privileged --network host "${ULIMITS[@]}" -v /sys/fs/bpf:/sys/fs/bpf \
	-v "$KM_CG_ROOT:$KM_CG_ROOT" "$IMG" --uninstall --pin-root "$PIN" 2>&1) && [ ! -e "$PIN" ]; then
	ok "kmeshd --uninstall from the image removes its pins"
else
	not_ok "kmeshd --uninstall from the image removes its pins" "$out" "$(ls "$PIN" 2>&1)"
fi
finish
