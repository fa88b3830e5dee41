#!/usr/bin/env bash
# Builds (once) the debug kernel the VM suite boots as "6.12-debug": Debian's
# own 6.12 source (linux-source-6.12), x86_64 defconfig with
# tests/vm/debug-kernel.config merged on top (KASAN, lockdep, atomic-sleep
# checks, kmemleak, and what kmesh.ko and the cases need). Cached outside
# the repo:
#   ${KM_VM_CACHE:-/var/cache/kmesh-vm}/dbg/{linux-source-6.12,build}
#   .../dbg/vmlinuz, .../dbg/modules/load (empty: veth is built in)
#   .../dbg/stamp   the source version and the fragment's hash it was built from
# A changed fragment or source reconfigures and rebuilds (incrementally).
# First build here: about 15 minutes on 2 cores (nice'd).
# Prints the directory on success; on failure the reason, exit 1.
#   tests/vm/debug-kernel.sh [--check]   (--check: say whether it is cached)
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${KM_VM_CACHE:-/var/cache/kmesh-vm}
DIR=$CACHE/dbg
TAR=${KSRC_TAR:-/usr/src/linux-source-6.12.tar.xz}
FRAG=$PWD/tests/vm/debug-kernel.config
# options the build must have ended with (a fragment line can be dropped
# by Kconfig when a dependency is missing: say which)
NEED="KASAN KASAN_GENERIC KASAN_INLINE PROVE_LOCKING DEBUG_ATOMIC_SLEEP
DEBUG_KMEMLEAK DEBUG_FS DEBUG_INFO_BTF DEBUG_INFO_BTF_MODULES BPF_SYSCALL
BPF_JIT CGROUP_BPF BPF_STREAM_PARSER NET_SOCK_MSG MODULES MODULE_UNLOAD
TASKS_RCU IPV6 NET_NS VETH BLK_DEV_INITRD DEVTMPFS SERIAL_8250_CONSOLE"

[ -r "$TAR" ] || { echo "no kernel source at $TAR (apt-get install linux-source-6.12)"; exit 1; }
ver=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null || stat -c %Y "$TAR")
want="$ver $(sha256sum < "$FRAG" | cut -c1-16)"

if [ "$(cat "$DIR/stamp" 2>/dev/null)" = "$want" ] && [ -f "$DIR/vmlinuz" ]; then
	[ "${1:-}" = --check ] && echo "cached: $DIR ($want)"
	echo "$DIR"
	exit 0
fi
if [ "${1:-}" = --check ]; then
	echo "not cached (want $want, have $(cat "$DIR/stamp" 2>/dev/null || echo nothing))"
	exit 1
fi

mkdir -p "$DIR"
log=$DIR/build.log
src=$DIR/linux-source-6.12
start=$(date +%s)
if [ ! -f "$src/Makefile" ] || [ "$(cat "$DIR/src.version" 2>/dev/null)" != "$ver" ]; then
	rm -rf "$src"
	tar -xJf "$TAR" -C "$DIR"
	echo "$ver" > "$DIR/src.version"
fi
{
	make -C "$src" O="$DIR/build" x86_64_defconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$DIR/build" "$DIR/build/.config" "$FRAG"
	make -C "$src" O="$DIR/build" olddefconfig
} > "$log" 2>&1 || { echo "configuring the debug kernel failed: $(tail -n 3 "$log")"; exit 1; }
missing=
for o in $NEED; do
	grep -q "^CONFIG_$o=y" "$DIR/build/.config" || missing="$missing $o"
done
[ -z "$missing" ] || { echo "the debug kernel's config lacks:$missing (see $log)"; exit 1; }
# modules too: external modules need the Module.symvers it writes
nice -n 10 make -C "$src" O="$DIR/build" -j"$(nproc)" bzImage modules >> "$log" 2>&1 ||
	{ echo "building the debug kernel failed: $(grep -m 3 -E 'error|Error' "$log")"; exit 1; }
cp "$DIR/build/arch/x86/boot/bzImage" "$DIR/vmlinuz"
mkdir -p "$DIR/modules"
: > "$DIR/modules/load"
echo "$want" > "$DIR/stamp"
echo "debug kernel built in $(( $(date +%s) - start )) s" >> "$log"
echo "$DIR"
