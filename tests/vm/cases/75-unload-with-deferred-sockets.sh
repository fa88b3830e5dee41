# boot: 6.12 7.x 6.12-debug
# timeout: 60
# Unload safety with sockets in flight: a socket is held deferred (connected,
# not yet written) while the program is detached. rmmod must be refused
# while that socket holds the module; the socket's first write still works
# (no program to re-run: it goes to its fallback, a); after it closes,
# rmmod succeeds.
. /cases/lib.sh
defer_up
in_defer km_defer_client -w 3000 -p /b 127.100.0.1:80 > /tmp/held.out 2>&1 &
held=$!
wait_until 50 sh -c 'km_kmod_test module | grep -q "in_flight=1"' ||
	fail "no deferred socket in flight: $(km_kmod_test module)"
km_kmod_test detach
out=$(rmmod kmesh 2>&1) && fail "rmmod succeeded with a deferred socket in flight"
note "rmmod with a socket in flight: $out"
wait $held
grep -q '^count a 1$' /tmp/held.out || fail "the held socket's write: $(oneline < /tmp/held.out)"
km_kmod_test module | grep -q 'in_flight=0' || fail "still in flight: $(km_kmod_test module)"
out=$(rmmod kmesh 2>&1) || fail "rmmod after the socket closed: $out"
pass
