# boot: 6.12 7.x 6.12-debug
# timeout: 90
# The L4 connect path with kmesh.ko loaded: the static kmeshd loads its BPF,
# an enrolled cgroup's connects to the VIP are spread over both backends.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
l4_up
l4_check
module_loaded || fail "kmesh.ko is no longer loaded"
pass
