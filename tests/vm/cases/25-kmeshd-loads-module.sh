# boot: 6.12 7.x 6.12-debug
# timeout: 90
# kmeshd loads kmesh.ko itself when it is installed (modprobe), checks its
# BTF and netlink family, and kmeshctl status shows it; L4 still routes.
. /cases/lib.sh
module_unload || fail "rmmod kmesh failed"
[ -f /kmesh.ko ] || skip "no /kmesh.ko in the initramfs"
d=/lib/modules/$(uname -r)/extra
# later cases expect no installed module: remove it whatever happens
uninstall_module() { l4_down; rm -f "$d/kmesh.ko"; depmod; module_unload; }
trap uninstall_module EXIT
mkdir -p "$d" && cp /kmesh.ko "$d/" && depmod || fail "installing kmesh.ko under $d failed"
l4_up
trap uninstall_module EXIT
module_loaded || fail "kmeshd did not load kmesh.ko: $(grep -i 'kmesh.ko' /tmp/kmeshd.log)"
grep -q 'kmesh.ko loaded with BTF' /tmp/kmeshd.log || fail "kmeshd did not report the module: $(grep -i module /tmp/kmeshd.log)"
st=$(kmeshctl status)
echo "$st" | grep -q '^module:      kmesh.ko 0.2.0 (kfunc ABI 2), BTF present, deferred connect on' ||
	fail "kmeshctl status: $(echo "$st" | grep -A1 '^module')"
l4_check
pass
