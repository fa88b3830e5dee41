#!/usr/bin/env bash
# One version, from VERSION: the DKMS package (dkms.conf as dkms/dkms.sh
# stages it), the Debian packages (debian/changelog), kmesh.ko's
# MODULE_VERSION and the xDS gRPC user agent agree; dkms.conf's BUILD_EXCLUSIVE_KERNEL takes 6.12 and later only. Needs a
# build (make all); the module check is skipped without kernel headers.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/report.sh
: "${KM_BUILD:=build}"
ver=$(cat VERSION)
stage=$(mktemp -d /tmp/kmesh-dkms-stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT

if [[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then ok "VERSION is $ver"
else not_ok "VERSION is MAJOR.MINOR.PATCH" "'$ver'"; fi

dkms/dkms.sh stage "$stage/src"
conf=$stage/src/dkms.conf
pv=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$conf")
if [ "$pv" = "$ver" ]; then ok "dkms.conf PACKAGE_VERSION is $ver"
else not_ok "dkms.conf PACKAGE_VERSION is VERSION" "dkms.conf '$pv', VERSION '$ver'"; fi

ko=kmod/kmesh.ko
if [ -e "$ko" ]; then
	mv=$(modinfo -F version "$ko")
	if [ "$mv" = "$ver" ]; then ok "kmesh.ko MODULE_VERSION is $ver"
	else not_ok "kmesh.ko MODULE_VERSION is VERSION" "module '$mv', VERSION '$ver' (make module after changing VERSION)"; fi
else skip "kmesh.ko MODULE_VERSION is VERSION" "no $ko (no kernel headers for make module)"; fi

# the agent's user agent, as compiled in (userspace/source/xds/grpc.c)
if grep -qa "kmesh/$ver" "$KM_BUILD/kmeshd" && ! grep -aoE 'kmesh/[0-9]+\.[0-9.]+' "$KM_BUILD/kmeshd" | grep -qvx "kmesh/$ver"; then
	ok "kmeshd's gRPC user agent is kmesh/$ver"
else not_ok "kmeshd's gRPC user agent is kmesh/VERSION" "$(grep -aoE 'kmesh/[0-9][0-9.]*' "$KM_BUILD/kmeshd" | sort -u | tr '\n' ' ')"; fi

# DKMS matches BUILD_EXCLUSIVE_KERNEL with bash's =~ against the release.
# The range is what kmod/compat.h covers and the module matrix builds:
# 6.12 to 7.2 (docs/kernels.md); a newer kernel is refused until checked.
re=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$/\1/p' "$conf")
bad=
for k in 6.12.0 6.12.95+deb12-amd64 6.12.117+deb13-amd64 6.18.1 7.0.0 7.1.2-arch1 7.2.13+deb14-amd64; do
	[[ $k =~ $re ]] || bad+=" refused $k"
done
for k in 6.1.0-37-amd64 6.11.5 6.2.0 5.15.0 4.19.0 6.9.1 7.3.0 8.0.1 10.0.1; do
	[[ $k =~ $re ]] && bad+=" accepted $k"
done
if [ -n "$re" ] && [ -z "$bad" ]; then ok "BUILD_EXCLUSIVE_KERNEL takes 6.12 to 7.2, not 6.1, 6.11 or 7.3"
else not_ok "BUILD_EXCLUSIVE_KERNEL takes 6.12 to 7.2 only" "regex '$re':$bad"; fi

# the packages: make deb writes debian/changelog with debian/changelog.sh and
# debian/rules refuses a changelog with another version
debian/changelog.sh > "$stage/changelog"
cv=$(dpkg-parsechangelog -l "$stage/changelog" -S Version 2>&1)
if [ "$cv" = "$ver" ] && grep -q '^VERSION := $(shell cat VERSION)$' debian/rules; then
	ok "debian/changelog (make deb) and debian/rules take version $ver"
else not_ok "debian/changelog and debian/rules take VERSION" "changelog '$cv', VERSION '$ver'"; fi

report_summary
[ "$FAIL" -eq 0 ]
