#!/usr/bin/env bash
# Builds one libFuzzer target (libFuzzer + ASan + UBSan) and runs it for a
# bounded time:
#   http   the HTTP request-head parser (kmod/http_parse.c), from the seed
#          heads in tests/fuzz/corpus/http;
#   route  the route matcher and table builder (kmod/route_match.c,
#          userspace/lib/route_build.c), requests and damaged tables, from
#          seeds written here.
# New inputs go to build/fuzz/corpus/TARGET, crashes to build/fuzz/: the
# seeds in the tree are never rewritten.
#   FUZZ_SECONDS=120 tests/fuzz/run.sh [http|route]     (default: http)
# Needs clang-19 and its libFuzzer runtime (Debian: libclang-rt-19-dev).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLANG=${CLANG:-clang-19}
target=${1:-http}
out=build/fuzz
mkdir -p "$out/corpus/$target"
cflags=(-g -O1 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -Iinclude)

case $target in
http)
	$CLANG "${cflags[@]}" tests/fuzz/fuzz_http_parse.c kmod/http_parse.c \
		-o "$out/fuzz_http_parse"

	# Tokens the parser branches on, so mutations reach past the request
	# line.
	cat > "$out/http.dict" <<'DICT'
"GET "
"OPTIONS "
"CONNECT "
" HTTP/1.1\x0d\x0a"
" HTTP/1.0\x0a"
"\x0d\x0a"
"\x0d\x0a\x0d\x0a"
"\x0a\x0a"
"Host: "
"host:"
"http://"
"https://"
"[::1]:"
":443"
"?"
"#"
"@"
"*"
DICT

	# max_len a little over KM_HTTP_MAX_HEAD so the size limit is reached
	# too.
	exec "$out/fuzz_http_parse" -max_total_time="${FUZZ_SECONDS:-30}" \
		-max_len=4300 -dict="$out/http.dict" -artifact_prefix="$out/" \
		-print_final_stats=1 "$out/corpus/http" tests/fuzz/corpus/http
	;;
route)
	$CLANG "${cflags[@]}" -D_GNU_SOURCE -Iuserspace/lib \
		tests/fuzz/fuzz_route_match.c kmod/route_match.c \
		kmod/http_parse.c userspace/lib/route_build.c \
		userspace/lib/dup.c userspace/lib/model.c \
		-o "$out/fuzz_route_match"

	# One seed per mode (the first byte): a structured request, a raw
	# head, a patched table, a raw table.
	seeds=$out/corpus/route-seeds
	mkdir -p "$seeds"
	printf '\x00\x01\x02\x03\x01\x04\x02\x00\x01\x01\x05' > "$seeds/structured"
	printf '\x01GET /api/v1?q=1 HTTP/1.1\r\nHost: x.b.a.com\r\nX-H: Yes\r\n\r\n' \
		> "$seeds/raw-head"
	printf '\x02\x00\x00\x00\x00\x00\x00\x00\x02\x00\x10\xff\x00\x2c\x07' \
		> "$seeds/patched-table"
	printf '\x03\x00\x00\x00\x00\x00\x00\x00KMRT\x02\x00\x00\x00\x40\x00\x00\x00' \
		> "$seeds/raw-table"
	printf '\x01GET /s?x-a=&%%76=1%%32&a HTTP/1.1\r\nHost: h\r\nx-a: 1\r\n\r\n' \
		> "$seeds/raw-query"

	cat > "$out/route.dict" <<'DICT'
"KMRT"
"\x02\x00"
"\xff\xff\xff\xff"
"\x00\x00\x00\x00"
" HTTP/1.1\x0d\x0a"
"Host: "
"\x0d\x0a\x0d\x0a"
"a.com"
"/api"
"x-h: "
"?v=2"
"&ab="
"%76"
DICT

	exec "$out/fuzz_route_match" -max_total_time="${FUZZ_SECONDS:-30}" \
		-max_len=4300 -dict="$out/route.dict" -artifact_prefix="$out/" \
		-print_final_stats=1 "$out/corpus/route" "$seeds"
	;;
*)
	echo "usage: $0 [http|route]" >&2
	exit 2
	;;
esac
