#!/usr/bin/env bash
# Package test (root): make deb, then install kmesh and kmesh-dkms with dpkg
# on this machine (DKMS builds kmesh.ko for the installed 6.12 headers and
# skips older kernels), check where everything went, remove and purge, and
# check nothing is left. The DKMS-built kmesh.ko is kept as $KO for
# tests/pkg/deb_vm.sh (this kernel cannot load modules).
# Prints "ok"/"not ok" lines and "N passed, N failed, N skipped".
# Run it under flock /tmp/kmesh-host.lock (it installs packages and
# registers a DKMS module).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/report.sh
L7_KVER=${KVER:-6.12.95+deb12-amd64}
ver=$(cat VERSION)
WORK=$(mktemp -d /tmp/kmesh-pkg.XXXXXX)
KO=build/deb/dkms-kmesh.ko	# decompressed
trap 'rm -rf "$WORK"' EXIT

finish() { report_summary; [ "$FAIL" -eq 0 ]; exit; }
skip_all() { skip "packages: $1" "$2"; finish; }

[ "$(id -u)" -eq 0 ] || skip_all "install and purge" "needs root (dpkg)"
command -v dpkg-buildpackage >/dev/null && command -v dh_dkms >/dev/null ||
	skip_all "make deb" "dpkg-dev, debhelper or dh-dkms missing (scripts/install-deps.sh)"
# An admin's own kmesh is not ours to replace or purge.
for p in kmesh kmesh-dkms; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv not-installed &&
		skip_all "install and purge" "package $p is already installed; not touching it"
done
[ ! -e /var/lib/dkms/kmesh ] ||
	skip_all "install and purge" "kmesh is already registered with DKMS (/var/lib/dkms/kmesh); not touching it"

# ---- build ------------------------------------------------------------------
if ! out=$(make -s deb 2>&1); then
	not_ok "make deb" "$(tail -n 10 <<< "$out")"; finish
fi
deb=build/deb/kmesh_${ver}_amd64.deb dkmsdeb=build/deb/kmesh-dkms_${ver}_all.deb
if [ -f "$deb" ] && [ -f "$dkmsdeb" ]; then
	ok "make deb: $(basename "$deb") and $(basename "$dkmsdeb")"
else
	not_ok "make deb" "no $deb or $dkmsdeb"; finish
fi

# ---- install ----------------------------------------------------------------
purge() { dpkg -P kmesh kmesh-dkms > "$WORK/purge.log" 2>&1; }
if ! out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" "$dkmsdeb" 2>&1); then
	not_ok "dpkg -i kmesh kmesh-dkms" "$(tail -n 12 <<< "$out")"
	purge; finish
fi
echo "$out" > "$WORK/install.log"
ok "dpkg -i kmesh kmesh-dkms"
files=$(dpkg -L kmesh kmesh-dkms | sort -u)

