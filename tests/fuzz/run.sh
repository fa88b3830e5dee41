#!/usr/bin/env bash
# Builds the HTTP request-head parser fuzzer (libFuzzer + ASan + UBSan) and
# runs it for a bounded time from the seed heads in tests/fuzz/corpus/http.
# New inputs go to build/fuzz/corpus/http, crashes to build/fuzz/: the seeds
# in the tree are never rewritten.
#   FUZZ_SECONDS=120 tests/fuzz/run.sh
# Needs clang-19 and its libFuzzer runtime (Debian: libclang-rt-19-dev).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLANG=${CLANG:-clang-19}
out=build/fuzz
mkdir -p "$out/corpus/http"

$CLANG -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Iinclude \
	tests/fuzz/fuzz_http_parse.c kmod/http_parse.c \
	-o "$out/fuzz_http_parse"

# Tokens the parser branches on, so mutations reach past the request line.
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

# max_len a little over KM_HTTP_MAX_HEAD so the size limit is reached too.
exec "$out/fuzz_http_parse" -max_total_time="${FUZZ_SECONDS:-30}" \
	-max_len=4300 -dict="$out/http.dict" -artifact_prefix="$out/" \
	-print_final_stats=1 "$out/corpus/http" tests/fuzz/corpus/http
