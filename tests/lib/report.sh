# shellcheck shell=bash
# Result lines shared by the bash suites (host, vm, xds): "ok N - name",
# "not ok N - name" with "#   detail" lines, "ok N - name # SKIP why",
# "[not ]ok N - name # TODO why" (a known bug: outside kmesh, or a kmesh
# defect documented in docs/ and matched by its exact signature: an
# expected failure, counted apart, never as a pass), and the closing "N passed,
# N failed, N skipped[, N todo]" that tests/run-all.sh and the CI runner read.
# Under CI=true a skip tests/allowed-skips.txt does not allow is printed and
# counted as a failure here already, so a suite run on its own (make
# vm-check) obeys the allow-list as under tests/run-all.sh.
# shellcheck source=ci_skips.sh
. "$(dirname "${BASH_SOURCE[0]}")/ci_skips.sh"
PASS=0 FAIL=0 SKIP=0 TODO=0 N=0

ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"
	shift; for l in "$@"; do echo "#   $l"; done
}
skip() {
	if [ "${CI:-}" = true ] && ! ci_skip_allowed "$1"; then
		not_ok "$1" "CI: skipped ($2) and $KM_ALLOWED_SKIPS does not allow it"
		return
	fi
	N=$((N + 1)); SKIP=$((SKIP + 1)); echo "ok $N - $1 # SKIP $2"
}
# todo FIXED NAME WHY: FIXED is 1 when the known bug did not show this time
todo() {
	N=$((N + 1)); TODO=$((TODO + 1))
	if [ "$1" = 1 ]; then echo "ok $N - $2 # TODO $3 (did not show: fixed on this kernel?)"
	else echo "not ok $N - $2 # TODO $3"; fi
}
report_summary() {
	echo "$PASS passed, $FAIL failed, $SKIP skipped$( [ "$TODO" -gt 0 ] && echo ", $TODO todo")"
}
