#!/usr/bin/env bash
# Install every build and test dependency of kmesh on Debian bookworm.
# bookworm-backports supplies libbpf-dev 1.4, bpftool 7.5 and the 6.12 kernel
# headers (the module's build target); clang-19 and dwarves come from bookworm.
set -euo pipefail

KVER=${KVER:-6.12.95+deb12-amd64}

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi

src=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deb http://deb.debian.org/debian bookworm-backports main" > "$src"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q

# libc-ares-dev: kmeshd resolves STRICT_DNS / LOGICAL_DNS clusters with
# c-ares (userspace/dataplane/dns.c says why not glibc's getaddrinfo_a)
apt-get install -y -q --no-install-recommends \
	build-essential make pkg-config git ca-certificates \
	clang-19 llvm-19 lld-19 dwarves \
	libelf-dev zlib1g-dev libyaml-dev libcmocka-dev libnl-genl-3-dev libclang-rt-19-dev protobuf-c-compiler libprotobuf-c-dev libnghttp2-dev libssl-dev openssl libc-ares-dev \
	iproute2 curl wrk jq procps psmisc kmod util-linux \
	qemu-system-x86 busybox-static cpio dkms zstd xz-utils
# make module-matrix: chroots of trixie and sid (docs/kernels.md)
apt-get install -y -q --no-install-recommends debootstrap
# the debug kernel (tests/vm/debug-kernel.sh builds it from linux-source-6.12)
apt-get install -y -q --no-install-recommends flex bison bc libssl-dev xz-utils

# The mesh benchmark (make bench; its smoke test runs in make check): the
# sidecar pair (HAProxy, iptables REDIRECT) and its chart. About 4 MB.
apt-get install -y -q --no-install-recommends haproxy iptables gnuplot-nox

# Packages and the image (make deb, make image; their tests run in make
# check): debhelper and dh-dkms build the .debs, buildah the image, podman
# runs it (runc: crun 1.8 refuses hybrid cgroup hosts), python3-yaml checks
# deploy/ offline.
apt-get install -y -q --no-install-recommends dpkg-dev debhelper dh-dkms fakeroot \
	buildah podman runc python3-yaml

# kmesh-cni and kmeshd's control socket speak JSON through libjansson (small,
# a static archive for the image, parse errors with line and column); the
# CNI tests run podman's CNI backend with containernetworking-plugins
# (bridge, host-local) and a busybox-static image
apt-get install -y -q --no-install-recommends libjansson-dev containernetworking-plugins

# kmeshd's /metrics server, and the Prometheus the telemetry test scrapes
# it with (tests/host/telemetry.sh; docs/telemetry.md)
apt-get install -y -q --no-install-recommends libmicrohttpd-dev prometheus

# The xDS test control plane runs on Node.js (npm packages installed at test
# time). Machines of this kind come with Node 20; otherwise Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	apt-get install -y -q --no-install-recommends nodejs npm
fi

apt-get install -y -q --no-install-recommends -t bookworm-backports \
	libbpf-dev bpftool "linux-headers-$KVER" linux-source-6.12

# bookworm's own kernel headers (6.1): the module must refuse to build there
# with its own message (tests/vm/run.sh, old_kernel_refusal)
H61=$(apt-cache depends linux-headers-amd64/bookworm 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-headers-6\.1\./ { print $2; exit }')
[ -n "$H61" ] || { echo "install-deps: cannot resolve bookworm's linux-headers-6.1" >&2; exit 1; }
apt-get install -y -q --no-install-recommends "$H61"

echo "install-deps: done (clang $(clang-19 --version | head -1 | awk '{print $4}'), bpftool $(bpftool version | head -1 | awk '{print $2}'), headers $KVER)"
