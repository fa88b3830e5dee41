# boot: 6.12 7.x 6.12-debug
# timeout: 90
# Deferred connect and reroute on the first bytes, IPv6 (VIP fd00:96::1,
# backends on ::1), blocking and non-blocking.
. /cases/lib.sh
defer_up
for m in block poll; do
	for p in a b; do
		out=$(in_defer km_defer_client -m $m -n 2 -p /$p "[fd00:96::1]:80" 2>&1)
		echo "$out" | grep -q "^count $p 2$" || fail "v6 $m /$p: $(echo "$out" | oneline)"
	done
done
pass
