#!/usr/bin/env bash
# VM tests: kmesh.ko and the static kmeshd in Debian's own kernels under qemu
# (TCG). The CI kernel has module loading compiled out, so the module is
# tested here. Needs root. Prints "ok N - name" per case and a final
# "N passed, N failed, N skipped" line, like tests/host/run.sh.
#
# Boots (each case file says which with a "# boot:" line):
#   6.12  linux-image-6.12.95+deb12-amd64 (bookworm-backports), the L7 target
#   6.1   the kernel bookworm's linux-image-amd64 depends on
# Kernel packages are fetched with apt-get download (never installed) into
# ${KM_VM_CACHE:-/var/cache/kmesh-vm}; the vmlinuz and the few driver modules
# the VM needs are extracted once and reused.
#
# Also one host case: dkms-build (dkms/dkms.sh install/remove for 6.12).
#
#   KM_VM_CACHE=DIR            kernel cache (default /var/cache/kmesh-vm)
#   KM_VM_BOOT_TIMEOUT=SECS    wall-clock bound of one boot (default 240)
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
BOOT_TIMEOUT=${KM_VM_BOOT_TIMEOUT:-240}
L7_KVER=${KVER:-6.12.95+deb12-amd64}	# the Makefile's KVER
BOOTS=${KM_VM_ONLY:-6.12 6.1}
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
	local c
	for c in "$CASES"/[0-9]*.sh; do
		grep -qE "^# boot:(.* )?${1//./\\.}( |$)" "$c" && echo "$c"
	done
}
case_name() { local n; n=$(basename "$1" .sh); echo "${n#*-}"; }
skip_boot() {	# skip_boot BOOT LABEL REASON: every case of that boot is skipped
	local c
	for c in $(cases_for "$1"); do skip "vm($2): $(case_name "$c")" "$3"; done
}

if [ "$(id -u)" -ne 0 ]; then
	echo "VM tests need root (qemu images, apt cache, dkms)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

# ---- host: DKMS builds the module ---------------------------------------------
dkms_build() {
	local kver=$L7_KVER name ver out ko vm
	name="dkms-build: dkms/dkms.sh builds and removes kmesh.ko for $L7_KVER"
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms/dkms.conf)
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

# ---- build: static binaries and kmesh.ko ----------------------------------------
if ! out=$(make -s vm-bins module 2>&1); then
	not_ok "vm: build static binaries and kmesh.ko (make vm-bins module)" "$(tail -n 10 <<< "$out")"
	summary
	exit 1
fi

# ---- kernels ---------------------------------------------------------------------
# resolve_boot BOOT: prints the kernel package for a boot name
resolve_boot() {
	local pkg
	case $1 in
	6.12) echo "linux-image-$L7_KVER" ;;
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

# fetch_kernel PKG: fills $CACHE/KVER with vmlinuz, config and modules/ (the
# VM_MODULES closure, decompressed, with modules/load listing the load order).
# Reuses what is there. On failure prints the reason and returns 1.
fetch_kernel() {
	local pkg=$1 kver=${1#linux-image-} dir deb x m f tmp
	dir=$CACHE/$kver
	if [ -f "$dir/vmlinuz" ] && [ "$(cat "$dir/modules.want" 2>/dev/null)" = "$VM_MODULES" ]; then
		return 0
	fi
	mkdir -p "$CACHE" 2>/dev/null || { echo "cannot create the cache directory $CACHE"; return 1; }
	deb=$(ls "$CACHE/${pkg}_"*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		# as root into a root-only directory: no _apt sandbox
		(cd "$CACHE" && apt-get -q -o APT::Sandbox::User=root download "$pkg") > "$WORK/apt.log" 2>&1 ||
			{ echo "apt-get download $pkg failed: $(tail -n 1 "$WORK/apt.log")"; return 1; }
		deb=$(ls "$CACHE/${pkg}_"*.deb 2>/dev/null | tail -n 1)
		[ -n "$deb" ] || { echo "apt-get download $pkg left no .deb in $CACHE"; return 1; }
	fi
	x=$WORK/x-$kver tmp=$dir.tmp
	rm -rf "$x" "$tmp"
	dpkg-deb -x "$deb" "$x" || { echo "dpkg-deb -x $deb failed"; return 1; }
	mkdir -p "$tmp/modules"
	cp "$x/boot/vmlinuz-$kver" "$tmp/vmlinuz" || { echo "$deb has no boot/vmlinuz-$kver"; return 1; }
	cp "$x/boot/config-$kver" "$tmp/config"
	SEEN=
	: > "$WORK/mods"
	for m in $VM_MODULES; do
		mod_deps_first "$x/lib/modules/$kver" "$m" >> "$WORK/mods" 2> "$WORK/mods.err" ||
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
	if [ -n "${KM_VM_KO:-}" ]; then	# busybox insmod reads the file itself
		case $KM_VM_KO in
		*.xz) xz -dc "$KM_VM_KO" > "$r/kmesh.ko" ;;
		*) cp "$KM_VM_KO" "$r/kmesh.ko" ;;
		esac || return 1
	elif [ -f kmod/kmesh.ko ]; then
		cp kmod/kmesh.ko "$r/kmesh.ko"
	fi
	cp "$kdir"/modules/* "$r/lib/modules/"
	for a in build/vm/bin/*; do
		strip -o "$r/bin/$(basename "$a")" "$a"
	done
	cp tests/vm/cases/lib.sh "$r/cases/"
	copy_dyn_bins "$r" ${KM_VM_BINS:-} || return 1
	for c in $(cases_for "$boot"); do cp "$c" "$r/cases/"; done
	(cd "$r" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1) > "$out"
}

# ---- one boot --------------------------------------------------------------------
# run_boot BOOT: boots the kernel, turns the guest's KMVM lines into results
run_boot() {
	local boot=$1 pkg kver why kdir label log t0 t1 rc lines l name reason c done_seen
	local -a oops=() reported=() logt=()
	pkg=$(resolve_boot "$boot")
	if [ -z "$pkg" ]; then
		skip_boot "$boot" "$boot" "cannot resolve the $boot kernel package (apt-cache, and nothing cached in $CACHE)"
		return
	fi
	kver=${pkg#linux-image-}
	label="vm($kver)"
	if ! why=$(fetch_kernel "$pkg"); then
		skip_boot "$boot" "$kver" "no kernel image: $why"
		return
	fi
	kdir=$CACHE/$kver
	make_initrd "$boot" "$kdir" "$WORK/initrd-$boot.gz" ||
		{ not_ok "$label: build the initramfs"; return; }

	log=$WORK/console-$kver.log
	t0=$(date +%s.%N)
	# -nic none: the guest has no network beyond lo and its own veths
	timeout -k 5 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 \
		-nographic -no-reboot -nic none \
		-kernel "$kdir/vmlinuz" -initrd "$WORK/initrd-$boot.gz" \
		-append "console=ttyS0 quiet panic=-1" < /dev/null > "$log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	echo "# $label: boot wall time $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s (qemu TCG, -smp 2; exit $rc)"

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
			grep -qE 'BUG|Oops|WARNING|Call Trace' <<< "$l" && oops+=("${l#KMVM dmesg: }") ;;
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
