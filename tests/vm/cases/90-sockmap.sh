# boot: 6.12 7.x
# timeout: 90
# The sockmap programs (bpf/kmesh_sockmap.bpf.c, CO-RE against 6.12's BTF)
# on Debian's own kernel: kmeshd --sockmap loads and attaches them, and a
# loopback connection inside an enabled workload is joined and its bytes
# are redirected, intact and in order, both ways at once.
. /cases/lib.sh
BYTES=$((4 << 20))
# each direction redirects until the peer's receive memory reaches its
# rcvbuf (at least 2 MiB): over 1 MiB in all whatever the timing (the host
# suite's floor, tests/host/sockmap.sh)
FLOOR=$((1 << 20))
smc() { kmeshctl sockmap status | awk -v n="$1" '$1 == n { print $2 }'; }
field() { echo "$2" | sed -n "s/.*$1=\([^ ]*\).*/\1/p" | tail -n 1; }
intact() { [ "$(field ok "$1")" = 1 ] && [ "$(field recv "$1")" = "$BYTES" ]; }

KMESHD_ARGS=--sockmap
l4_up
out=$(kmeshctl sockmap enable "$KM_APP" 2>&1) || fail "kmeshctl sockmap enable $KM_APP: $out"
r0=$(smc redirected_bytes)
[ -n "$r0" ] || fail "no redirected_bytes counter: $(kmeshctl sockmap status 2>&1 | head -n 3 | oneline)"
in_app km_smtest serve 127.0.0.1:7001 --send "$BYTES" --seed 10 --ready-file /tmp/sm.ready \
	> /tmp/sm.srv 2>&1 &
srv_pid=$!
wait_until 100 test -s /tmp/sm.ready || fail "km_smtest serve did not start: $(cat /tmp/sm.srv)"
cli=$(in_app km_smtest dial 127.0.0.1:7001 --send "$BYTES" --seed 11 2>&1)
wait "$srv_pid"
srv=$(cat /tmp/sm.srv)
r1=$(smc redirected_bytes)
intact "$srv" && intact "$cli" || fail "transfer: server: $srv; client: $cli"
[ $((r1 - r0)) -ge $FLOOR ] ||
	fail "redirected $((r1 - r0)) bytes (< $FLOOR): $(kmeshctl sockmap status | oneline)"
note "4 MiB each way over 127.0.0.1: intact, $(((r1 - r0) >> 10)) KiB redirected"
pass
