# shellcheck shell=bash
# Under CI=true a skipped test is a failure unless tests/allowed-skips.txt
# names it with a reason: a green run must mean everything ran. Sourced by
# tests/run-all.sh (which gates every suite's output) and tests/lib/ci_skips_test.sh.
#
#   ci_skip_allowed NAME       0 if the allow-list has a GLOB matching NAME
#                              (bash pattern) with a non-empty reason
#   ci_skip_check SUITE OUT    prints a "not ok" line per skip in OUT the
#                              allow-list does not allow, and sets
#                              CI_SKIP_FAILS to how many (0 unless CI=true)
#
# Skips are read from the lines every suite prints: "ok N - NAME # SKIP WHY"
# (tests/lib/report.sh and the xDS suites) and cmocka's "[  SKIPPED ] NAME";
# a summary that counts more skips than it named is a failure too.
# (by default the repository's, whatever the caller's directory)
KM_ALLOWED_SKIPS=${KM_ALLOWED_SKIPS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/allowed-skips.txt}

ci_skip_allowed() {
	local name=$1 glob reason
	[ -r "$KM_ALLOWED_SKIPS" ] || return 1
	while IFS='|' read -r glob reason; do
		glob=${glob%"${glob##*[![:space:]]}"}	# trailing blanks
		reason=${reason#"${reason%%[![:space:]]*}"}	# leading blanks
		case $glob in '' | '#'*) continue ;; esac
		[ -n "$reason" ] || continue	# an entry must say why
		# shellcheck disable=SC2053
		[[ $name == $glob ]] && return 0
	done < "$KM_ALLOWED_SKIPS"
	return 1
}

ci_skip_check() {
	local suite=$1 out=$2 l name why named=0 counted
	CI_SKIP_FAILS=0
	[ "${CI:-}" = true ] || return 0
	while IFS= read -r l; do
		[ -n "$l" ] || continue
		named=$((named + 1))
		if [[ $l =~ ^ok\ [0-9]+\ -\ (.*)\ \#\ SKIP\ ?(.*)$ ]]; then
			name=${BASH_REMATCH[1]} why=${BASH_REMATCH[2]}
		else
			name="$suite: ${l#*\] }" why="skipped by cmocka"
		fi
		ci_skip_allowed "$name" && continue
		echo "not ok - CI: \"$name\" was skipped ($why) and $KM_ALLOWED_SKIPS does not allow it"
		CI_SKIP_FAILS=$((CI_SKIP_FAILS + 1))
	# cmocka names a skipped test twice (when it runs, and in the summary)
	done < <(grep -E '^ok [0-9]+ - .* # SKIP|^\[  SKIPPED \] [^0-9]' <<< "$out" | awk '!seen[$0]++')
	counted=$(sed -n 's/^[0-9]* passed, [0-9]* failed, \([0-9]*\) skipped.*/\1/p' <<< "$out" | tail -1)
	if [ "${counted:-0}" -gt "$named" ]; then
		echo "not ok - CI: $suite counted $counted skipped but named $named: an unnamed skip cannot be allowed"
		CI_SKIP_FAILS=$((CI_SKIP_FAILS + counted - named))
	fi
}
