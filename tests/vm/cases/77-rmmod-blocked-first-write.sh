# boot: 6.12 7.x 6.12-debug
# timeout: 150
# Unload while first writes are blocked inside kmesh.ko. Deferred sockets
# are routed to km_sink, which accepts and never reads: each client's
# 64 MiB first write blocks on full buffers. Each waits inside the module's
# sendmsg after its socket was restored and gave back the socket's own
# module reference.
# With the program detached (what kmeshd --uninstall does), rmmod must be
# refused while they block: each blocked call holds a reference of its own
# (refcnt = clients). Killing the clients returns them through the module;
# then rmmod succeeds. Cycles of 1, 8 and 32 clients, the sink restarted
# each time. An Oops (use after free of the module text) fails the boot.
. /cases/lib.sh
SINK=127.0.0.1:9099
stall_down() {
	km_kmod_test detach >/dev/null 2>&1
	kill -9 $(pidof km_defer_client) 2>/dev/null
	kill $(pidof km_sink) 2>/dev/null
	rmdir "$KM_DEFER_CG" 2>/dev/null
	return 0
}
trap stall_down EXIT
refcnt() { cat /sys/module/kmesh/refcnt; }
mkdir -p "$KM_DEFER_CG"
for clients in 1 8 32; do
	rm -f /tmp/ready.sink
	km_sink --listen $SINK --ready-file /tmp/ready.sink > /tmp/sink.log 2>&1 &
	sink=$!
	wait_until 50 test -s /tmp/ready.sink || fail "km_sink: $(cat /tmp/sink.log)"
	module_load || fail "insmod /kmesh.ko failed"
	out=$(km_kmod_test attach "$KM_DEFER_CG" 127.100.0.1:80 $SINK $SINK 2>&1)
	[ "$out" = "attached kmod=yes" ] || fail "km_kmod_test attach: $out"
	in_defer km_defer_client -m stall -n $clients -P $clients 127.100.0.1:80 \
		> /tmp/stall.out 2>&1 &
	cl=$!
	# every socket deferred, then restored in its first write: in sendmsg
	wait_until 200 sh -c "km_kmod_test module | grep -q 'deferred=$clients .*in_flight=0'" ||
		fail "$clients clients not all in their first write: $(km_kmod_test module)"
	km_kmod_test detach
	# the program (a kfunc user) lets go of the module after a grace period
	wait_until 100 sh -c "[ \$(cat /sys/module/kmesh/refcnt) -le $clients ]" ||
		fail "refcnt stays $(refcnt) with the program detached"
	grep -q '^stall ret' /tmp/stall.out && fail "a stalled write returned: $(oneline < /tmp/stall.out)"
	[ "$(refcnt)" = "$clients" ] ||
		fail "$clients writes blocked inside kmesh.ko hold $(refcnt) module references, expected $clients"
	if out=$(rmmod kmesh 2>&1); then
		fail "rmmod succeeded while $clients first writes were blocked inside kmesh.ko"
	fi
	module_loaded || fail "rmmod failed but the module is gone"
	[ $clients = 1 ] && note "rmmod during a blocked first write: $out"
	kill -9 $(pidof km_defer_client)	# $cl is the in_defer subshell
	wait $cl 2>/dev/null
	module_unload || fail "rmmod after the writers were killed: $(rmmod kmesh 2>&1)"
	kill $sink
	wait $sink 2>/dev/null
	km_kmod_test module >/dev/null 2>&1 && fail "the module's netlink family is still there"
done
pass
