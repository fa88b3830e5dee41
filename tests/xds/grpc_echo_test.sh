#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The gRPC h2c transport (userspace/source/xds/grpc.c) against real servers on
# loopback: grpc-js for the echo service, node's http2 for protocol
# misbehaviour, a silent TCP peer for keepalive (grpc_echo_server.js). Each
# case is one run of build/tools/km_grpc_echo (tests/xds/km_grpc_echo.c).
#
# Prints "ok N - case" / "not ok N - case" / "ok N - case # SKIP why" and,
# last, "N passed, N failed, N skipped". Needs node and npm; installs
# @grpc/grpc-js and @grpc/proto-loader into build/grpc-echo-node once.
#   tests/xds/grpc_echo_test.sh [CASE...]
set -uo pipefail
cd "$(dirname "$0")/../.."

CLIENT=build/tools/km_grpc_echo
NODE_DIR=build/grpc-echo-node
pass=0 fail=0 skip=0 n=0
server_pid=
tmp=$(mktemp -d)

cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

result() {	# ok|fail|skip name [detail]
	n=$((n + 1))
	case $1 in
	ok)	echo "ok $n - $2"; pass=$((pass + 1)) ;;
	skip)	echo "ok $n - $2 # SKIP ${3:-}"; skip=$((skip + 1)) ;;
	*)	echo "not ok $n - $2"; fail=$((fail + 1))
		[ -n "${3:-}" ] && sed 's/^/#   /' <<< "$3" ;;
	esac
}

finish() {
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
}

skip_all() {
	result skip "gRPC echo suite" "$1"
	finish
}

command -v node >/dev/null && command -v npm >/dev/null || skip_all "node/npm not installed"

if [ ! -x "$CLIENT" ]; then
	timeout 300 make -s "$CLIENT" >"$tmp/make.log" 2>&1 ||
		{ result fail "build $CLIENT" "$(tail -20 "$tmp/make.log")"; finish; }
fi

# Pinned majors; once installed, reused (no network).
if [ ! -d "$NODE_DIR/node_modules/@grpc/grpc-js" ] ||
   [ ! -d "$NODE_DIR/node_modules/@grpc/proto-loader" ]; then
	mkdir -p "$NODE_DIR"
	if ! timeout 300 npm install --prefix "$NODE_DIR" --ignore-scripts --no-audit --no-fund \
		@grpc/grpc-js@1 @grpc/proto-loader@0 >"$tmp/npm.log" 2>&1; then
		skip_all "npm install failed: $(tail -3 "$tmp/npm.log" | tr '\n' ' ')"
	fi
fi

NODE_PATH="$PWD/$NODE_DIR/node_modules" node tests/xds/grpc_echo_server.js \
	>"$tmp/ports" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 100); do
	grep -q '^ports ' "$tmp/ports" 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
ports=$(grep '^ports ' "$tmp/ports" 2>/dev/null)
if [ -z "$ports" ]; then
	result fail "echo server start" "$(cat "$tmp/server.log")"
	finish
fi
port() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<< "$ports"; }
args="$(port grpc) $(port raw) $(port raw6) $(port silent)"

if [ $# -gt 0 ]; then
	cases="$*"
else
	cases=$(timeout 10 "$CLIENT" --list) || { result fail "list cases"; finish; }
fi
for c in $cases; do
	# shellcheck disable=SC2086
	out=$(timeout 60 "$CLIENT" "$c" $args 2>&1)
	rc=$?
	case $rc in
	0)	result ok "$c" ;;
	77)	result skip "$c" "$(tail -1 <<< "$out")" ;;
	124)	result fail "$c" "timed out after 60 s"$'\n'"$out" ;;
	*)	result fail "$c" "$out" ;;
	esac
	if ! kill -0 "$server_pid" 2>/dev/null; then
		result fail "echo server still running after $c" "$(tail -20 "$tmp/server.log")"
		break
	fi
done
finish
