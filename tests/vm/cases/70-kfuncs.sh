# boot: 6.12 7.x trixie 6.12-debug
# timeout: 60
# kmesh.ko's kfuncs: callable from connect4/6 (the test object loads and
# finds the module), refused for any other program type (a bind4 program
# calling one must fail the verifier), and reported over netlink.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
out=$(km_kmod_test refused 2>&1) || fail "a program other than connect4/6 calling a kmesh kfunc: $out"
note "$out"
echo "$out" | grep -q 'not allowed\|calling kernel function' || fail "unexpected refusal text: $out"
mkdir -p /sys/fs/cgroup/kt
out=$(km_kmod_test attach /sys/fs/cgroup/kt 127.100.0.1:80 127.0.0.1:8081 127.0.0.1:8082 2>&1) ||
	fail "connect4/6 object using the kfuncs did not load: $out"
km_kmod_test detach
rmdir /sys/fs/cgroup/kt
[ "$out" = "attached kmod=yes" ] || fail "attach: $out"
out=$(km_kmod_test module 2>&1) || fail "netlink family kmesh: $out"
echo "$out" | grep -q 'genl=1 version=0.2.0 abi=2 defer=1' || fail "netlink: $out"
pass
