# boot: 6.12 7.x 6.12-debug
# timeout: 200
# LEAST_REQUEST and the connection counts on the deferred L7 path: a
# deferred connect's first run only parks the socket on its fallback, the
# re-run that routes it is what counts (once, where it really goes).
#   / -> lr (LEAST_REQUEST over a, b); /x -> c (the default route is lr)
# Two held connections to / go one to a and one to b and count 1 each (a
# first run counted too would show 2); a held connection to /x counts in c
# and leaves lr alone; closing them takes every count back to 0.
. /cases/lib.sh
module_load || fail "insmod /kmesh.ko failed"
trap l4_down EXIT
kmeshd --uninstall >/dev/null 2>&1
cat > "$KM_CONF" <<EOF
static_resources:
  listeners:
  - name: web
    address: { socket_address: { address: 127.100.0.3, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          stat_prefix: web
          route_config:
            name: web
            virtual_hosts:
            - name: any
              domains: [ "*" ]
              routes:
              - match: { prefix: /x }
                route: { cluster: c }
              - match: { prefix: / }
                route: { cluster: lr }
  clusters:
  - name: lr
    lb_policy: LEAST_REQUEST
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8081 } } }
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8082 } } }
  - name: c
    lb_policy: LEAST_REQUEST  # counted too (only clusters whose LB or
    load_assignment:          # max_connections needs it are)
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8083 } } }
EOF
for n in a b c; do
	case $n in a) p=8081 ;; b) p=8082 ;; c) p=8083 ;; esac
	km_testsrv --name "$n" --listen "127.0.0.1:$p" --ready-file "/tmp/ready.$n" > "/tmp/$n.log" 2>&1 &
done
wait_until 100 test -s /tmp/ready.a -a -s /tmp/ready.b -a -s /tmp/ready.c ||
	fail "backends did not start: $(cat /tmp/[abc].log)"
kmeshd_start

# active PORT: the endpoint's active connections in kmeshctl dump
active() { kmeshctl dump | sed -n "s/^ *127.0.0.1:$1 .*, \([0-9]*\) active$/\1/p"; }
# hold FILE ARGS...: km_testcli --keep in the background, its own pid in
# FILE.pid, until its total line is out
hold() {
	f=$1
	shift
	in_app sh -c 'echo $$ > "$0.pid"; exec "$@"' "$f" km_testcli --keep -t 10000 "$@" "$KM_VIP3" > "$f" 2>&1 &
	wait_until 200 grep -q '^total' "$f" || fail "held client: $(cat "$f" | oneline)"
}
KM_VIP3=127.100.0.3:80

hold /tmp/h1 -n 2
grep -q '^total ok=2 ' /tmp/h1 || fail "two held connections to /: $(oneline < /tmp/h1)"
grep -q '^count a 1$' /tmp/h1 && grep -q '^count b 1$' /tmp/h1 ||
	fail "LEAST_REQUEST: expected one connection on a and one on b: $(grep '^count' /tmp/h1 | oneline)"
[ "$(active 8081)" = 1 ] && [ "$(active 8082)" = 1 ] ||
	fail "counts after 2 routed connections: a $(active 8081), b $(active 8082) (expected 1 and 1: the deferred first run is not counted)"
hold /tmp/h2 -n 1 -P /x
grep -q '^count c 1$' /tmp/h2 || fail "/x: $(oneline < /tmp/h2)"
[ "$(active 8083)" = 1 ] && [ "$(active 8081)" = 1 ] && [ "$(active 8082)" = 1 ] ||
	fail "after /x: c $(active 8083), a $(active 8081), b $(active 8082) (expected 1, 1, 1: its fallback on lr is not counted)"
kill "$(cat /tmp/h1.pid)" "$(cat /tmp/h2.pid)"
wait_until 100 sh -c '[ "$(kmeshctl dump | grep -c ", 0 active$")" = 3 ]' ||
	fail "after closing: $(kmeshctl dump | grep active | oneline)"
note "L7 LEAST_REQUEST: a 1, b 1, c 1 while held; 0 after close"
pass
