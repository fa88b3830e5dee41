#!/usr/bin/env bash
# VM tests: kmesh.ko and the static kmeshd in Debian's own kernels under qemu
# (TCG). The CI kernel has module loading compiled out, so the module is
# tested here. Needs root. Prints "ok N - name" per case and a final
# "N passed, N failed, N skipped" line, like tests/host/run.sh.
#
# Boots (each case file says which with a "# boot:" line):
#   6.12  linux-image-6.12.95+deb12-amd64 (bookworm-backports), the L7 target
#   6.1   the kernel bookworm's linux-image-amd64 depends on
#   6.12-debug  Debian's 6.12 source built with KASAN, lockdep, atomic-sleep
#         checks and kmemleak (tests/vm/debug-kernel.sh; the first build
#         takes about 15 minutes); runs the 6.12 cases that have kmesh.ko
#         loaded (their "# boot:" line names 6.12-debug), slower, and fails
#         on any report of those detectors (docs/debug-kernel.md)
#   7.x   unstable's kernel: the one whose headers the module matrix's sid
#         chroot has (scripts/module-matrix.sh builds kmesh.ko for it), fetched
#         with that chroot's apt; split images (linux-binary-*, linux-modules-*)
#         are fetched too
#   trixie trixie's 6.12, the same way from the trixie chroot (a module built
#         there carries distilled base BTF, .BTF.base, relocated at load)
# Kernel packages are fetched with apt-get download (never installed) into
# ${KM_VM_CACHE:-/var/cache/kmesh-vm}; the vmlinuz and the few driver modules
# the VM needs are extracted once and reused.
#
# Also one host case: dkms-build (dkms/dkms.sh install/remove for 6.12).
#
#   KM_VM_CACHE=DIR            kernel cache (default /var/cache/kmesh-vm)
#   KM_VM_BOOT_TIMEOUT=SECS    wall-clock bound of one boot (default 600: the 6.12 boot runs 27 cases)
#   KM_VM_ONLY="6.12"          boot only these
#   KM_VM_NO_DKMS=1            leave out the dkms-build case
#   KM_VM_KEEP=1               keep the work directory (initramfs, console logs)
#   KM_VM_CASES=DIR            run DIR's cases instead (tests/vm/bench: the VM
#                              benchmarks, `make vm-bench`); lib.sh always
#                              comes from tests/vm/cases
#   KM_VM_KO=FILE              the kmesh.ko (or .ko.xz) to test instead of
#                              kmod/kmesh.ko: the package test's DKMS build
#   KM_VM_BINS="haproxy"       host programs to copy in with their shared
#                              libraries (the benchmarks' proxy)
set -uo pipefail
cd "$(dirname "$0")/../.."

