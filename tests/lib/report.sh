# shellcheck shell=bash
# Result lines shared by the bash suites (host, vm, xds): "ok N - name",
# "not ok N - name" with "#   detail" lines, "ok N - name # SKIP why", and
# the closing "N passed, N failed, N skipped" that tests/run-all.sh and the
# CI runner read.
PASS=0 FAIL=0 SKIP=0 N=0

ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"
	shift; for l in "$@"; do echo "#   $l"; done
}
skip() { N=$((N + 1)); SKIP=$((SKIP + 1)); echo "ok $N - $1 # SKIP $2"; }
report_summary() { echo "$PASS passed, $FAIL failed, $SKIP skipped"; }
