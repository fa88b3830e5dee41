# boot: 6.12 7.x trixie 6.12-debug
# kmesh.ko loads, exposes its BTF (kfuncs need it), unloads, loads again.
. /cases/lib.sh
[ -f /kmesh.ko ] || skip "no /kmesh.ko in the initramfs (make module found no kernel headers)"
module_unload || fail "rmmod of an earlier kmesh failed"
out=$(insmod /kmesh.ko 2>&1) || fail "insmod /kmesh.ko: $out"
[ -d /sys/module/kmesh ] || fail "insmod succeeded but /sys/module/kmesh is missing"
[ -f /sys/kernel/btf/kmesh ] || fail "/sys/kernel/btf/kmesh is missing: the module has no BTF"
out=$(rmmod kmesh 2>&1) || fail "rmmod kmesh: $out"
[ ! -d /sys/module/kmesh ] || fail "rmmod succeeded but /sys/module/kmesh is still there"
out=$(insmod /kmesh.ko 2>&1) || fail "second insmod /kmesh.ko: $out"
dmesg | grep -q 'kmesh: loaded' || fail "no 'kmesh: loaded' line in dmesg"
pass
