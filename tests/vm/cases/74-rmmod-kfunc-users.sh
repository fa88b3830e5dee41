# boot: 6.12 7.x 6.12-debug
# timeout: 60
# Unload is refused while a program using the kfuncs is attached, and
# allowed after it is detached.
. /cases/lib.sh
defer_up
out=$(rmmod kmesh 2>&1) && fail "rmmod succeeded while a kfunc user is attached"
note "rmmod while attached: $out"
defer_down
# the detached program is freed after an RCU grace period
wait_until 50 rmmod kmesh 2>/dev/null || fail "rmmod after detach: $(rmmod kmesh 2>&1)"
pass
