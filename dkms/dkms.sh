#!/usr/bin/env bash
# Stage the module source for DKMS and add/build/install it.
#   dkms/dkms.sh install [KERNEL_VERSION]   (default: the running kernel)
#   dkms/dkms.sh remove
#   dkms/dkms.sh stage DIR                  (the DKMS source tree only)
# Needs the dkms package and the kernel's headers.
set -euo pipefail
cd "$(dirname "$0")/.."
name=kmesh
ver=$(cat VERSION)
src=/usr/src/$name-$ver
cmd=${1:-install}
kver=${2:-$(uname -r)}

# stage DIR: the source tree DKMS builds from
stage() {
	rm -rf "$1"
	mkdir -p "$1/include" "$1/kmod"
	cp Kbuild VERSION "$1/"
	cp kmod/Kbuild kmod/*.c kmod/*.h "$1/kmod/"	# sources only, no build leftovers
	cp -r include/kmesh "$1/include/"
	sed "s/@KMESH_VERSION@/$ver/" dkms/dkms.conf > "$1/dkms.conf"
}

case $cmd in
stage)
	stage "$kver"	# the second argument: a directory
	exit 0
	;;
esac
command -v dkms >/dev/null || { echo "dkms.sh: the dkms package is not installed (apt-get install dkms)" >&2; exit 1; }
case $cmd in
install)
	stage "$src"
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
