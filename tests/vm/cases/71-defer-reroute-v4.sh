# boot: 6.12 7.x trixie 6.12-debug
# timeout: 150
# Deferred connect and reroute on the first bytes, IPv4: path /a reaches
# backend a, /b backend b, from blocking, poll and epoll clients; a client
# that reads first goes to the fallback (a); 200 parallel clients all
# routed; poll before the first write reports no POLLHUP; nothing stays
# deferred afterwards.
. /cases/lib.sh
defer_up
for m in block poll epoll; do
	for p in a b; do
		out=$(in_defer km_defer_client -m $m -n 3 -p /$p/x 127.100.0.1:80 2>&1)
		echo "$out" | grep -q "^count $p 3$" || fail "$m /$p: $(echo "$out" | oneline)"
		case $m in poll|epoll)
			echo "$out" | grep -q '^first_poll .*HUP' && fail "$m: POLLHUP before the first write: $(echo "$out" | grep first_poll)" ;;
		esac
	done
done
note "poll: $(in_defer km_defer_client -m poll -p /b 127.100.0.1:80 | grep -E '^(connect_ret|first_poll)' | oneline)"
out=$(in_defer km_defer_client -m readfirst -p /b 127.100.0.1:80 2>&1)
echo "$out" | grep -q '^count a 1$' || fail "read-before-write should reach the fallback a: $(echo "$out" | oneline)"
out=$(in_defer km_defer_client -m block -n 200 -P 200 -p /b 127.100.0.1:80 2>&1)
echo "$out" | grep -q '^total ok=200 err=0$' || fail "200 parallel: $(echo "$out" | oneline)"
echo "$out" | grep -q '^count b 200$' || fail "200 parallel not all at b: $(echo "$out" | oneline)"
out=$(in_defer km_defer_client -m block -s 10 -p /b 127.100.0.1:80 2>&1)
echo "$out" | grep -q '^count a 1$' || fail "a head split across writes should take the fallback: $(echo "$out" | oneline)"
st=$(km_kmod_test module)
note "$st"
echo "$st" | grep -q 'in_flight=0' || fail "sockets still deferred: $st"
echo "$st" | grep -qE 'rerouted=[1-9]' || fail "no reroute counted: $st"
echo "$st" | grep -qE 'fallbacks=[1-9]' || fail "no fallback counted: $st"
grep -q SYN_SENT /proc/net/tcp 2>/dev/null && fail "sockets stuck in SYN_SENT"
pass
