#!/usr/bin/env bash
# Runs every test: unit (cmocka binaries in build/tests) and host integration
# (tests/host/run.sh, root). Prints each suite's own output and, last, one
# line for the runner: "N passed, N failed, N skipped".
#   tests/run-all.sh [--unit|--host|--cni|--xds|--vm|--bench|--pkg]
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
pass=0 fail=0 skip=0 todo=0
. tests/lib/ci_skips.sh

# gate SUITE OUTPUT: under CI=true a skip not in tests/allowed-skips.txt
# fails (tests/lib/ci_skips.sh)
gate() {
	ci_skip_check "$1" "$2"
	# each was counted as skipped (add_counts, unit_dir): now it is failed
	fail=$((fail + CI_SKIP_FAILS)) skip=$((skip - CI_SKIP_FAILS))
}

add_counts() {	# reads a suite's output, adds its counts
	local out=$1 p f s t
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' <<< "$out" | tail -1)
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' <<< "$out" | tail -1)
	s=$(sed -n 's/^.* failed, \([0-9]*\) skipped.*/\1/p' <<< "$out" | tail -1)
	t=$(sed -n 's/^[0-9]* passed, [0-9]* failed, [0-9]* skipped, \([0-9]*\) todo$/\1/p' <<< "$out" | tail -1)
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0})); todo=$((todo + ${t:-0}))
}