CACHE=${KM_VM_CACHE:-/var/cache/kmesh-vm}
BOOT_TIMEOUT=${KM_VM_BOOT_TIMEOUT:-600}
L7_KVER=${KVER:-6.12.95+deb12-amd64}	# the Makefile's KVER
BOOTS=${KM_VM_ONLY:-6.12 6.1 7.x trixie 6.12-debug}
# Boots whose kernel comes from a module-matrix chroot: label -> suite
declare -A BOOT_CHROOT=([7.x]=sid [trixie]=trixie)
MATRIX=${KM_MATRIX_CACHE:-/var/cache/kmesh-matrix}
# Driver modules the guest loads at boot (with their dependencies): veth for
# network-namespace test hosts.
VM_MODULES="veth"
CASES=${KM_VM_CASES:-tests/vm/cases}
WORK=$(mktemp -d /tmp/kmesh-vm.XXXXXX)
. tests/lib/report.sh
summary() {
	[ "$FAIL" -eq 0 ] && [ -z "${KM_VM_KEEP:-}" ] || echo "# logs kept in $WORK"
	report_summary
}
cleanup() { [ "$FAIL" -ne 0 ] || [ -n "${KM_VM_KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

# cases_for BOOT: the case files whose "# boot:" line names BOOT
cases_for() {
	local c b=$1
	for c in "$CASES"/[0-9]*.sh; do
		grep -qE "^# boot:(.* )?${b//./\\.}( |$)" "$c" && echo "$c"
	done
}
case_name() { local n; n=$(basename "$1" .sh); echo "${n#*-}"; }
skip_boot() {	# skip_boot BOOT LABEL REASON: every case of that boot is skipped
	local c
	for c in $(cases_for "$1"); do skip "vm($2): $(case_name "$c")" "$3"; done
}

if [ "$(id -u)" -ne 0 ]; then
	skip "VM tests" "needs root (qemu images, apt cache, dkms)"
	report_summary
	exit 0
fi

# ---- host: DKMS builds the module ---------------------------------------------
dkms_build() {
	local kver=$L7_KVER name ver out ko vm
	name="dkms-build: dkms/dkms.sh builds and removes kmesh.ko for $L7_KVER"
	ver=$(cat VERSION)
	if ! command -v dkms >/dev/null; then skip "$name" "dkms is not installed"; return; fi
	if [ ! -d "/lib/modules/$kver/build" ]; then
		skip "$name" "no headers for $kver (/lib/modules/$kver/build)"; return
	fi
	# A kmesh the admin installed through DKMS is not ours to remove.
	if [ -e /var/lib/dkms/kmesh ]; then
		skip "$name" "kmesh is already registered with DKMS (/var/lib/dkms/kmesh); not touching it"
		return
	fi
	if ! out=$(dkms/dkms.sh install "$kver" 2>&1); then
		not_ok "$name" "dkms.sh install failed:" "$(tail -n 8 <<< "$out")"
		dkms/dkms.sh remove >/dev/null 2>&1
		return
	fi
	# DKMS compresses the module like the kernel's own (xz on Debian 6.12)
	ko=$(find "/var/lib/dkms/kmesh/$ver/$kver" -name 'kmesh.ko*' 2>/dev/null | head -n 1)
	vm=$([ -n "$ko" ] && modinfo -F vermagic "$ko" 2>/dev/null)
	if ! out=$(dkms/dkms.sh remove 2>&1); then
		not_ok "$name" "dkms.sh remove failed:" "$(tail -n 5 <<< "$out")"
	elif [ -z "$ko" ]; then
		not_ok "$name" "no kmesh.ko* under /var/lib/dkms/kmesh/$ver/$kver"
	elif [[ "$vm" != "$kver "* ]]; then
		not_ok "$name" "$ko: vermagic '$vm'"
	elif [ -e /var/lib/dkms/kmesh ] || [ -e "/usr/src/kmesh-$ver" ] ||
	     ls "/lib/modules/$kver/updates/dkms/kmesh.ko"* >/dev/null 2>&1; then
		not_ok "$name" "dkms.sh remove left files behind"
	else
		ok "$name ($(basename "$ko"), vermagic $vm)"
	fi
}
[ -n "${KM_VM_NO_DKMS:-}" ] || dkms_build

# kmod_copy DIR: the module's sources (no build leftovers) in DIR, to build
# against another kernel tree without touching kmod/'s own build
kmod_copy() {
	mkdir -p "$1"
	cp -r Kbuild VERSION kmod include "$1/"
	rm -f "$1"/kmod/*.o "$1"/kmod/*.ko "$1"/kmod/.*.cmd
}

# ---- host: the module refuses an older kernel itself -------------------------------
# Loading a 6.12 kmesh.ko into 6.1 is refused by the kernel (vermagic: case
# 50), whatever the module says. This is the module's own refusal: built
# against bookworm's 6.1 headers, the build stops at kmod/compat.h's #error
# with the reason, before any other error.
old_kernel_refusal() {
	local name="module: building for bookworm's 6.1 stops at its own #error" kdir d out first
	kdir=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | tail -n 1)
	if [ -z "$kdir" ]; then
		skip "$name" "no linux-headers-6.1.*-amd64 under /usr/src (scripts/install-deps.sh)"
		return
	fi
	d=$(mktemp -d /tmp/kmesh-61.XXXXXX)
	kmod_copy "$d"
	if out=$(make -C "$kdir" M="$d" modules 2>&1); then
		not_ok "$name" "the build succeeded against $kdir"
	elif ! first=$(grep -m 1 ' error: ' <<< "$out") ||
	     [[ $first != *"#error \"kmesh.ko needs Linux 6.12 or newer"* ]]; then
		not_ok "$name" "first error is not the module's own: ${first:-none}" "$(tail -n 5 <<< "$out")"
	else
		ok "$name ($(basename "$kdir"))"
	fi
	rm -rf "$d"
}
old_kernel_refusal

# ---- build: static binaries and kmesh.ko ----------------------------------------
if ! out=$(make -s vm-bins module 2>&1); then
	not_ok "vm: build static binaries and kmesh.ko (make vm-bins module)" "$(tail -n 10 <<< "$out")"
	summary
	exit 1
fi
for b in $BOOTS; do	# kmesh.ko for the chroot-served kernels
	s=${BOOT_CHROOT[$b]:-}
	[ -n "$s" ] || continue
	out=$(KM_MATRIX_ONLY=$s scripts/module-matrix.sh 2>&1) ||
		not_ok "vm: build kmesh.ko for the $b boot (module-matrix $s)" "$(grep -v '^ok' <<< "$out" | head -n 10)"
done

# ---- kernels ---------------------------------------------------------------------
# resolve_boot BOOT: prints the kernel package for a boot name
resolve_boot() {
	local pkg
	if [ -n "${BOOT_CHROOT[$1]:-}" ]; then
		pkg=$(ls -d "$MATRIX/${BOOT_CHROOT[$1]}"/usr/src/linux-headers-*-amd64 2>/dev/null |
			sort -V | tail -n 1)
		[ -z "$pkg" ] || echo "linux-image-${pkg##*/linux-headers-}"
		return
	fi
	case $1 in
	6.12) echo "linux-image-$L7_KVER" ;;
	6.12-debug) echo "debug" ;;
	6.1)
		# The suite is pinned: linux-image-amd64 from bookworm-backports
		# depends on 6.12.
		pkg=$(apt-cache depends linux-image-amd64/bookworm 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
		if [ -z "$pkg" ]; then	# no apt lists: the newest one in the cache
			pkg=$(ls "$CACHE"/linux-image-6.1.*_amd64.deb 2>/dev/null | tail -n 1)
			pkg=$(basename "${pkg%%_*}" 2>/dev/null)
		fi
		echo "$pkg"
		;;
	esac
}

