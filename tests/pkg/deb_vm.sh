#!/usr/bin/env bash
# The kmesh.ko that DKMS built when tests/pkg/deb.sh installed kmesh-dkms
# ($KO), loaded in Debian's 6.12 kernel under qemu (tests/vm/run.sh with
# KM_VM_KO): a first case checks the guest has that very file, then one L7
# case (80-l7-routes). Run it under flock /tmp/kmesh-vm.lock, after deb.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/report.sh
L7_KVER=${KVER:-6.12.95+deb12-amd64}
KO=build/deb/dkms-kmesh.ko
WORK=$(mktemp -d /tmp/kmesh-pkgvm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
[ "$(id -u)" -eq 0 ] || { skip "vm: DKMS-built kmesh.ko" "needs root"; report_summary; exit 0; }

# ---- the DKMS-built module in the 6.12 VM: one L7 case -------------------------
if [ ! -s "$KO" ]; then
	not_ok "vm($L7_KVER): the DKMS-built kmesh.ko loads and routes L7" "no $KO: tests/pkg/deb.sh failed or did not run"
else
	# a first case proves the guest has this very file, then the L7 case
	mkdir -p "$WORK/cases"
	sum=$(sha256sum "$KO" | cut -d' ' -f1)
	printf '# boot: 6.12\n. /cases/lib.sh\n[ "$(sha256sum /kmesh.ko | cut -d" " -f1)" = %s ] || fail "/kmesh.ko is not the DKMS build"\npass\n' \
		"$sum" > "$WORK/cases/05-dkms-ko.sh"
	cp tests/vm/cases/80-l7-routes.sh "$WORK/cases/"
	out=$(KM_VM_CASES="$WORK/cases" KM_VM_KO="$KO" \
		KM_VM_ONLY=6.12 KM_VM_NO_DKMS=1 tests/vm/run.sh 2>&1)
	echo "$out" | grep -E '^(ok|not ok|#)' | sed 's/^/# vm: /'
	if grep -q '^ok .*dkms-ko$' <<< "$out" && grep -q '^ok .*l7-routes$' <<< "$out" &&
	   grep -q '^[0-9]* passed, 0 failed' <<< "$out"; then
		ok "vm($L7_KVER): the DKMS-built kmesh.ko loads and routes L7 (l7-routes)"
	else
		not_ok "vm($L7_KVER): the DKMS-built kmesh.ko loads and routes L7 (l7-routes)" \
			"$(grep -E '^(not ok|#  )' <<< "$out" | head -n 10)"
	fi
fi
report_summary
[ "$FAIL" -eq 0 ]
