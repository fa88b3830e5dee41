# boot: 6.12 7.x trixie 6.12-debug
# timeout: 260
# L7 routing in the kernel: kmeshd's own connect programs defer the connect,
# kmesh.ko re-runs them on the first write and bpf_km_route matches the
# request head against the listener's route table. Routing by path, by
# header, by query parameter and by Host, with km_testcli (C) and busybox
# wget (without -T:
# busybox 1.35's static wget segfaults with it); the default
# route; kmeshctl status and the counters. safe_regex routes (DFAs kmeshd
# compiles into the route table, run by the module): path, header, query,
# hostile patterns against long paths; hostile configs refused naming the
# route, the pattern and why, the running config kept.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
l7_up
kmeshctl status | grep -q '^L7: .*routed by kmesh.ko.*web' ||
	fail "kmeshctl status does not say L7 is routed in the kernel: $(kmeshctl status | grep -E '^(L7|module)')"
r0=$(counter l7_routed)
l7_expect "path /b -> b" b -n 6 -P /b
l7_expect "path /b/x -> b" b -n 2 -P /b/x
l7_expect "path /bx -> default a (path_separated_prefix)" a -n 2 -P /bx
l7_expect "header x-canary: 1 -> d" d -n 4 -X 'x-canary: 1' -P /b
l7_expect "header x-canary: 2 -> default a" a -n 2 -X 'x-canary: 2'
l7_expect "query /q?v=2 -> c" c -n 2 -P '/q?v=2'
l7_expect "query /q?v=1 -> default a" a -n 2 -P '/q?v=1'
l7_expect "Host api.example.com -> c" c -n 4 -H api.example.com -P /b
l7_expect "Host API.Example.COM (case-insensitive) -> c" c -n 2 -H API.Example.COM
l7_expect "Host other.example.com -> * vhost default a" a -n 2 -H other.example.com
l7_expect "Host closed.example.com, /only -> a" a -n 2 -H closed.example.com -P /only
VIP=$KM_L7_VIP6 l7_expect "IPv6 listener, path /b -> b ([::1])" b -n 3 -P /b
VIP=$KM_L7_VIP6 l7_expect "IPv6 listener, path /x -> a ([::1])" a -n 3 -P /x
r1=$(counter l7_routed)
[ $((r1 - r0)) -ge 36 ] || fail "l7_routed counter moved by $((r1 - r0)), expected >= 36"
# busybox wget: another client, its own request head
body=$(in_app wget -q -O - --header 'Host: api.example.com' "http://$KM_L7_VIP/x" 2>&1)
[ "$body" = c ] || fail "wget Host api.example.com: got '$body', expected c"
body=$(in_app wget -q -O - "http://$KM_L7_VIP/b/page" 2>&1)
[ "$body" = b ] || fail "wget /b/page: got '$body', expected b"
body=$(in_app wget -q -O - "http://$KM_L7_VIP/" 2>&1)
[ "$body" = a ] || fail "wget /: got '$body', expected a"
# the module saw and rerouted them
kmeshctl status | grep -q 'rerouted [1-9]' || fail "kmesh.ko rerouted nothing: $(kmeshctl status | grep -A1 '^module:')"
note "l7_routed moved by $((r1 - r0)) for 36 km_testcli connections (6 over IPv6)"

# ---- safe_regex: the whole value, one DFA step per byte --------------------------
regex_routes() {	# [after]: the path, header and query checks only
	l7_expect "regex path /re/12/item -> c $1" c -n 1 -P /re/12/item
	l7_expect "regex header x-ver: v1.22 -> b $1" b -n 1 -X 'x-ver: v1.22' -P /rh
	l7_expect "regex query id=0badc0de -> c $1" c -n 1 -P '/rq?x=1&id=0badc0de'
	[ -n "$1" ] && return
	l7_expect "regex path /re/12/item/abc -> c" c -n 1 -P '/re/12/item/abc?q=1'
	l7_expect "regex path /re/12/items (not the whole path) -> default a" a -n 1 -P /re/12/items
	l7_expect "regex header x-ver: v1. -> default a" a -n 1 -X 'x-ver: v1.' -P /rh
	l7_expect "regex query id=0BADC0DE -> default a" a -n 1 -P '/rq?id=0BADC0DE'
	l7_expect "regex in 30 nested groups, /n/42 -> b" b -n 1 -P /n/42
}
regex_routes ""
out=$(kmeshctl explain --path /re/7/item web 2>&1)
echo "$out" | grep -q "^route: *'re-path'" || fail "kmeshctl explain /re/7/item: $(echo "$out" | oneline)"
# (a|aa)*(x+x+)+y takes a backtracking engine exponential time on a near
# miss; here a 1.9 KB path is 1.9 K table steps either way
long=/h/$(head -c 1880 /dev/zero | tr '\0' a)
l7_expect "regex /h/a{1880}x{15} (a near miss, 1.9 KB path) -> default a" a -n 1 -P "${long}xxxxxxxxxxxxxxx"
l7_expect "regex /h/a{1880}xxy (1.9 KB path) -> c" c -n 1 -P "${long}xxy"