# mod_deps_first DIR NAME: NAME's dependency closure, dependencies first
mod_deps_first() {
	local dir=$1 m=$2 f d
	case " $SEEN " in *" $m "*) return 0 ;; esac
	SEEN="$SEEN $m"
	f=$(find "$dir" -name "$m.ko" -o -name "$m.ko.*" | head -n 1)
	[ -n "$f" ] || { echo "module $m not found in the image" >&2; return 1; }
	for d in $(modinfo -F depends "$f" | tr ',' ' '); do
		mod_deps_first "$dir" "$d" || return 1
	done
	echo "$f"
}

# apt_download BOOT PKG...: the packages' .debs into $CACHE, with the host's
# apt or the boot's chroot's
apt_download() {
	local boot=$1 root
	shift
	root=$MATRIX/${BOOT_CHROOT[$boot]:-}
	if [ -z "${BOOT_CHROOT[$boot]:-}" ]; then
		# as root into a root-only directory: no _apt sandbox
		(cd "$CACHE" && apt-get -q -o APT::Sandbox::User=root download "$@")
	else
		rm -rf "$root/tmp/kmesh-dl" && mkdir -p "$root/tmp/kmesh-dl" &&
		chroot "$root" sh -c 'cd /tmp/kmesh-dl && apt-get -q -o APT::Sandbox::User=root download "$@"' sh "$@" &&
		mv "$root"/tmp/kmesh-dl/*.deb "$CACHE/"
	fi
}

# fetch_deb BOOT PKG: prints PKG's .deb in $CACHE, downloading it first
fetch_deb() {
	local deb
	deb=$(ls "$CACHE/${2}_"*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		apt_download "$1" "$2" > "$WORK/apt.log" 2>&1 ||
			{ echo "apt-get download $2 failed: $(tail -n 1 "$WORK/apt.log")"; return 1; }
		deb=$(ls "$CACHE/${2}_"*.deb 2>/dev/null | tail -n 1)
		[ -n "$deb" ] || { echo "apt-get download $2 left no .deb in $CACHE"; return 1; }
	fi
	echo "$deb"
}

# fetch_kernel BOOT PKG: fills $CACHE/KVER with vmlinuz, config and modules/ (the
# VM_MODULES closure, decompressed, with modules/load listing the load order).
# Reuses what is there. On failure prints the reason and returns 1.
fetch_kernel() {
	local boot=$1 pkg=$2 kver=${2#linux-image-} dir deb x m f tmp mods part
	dir=$CACHE/$kver
	if [ -f "$dir/vmlinuz" ] && [ "$(cat "$dir/modules.want" 2>/dev/null)" = "$VM_MODULES" ]; then
		return 0
	fi
	mkdir -p "$CACHE" 2>/dev/null || { echo "cannot create the cache directory $CACHE"; return 1; }
	deb=$(fetch_deb "$boot" "$pkg") || { echo "$deb"; return 1; }
	x=$WORK/x-$kver tmp=$dir.tmp
	rm -rf "$x" "$tmp"
	dpkg-deb -x "$deb" "$x" || { echo "dpkg-deb -x $deb failed"; return 1; }
	# Debian 7.x splits the image: the kernel in linux-binary-KVER, the
	# modules in linux-modules-KVER (both under /usr/lib/modules/KVER)
	for part in $(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' | awk '{ print $1 }'); do
		[ "$part" = "linux-binary-$kver" ] || [ "$part" = "linux-modules-$kver" ] || continue
		deb=$(fetch_deb "$boot" "$part") || { echo "$deb"; return 1; }
		dpkg-deb -x "$deb" "$x" || { echo "dpkg-deb -x $deb failed"; return 1; }
	done
	mkdir -p "$tmp/modules"
	f=$(ls "$x/boot/vmlinuz-$kver" "$x/usr/lib/modules/$kver/vmlinuz" 2>/dev/null | head -n 1)
	cp "$f" "$tmp/vmlinuz" 2>/dev/null || { echo "$pkg has no boot/vmlinuz-$kver"; return 1; }
	cp "$x/boot/config-$kver" "$tmp/config" 2>/dev/null
	mods=$(ls -d "$x/lib/modules/$kver" "$x/usr/lib/modules/$kver" 2>/dev/null | head -n 1)
	SEEN=
	: > "$WORK/mods"
	for m in $VM_MODULES; do
		mod_deps_first "$mods" "$m" >> "$WORK/mods" 2> "$WORK/mods.err" ||
			{ cat "$WORK/mods.err"; return 1; }
	done
	# Debian 6.12 ships .ko.xz. The kernel can decompress them
	# (CONFIG_MODULE_DECOMPRESS, finit_module only) but busybox insmod reads
	# the file itself; decompressing here works for every kernel.
	while read -r f; do
		m=$(basename "$f"); m=${m%%.ko*}.ko
		case $f in
		*.xz) xz -dc "$f" > "$tmp/modules/$m" ;;
		*.zst) zstd -qdc "$f" > "$tmp/modules/$m" ;;
		*) cp "$f" "$tmp/modules/$m" ;;
		esac || { echo "cannot decompress $f"; return 1; }
		echo "$m" >> "$tmp/modules/load"
	done < "$WORK/mods"
	echo "$VM_MODULES" > "$tmp/modules.want"
	rm -rf "$x" "$dir"
	mv "$tmp" "$dir"
}

# ---- initramfs -------------------------------------------------------------------
# copy_dyn_bins ROOT PROG...: host programs with the shared libraries ldd
# names (and the loader), for a guest that otherwise has no libc
copy_dyn_bins() {
	local r=$1 p path lib
	shift
	for p in "$@"; do
		path=$(command -v "$p") || { echo "KM_VM_BINS: $p is not installed" >&2; return 1; }
		cp "$path" "$r/bin/$p"
		for lib in $(ldd "$path" | grep -oE '/[^ ]+\.so[^ ]*'); do
			mkdir -p "$r$(dirname "$lib")"
			cp -L "$lib" "$r$lib"
		done
	done
}

# make_initrd BOOT KDIR OUT: busybox, /init, kmesh.ko, driver modules, static
# binaries and this boot's cases, as a gzip'd newc cpio.
make_initrd() {
	local boot=$1 kdir=$2 out=$3 r a c
	r=$WORK/root-$boot
	rm -rf "$r"
	mkdir -p "$r"/{bin,sbin,dev,proc,sys,run,tmp,lib/modules,cases}
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	ln -s ../bin/busybox "$r/sbin/init"
	mknod "$r/dev/console" c 5 1
	mknod "$r/dev/null" c 1 3
	install -m 0755 tests/vm/init "$r/init"
	# a chroot-served kernel gets the module matrix's build for it, the
	# debug kernel its own (KO); the others the 6.12 build (which the 6.1
	# cases expect to be refused); KM_VM_KO overrides (the DKMS build)
	a=${KO:-kmod/kmesh.ko}
	[ -z "${BOOT_CHROOT[$boot]:-}" ] || a=build/module-matrix/${kdir##*/}/kmesh.ko
	if [ -n "${KM_VM_KO:-}" ]; then	# busybox insmod reads the file itself
		case $KM_VM_KO in
		*.xz) xz -dc "$KM_VM_KO" > "$r/kmesh.ko" ;;
		*) cp "$KM_VM_KO" "$r/kmesh.ko" ;;
		esac || return 1
	elif [ -f "$a" ]; then
		cp "$a" "$r/kmesh.ko"
	fi
	cp "$kdir"/modules/* "$r/lib/modules/"
	for a in build/vm/bin/*; do
		strip -o "$r/bin/$(basename "$a")" "$a"
	done
	cp tests/vm/cases/lib.sh "$r/cases/"
	copy_dyn_bins "$r" ${KM_VM_BINS:-} || return 1
	for c in $(cases_for "$boot"); do cp "$c" "$r/cases/"; done
	# the Istio corpus's HTTP destinations as static configs (case 80)
	python3 tests/xds/corpus/vm_http.py tests/xds/corpus/data "$r/cases/corpus" || return 1
	(cd "$r" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1) > "$out"
}

# What in the guest's dmesg fails a boot: oopses and warnings, and the debug
# kernel's detectors (KASAN, lockdep, atomic-sleep checks: their reports
# start with BUG: or WARNING: too, matched by name for clarity).
DETECTORS='BUG|Oops|WARNING|Call Trace|KASAN|UBSAN|circular locking|inconsistent lock|possible recursive locking|sleeping function called from invalid context'

# reports_before_init LOG: detector lines the kernel printed before /init
# ran (guest uptime below the "/init reached" note): nothing of kmesh's had
# run yet. Seen once on the debug kernel under TCG: a KASAN wild access in
# handle_edge_irq at 1.05 s. run_boot boots once more on such a report, and
# a second one fails the boot like any other.
reports_before_init() {
	local t
	t=$(tr -d '\r' < "$1" | sed -n 's/^KMVM note boot: .*\/init reached at \([0-9.]*\) s.*/\1/p' | head -n 1)
	[ -n "$t" ] || return 0
	tr -d '\r' < "$1" | sed -n 's/^KMVM dmesg: //p' | grep -E "$DETECTORS" |
		awk -v t="$t" '{ x = $0; sub(/^\[ */, "", x); sub(/\].*/, "", x); if (x + 0 < t + 0) print }'
}

