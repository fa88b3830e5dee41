# boot: 6.12 7.x 6.12-debug
# timeout: 90
# kmeshd started with kmesh.ko loaded links its programs against the
# module's kfuncs, which pins the module: rmmod must fail cleanly while the
# programs are attached (traffic keeps flowing) and succeed once kmeshd
# --uninstall has detached them.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
l4_up
refs=$(cat /sys/module/kmesh/refcnt)
# kmesh.bpf.c calls the module's kfuncs (L7): its programs must pin it
[ "$refs" -gt 0 ] || fail "kmeshd's programs hold no reference on kmesh.ko (refcnt 0): rmmod could pull the kfuncs from under them"
note "kmesh.ko refcnt with kmeshd's programs attached: $refs"
if out=$(rmmod kmesh 2>&1); then
	fail "rmmod kmesh succeeded with kmeshd's programs attached"
fi
note "rmmod with programs attached: $out"
module_loaded || fail "rmmod failed but the module is gone"
l4_check
kill "$KMESHD_PID"; wait "$KMESHD_PID" 2>/dev/null
out=$(kmeshd --uninstall 2>&1) || fail "kmeshd --uninstall: $out"
# programs are freed after an RCU grace period
wait_until 50 rmmod kmesh 2>/dev/null || fail "rmmod kmesh after --uninstall: $(rmmod kmesh 2>&1)"
pass