# hostile patterns: refused with the route, the pattern and the reason
hostile_config() {	# FILE REGEX: the config plus route "hostile" before root
	RE=$2 awk '
		/^ *- name: root$/ && !done {
			ind = $0; sub(/-.*/, "", ind)
			print ind "- name: hostile"
			print ind "  match: { safe_regex: { regex: \047" ENVIRON["RE"] "\047 } }"
			print ind "  route: { cluster: a }"
			done = 1
		}
		{ print }' "$KM_CONF" > "$1"
}
deep33=$(head -c 33 /dev/zero | tr '\0' '(')a$(head -c 33 /dev/zero | tr '\0' ')')
for bad in "$deep33@groups nested deeper than 32" \
	'/(a|b)*a(a|b){12}@the DFA would need more than 1024 states' \
	'/(.{100}){100}@the pattern is too large' \
	'/(x)\1@backreference \1' '/x(?=y)@lookahead (?=' '/\bx@word boundary'; do
	re=${bad%%@*} why=${bad#*@}
	hostile_config /tmp/hostile.yaml "$re"
	out=$(kmeshd --check --config /tmp/hostile.yaml 2>&1) && fail "kmeshd --check accepted safe_regex '$re'"
	echo "$out" | grep -qF "route 'hostile': match: safe_regex '" && echo "$out" | grep -qF "$why" ||
		fail "kmeshd --check on '$re': $(echo "$out" | oneline)"
done
# a reload with one (the file changed) is rejected; kmeshd and the running
# routes stay
hostile_config /tmp/hostile.yaml '/(a|b)*a(a|b){12}'
cp "$KM_CONF" /tmp/good.yaml
cat /tmp/hostile.yaml > "$KM_CONF"
wait_until 100 grep -qF "route 'hostile': match: safe_regex '/(a|b)*a(a|b){12}': the DFA would need" /tmp/kmeshd.log &&
	grep -q "config rejected" /tmp/kmeshd.log ||
	fail "the reload with a hostile regex was not rejected: $(tail -n 4 /tmp/kmeshd.log | oneline)"
l4_kmeshd_alive || fail "kmeshd exited after the rejected reload: $(tail -n 3 /tmp/kmeshd.log | oneline)"
regex_routes "(after the rejected reload)"
# The corpus below replaces the config file next. No write in between:
# a reload still pending from one would move the generation while the
# corpus's first config is not yet applied (seen once on 7.2).

# ---- the corpus's HTTP destinations ----------------------------------------
C=/cases/corpus
[ -s "$C/backends" ] || fail "no corpus data in the initramfs ($C/backends)"
while read -r name port; do
	km_testsrv --name "$name" --listen "127.0.0.1:$port" --ready-file "/tmp/ready.$name" \
		> "/tmp/$name.log" 2>&1 &
done < "$C/backends"
while read -r name port; do
	wait_until 100 test -s "/tmp/ready.$name" || fail "corpus backend $name did not start: $(cat "/tmp/$name.log")"
done < "$C/backends"
state_gen() { sed -n 's/^generation=//p' "$KM_STATE"; }
n_req=0 n_entries=0
for y in "$C"/*.yaml; do
	e=$(basename "$y" .yaml)
	g0=$(state_gen)
	cp "$y" "$KM_CONF"
	kill -HUP "$KMESHD_PID"
	# shellcheck disable=SC2016
	wait_until 300 sh -c '[ "$(sed -n "s/^generation=//p" "$0")" -gt "$1" ]' "$KM_STATE" "$g0" ||
		fail "corpus $e: the config was not applied: $(grep -E '^last_error=' "$KM_STATE") $(tail -n 2 /tmp/kmeshd.log)"
	while read -r addr host path want id; do
		out=$(in_app km_testcli -n 1 -t 10000 -H "$host" -P "$path" "$addr" 2>&1)
		echo "$out" | grep -q "^count $want 1\$" ||
			fail "corpus $e $id (Host $host via $addr): expected $want: $(echo "$out" | grep -E '^(count|err)' | head -n 2)"
		n_req=$((n_req + 1))
	done < "$C/$e.checks"
	n_entries=$((n_entries + 1))
done
[ "$n_req" -gt 0 ] || fail "corpus: no HTTP destination checked"
note "corpus: $n_req HTTP destinations of $n_entries Istio dumps routed by kmesh.ko by Host as the oracle says"
pass
