# boot: 6.12 7.x 6.12-debug
# timeout: 150
# Connects through the VIP keep running while kmesh.ko is loaded and
# unloaded 10 times: every connect succeeds and no socket is left stuck in
# SYN_SENT. The host checks dmesg for oopses.
. /cases/lib.sh
[ -f /kmesh.ko ] || skip "no /kmesh.ko in the initramfs (make module found no kernel headers)"
module_unload || fail "rmmod kmesh failed"
l4_up
rm -f /tmp/stop /tmp/traffic.out
(
	while [ ! -e /tmp/stop ]; do
		in_app km_testcli -n 5 -t 5000 "$KM_VIP" 2>&1 | grep -E '^(err|total)'
	done
) > /tmp/traffic.out &
loop=$!
cycles=0
while [ $cycles -lt 10 ]; do
	out=$(insmod /kmesh.ko 2>&1) || fail "cycle $cycles: insmod: $out"
	sleep 0.2
	out=$(rmmod kmesh 2>&1) || fail "cycle $cycles: rmmod: $out"
	sleep 0.2
	cycles=$((cycles + 1))
done
touch /tmp/stop
wait $loop
ok=$(sed -n 's/^total ok=\([0-9]*\) .*/\1/p' /tmp/traffic.out | awk '{ s += $1 } END { print s + 0 }')
errs=$(grep -c '^err' /tmp/traffic.out)
[ "$ok" -gt 0 ] || fail "no connect completed: $(head -n 3 /tmp/traffic.out)"
[ "$errs" = 0 ] || fail "$errs of $((ok + errs)) connects failed: $(grep '^err' /tmp/traffic.out | sort | uniq -c | head -n 3)"
# /proc/net/tcp state column: 02 is SYN_SENT
syn=$(awk 'NR > 1 && $4 == "02"' /proc/net/tcp | wc -l)
[ "$syn" = 0 ] || fail "$syn sockets stuck in SYN_SENT: $(awk 'NR > 1 && $4 == "02" { print $2, $3 }' /proc/net/tcp | head -n 3)"
note "$ok connects through the VIP during 10 insmod/rmmod cycles, 0 failed"
pass
