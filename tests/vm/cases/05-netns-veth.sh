# boot: 6.12 6.1 7.x
# The guest can build test hosts: a veth pair (veth.ko from the image) with
# one end in a network namespace of its own and a server inside, reached over
# TCP. The recipe for later cases, with busybox's limits: `ip link add ...
# type veth peer name X` ignores the peer name (the peer is found by its
# @link), and there is no `ip netns`: a sleeping process holds the namespace,
# `ip link set DEV netns PID` moves into it, nsenter -t PID -n enters it.
. /cases/lib.sh
unshare -n sleep 600 &
holder=$!
trap 'kill $holder $(pidof km_testsrv) 2>/dev/null; ip link del kmv0 2>/dev/null' EXIT
ns_ready() { [ "$(readlink /proc/$holder/ns/net)" != "$(readlink /proc/self/ns/net)" ]; }
wait_until 50 ns_ready || fail "unshare -n did not create a namespace"
# veth.ko from the image, or built in (the debug kernel)
out=$(ip link add kmv0 type veth 2>&1) ||
	fail "ip link add kmv0 type veth: $out$([ -d /sys/module/veth ] || echo " (veth.ko is not loaded: see the boot notes)")"
peer=$(ip -o link | sed -n 's/^[0-9]*: \([^@:]*\)@kmv0:.*/\1/p')
[ -n "$peer" ] || fail "no peer of kmv0: $(ip -o link | cut -c1-60)"
out=$(ip link set "$peer" netns "$holder" 2>&1) || fail "ip link set $peer netns: $out"
ip addr add 10.200.0.1/24 dev kmv0 && ip link set kmv0 up || fail "kmv0 up"
nsenter -t "$holder" -n sh -c "ip link set lo up && ip addr add 10.200.0.2/24 dev $peer && ip link set $peer up" ||
	fail "$peer up inside the namespace"
nsenter -t "$holder" -n km_testsrv --name ns --listen 10.200.0.2:8080 \
	--ready-file /tmp/ready.ns > /tmp/ns.log 2>&1 &
wait_until 100 test -s /tmp/ready.ns || fail "server in the namespace did not start: $(cat /tmp/ns.log)"
out=$(km_testcli -n 2 -t 5000 10.200.0.2:8080 2>&1)
echo "$out" | grep -q '^total ok=2 ' || fail "km_testcli to 10.200.0.2:8080 over veth: $(echo "$out" | tail -n 2)"
echo "$out" | grep -q '^count ns 2$' || fail "unexpected backend: $(echo "$out" | grep '^count')"
pass
