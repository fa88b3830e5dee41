# boot: 6.12
# timeout: 120
# What cannot be routed on takes the listener's default route (a): a
# client that reads before it writes, a request head split across two
# writes. The deferred-connect client of the kmod tests (km_defer_client)
# makes those; the same client in one write is routed.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
l7_up
d0=$(counter l7_default_route)
out=$(in_app km_defer_client -s 10 -p /b "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^ok backend=a ' || fail "split head /b: expected the default route a: $(echo "$out" | oneline)"
out=$(in_app km_defer_client -m readfirst -p /b "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^ok backend=a ' || fail "read first /b: expected the fallback a: $(echo "$out" | oneline)"
out=$(in_app km_defer_client -p /b "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^ok backend=b ' || fail "the same client, one write, /b: expected b: $(echo "$out" | oneline)"
d1=$(counter l7_default_route)
[ $((d1 - d0)) -ge 1 ] || fail "l7_default_route did not count the split head ($d0 -> $d1)"
l7_expect "an ordinary /b still routes to b" b -n 2 -P /b
pass
