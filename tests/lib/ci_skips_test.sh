#!/usr/bin/env bash
# Self-test of the CI skip gate (tests/lib/ci_skips.sh): a skip the
# allow-list does not name fails under CI=true, an allowed one does not,
# outside CI nothing does. Prints "ok"/"not ok" lines and a summary.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/report.sh
. tests/lib/ci_skips.sh
list=$(mktemp)
trap 'rm -f "$list"' EXIT
KM_ALLOWED_SKIPS=$list
cat > "$list" <<'L'
# a comment
vm(*): haproxy-* | haproxy is not in this image
suite: no-reason |
L
suite_out='ok 1 - vm(6.12): haproxy-bench # SKIP no haproxy
ok 2 - vm(6.12): l7-routes # SKIP no /kmesh.ko
ok 3 - host: real case
[  SKIPPED ] no-reason
2 passed, 0 failed, 3 skipped'

# expect FAILS DESC: runs the gate on $suite_out with CI=$ci
expect() {
	local got
	CI=$ci ci_skip_check suite "$suite_out" > /dev/null
	got=$CI_SKIP_FAILS
	if [ "$got" = "$1" ]; then ok "$2"; else not_ok "$2" "gate counted $got failures, expected $1"; fi
}
ci=true
expect 2 "CI: an unlisted skip and a listed entry without a reason each fail; an allowed skip does not"
suite_out='ok 1 - vm(6.1): haproxy-x # SKIP gone
1 passed, 0 failed, 1 skipped'
expect 0 "CI: a skip the allow-list names with a reason passes"
suite_out='x needs root
0 passed, 0 failed, 1 skipped'
expect 1 "CI: a summary counting a skip it never named fails"
suite_out='ok 1 - a # SKIP b
1 passed, 0 failed, 1 skipped'
ci=
expect 0 "outside CI a skip is only a skip"
ci=true
# cmocka prints a skipped test's name twice: once when it runs, once in
# the summary
suite_out='[ RUN      ] a
[  SKIPPED ] a
[  PASSED  ] 1 test(s).
[  SKIPPED ] 1 test(s), listed below:
[  SKIPPED ] a'
expect 1 "CI: a test cmocka skipped is one failure, not two"
KM_ALLOWED_SKIPS=/nonexistent
suite_out='ok 1 - a # SKIP b
1 passed, 0 failed, 1 skipped'
expect 1 "CI: no allow-list file allows nothing"
# report.sh's own skip: a suite run alone (make vm-check) obeys the list too
KM_ALLOWED_SKIPS=$list
# suite_skips CI NAME: a report.sh suite in a subshell that skips NAME
suite_skips() {
	(
		CI=$1
		. tests/lib/report.sh
		skip "$2" "some reason"
		report_summary
	)
}
out=$(suite_skips true "vm(6.12): l7-routes")
if grep -qx 'not ok 1 - vm(6.12): l7-routes' <<< "$out" && grep -qx '0 passed, 1 failed, 0 skipped' <<< "$out"
then ok "CI: report.sh's skip of an unlisted case is a named failure"
else not_ok "CI: report.sh's skip of an unlisted case is a named failure" "$out"; fi
out=$(suite_skips true "vm(6.1): haproxy-bench")
if grep -qx 'ok 1 - vm(6.1): haproxy-bench # SKIP some reason' <<< "$out" && grep -qx '0 passed, 0 failed, 1 skipped' <<< "$out"
then ok "CI: report.sh's skip of an allowed case stays a skip"
else not_ok "CI: report.sh's skip of an allowed case stays a skip" "$out"; fi
out=$(suite_skips "" "vm(6.12): l7-routes")
if grep -qx '0 passed, 0 failed, 1 skipped' <<< "$out"
then ok "outside CI report.sh's skip is only a skip"
else not_ok "outside CI report.sh's skip is only a skip" "$out"; fi
report_summary