# debug_module KDIR: kmesh.ko built against the debug kernel's tree, in
# $WORK/kmesh-debug.ko (a copy of the source: the tree's own build stays)
debug_module() {
	local d=$WORK/kmod-debug out
	rm -rf "$d"
	kmod_copy "$d"
	out=$(make -C "$1/build" M="$d" modules 2>&1) || { tail -n 5 <<< "$out"; return 1; }
	cp "$d/kmod/kmesh.ko" "$WORK/kmesh-debug.ko"
}

# kmemleak_verdict LABEL LINE...: the guest's kmemleak report after a scan
# at the end of the boot. An unreferenced object allocated by kmesh.ko
# ("[kmesh]" or a km_ function in its backtrace) fails; others are the
# kernel's own boot-time reports, counted.
kmemleak_verdict() {
	local label=$1 l block= n_ours=0 n_other=0
	local -a ours=()
	shift
	for l in "$@" "unreferenced object (end)"; do
		if [[ $l == "unreferenced object"* ]]; then
			if [ -n "$block" ]; then
				if grep -qE '\[kmesh\]| km_' <<< "$block"; then
					n_ours=$((n_ours + 1)); ours+=("$(head -n 1 <<< "$block")")
				else n_other=$((n_other + 1)); fi
			fi
			block=$l
		else
			block+=$'\n'$l
		fi
	done
	if [ $n_ours -gt 0 ]; then
		not_ok "$label: kmemleak finds nothing kmesh.ko allocated" "$n_ours leaked object(s):" "${ours[@]}"
	else
		ok "$label: kmemleak finds nothing kmesh.ko allocated ($n_other unrelated object(s) reported)"
	fi
}

