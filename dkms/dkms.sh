#!/usr/bin/env bash
# Stage the module source for DKMS and add/build/install it.
#   dkms/dkms.sh install [KERNEL_VERSION]   (default: the running kernel)
#   dkms/dkms.sh remove
#   dkms/dkms.sh stage DIR      copy the module source DKMS builds into DIR
#                               (the kmesh-dkms package, debian/rules)
# Needs the dkms package and the kernel's headers.
set -euo pipefail
cd "$(dirname "$0")/.."
name=kmesh
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms/dkms.conf)
src=/usr/src/$name-$ver
cmd=${1:-install}
kver=${2:-$(uname -r)}

# stage DIR: Kbuild, kmod/ (sources only, no build leftovers), include/kmesh
stage() {
	mkdir -p "$1/kmod" "$1/include"
	cp Kbuild "$1/"
	cp kmod/Kbuild kmod/*.c kmod/*.h "$1/kmod/"
	cp -r include/kmesh "$1/include/"
}
if [ "$cmd" = stage ]; then
	[ -n "${2:-}" ] || { echo "usage: dkms/dkms.sh stage DIR" >&2; exit 2; }
	stage "$2"
	exit 0
fi

command -v dkms >/dev/null || { echo "dkms.sh: the dkms package is not installed (apt-get install dkms)" >&2; exit 1; }
case $cmd in
install)
	rm -rf "$src"
	stage "$src"
	cp dkms/dkms.conf "$src/"
	dkms remove "$name/$ver" --all >/dev/null 2>&1 || true
	dkms add "$name/$ver"
	dkms build "$name/$ver" -k "$kver"
	dkms install "$name/$ver" -k "$kver"
	echo "dkms.sh: installed $name $ver for $kver; load it with: modprobe kmesh"
	;;
remove)
	if dkms status "$name/$ver" 2>/dev/null | grep -q .; then
		dkms remove "$name/$ver" --all
	fi
	rm -rf "$src"
	;;
*)
	echo "usage: dkms/dkms.sh install [KERNEL_VERSION] | remove | stage DIR" >&2
	exit 2
	;;
esac
