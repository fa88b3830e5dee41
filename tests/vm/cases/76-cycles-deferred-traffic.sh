# boot: 6.12 7.x 6.12-debug
# timeout: 150
# insmod/rmmod cycles with deferred traffic: each cycle loads the module,
# attaches the kfunc user, runs 40 routed clients (20 at a time, some held
# deferred for 100 ms), detaches and unloads. Every request must succeed,
# nothing may stay deferred or in SYN_SENT, and (host side) dmesg stays
# clean.
. /cases/lib.sh
defer_up
defer_down
total=0
for i in 1 2 3 4 5; do
	module_load || fail "cycle $i: insmod failed"
	defer_up
	out=$(in_defer km_defer_client -n 40 -P 20 -w 100 -p /b 127.100.0.1:80 2>&1)
	echo "$out" | grep -q '^total ok=40 err=0$' || fail "cycle $i: $(echo "$out" | oneline)"
	echo "$out" | grep -q '^count b 40$' || fail "cycle $i: not all routed to b: $(echo "$out" | oneline)"
	total=$((total + 40))
	defer_down
	km_kmod_test module | grep -q 'in_flight=0' || fail "cycle $i: sockets still deferred"
	# a detached program is freed after an RCU grace period; its
	# reference on the module goes with it
	wait_until 50 rmmod kmesh 2>/dev/null || fail "cycle $i: rmmod kept failing: $(rmmod kmesh 2>&1)"
done
grep -q ' 02 ' /proc/net/tcp 2>/dev/null && fail "sockets stuck in SYN_SENT"
note "$total deferred requests over 5 insmod/attach/detach/rmmod cycles, all routed"
pass