# ---- one boot --------------------------------------------------------------------
# run_boot BOOT: boots the kernel, turns the guest's KMVM lines into results
run_boot() {
	local boot=$1 pkg kver why kdir label log t0 t1 rc lines l name reason c done_seen
	local -a oops=() reported=() logt=() leaks=()
	pkg=$(resolve_boot "$boot")
	if [ -z "$pkg" ]; then
		skip_boot "$boot" "$boot" "cannot resolve the $boot kernel package (apt-cache, and nothing cached in $CACHE)"
		return
	fi
	kver=${pkg#linux-image-}
	label="vm($kver)"
	local ko=kmod/kmesh.ko scale=1
	if [ "$pkg" = debug ]; then
		kver=6.12-debug label="vm(6.12-debug)" scale=4
		if ! tests/vm/debug-kernel.sh --check > /dev/null; then
			echo "# $label: building the debug kernel (about 15 minutes the first time; cached in $CACHE/dbg)"
		fi
		if ! kdir=$(tests/vm/debug-kernel.sh); then
			not_ok "$label: build the debug kernel" "$kdir"
			return
		fi
		if ! why=$(debug_module "$kdir"); then
			not_ok "$label: build kmesh.ko for the debug kernel" "$why"
			return
		fi
		ko=$WORK/kmesh-debug.ko
	else
		if ! why=$(fetch_kernel "$boot" "$pkg"); then
			skip_boot "$boot" "$kver" "no kernel image: $why"
			return
		fi
		kdir=$CACHE/$kver
	fi
	KO=$ko make_initrd "$boot" "$kdir" "$WORK/initrd-$boot.gz" ||
		{ not_ok "$label: build the initramfs"; return; }

	log=$WORK/console-$kver.log
	# A guest that dies before /init runs has run none of kmesh's code (the
	# module is loaded by the cases): TCG's rare "Oops: int3" during boot
	# (docs/kernel-notes.md, "qemu TCG"). Boot once more, and say so.
	for attempt in 1 2; do
		t0=$(date +%s.%N)
		# -nic none: the guest has no network beyond lo and its own veths
		timeout -k 5 $((BOOT_TIMEOUT * scale)) qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 \
			-nographic -no-reboot -nic none \
			-kernel "$kdir/vmlinuz" -initrd "$WORK/initrd-$boot.gz" \
			-append "console=ttyS0 quiet panic=-1 kmvm_timeout_scale=$scale" < /dev/null > "$log" 2>&1
		rc=$?
		t1=$(date +%s.%N)
		echo "# $label: boot wall time $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s (qemu TCG, -smp 2; exit $rc)"
		early=$(reports_before_init "$log")
		grep -aq 'KMVM note boot: .*/init reached' "$log" && [ -z "$early" ] && break
		[ $attempt = 1 ] || break
		if [ -n "$early" ]; then
			echo "# $label: the kernel reported trouble while booting, before /init (no kmesh code had run): booting again; the report:"
			sed 's/^/#   /' <<< "$early"
		else
			echo "# $label: the guest died before /init (no kmesh code had run): booting again; its console:"
			tr -d '\r' < "$log" | grep -aE 'Oops|BUG|panic|RIP' | head -n 5 | sed 's/^/#   /'
		fi
		cp "$log" "$log.first"
	done

	lines=$(tr -d '\r' < "$log" | grep -ao 'KMVM .*')
	done_seen=0
	while IFS= read -r l; do
		case $l in
		"KMVM ok "*)
			name=${l#KMVM ok }; reported+=("$name")
			ok "$label: $name" ;;
		"KMVM not ok "*)
			l=${l#KMVM not ok }; name=${l%%: *}; reason=${l#*: }; reported+=("$name")
			mapfile -t logt < <(grep -a "^KMVM log $name: " <<< "$lines" | sed "s/^KMVM log $name: /  | /")
			not_ok "$label: $name" "$reason" "${logt[@]}" ;;
		"KMVM skip "*)
			l=${l#KMVM skip }; name=${l%%: *}; reported+=("$name")
			skip "$label: $name" "${l#*: }" ;;
		"KMVM note "*)
			echo "# $label ${l#KMVM note }" ;;
		"KMVM dmesg: "*)
			grep -qE "$DETECTORS" <<< "$l" && oops+=("${l#KMVM dmesg: }") ;;
		"KMVM kmemleak: "*)
			leaks+=("${l#KMVM kmemleak: }") ;;
		"KMVM done")
			done_seen=1 ;;
		esac
	done <<< "$lines"

	for c in $(cases_for "$boot"); do
		name=$(case_name "$c")
		[[ " ${reported[*]} " == *" $name "* ]] ||
			not_ok "$label: $name" "no result: the guest stopped before it (see the boot case)"
	done
	if [ $done_seen = 0 ]; then
		mapfile -t logt < <(tr -d '\r' < "$log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
			grep -v '^$' | tail -n 15)
		not_ok "$label: boot completes (KMVM done)" \
			"$([ $rc = 124 ] && echo "killed after $BOOT_TIMEOUT s" || echo "qemu exited $rc"); console: $log" \
			"${logt[@]}"
	elif [ ${#oops[@]} -gt 0 ]; then
		not_ok "$label: no BUG/Oops/WARNING/Call Trace in dmesg" "${oops[@]}" "console: $log"
	else
		ok "$label: boot completes, no BUG/Oops/WARNING/Call Trace in dmesg"
	fi
	[ "$pkg" != debug ] || kmemleak_verdict "$label" "${leaks[@]}"
}

if ! command -v qemu-system-x86_64 >/dev/null; then
	for b in $BOOTS; do skip_boot "$b" "$b" "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"; done
elif [ ! -x /bin/busybox ] || readelf -l /bin/busybox | grep INTERP >/dev/null ||
     ! /bin/busybox --list | grep -x insmod >/dev/null; then
	for b in $BOOTS; do skip_boot "$b" "$b" "no static /bin/busybox with insmod (apt-get install busybox-static)"; done
else
	for b in $BOOTS; do run_boot "$b"; done
fi

summary
[ "$FAIL" -eq 0 ]
