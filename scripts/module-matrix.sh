#!/usr/bin/env bash
# make module-matrix: kmesh.ko built for every supported Debian kernel with
# that kernel's own headers and compiler, warnings as errors. Prints one
# "ok"/"not ok" line per kernel and "N passed, N failed, N skipped".
#
#   bookworm-backports  the host's linux-headers-$KVER (6.12.95) and gcc-12
#   trixie, sid         a debootstrap chroot of that suite (minbase with
#                       linux-headers-amd64, make, gcc, dwarves), kept in
#                       ${KM_MATRIX_CACHE:-/var/cache/kmesh-matrix}/<suite>
#
# The first run creates the chroots (needs root and deb.debian.org; about
# 1-2 min each); later runs reuse them (KM_MATRIX_UPDATE=1 upgrades them to
# the suite's current kernel first). Each module lands in
# build/module-matrix/<kernel release>/kmesh.ko (tests/vm/run.sh boots the
# unstable one). KM_MATRIX_ONLY="sid" builds only those.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/report.sh

CACHE=${KM_MATRIX_CACHE:-/var/cache/kmesh-matrix}
KVER=${KVER:-6.12.95+deb12-amd64}
SUITES=${KM_MATRIX_ONLY:-bookworm-backports trixie sid}
OUT=build/module-matrix
MIRROR=http://deb.debian.org/debian
LOG=$(mktemp /tmp/kmesh-matrix.XXXXXX)
trap 'rm -f "$LOG"' EXIT

# headers_in ROOT: the newest linux-headers-*-amd64 release in ROOT
headers_in() {
	ls -d "$1"/usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1 |
		sed 's|.*/linux-headers-||'
}

# chroot_setup SUITE: creates or refreshes $CACHE/SUITE; prints why not
chroot_setup() {
	local s=$1 root=$CACHE/$1 t0
	if [ -d "$root" ]; then
		[ -n "${KM_MATRIX_UPDATE:-}" ] || return 0
		chroot "$root" sh -c 'apt-get -q update && apt-get -qy upgrade' > "$LOG" 2>&1 ||
			{ echo "apt-get upgrade in $root failed: $(tail -n 1 "$LOG")"; return 1; }
		return 0
	fi
	command -v debootstrap >/dev/null || { echo "debootstrap is not installed"; return 1; }
	[ "$(id -u)" -eq 0 ] || { echo "creating $root needs root"; return 1; }
	mkdir -p "$CACHE" && rm -rf "$root.tmp"
	t0=$(date +%s)
	debootstrap --variant=minbase --include=linux-headers-amd64,make,gcc,dwarves \
		"$s" "$root.tmp" "$MIRROR" > "$LOG" 2>&1 ||
		{ echo "debootstrap $s failed: $(tail -n 1 "$LOG")"; return 1; }
	mv "$root.tmp" "$root"
	echo "# $s: chroot created in $(( $(date +%s) - t0 )) s ($root)" >&2
}

