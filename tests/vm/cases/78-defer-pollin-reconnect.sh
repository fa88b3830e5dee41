# boot: 6.12 7.x 6.12-debug
# timeout: 90
# Two ways an application meets a deferred socket before its first write.
# - It waits for input first (a server-speaks-first client): poll(POLLIN)
#   or epoll(EPOLLIN) alone must connect to the fallback (a) at once, as a
#   read does, instead of leaving the socket deferred with nothing ever
#   sent. TCP_INFO then shows the connection made, and the request that
#   follows (/b, which routing would send to b) goes to a.
# - It calls connect() again: EISCONN, as for a connected socket, and the
#   socket stays deferred: /b is then routed to b.
. /cases/lib.sh
defer_up
for v in "$KM_VIP" "[fd00:96::1]:80"; do
	for m in pollin epollin; do
		out=$(in_defer km_defer_client -m $m -p /b "$v" 2>&1)
		echo "$out" | grep -qE '^after_pollin .* state=(ESTABLISHED|SYN_SENT)$' ||
			fail "$m $v: the wait for input left the socket unconnected: $(echo "$out" | oneline)"
		echo "$out" | grep -q '^count a 1$' ||
			fail "$m $v: /b after a wait for input should go to the fallback a: $(echo "$out" | oneline)"
	done
	for m in block poll; do
		out=$(in_defer km_defer_client -m $m -c -p /b "$v" 2>&1)
		echo "$out" | grep -q '^second_connect ret=-1 errno=EISCONN$' ||
			fail "$m $v: second connect(): $(echo "$out" | oneline)"
		echo "$out" | grep -q '^count b 1$' ||
			fail "$m $v: /b after a second connect() should be routed to b: $(echo "$out" | oneline)"
	done
done
pass
