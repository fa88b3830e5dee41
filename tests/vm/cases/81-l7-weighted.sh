# boot: 6.12 7.x 6.12-debug
# timeout: 400
# weighted_clusters a 80 / b 20 on route /w over 1,000 connections through
# the kernel router: a must get 800 +- 60 (the pick is random per
# connection; 60 is about 4.7 standard deviations of the binomial).
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
l7_up
out=$(in_app km_testcli -t 10000 -n 1000 -P /w "$KM_L7_VIP" 2>&1)
echo "$out" | grep -q '^total ok=1000 err=0$' || fail "1000 connections: $(echo "$out" | grep -E '^(err|total)' | sort | uniq -c | head -n 4 | oneline)"
a=$(echo "$out" | sed -n 's/^count a \([0-9]*\)$/\1/p')
b=$(echo "$out" | sed -n 's/^count b \([0-9]*\)$/\1/p')
other=$(echo "$out" | grep '^count' | grep -vE '^count (a|b) ' | oneline)
[ -z "$other" ] || fail "connections reached other backends: $other"
[ "${a:-0}" -ge 740 ] && [ "${a:-0}" -le 860 ] || fail "a got ${a:-0} of 1000, expected 800 +- 60 (b ${b:-0})"
note "weighted 80/20 over 1000 connections: a $a, b $b"
pass