# build ROOT KREL: copies the module source into ROOT and builds it there
# with ROOT's headers and compiler (ROOT=/ for the host); the output is in
# $LOG. objtool reads /proc: mounted in a private mount namespace, so
# nothing outlives the build.
build() {
	local root=$1 krel=$2 src=$1/build/kmesh
	[ "$root" != / ] || src=$OUT/src-$krel
	rm -rf "$src" && mkdir -p "$src" && cp -r Kbuild VERSION kmod include "$src/" || return 1
	rm -f "$src"/kmod/*.o "$src"/kmod/*.ko "$src"/kmod/.*.cmd
	if [ "$root" = / ]; then
		nice -n 10 make -C "/usr/src/linux-headers-$krel" M="$(realpath "$src")" \
			KCFLAGS=-Werror -j2 modules > "$LOG" 2>&1
	else
		unshare --mount --propagation private sh -c 'mount -t proc proc "$1/proc" &&
			exec chroot "$1" nice -n 10 make -C "/usr/src/linux-headers-$2" \
				M=/build/kmesh KCFLAGS=-Werror -j2 modules' sh "$root" "$krel" \
			> "$LOG" 2>&1
	fi || return 1
	mkdir -p "$OUT/$krel" && cp "$src/kmod/kmesh.ko" "$OUT/$krel/kmesh.ko"
}

# One matrix run at a time per cache: the chroots' build directories are
# shared by every checkout on this machine.
if [ "$(id -u)" -eq 0 ] && mkdir -p "$CACHE" 2>/dev/null; then
	exec 9> "$CACHE/.lock" && flock 9
fi

# DKMS builds kmesh for the kernels this regex admits: each one built here,
# and not 6.1 (no kfuncs from cgroup sock_addr programs there)
DKMS_RANGE=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$/\1/p' dkms/dkms.conf)
if [ -z "$DKMS_RANGE" ]; then
	not_ok "module-matrix: dkms/dkms.conf has a BUILD_EXCLUSIVE_KERNEL"
elif [[ 6.1.0-41-amd64 =~ $DKMS_RANGE ]]; then
	not_ok "module-matrix: dkms/dkms.conf's BUILD_EXCLUSIVE_KERNEL ($DKMS_RANGE) admits 6.1"
fi

for s in $SUITES; do
	if [ "$s" = bookworm-backports ]; then
		root=/ krel=$KVER
		[ -d "/usr/src/linux-headers-$krel" ] ||
			{ skip "module-matrix($s): kmesh.ko" "no /usr/src/linux-headers-$krel (scripts/install-deps.sh)"; continue; }
	else
		root=$CACHE/$s
		if [ "$(id -u)" -ne 0 ]; then
			skip "module-matrix($s): kmesh.ko" "a chroot build needs root"; continue
		fi
		if ! why=$(chroot_setup "$s"); then
			not_ok "module-matrix($s): chroot" "$why"; continue
		fi
		krel=$(headers_in "$root")
		[ -n "$krel" ] || { not_ok "module-matrix($s): chroot" "no linux-headers-*-amd64 in $root"; continue; }
	fi
	name="module-matrix($s): kmesh.ko for $krel"
	t0=$(date +%s.%N)
	if ! build "$root" "$krel"; then
		mapfile -t tail_lines < <(grep -E 'error|warning' "$LOG" | head -n 15)
		not_ok "$name" "build failed (warnings are errors):" "${tail_lines[@]}"
		continue
	fi
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	# modpost and pahole warn outside the compiler: those count too
	if grep -qiE 'warning|skipping btf' "$LOG"; then
		mapfile -t tail_lines < <(grep -iE 'warning|skipping btf' "$LOG" | head -n 15)
		not_ok "$name" "warnings:" "${tail_lines[@]}"
	elif [[ "$(modinfo -F vermagic "$OUT/$krel/kmesh.ko")" != "$krel "* ]]; then
		not_ok "$name" "vermagic '$(modinfo -F vermagic "$OUT/$krel/kmesh.ko")'"
	elif ! [[ $krel =~ $DKMS_RANGE ]]; then
		not_ok "$name" "dkms/dkms.conf's BUILD_EXCLUSIVE_KERNEL ($DKMS_RANGE) leaves it out"
	elif ! grep -q '\.BTF ' <<< "$(readelf -S "$OUT/$krel/kmesh.ko")"; then
		not_ok "$name" "no .BTF section: the kfuncs would be absent (is dwarves installed?)"
	else
		gcc=$(sed -n 's/^CONFIG_GCC_VERSION=\([0-9]*\)$/\1/p' "$root/usr/src/linux-headers-$krel/.config")
		ok "$name (gcc $((gcc / 10000)).$((gcc / 100 % 100)), $secs s, .BTF present)"
	fi
done
report_summary
[ "$FAIL" -eq 0 ]
