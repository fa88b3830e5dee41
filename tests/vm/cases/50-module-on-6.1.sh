# boot: 6.1
# A kmesh.ko built for 6.12 must be refused by 6.1 with a clear message, not
# crash it. The message is recorded as a note.
. /cases/lib.sh
[ -f /kmesh.ko ] || skip "no /kmesh.ko in the initramfs (make module found no kernel headers)"
before=$(dmesg | wc -l)
if out=$(insmod /kmesh.ko 2>&1); then
	rmmod kmesh
	fail "insmod of a 6.12 module succeeded on $(uname -r)"
fi
# busybox insmod tries finit_module, then init_module: the kernel says it twice
kmsg=$(dmesg | tail -n +$((before + 1)) | grep -i kmesh | sed 's/^\[ *[0-9.]*\] //' | awk '!seen[$0]++' | head -n 3)
note "insmod: $out"
note "dmesg: ${kmsg:-(nothing)}"
[ -n "$out" ] || fail "insmod failed without a message"
[ ! -d /sys/module/kmesh ] || fail "insmod failed but /sys/module/kmesh exists"
pass
