#!/usr/bin/env bash
# Builds one libFuzzer target (libFuzzer + ASan + UBSan) and runs it for a
# bounded time:
#   http   the HTTP request-head parser (kmod/http_parse.c), from the seed
#          heads in tests/fuzz/corpus/http;
#   route  the route matcher and table builder (kmod/route_match.c,
#          userspace/model/route_build.c), requests and damaged tables, from
#          seeds written here;
#   regex  the safe_regex compiler and the DFA runner (userspace/model/
#          regex_dfa.c, include/kmesh/regex_dfa.h): any pattern, glibc's
#          regexec() as the reference where the syntaxes agree, damaged
#          tables;
#   yaml   the Envoy-style YAML reader (userspace/source/yaml/config_yaml.c), from
#          examples/ and the YAML of the unit tests' tables;
#   xds    the xDS resource decoder (userspace/source/xds/resources.c): Cluster,
#          ClusterLoadAssignment, Listener and RouteConfiguration bytes, from
#          the unit tests' fixture and every bad-case resource.
# yaml and xds link all of libkmesh, built here with the fuzzer's flags
# (build/fuzz/obj; needs `make` first for the generated headers).
# New inputs go to build/fuzz/corpus/TARGET, crashes to build/fuzz/: the
# seeds in the tree are never rewritten.
#   FUZZ_SECONDS=120 tests/fuzz/run.sh [http|route|regex|yaml|xds]  (default: http)
# Needs clang-19 and its libFuzzer runtime (Debian: libclang-rt-19-dev).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLANG=${CLANG:-clang-19}
target=${1:-http}
out=build/fuzz
mkdir -p "$out/corpus/$target"
cflags=(-g -O1 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -Iinclude)

# lib_objs: every libkmesh source (userspace/{source,model,dataplane,util}, the
# generated protobuf-c code) compiled with the fuzzer's flags into
# $out/obj, again only when the source is newer; the list in objs
usr_dirs=(userspace/source/yaml userspace/source/xds userspace/model
	  userspace/dataplane userspace/util)
lib_inc=(-D_GNU_SOURCE "${usr_dirs[@]/#/-I}" -Ibuild -Ibuild/proto
	 -I/usr/include/libnl3 "-DKMESH_VERSION=\"$(cat VERSION)\"")
lib_libs=(-lyaml -lprotobuf-c -lbpf -lelf -lz -lnl-genl-3 -lnl-3 -lnghttp2 -lssl -lcrypto -ljansson -lcares -lmicrohttpd -lpthread)
lib_objs() {
	local src o newest
	objs=()
	[ -d build/proto ] || { echo "fuzz: build/proto is missing (make)" >&2; exit 1; }
	newest=$(ls -t include/kmesh/*.h $(printf '%s/*.h ' "${usr_dirs[@]}") | head -n 1)
	for src in $(printf '%s/*.c ' "${usr_dirs[@]}") $(find build/proto -name '*.pb-c.c'); do
		o=$out/obj/${src//\//_}.o
		objs+=("$o")
		[ "$o" -nt "$src" ] && [ "$o" -nt "$newest" ] && continue
		mkdir -p "$out/obj"
		$CLANG "${cflags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" "${lib_inc[@]}" \
			-c "$src" -o "$o"
	done
}

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
	$CLANG "${cflags[@]}" -D_GNU_SOURCE "${usr_dirs[@]/#/-I}" \
		tests/fuzz/fuzz_route_match.c kmod/route_match.c \
		kmod/http_parse.c userspace/model/route_build.c \
		userspace/util/dup.c userspace/model/model.c \
		userspace/model/authz.c \
		userspace/model/check.c userspace/model/maglev.c userspace/util/diag.c \
		userspace/model/local_reply.c userspace/model/regex_dfa.c \
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
regex)
	$CLANG "${cflags[@]}" -Iuserspace/model tests/fuzz/fuzz_regex.c \
		userspace/model/regex_dfa.c -o "$out/fuzz_regex"
	# one seed per mode (the first byte), and the shapes Istio users write
	seeds=$out/corpus/regex-seeds
	mkdir -p "$seeds"
	printf '\x00/api/v[0-9]+/users/[a-z]+(/.*)?\x00/api/v1/users/bob' > "$seeds/raw"
	printf '\x00((a|b)*a(a|b){6})+\x00abababbbaba' > "$seeds/raw-states"
	printf '\x00(?P<v>v[12])\\.\\d+|[[:alpha:]]\\w*$\x00v1.2' > "$seeds/raw-classes"
	printf '\x01\x0c\x00\x04\x01\x03\x06\x00\x01\x05\x00\x07\x01\x02\x00\x01\x02' > "$seeds/differential"
	printf '\x01\x97\x01\x04' > "$seeds/differential-icase"
	printf '\x01\x8c\x00\x04\x01\x03\x0a\x00\x01\x0b\x07\x01\x02\x00\x04\x03\x01' > "$seeds/differential-icase-2"
	printf '\x02\x04\x00\x06\x01\x07\x10\x00\xff\x20\x01\x03' > "$seeds/damaged"
	cat > "$out/regex.dict" <<'DICT'
"(?:"
"(?P<n>"
"[^"
"[[:alpha:]]"
"\\d"
"\\w"
"\\s"
"{2,5}"
"{3}"
".*"
"\\x{e9}"
"\xc3\xa9"
"|"
DICT
	exec "$out/fuzz_regex" -max_total_time="${FUZZ_SECONDS:-30}" \
		-max_len=600 -timeout=10 -dict="$out/regex.dict" \
		-artifact_prefix="$out/regex-" -print_final_stats=1 \
		"$out/corpus/regex" "$seeds"
	;;
yaml | xds)
	lib_objs
	src=tests/fuzz/fuzz_config_yaml.c
	[ "$target" = xds ] && src=tests/fuzz/fuzz_xds_resources.c
	$CLANG "${cflags[@]}" "${lib_inc[@]}" "$src" "${objs[@]}" \
		"${lib_libs[@]}" -o "$out/fuzz_$target"
	seeds=$out/corpus/$target-seeds
	rm -rf "$seeds"
	mkdir -p "$seeds"
	if [ "$target" = yaml ]; then
		cp examples/*.yaml "$seeds/"
		# the YAML literals of the unit tests, one file each
		n=0
		for f in tests/vm/cases/lib.sh tests/host/run.sh tests/xds/run.sh; do
			n=$((n + 1))	# not in the redirection: that runs in the child
			awk '/static_resources:/ { on = 1 } on { sub(/^\t+/, ""); print } /^\tEOF$|^EOF$/ { on = 0 }' \
				"$f" > "$seeds/from-$n.yaml"
		done
		extra=(-max_len=65536 -timeout=10)
	else
		[ -x build/tests/test_xds_resources ] ||
			{ echo "fuzz xds: build/tests/test_xds_resources is missing (make)" >&2; exit 1; }
		KM_XDS_SEEDS=$seeds build/tests/test_xds_resources
		extra=(-max_len=16384 -timeout=10)
	fi
	exec "$out/fuzz_$target" -max_total_time="${FUZZ_SECONDS:-30}" \
		"${extra[@]}" -artifact_prefix="$out/$target-" \
		-print_final_stats=1 "$out/corpus/$target" "$seeds"
	;;
*)
	echo "usage: $0 [http|route|regex|yaml|xds]" >&2
	exit 2
	;;
esac
