#!/usr/bin/env bash
# Stage the module source for DKMS and add/build/install it.
#   dkms/dkms.sh install [KERNEL_VERSION]   (default: the running kernel)
#   dkms/dkms.sh remove
# Needs the dkms package and the kernel's headers.
set -euo pipefail
cd "$(dirname "$0")/.."
name=kmesh
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms/dkms.conf)
src=/usr/src/$name-$ver
cmd=${1:-install}
kver=${2:-$(uname -r)}

command -v dkms >/dev/null || { echo "dkms.sh: the dkms package is not installed (apt-get install dkms)" >&2; exit 1; }
case $cmd in
install)
	rm -rf "$src"
	mkdir -p "$src/include"
	cp Kbuild "$src/"
	mkdir -p "$src/kmod"
	cp kmod/Kbuild kmod/*.c kmod/*.h "$src/kmod/"	# sources only, no build leftovers
	cp -r include/kmesh "$src/include/"
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
	echo "usage: dkms/dkms.sh install [KERNEL_VERSION] | remove" >&2
	exit 2
	;;
esac
