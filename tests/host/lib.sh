# shellcheck shell=bash
# Test hosts for kmesh on the real kernel: network namespaces joined by veth,
# backend servers inside them, and cgroups to run clients in. Sourced by
# tests/host/run.sh and scripts/demo.sh.
#
# Topology for prefix P and subnet N (e.g. kmt, 98):
#   P-srv   backends: veth P-s0 10.N.0.1/24 fd00:N::1/64, extra addresses
#           10.N.0.2-9 and fd00:N::2-9 for one server each;
#           veth P-s1 10.N.1.1/24 towards P-cli2
#   P-cli   clients: veth P-c0 10.N.0.100/24 fd00:N::100/64, no default
#           route, so an unrewritten VIP fails with ENETUNREACH and no
#           packet ever leaves
#   P-cli2  clients: veth P-c1 10.N.1.100/24 (netns enrollment tests)

: "${KM_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${KM_BUILD:=$KM_ROOT/build}"
KM_CG_ROOT=${KM_CG_ROOT:-$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)}

km_ns() { ip netns exec "$@"; }

km_topo_up() {
	local p=$1 n=$2 i
	km_topo_down "$p"
	ip netns add "$p-srv"
	ip netns add "$p-cli"
	ip netns add "$p-cli2"
	ip link add "$p-s0" type veth peer name "$p-c0"
	ip link set "$p-s0" netns "$p-srv"
	ip link set "$p-c0" netns "$p-cli"
	ip link add "$p-s1" type veth peer name "$p-c1"
	ip link set "$p-s1" netns "$p-srv"
	ip link set "$p-c1" netns "$p-cli2"
	for ns in "$p-srv" "$p-cli" "$p-cli2"; do
		km_ns "$ns" ip link set lo up
		# no IPv6 duplicate address detection delay
		km_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	km_ns "$p-srv" ip link set "$p-s0" up
	km_ns "$p-srv" ip link set "$p-s1" up
	km_ns "$p-srv" ip addr add "10.$n.0.1/24" dev "$p-s0"
	km_ns "$p-srv" ip addr add "fd00:$n::1/64" dev "$p-s0" nodad
	for i in 2 3 4 5 6 7 8 9; do
		km_ns "$p-srv" ip addr add "10.$n.0.$i/32" dev "$p-s0"
		km_ns "$p-srv" ip addr add "fd00:$n::$i/128" dev "$p-s0" nodad
	done
	km_ns "$p-srv" ip addr add "10.$n.1.1/24" dev "$p-s1"
	km_ns "$p-cli" ip link set "$p-c0" up
	km_ns "$p-cli" ip addr add "10.$n.0.100/24" dev "$p-c0"
	km_ns "$p-cli" ip addr add "fd00:$n::100/64" dev "$p-c0" nodad
	km_ns "$p-cli2" ip link set "$p-c1" up
	km_ns "$p-cli2" ip addr add "10.$n.1.100/24" dev "$p-c1"
	km_ns "$p-cli2" ip route add "10.$n.0.0/24" via "10.$n.1.1"
	mkdir -p "$KM_CG_ROOT/$p/enrolled/child" "$KM_CG_ROOT/$p/other"
}

km_topo_down() {
	local p=$1 ns
	for ns in "$p-srv" "$p-cli" "$p-cli2"; do
		if [ -e "/run/netns/$ns" ]; then
			# kill whatever still runs in it (backends)
			ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		fi
	done
	if [ -d "$KM_CG_ROOT/$p" ]; then
		local d
		for d in $(find "$KM_CG_ROOT/$p" -depth -type d); do
			xargs -r kill < "$d/cgroup.procs" 2>/dev/null
			rmdir "$d" 2>/dev/null
		done
	fi
	return 0
}

# km_backend NS NAME ADDR:PORT...  start a km_testsrv and wait until bound
km_backend() {
	local ns=$1 name=$2 ready
	shift 2
	ready=$(mktemp -u "/tmp/km-ready-$name.XXXXXX")
	local args=()
	for a in "$@"; do args+=(--listen "$a"); done
	km_ns "$ns" "$KM_BUILD/tools/km_testsrv" --name "$name" "${args[@]}" \
		--ready-file "$ready" >/dev/null 2>&1 &
	for _ in $(seq 100); do
		[ -s "$ready" ] && { rm -f "$ready"; return 0; }
		sleep 0.05
	done
	echo "backend $name did not start" >&2
	return 1
}

# km_in CGROUP NS CMD...  run CMD in cgroup CGROUP (relative to the cgroup v2
# root) and network namespace NS. The cgroup is joined first: `ip netns
# exec` remounts /sys and would hide the cgroup filesystem.
km_in() {
	local cg=$1 ns=$2
	shift 2
	(
		echo "$BASHPID" > "$KM_CG_ROOT/$cg/cgroup.procs" || exit 99
		exec nsenter --net="/run/netns/$ns" "$@"
	)
}

# km_wait_gen CTL_ARGS... GEN: wait until the live generation is >= GEN
km_gen() {
	"$KM_BUILD/kmeshctl" "$@" -o json status | sed -n 's/^  "generation": \([0-9]*\).*/\1/p'
}

# km_dns_start ZONE LOG: start km_dns_stub, a DNS server the test controls
# on 127.0.0.1 serving the zone file ZONE (tests/tools/km_dns_stub.c), and
# wait until it listens. Sets KM_DNS_PID and KM_DNS_SERVER (ADDR:PORT for
# kmeshd --dns-server): a free port the first time, the same one again
# after km_dns_stop, since kmeshd knows only that one.
km_dns_start() {
	local ready
	ready=$(mktemp -u /tmp/km-dns-ready.XXXXXX)
	"$KM_BUILD/tools/km_dns_stub" --listen "${KM_DNS_SERVER:-127.0.0.1:0}" \
		--zone "$1" --ready-file "$ready" >> "$2" 2>&1 &
	KM_DNS_PID=$!
	for _ in $(seq 100); do
		if [ -s "$ready" ]; then
			KM_DNS_SERVER=$(cat "$ready")
			rm -f "$ready"
			return 0
		fi
		sleep 0.05
	done
	echo "km_dns_stub did not start: $(tail -2 "$2")" >&2
	return 1
}
km_dns_stop() {
	[ -n "${KM_DNS_PID:-}" ] || return 0
	kill "$KM_DNS_PID" 2>/dev/null
	wait "$KM_DNS_PID" 2>/dev/null
	KM_DNS_PID=
}
# km_dns_zone FILE LINE...: the stub's answers, replaced at once (rename)
km_dns_zone() {
	local f=$1
	shift
	printf '%s\n' "$@" > "$f.tmp" && mv "$f.tmp" "$f"
}
