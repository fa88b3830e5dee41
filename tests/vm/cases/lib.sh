# shellcheck shell=sh
# Helpers for the VM cases (busybox sh inside the guest; see ../init). A case
# ends with exactly one of pass, fail REASON or skip REASON; /init prints it
# as the case's KMVM line. note TEXT adds a '#' line to the host's report.
#
# Case files are /cases/NN-NAME.sh, run in order. Header lines read by the
# host and /init:
#   # boot: 6.12 6.1      kernels whose boot runs this case (6.12-debug: the
#                         debug kernel, for cases that run kmesh.ko's code)
#   # timeout: 60         seconds before /init kills the case

KM_VIP=127.100.0.1:80
KM_CONF=/tmp/l4.yaml
KM_STATE=/run/kmesh/kmeshd.state
KM_APP=/sys/fs/cgroup/app

oneline() { tr '\n' ' ' | sed 's/  */ /g; s/ $//'; }
pass() { echo ok > "$KMVM_RESULT"; exit 0; }
fail() { echo "not ok: $(echo "$*" | oneline)" > "$KMVM_RESULT"; exit 1; }
skip() { echo "skip: $(echo "$*" | oneline)" > "$KMVM_RESULT"; exit 0; }
note() { echo "$*" | oneline >> "$KMVM_NOTES"; echo >> "$KMVM_NOTES"; }

# wait_until TENTHS CMD...: poll CMD every 0.1 s
wait_until() {
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

module_loaded() { [ -d /sys/module/kmesh ]; }
module_load() {
	module_loaded && return 0
	[ -f /kmesh.ko ] || skip "no /kmesh.ko in the initramfs (make module found no kernel headers)"
	insmod /kmesh.ko
}
# rmmod until the module is gone: after kmeshd --uninstall its programs
# (which call the kfuncs, so they pin the module) are freed only after an RCU
# grace period, and rmmod says EAGAIN until then
module_unload() {
	module_loaded || return 0
	wait_until 100 sh -c 'rmmod kmesh 2>/dev/null; [ ! -d /sys/module/kmesh ]'
}

# ---- the L4 data path: two backends behind one VIP ---------------------------

write_l4_config() {
	cat > "$KM_CONF" <<-EOF
	static_resources:
	  listeners:
	  - name: vip
	    address: { socket_address: { address: 127.100.0.1, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.tcp_proxy
	        typed_config: { stat_prefix: vip, cluster: backends }
	  clusters:
	  - name: backends
	    lb_policy: ROUND_ROBIN
	    load_assignment:
	      endpoints:
	      - lb_endpoints:
	        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8081 } } }
	        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8082 } } }
	EOF
}

l4_state_gen1() { grep -q '^generation=1$' "$KM_STATE" 2>/dev/null; }
l4_kmeshd_alive() { kill -0 "$KMESHD_PID" 2>/dev/null; }