missing=
for f in /usr/sbin/kmeshd /usr/bin/kmeshctl /usr/lib/cni/kmesh-cni /lib/systemd/system/kmeshd.service \
	 /etc/kmesh/mesh.yaml /etc/kmesh/mesh.yaml.example \
	 /usr/src/kmesh-$ver/dkms.conf /usr/src/kmesh-$ver/Kbuild \
	 /usr/src/kmesh-$ver/kmod/main.c /usr/src/kmesh-$ver/include/kmesh/abi.h; do
	[ -f "$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "installed files in place" || not_ok "installed files in place" "missing:$missing"

conf=$(dpkg-query -W -f='${Conffiles}' kmesh)
if grep -q ' /etc/kmesh/mesh.yaml ' <<< "$conf" && grep -q '/etc/kmesh/mesh.yaml.example ' <<< "$conf"; then
	ok "/etc/kmesh/mesh.yaml and mesh.yaml.example are conffiles"
else
	not_ok "/etc/kmesh/mesh.yaml and mesh.yaml.example are conffiles" "dpkg says: $conf"
fi

if out=$(/usr/sbin/kmeshd --check --config /etc/kmesh/mesh.yaml 2>&1) &&
   /usr/bin/kmeshctl --help >/dev/null 2>&1 &&
   CNI_COMMAND=VERSION /usr/lib/cni/kmesh-cni < /dev/null | grep -q '"1.1.0"'; then
	ok "the installed kmeshd reads the installed config ($out); kmesh-cni answers VERSION"
else
	not_ok "the installed kmeshd reads the installed config" "$out"
fi

unit=/lib/systemd/system/kmeshd.service
if grep -qx 'ExecStart=/usr/sbin/kmeshd --config /etc/kmesh/mesh.yaml' "$unit" &&
   [ "$(readlink /etc/systemd/system/multi-user.target.wants/kmeshd.service)" = "$unit" ]; then
	ok "kmeshd.service installed and enabled (ExecStart /usr/sbin/kmeshd)"
else
	not_ok "kmeshd.service installed and enabled" "$(grep ExecStart "$unit")" \
		"wants link: $(ls -l /etc/systemd/system/multi-user.target.wants/kmeshd.service 2>&1)"
fi

# DKMS: built and installed for 6.12; an older kernel with headers is skipped
# with the BUILD_EXCLUSIVE message
st=$(dkms status kmesh 2>&1)
ko=$(ls "/lib/modules/$L7_KVER/updates/dkms/kmesh.ko"* 2>/dev/null | head -n 1)
vm=$([ -n "$ko" ] && modinfo -F vermagic "$ko" 2>/dev/null)
if grep -q "^kmesh/$ver, $L7_KVER, x86_64: installed" <<< "$st" && [[ "$vm" == "$L7_KVER "* ]]; then
	ok "dkms built and installed kmesh.ko for $L7_KVER ($(basename "$ko"))"
	xz -dcf "$ko" > "$KO"
else
	not_ok "dkms built and installed kmesh.ko for $L7_KVER" "dkms status: $st" "module: ${ko:-none} vermagic '$vm'"
fi
old=$(ls /lib/modules | grep -E '^(5\.|6\.([0-9]|1[01])\.)' | head -n 1)
if [ -z "$old" ] || [ ! -e "/lib/modules/$old/build" ]; then
	skip "dkms skips a kernel older than 6.12" "no older kernel with headers installed"
elif grep -q "BUILD_EXCLUSIVE directive which does not match this kernel" "$WORK/install.log" &&
     ! grep -q "$old" <<< "$st"; then
	ok "dkms skips $old with the BUILD_EXCLUSIVE message"
else
	not_ok "dkms skips $old with the BUILD_EXCLUSIVE message" "dkms status: $st" \
		"$(grep -iA2 "$old" "$WORK/install.log" | head -n 6)"
fi

# ---- remove and purge ---------------------------------------------------------
if ! out=$(dpkg -r kmesh kmesh-dkms 2>&1); then
	not_ok "dpkg -r" "$(tail -n 8 <<< "$out")"
elif [ ! -f /etc/kmesh/mesh.yaml ] || [ -e /usr/sbin/kmeshd ]; then
	not_ok "dpkg -r: binaries gone, conffiles kept" "$(ls -l /usr/sbin/kmeshd /etc/kmesh 2>&1)"
else
	ok "dpkg -r: binaries gone, conffiles kept"
fi
if ! purge; then
	not_ok "dpkg -P" "$(tail -n 8 "$WORK/purge.log")"
else
	left=
	while read -r f; do
		[ -d "$f" ] && continue	# directories are shared (/usr, /etc, /lib)
		[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
	done <<< "$files"
	for f in /etc/kmesh /usr/src/kmesh-$ver /var/lib/dkms/kmesh /usr/share/doc/kmesh; do
		[ -e "$f" ] && left="$left $f"
	done
	left="$left $(ls /lib/modules/*/updates/dkms/kmesh.ko* 2>/dev/null | tr '\n' ' ')"
	units=$(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
		/var/lib/systemd/deb-systemd-helper-masked -name '*kmeshd*' 2>/dev/null | tr '\n' ' ')
	st=$(dkms status kmesh 2>&1)
	if [ -n "${left// /}" ] || [ -n "${units// /}" ] || [ -n "$st" ]; then
		not_ok "dpkg -P: no files left, unit disabled, dkms status clean" \
			"left:$left" "unit state: $units" "dkms status: $st"
	else
		ok "dpkg -P: no files left, unit disabled, dkms status clean"
	fi
fi

finish
