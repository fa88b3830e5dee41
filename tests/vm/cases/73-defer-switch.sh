# boot: 6.12 7.x 6.12-debug
# timeout: 90
# The runtime switch: with deferral off (netlink, kmeshctl module defer off)
# connects are not deferred and go L4 (a) whatever the path; back on, /b
# reaches b again.
. /cases/lib.sh
defer_up
out=$(kmeshctl module defer off 2>&1) || fail "kmeshctl module defer off: $out"
out=$(in_defer km_defer_client -p /b 127.100.0.1:80 2>&1)
echo "$out" | grep -q '^count a 1$' || fail "deferral off: /b should go L4 to a: $(echo "$out" | oneline)"
km_kmod_test module | grep -q 'defer=0' || fail "netlink still reports defer=1"
out=$(kmeshctl module defer on 2>&1) || fail "kmeshctl module defer on: $out"
out=$(in_defer km_defer_client -p /b 127.100.0.1:80 2>&1)
echo "$out" | grep -q '^count b 1$' || fail "deferral back on: /b should reach b: $(echo "$out" | oneline)"
pass