# unit_dir DIR LABEL: every cmocka binary in DIR
unit_dir() {
	local t out rc p f s
	for t in "$1"/test_*; do
		[ -x "$t" ] || continue
		echo "== $2: $(basename "$t")"
		out=$("$t" 2>&1); rc=$?
		echo "$out"
		gate "$2: $(basename "$t")" "$out"
		p=$(sed -n 's/^.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<< "$out" | tail -1)
		f=$(sed -n 's/^.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<< "$out" | tail -1)
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' <<< "$out" | tail -1)
		pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
		# a crash (or a sanitizer's report) before cmocka's summary fails
		[ $rc -ne 0 ] && [ -z "$f" ] && fail=$((fail + 1))
	done
}

if [ "$what" = all ] || [ "$what" = --unit ]; then
	unit_dir build/tests unit
	# the same tests built with ASan+UBSan (make asan); a report aborts
	if [ -d build/asan/tests ]; then
		unit_dir build/asan/tests "unit (ASan+UBSan)"
	elif [ "${CI:-}" = true ]; then
		echo "not ok - the ASan+UBSan unit build (make asan) is missing"
		fail=$((fail + 1))
	fi
fi

# fuzz TARGET NAME WHAT: a bounded libFuzzer run (tests/fuzz/run.sh TARGET),
# one pass/fail line
fuzz() {
	local target=$1 name=$2 what=$3 out
	echo "== fuzz: $what, ${FUZZ_SECONDS} s"
	if out=$(FUZZ_SECONDS=$FUZZ_SECONDS tests/fuzz/run.sh "$target" 2>&1); then
		echo "$out" | grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)' | tail -1
		echo "ok - $name: no failure in ${FUZZ_SECONDS} s"
		pass=$((pass + 1))
	else
		echo "$out" | tail -30
		echo "not ok - $name found a failure (inputs under build/fuzz/)"
		fail=$((fail + 1))
	fi
}

if [ "$what" = all ] || [ "$what" = --unit ]; then
	# 15 s each, 75 s in all (longer: FUZZ_SECONDS=600, per target)
	: "${FUZZ_SECONDS:=15}"
	fuzz http fuzz_http_parse "HTTP request-head parser"
	fuzz route fuzz_route_match "route matcher and table builder"
	fuzz regex fuzz_regex "safe_regex compiler and DFA runner (glibc regexec as reference)"
	fuzz yaml fuzz_config_yaml "Envoy YAML reader"
	fuzz xds fuzz_xds_resources "xDS resource decoder (Cluster, CLA, Listener, RouteConfiguration)"
fi

# run_suite NAME CMD...: a suite that prints "ok"/"not ok" lines and its own
# "N passed, N failed, N skipped" line
run_suite() {
	local name=$1 out rc
	shift
	echo "== $name: $*"
	out=$(timeout "${SUITE_TIMEOUT:-900}" "$@" 2>&1); rc=$?
	echo "$out"
	add_counts "$out"
	gate "$name" "$out"
	if [ $rc -ne 0 ] && ! grep -qE '^[0-9]+ passed, [0-9]+ failed' <<< "$out"; then
		echo "$name suite exited $rc without a summary"
		fail=$((fail + 1))
	fi
}

if [ "$what" = all ] || [ "$what" = --unit ]; then
	run_suite "CI skip gate" tests/lib/ci_skips_test.sh
	run_suite version tests/unit/version.sh
fi

if [ "$what" = all ] || [ "$what" = --host ]; then
	run_suite "host integration" tests/host/run.sh
	run_suite sockmap tests/host/sockmap.sh
	run_suite "DNS clusters" tests/host/dns.sh
	run_suite "traffic policy" tests/host/policy.sh
	run_suite authorization tests/host/authz.sh
	run_suite telemetry tests/host/telemetry.sh
	run_suite "local replies in network namespaces" tests/host/reply.sh
fi
# kmesh-cni (tests/cni): the plugin against a real kmeshd, then under podman
# with its CNI backend
if [ "$what" = all ] || [ "$what" = --cni ]; then
	run_suite "kmesh-cni" tests/cni/plugin.sh
	run_suite "kmesh-cni under podman" tests/cni/podman.sh
fi
# xDS: the gRPC transport against grpc-js, the test control plane, kmeshd as
# an ADS client with real traffic
if [ "$what" = all ] || [ "$what" = --xds ]; then
	run_suite "gRPC transport" tests/xds/grpc_echo_test.sh
	run_suite "xDS test control plane" tests/xds/server_selftest.sh
	run_suite "xDS" tests/xds/run.sh
	run_suite "xDS over TLS" tests/xds/tls.sh
	run_suite "xDS traffic policy" tests/xds/policy.sh
	run_suite "xDS Istio ambient authorization" tests/xds/ambient.sh
	run_suite "xDS Istio fidelity" tests/xds/fidelity.sh
	run_suite "xDS Istio features" tests/xds/features.sh
	run_suite "xDS Istio corpus" tests/xds/corpus.sh
fi
# The mesh benchmark's harness in smoke mode (1 s runs): every configuration
# gives well-formed figures or says why not; timings are not judged
if [ "$what" = all ] || [ "$what" = --bench ]; then
	run_suite "mesh bench smoke" tests/bench/mesh_bench_test.sh
fi
# kmesh.ko in Debian's 6.12, 6.1 and unstable 7.x kernels under qemu (this
# kernel cannot load modules)
if [ "$what" = all ] || [ "$what" = --vm ]; then
	# kmesh.ko for each supported Debian kernel (docs/kernels.md)
	run_suite "module matrix" scripts/module-matrix.sh
	# cold: the debug kernel's first build (12-15 min here) comes first
	SUITE_TIMEOUT=3600 run_suite VM tests/vm/run.sh
fi

# Packages, image, manifests (tests/pkg): make deb installed and purged with
# dpkg, its DKMS-built kmesh.ko in the 6.12 VM, make image run by podman on
# the demo config, deploy/ checked offline
if [ "$what" = all ] || [ "$what" = --pkg ]; then
	run_suite packages tests/pkg/deb.sh
	run_suite "packages: DKMS module in the VM" tests/pkg/deb_vm.sh
	run_suite image tests/pkg/image.sh
	run_suite deploy tests/pkg/deploy_check.py
fi

# todo: expected failures from known bugs outside kmesh (each suite names them)
echo "$pass passed, $fail failed, $skip skipped$( [ "$todo" -gt 0 ] && echo ", $todo todo")"
[ "$fail" -eq 0 ]