# kmeshd_start: kmeshd on $KM_CONF attached at the cgroup root, waits for
# generation 1, enrolls $KM_APP. Fails the case with kmeshd's own words.
kmeshd_start() {
	# shellcheck disable=SC2086	# KMESHD_ARGS: extra options, split
	kmeshd -v ${KMESHD_ARGS:-} --config "$KM_CONF" --cgroup /sys/fs/cgroup > /tmp/kmeshd.log 2>&1 &
	KMESHD_PID=$!
	# TCG is slow: loading and attaching takes a few seconds, and the
	# debug kernel's verifier (KASAN, lockdep) many times that: the wait
	# scales as the case timeouts do (kmvm_timeout_scale, tests/vm/init)
	scale=$(sed -n 's/.*kmvm_timeout_scale=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
	n=$((300 * ${scale:-1}))
	while ! l4_state_gen1; do
		if ! l4_kmeshd_alive; then
			# libbpf's and the verifier's lines, then kmeshd's verdict
			grep -E 'libbpf|verifier|invalid|unknown|failed|error|kmeshd' /tmp/kmeshd.log |
				grep -v '^$' | tail -n 4 > /tmp/kmeshd.why
			fail "kmeshd exited before generation=1: $(cat /tmp/kmeshd.why)"
		fi
		n=$((n - 1))
		[ $n -gt 0 ] || fail "kmeshd: no generation=1 after $((30 * ${scale:-1})) s: $(tail -n 3 /tmp/kmeshd.log)"
		sleep 0.1
	done
	mkdir -p "$KM_APP"
	out=$(kmeshctl enroll "$KM_APP" 2>&1) || fail "kmeshctl enroll $KM_APP: $out"
	note "$(kmeshctl status 2>&1 | grep '^module:')"
}

# l4_up: backends, kmeshd (fresh: no pins left from an earlier case), the
# enrolled cgroup. Fails the case with kmeshd's own words if it cannot load.
l4_up() {
	trap l4_down EXIT
	kmeshd --uninstall >/dev/null 2>&1
	write_l4_config
	for n in 1 2; do
		km_testsrv --name "b$n" --listen "127.0.0.1:808$n" \
			--ready-file "/tmp/ready.b$n" > "/tmp/b$n.log" 2>&1 &
	done
	wait_until 100 test -s /tmp/ready.b1 -a -s /tmp/ready.b2 ||
		fail "backends did not start: $(cat /tmp/b1.log /tmp/b2.log)"
	kmeshd_start
}


l4_down() {
	[ -n "${KMESHD_PID:-}" ] && kill "$KMESHD_PID" 2>/dev/null
	kmeshd --uninstall >/dev/null 2>&1
	kill $(pidof km_testsrv) 2>/dev/null
	rmdir "$KM_APP" 2>/dev/null
	return 0
}

# in_app CMD...: run CMD in the enrolled cgroup (a fresh sh so that $$ is
# the process that then execs CMD)
in_app() {
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$KM_APP" "$@"
}

# l4_check: 4 connects through the VIP reach both backends by round robin
l4_check() {
	out=$(in_app km_testcli -n 4 -t 5000 "$KM_VIP" 2>&1)
	echo "$out"
	echo "$out" | grep -q '^total ok=4 ' || fail "km_testcli through $KM_VIP: $(echo "$out" | grep -v '^ok' | head -n 3)"
	echo "$out" | grep -q '^count b1 2$' && echo "$out" | grep -q '^count b2 2$' ||
		fail "round robin: expected b1 2, b2 2: $(echo "$out" | grep '^count')"
}

# ---- deferred connect: backends a and b, the kmod test object -----------------
# tests/kmod/defer_test.bpf.c on cgroup $KM_DEFER_CG: VIP 127.100.0.1:80 and
# [fd00:96::1]:80; path /b -> b, anything else and the fallback -> a.
KM_DEFER_CG=/sys/fs/cgroup/defer

defer_up() {
	trap defer_down EXIT
	module_load || fail "insmod /kmesh.ko failed"
	km_kmod_test detach >/dev/null 2>&1
	for n in a b; do
		p=8081
		[ $n = b ] && p=8082
		km_testsrv --name $n --listen "127.0.0.1:$p" --listen "[::1]:$p" \
			--ready-file "/tmp/ready.$n" > "/tmp/$n.log" 2>&1 &
	done
	wait_until 100 test -s /tmp/ready.a -a -s /tmp/ready.b ||
		fail "backends did not start: $(cat /tmp/a.log /tmp/b.log)"
	mkdir -p "$KM_DEFER_CG"
	out=$(km_kmod_test attach "$KM_DEFER_CG" 127.100.0.1:80 127.0.0.1:8081 127.0.0.1:8082 \
		"[fd00:96::1]:80" "[::1]:8081" "[::1]:8082" 2>&1) || fail "km_kmod_test attach: $out"
	[ "$out" = "attached kmod=yes" ] || fail "km_kmod_test attach: $out"
}

defer_down() {
	km_kmod_test detach >/dev/null 2>&1
	kill $(pidof km_testsrv) 2>/dev/null
	rm -f /tmp/ready.a /tmp/ready.b
	rmdir "$KM_DEFER_CG" 2>/dev/null
	return 0
}

in_defer() {
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$KM_DEFER_CG" "$@"
}

# ---- L7: four backends behind one HTTP listener --------------------------------
# VIP 127.100.0.2:80, route config "web":
#   vhost api     api.example.com           /          -> c
#   vhost closed  closed.example.com        /only      -> a   (else: no route)
#   vhost any     *   x-canary: 1 (prefix /)           -> d
#                     /b (path_separated_prefix)       -> b
#                     /w (exact)                       -> a 80, b 20
#                     /q?v=2                           -> c
#                     safe_regex: path /re/N/item[/x]  -> c
#                       header x-ver vN.N (prefix /rh) -> b
#                       query id=8 hex (prefix /rq)    -> c
#                       path /h/(a|aa)*(x+x+)+y        -> c
#                       path /n/N in 30 nested groups  -> b
#                     / (the default route)            -> a
KM_L7_VIP=127.100.0.2:80
# web6: [fd00:96::2]:80 (no route out of the guest: an unrewritten connect
# fails), /b -> b6 ([::1]:8082), else a6 ([::1]:8081)
KM_L7_VIP6=[fd00:96::2]:80

write_l7_config() {
	cat > "$KM_CONF" <<-EOF
	static_resources:
	  listeners:
	  - name: web
	    address: { socket_address: { address: 127.100.0.2, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.http_connection_manager
	        typed_config:
	          stat_prefix: web
	          http_filters:
	          - name: envoy.filters.http.fault
	          - name: envoy.filters.http.router
	          route_config:
	            name: web
	            virtual_hosts:
	            - name: api
	              domains: [ api.example.com ]
	              routes:
	              - match: { prefix: / }
	                route: { cluster: c }
	            - name: closed
	              domains: [ closed.example.com ]
	              routes:
	              - match: { prefix: /only }
	                route: { cluster: a }
	            - name: any
	              domains: [ "*" ]
	              routes:
	              - name: canary
	                match:
	                  prefix: /
	                  headers: [ { name: x-canary, string_match: { exact: "1" } } ]
	                route: { cluster: d }
	              - name: b-path
	                match: { path_separated_prefix: /b }
	                route: { cluster: b }
	              - name: split
	                match: { path: /w }
	                route:
	                  weighted_clusters:
	                    clusters: [ { name: a, weight: 80 }, { name: b, weight: 20 } ]
	              - name: query
	                match:
	                  prefix: /q
	                  query_parameters: [ { name: v, string_match: { exact: "2" } } ]
	                route: { cluster: c }
	              - name: re-path
	                match: { safe_regex: { regex: '/re/[0-9]+/item(/[a-z]+)?' } }
	                route: { cluster: c }
	              - name: re-header
	                match:
	                  prefix: /rh
	                  headers: [ { name: x-ver, safe_regex_match: { regex: 'v[0-9]+\.[0-9]+' } } ]
	                route: { cluster: b }
	              - name: re-query
	                match:
	                  prefix: /rq
	                  query_parameters: [ { name: id, string_match: { safe_regex: { regex: '[a-f0-9]{8}' } } } ]
	                route: { cluster: c }
	              - name: re-hostile
	                match: { safe_regex: { regex: '/h/(a|aa)*(x+x+)+y' } }
	                route: { cluster: c }
	              - name: re-deep
	                match: { safe_regex: { regex: '((((((((((((((((((((((((((((((/n/[0-9]+))))))))))))))))))))))))))))))' } }
	                route: { cluster: b }
	              - name: root
	                match: { prefix: / }
	                route: { cluster: a }
	            - name: replies
	              domains: [ reply.example.com ]
	              routes:
	              - match: { prefix: /direct }
	                direct_response: { status: 200, body: { inline_string: "hello from kmesh\n" } }
	              - match: { prefix: /old/ }
	                redirect: { https_redirect: true, host_redirect: new.example.com, prefix_rewrite: /new/ }
	              - match: { prefix: /abort100 }
	                route: { cluster: b }
	                typed_per_filter_config:
	                  envoy.filters.http.fault:
	                    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
	                    abort: { http_status: 503, percentage: { numerator: 1000000, denominator: MILLION } }
	              - match: { prefix: /abort0 }
	                route: { cluster: b }
	                typed_per_filter_config:
	                  envoy.filters.http.fault:
	                    abort: { http_status: 503, percentage: { numerator: 0, denominator: MILLION } }
	  - name: blocked
	    address: { socket_address: { address: 127.100.0.3, port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.http_connection_manager
	        typed_config:
	          stat_prefix: blocked
	          route_config:
	            name: blocked
	            virtual_hosts:
	            - name: block_all
	              domains: [ "*" ]
	              routes:
	              - name: block_all
	                match: { prefix: / }
	                direct_response: { status: 502 }
	  - name: web6
	    address: { socket_address: { address: "fd00:96::2", port_value: 80 } }
	    filter_chains:
	    - filters:
	      - name: envoy.filters.network.http_connection_manager
	        typed_config:
	          stat_prefix: web6
	          route_config:
	            name: web6
	            virtual_hosts:
	            - name: any
	              domains: [ "*" ]
	              routes:
	              - { match: { prefix: /b }, route: { cluster: b6 } }
	              - { match: { prefix: / }, route: { cluster: a6 } }
	  clusters:
	EOF
	for n in a b c d a6 b6; do
		p=$(l7_port ${n%6}) ip=127.0.0.1
		[ "$n" = "${n%6}" ] || ip=::1
		cat >> "$KM_CONF" <<-EOF
		  - name: $n
		    load_assignment:
		      endpoints:
		      - lb_endpoints:
		        - endpoint: { address: { socket_address: { address: "$ip", port_value: $p } } }
		EOF
	done
}

l7_port() { case $1 in a) echo 8081 ;; b) echo 8082 ;; c) echo 8083 ;; d) echo 8084 ;; esac; }

# l7_up: backends a-d, kmeshd with the L7 config (kmesh.ko loaded or not:
# the caller decides before).
l7_up() {
	trap l4_down EXIT
	kmeshd --uninstall >/dev/null 2>&1
	write_l7_config
	for n in a b c d; do
		km_testsrv --name "$n" --listen "127.0.0.1:$(l7_port $n)" \
			--listen "[::1]:$(l7_port $n)" \
			--ready-file "/tmp/ready.$n" > "/tmp/$n.log" 2>&1 &
	done
	wait_until 100 test -s /tmp/ready.a -a -s /tmp/ready.b -a -s /tmp/ready.c -a -s /tmp/ready.d ||
		fail "backends did not start: $(cat /tmp/[abcd].log)"
	kmeshd_start
}

# l7_served_as_l4 WHERE: with kmeshd up (l7_up) and no L7 router, the HTTP
# listener sends every request to its default route a whatever its path or
# Host, kmeshctl status says so, l7_served_as_l4 counts each connect and
# nothing is deferred
l7_served_as_l4() {
	kmeshctl status | grep -q '^L7: .*served as L4.*web' ||
		fail "kmeshctl status does not say the listener is served as L4: $(kmeshctl status | grep '^L7')"
	s0=$(counter l7_served_as_l4)
	l7_expect "/b $1 -> default a" a -n 3 -P /b
	l7_expect "Host api.example.com $1 -> default a" a -n 3 -H api.example.com
	s1=$(counter l7_served_as_l4)
	[ $((s1 - s0)) = 6 ] || fail "l7_served_as_l4 moved by $((s1 - s0)), expected 6"
	[ "$(counter l7_deferred)" = 0 ] || fail "l7_deferred is $(counter l7_deferred) $1"
	note "$(kmeshctl status | grep '^L7')"
}

# ---- local replies (docs/l7.md): kmeshd's responder ----------------------------
# web's last virtual host (the others keep their indexes, which route names
# carry), reply.example.com: /direct 200 with a body, /old/ a 301 to https,
# new.example.com, /new/; /abort100 and /abort0 a fault abort 503 at 100% and
# 0% over cluster b. Listener blocked (127.100.0.3:80): REGISTRY_ONLY's
# block_all, a direct_response 502 for everything.
KM_BLOCKED_VIP=127.100.0.3:80

# reply HOST PATH [ADDR]: the raw response, CRs dropped, the date masked
reply() {
	in_app km_http_raw -H "$1" -p "$2" "${3:-$KM_L7_VIP}" | tr -d '\r' |
		sed 's/^date: [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] [0-9]\{4\} [0-9:]\{8\} GMT$/date: D/'
}

# same NAME GOT WANT
same() {
	[ "$2" = "$3" ] || fail "$1: got '$(echo "$2" | oneline)', want '$(echo "$3" | oneline)'"
}

KM_502=$(printf 'HTTP/1.1 502 Bad Gateway\ndate: D\nserver: kmesh\ncontent-length: 0\nconnection: close')

# counter NAME: kmeshctl status counter value
counter() { kmeshctl status | awk -v n="$1" '$1 == n { print $2 }'; }

# l7_expect NAME WANT ARGS...: km_testcli ARGS through the L7 VIP ($VIP,
# default $KM_L7_VIP); every connection must reach backend WANT
l7_expect() {
	name=$1 want=$2
	shift 2
	out=$(in_app km_testcli -t 10000 "$@" "${VIP:-$KM_L7_VIP}" 2>&1)
	n=$(echo "$out" | sed -n 's/^total ok=\([0-9]*\) err=0$/\1/p')
	[ -n "$n" ] && [ "$n" -gt 0 ] || fail "$name: $(echo "$out" | grep -v '^ok' | head -n 3)"
	echo "$out" | grep -q "^count $want $n\$" ||
		fail "$name: expected all $n on $want: $(echo "$out" | grep '^count' | oneline)"
}
