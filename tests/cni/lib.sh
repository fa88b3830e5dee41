# shellcheck shell=bash
# kmesh-cni tests: kmeshd on a test pin root and state directory, and the
# plugin run the way a runtime runs it. Sourced by tests/cni/plugin.sh and
# tests/cni/podman.sh (after tests/host/lib.sh and tests/lib/report.sh).
#   needs: P (prefix), WORK, PIN, STATE, CONF, LOG

CNI_BIN=$KM_BUILD/kmesh-cni
CTL=("$KM_BUILD/kmeshctl" --pin-root "$PIN" --state-file "$STATE/kmeshd.state")
SOCK=$STATE/kmeshd.sock
KMESHD_PID=

start_kmeshd() {
	"$KM_BUILD/kmeshd" --config "$CONF" --pin-root "$PIN" --state-dir "$STATE" \
		>> "$LOG" 2>&1 &
	KMESHD_PID=$!
	# up to 30 s: loading is well under a second, but a loaded machine
	# (qemu beside it) has been seen to take over 10
	for _ in $(seq 600); do
		[ -S "$SOCK" ] && grep -q '^last_attempt=[1-9]' "$STATE/kmeshd.state" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "kmeshd did not come up: $(tail -n 5 "$LOG")" >&2
	return 1
}
stop_kmeshd() {
	[ -n "$KMESHD_PID" ] || return 0
	kill "$KMESHD_PID" 2>/dev/null
	wait "$KMESHD_PID" 2>/dev/null
	KMESHD_PID=
}

# enrollments as "namespace/workload path" lines, from kmeshd
pods() {
	"${CTL[@]}" -o json enrollments | python3 -c '
import json, sys
for e in json.load(sys.stdin)["enrollments"]:
    print("%s/%s %s" % (e.get("namespace", "-"), e.get("workload", "-"), e["path"]))'
}
# rows of the map whose path matches a regex (whatever kmeshd says)
rows() { "${CTL[@]}" status | grep -cE "^  netns +[0-9]+ +$1" ; }
