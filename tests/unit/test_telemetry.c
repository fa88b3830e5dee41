// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Telemetry without a kernel: names, response flags, the exposition text,
 * the cap on label sets, access-log lines, sampling and option errors. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tel.h"

static void test_service_of(void **state)
{
	static const struct { const char *cluster, *host, *name, *ns; } rows[] = {
		{ "outbound|9080||reviews.default.svc.cluster.local",
		  "reviews.default.svc.cluster.local", "reviews", "default" },
		{ "outbound|80|v2|ratings.shop.svc.cluster.local",
		  "ratings.shop.svc.cluster.local", "ratings", "shop" },
		/* a ServiceEntry host: no namespace in it */
		{ "outbound|443||api.example.com", "api.example.com", "api.example.com", "unknown" },
		{ "svc-b", "svc-b", "svc-b", "unknown" },
		{ "a|b", "a|b", "a|b", "unknown" },
	};
	char host[256], name[256], ns[256];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		km_tel_service_of(rows[i].cluster, host, name, ns, sizeof(host));
		assert_string_equal(host, rows[i].host);
		assert_string_equal(name, rows[i].name);
		assert_string_equal(ns, rows[i].ns);
	}
}

static void test_flags(void **state)
{
	struct km_conn_event ev = { .type = KM_EV_CLOSE };
	static const struct { int reason; const char *flag; } refused[] = {
		{ KM_CNT_NO_ENDPOINT, "UH" }, { KM_CNT_BLACKHOLE, "UH" },
		{ KM_CNT_INCONSISTENT, "UH" }, { KM_CNT_L7_NO_ROUTE, "NR" },
		{ KM_CNT_NO_CLUSTER, "NC" }, { KM_CNT_FAMILY, "UF" },
		{ KM_CNT_CX_OVERFLOW, "UO" }, { KM_EV_REASON_AUTHZ, "RBAC" },
	};

	ev.end = KM_END_FIN;
	assert_string_equal(km_tel_flags(&ev), "-");
	ev.end = KM_END_PEER_RESET;
	assert_string_equal(km_tel_flags(&ev), "UC");
	ev.end = KM_END_LOCAL_RESET;
	assert_string_equal(km_tel_flags(&ev), "DC");
	ev.end = KM_END_CONNECT_FAILED;
	assert_string_equal(km_tel_flags(&ev), "UF");
	ev.type = KM_EV_OPEN;
	assert_string_equal(km_tel_flags(&ev), "-");
	ev.type = KM_EV_REFUSED;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ev.reason = refused[i].reason;
		assert_string_equal(km_tel_flags(&ev), refused[i].flag);
	}
}

static void test_addr(void **state)
{
	struct km_addr a = {};
	char buf[KM_TEL_ADDR_MAX];

	km_tel_addr(buf, sizeof(buf), &a, htons(80));
	assert_string_equal(buf, "-");
	a.w[2] = htonl(0xffff);
	inet_pton(AF_INET, "10.92.0.1", &a.w[3]);
	km_tel_addr(buf, sizeof(buf), &a, htons(80));
	assert_string_equal(buf, "10.92.0.1:80");
	inet_pton(AF_INET6, "fd00:97::1", a.w);
	km_tel_addr(buf, sizeof(buf), &a, htons(8080));
	assert_string_equal(buf, "[fd00:97::1]:8080");
}

/* A resolved event, as names.c would make it */
static void conn(struct km_tel_conn *c, struct km_conn_event *ev, int type,
		 const char *svc, const char *flags)
{
	memset(c, 0, sizeof(*c));
	c->ev = ev;
	ev->type = type;
	ev->route_id = KM_EV_NONE;
	c->src_workload = "client";
	c->src_namespace = "ns\"q";	/* needs escaping */
	c->src_principal = "unknown";
	c->service = svc;
	c->service_name = svc;
	c->service_namespace = "unknown";
	c->cluster = svc;
	c->listener = "l";
	c->route = "unknown";
	c->flags = flags;
	c->end = "fin";
	snprintf(c->vip, sizeof(c->vip), "10.92.0.1:80");
	snprintf(c->endpoint, sizeof(c->endpoint), "10.93.0.2:9000");
	snprintf(c->local, sizeof(c->local), "10.93.0.100:40000");
}

static char *render(struct km_tel_metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	km_tel_metrics_write(m, f);
	fclose(f);
	return buf;
}

#define LBL(svc, flags) "{reporter=\"source\",source_workload=\"client\"," \
	"source_workload_namespace=\"ns\\\"q\",source_principal=\"unknown\"," \
	"destination_service=\"" svc "\",destination_service_name=\"" svc "\"," \
	"destination_service_namespace=\"unknown\",destination_workload=\"unknown\"," \
	"response_flags=\"" flags "\",connection_security_policy=\"none\"}"

static void test_metrics_counts(void **state)
{
	struct km_tel_metrics *m = km_tel_metrics_new(100);
	struct km_conn_event ev = {};
	struct km_tel_conn c;
	char *text;

	for (int i = 0; i < 3; i++) {
		conn(&c, &ev, KM_EV_OPEN, "a", "-");
		km_tel_count(m, &c);
		conn(&c, &ev, KM_EV_CLOSE, "a", "-");
		ev.bytes_sent = 10;	/* from the client: received */
		ev.bytes_received = 7;	/* to the client: sent */
		km_tel_count(m, &c);
	}
	conn(&c, &ev, KM_EV_REFUSED, "a", "UH");
	km_tel_count(m, &c);
	text = render(m);
	assert_non_null(strstr(text, "\nistio_tcp_connections_opened_total" LBL("a", "-") " 3\n"));
	assert_non_null(strstr(text, "\nistio_tcp_connections_closed_total" LBL("a", "-") " 3\n"));
	assert_non_null(strstr(text, "\nistio_tcp_received_bytes_total" LBL("a", "-") " 30\n"));
	assert_non_null(strstr(text, "\nistio_tcp_sent_bytes_total" LBL("a", "-") " 21\n"));
	assert_non_null(strstr(text, "\nistio_tcp_connections_opened_total" LBL("a", "UH") " 1\n"));
	assert_non_null(strstr(text, "\nistio_tcp_connections_closed_total" LBL("a", "UH") " 1\n"));
	assert_non_null(strstr(text, "# TYPE istio_tcp_sent_bytes_total counter\n"));
	/* no L7 event: no request series */
	assert_null(strstr(text, "\nistio_requests_total{"));
	free(text);
	km_tel_metrics_free(m);
}

/* A long connection: its bytes while open (KM_EV_BYTES), then the rest at
 * its close, each byte counted once; the access log has no line for them. */
static void test_metrics_open_bytes(void **state)
{
	struct km_tel_metrics *m = km_tel_metrics_new(100);
	struct km_conn_event ev = {};
	struct km_tel_conn c;
	char *text;

	conn(&c, &ev, KM_EV_OPEN, "a", "-");
	km_tel_count(m, &c);
	conn(&c, &ev, KM_EV_BYTES, "a", "-");
	ev.bytes_sent = 600;
	ev.bytes_received = 70;
	km_tel_count(m, &c);
	text = render(m);
	assert_non_null(strstr(text, "\nistio_tcp_received_bytes_total" LBL("a", "-") " 600\n"));
	assert_non_null(strstr(text, "\nistio_tcp_sent_bytes_total" LBL("a", "-") " 70\n"));
	assert_non_null(strstr(text, "\nistio_tcp_connections_closed_total" LBL("a", "-") " 0\n"));
	free(text);
	/* the close reports the totals and what was reported before */
	conn(&c, &ev, KM_EV_CLOSE, "a", "-");
	ev.bytes_sent = 1000;
	ev.bytes_received = 70;
	ev.reported_sent = 600;
	ev.reported_received = 70;
	km_tel_count(m, &c);
	text = render(m);
	assert_non_null(strstr(text, "\nistio_tcp_received_bytes_total" LBL("a", "-") " 1000\n"));
	assert_non_null(strstr(text, "\nistio_tcp_sent_bytes_total" LBL("a", "-") " 70\n"));
	assert_non_null(strstr(text, "\nistio_tcp_connections_closed_total" LBL("a", "-") " 1\n"));
	free(text);
	km_tel_metrics_free(m);
}

static void test_metrics_requests(void **state)
{
	struct km_tel_metrics *m = km_tel_metrics_new(100);
	struct km_conn_event ev = {};
	struct km_tel_conn c;
	char *text;

	conn(&c, &ev, KM_EV_OPEN, "a", "-");
	ev.route_id = 0;
	c.route = "l/0/1";
	km_tel_count(m, &c);
	conn(&c, &ev, KM_EV_CLOSE, "a", "-");
	ev.route_id = 0;	/* counted at open only */
	km_tel_count(m, &c);
	conn(&c, &ev, KM_EV_REFUSED, "a", "NR");
	ev.route_id = 0;
	km_tel_count(m, &c);
	text = render(m);
	assert_non_null(strstr(text, ",request_protocol=\"http\",destination_route=\"l/0/1\",response_flags=\"-\",connection_security_policy=\"none\"} 1\n"));
	assert_non_null(strstr(text, ",request_protocol=\"http\",destination_route=\"unknown\",response_flags=\"NR\",connection_security_policy=\"none\"} 1\n"));
	free(text);
	km_tel_metrics_free(m);
}

/* A scan of many services: series stop at the cap, the rest overflow. */
static void test_metrics_cap(void **state)
{
	struct km_tel_metrics *m = km_tel_metrics_new(10);
	struct km_conn_event ev = {};
	struct km_tel_conn c;
	char svc[32], *text, *p;
	int n = 0;

	for (int i = 0; i < 1000; i++) {
		snprintf(svc, sizeof(svc), "10.0.%d.%d:80", i / 256, i % 256);
		conn(&c, &ev, KM_EV_REFUSED, svc, "UH");
		km_tel_count(m, &c);
	}
	text = render(m);
	for (p = text; (p = strstr(p, "\nistio_tcp_connections_opened_total{")); p++)
		n++;
	assert_int_equal(n, 11);
	assert_non_null(strstr(text, "source_workload=\"overflow\",source_workload_namespace=\"overflow\""));
	assert_non_null(strstr(text, "response_flags=\"overflow\",connection_security_policy=\"none\"} 990\n"));
	assert_non_null(strstr(text, "kmesh_telemetry_overflow_total{family=\"tcp\"} 990\n"));
	free(text);
	km_tel_metrics_free(m);
}

static void test_log_line(void **state)
{
	struct km_conn_event ev = {};
	struct km_tel_conn c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	conn(&c, &ev, KM_EV_CLOSE, "svc", "-");
	ev.start_ns = 1000000000ull;
	ev.end_ns = ev.start_ns + 1234000000ull;
	ev.bytes_sent = 100;
	ev.bytes_received = 2000;
	ev.cookie = 42;
	/* 1 s monotonic = 2026-01-01T00:00:00.5Z */
	km_tel_log_format(f, &c, 1767225600500000000ll - 1000000000ll);
	fclose(f);
	assert_string_equal(buf,
		"{\"start_time\": \"2026-01-01T00:00:00.500Z\",\"duration\": 1234,"
		"\"bytes_received\": 100,\"bytes_sent\": 2000,"
		"\"upstream_host\": \"10.93.0.2:9000\",\"upstream_cluster\": \"svc\","
		"\"downstream_remote_address\": \"10.93.0.100:40000\","
		"\"downstream_local_address\": \"10.92.0.1:80\",\"route_name\": \"unknown\","
		"\"response_flags\": \"-\",\"connection_termination\": \"fin\","
		"\"listener\": \"l\",\"source_workload\": \"client\","
		"\"source_namespace\": \"ns\\\"q\",\"destination_service\": \"svc\","
		"\"connection_id\": \"42\"}\n");
	free(buf);
}

/* Lines kept out of @n closes, every third one an error, by the options */
static int logged(bool errors_only, unsigned pct, int n)
{
	struct km_tel_opts o;
	struct km_tel_log *l;
	struct km_conn_event ev = {};
	struct km_tel_conn c;
	struct km_err err = {};
	char path[] = "/tmp/km-tel-log.XXXXXX";
	uint64_t lines, errors;
	int fd = mkstemp(path);

	close(fd);
	km_tel_opts_init(&o);
	o.access_log = path;
	o.log_errors_only = errors_only;
	o.log_sample_pct = pct;
	assert_int_equal(km_tel_log_open(&l, &o, &err), 0);
	for (int i = 0; i < n; i++) {
		conn(&c, &ev, KM_EV_CLOSE, "svc", i % 3 ? "-" : "UF");
		km_tel_log_event(l, &c, 0);
	}
	conn(&c, &ev, KM_EV_OPEN, "svc", "-");
	km_tel_log_event(l, &c, 0);	/* opens are never logged */
	km_tel_log_stats(l, &lines, &errors);
	km_tel_log_close(l);
	unlink(path);
	assert_int_equal(errors, 0);
	return lines;
}

static void test_log_sampling(void **state)
{
	assert_int_equal(logged(false, 0, 30), 30);
	assert_int_equal(logged(false, 50, 30), 15);
	assert_int_equal(logged(false, 10, 30), 3);
	assert_int_equal(logged(true, 0, 30), 10);
	assert_int_equal(logged(true, 50, 30), 5);
}

static void test_log_open_error(void **state)
{
	struct km_tel_opts o;
	struct km_tel_log *l;
	struct km_err err = {};

	km_tel_opts_init(&o);
	o.access_log = "/nonexistent-dir/access.log";
	assert_int_not_equal(km_tel_log_open(&l, &o, &err), 0);
	assert_non_null(strstr(err.msg, "access log /nonexistent-dir/access.log: No such file or directory"));
}

static void test_opts(void **state)
{
	struct km_tel_opts o;

	km_tel_opts_init(&o);
	assert_true(o.events);
	assert_string_equal(o.metrics, "127.0.0.1:15020");
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST + 6, "4"), 0);
	assert_int_equal(o.ring_bytes, 4096);
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST + 6, "12"), 2);
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST + 6, "2"), 2);
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST + 5, "0"), 2);
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST + 5, "101"), 2);
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST + 5, "25"), 0);
	assert_int_equal(o.log_sample_pct, 25);
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST + 7, "x"), 2);
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST, "[::1]:9"), 0);
	assert_true(o.metrics_given);
	assert_int_equal(km_tel_parse_opt(&o, KM_TEL_OPT_FIRST + 2, NULL), 0);
	assert_false(o.events);
	assert_null(o.metrics);
}

/* The HTTP server refuses a bad address with a message naming it. */
static void test_http_bad_addr(void **state)
{
	struct km_err err = {};

	assert_int_not_equal(km_tel_http_start("localhost:80", NULL, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "--metrics localhost:80: 'localhost' is not a numeric IPv4 or IPv6 address"));
	assert_int_not_equal(km_tel_http_start("127.0.0.1:0", NULL, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "--metrics 127.0.0.1:0: port must be 1-65535"));
	assert_int_not_equal(km_tel_http_start("15020", NULL, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "expected ADDR:PORT"));
}

/* An authorization denial's line names the policy row, the source and
 * the endpoint; past KM_TEL_AUTHZ_LOG_BURST a second the rest are counted
 * and said in one line when their second is over. */
static void test_authz_log(void **state)
{
	struct km_conn_event ev = { .type = KM_EV_REFUSED,
				    .reason = KM_EV_REASON_AUTHZ,
				    .src_kind = KM_ENROLL_NETNS, .src_id = 1234,
				    .end = 1 /* KM_AZW_DENY_POLICY */ };
	struct km_tel_conn c = { .ev = &ev, .src_namespace = "shop",
				 .src_service_account = "cart",
				 .vip = "10.95.0.2:8080", .endpoint = "-",
				 .local = "10.0.0.5:0",
				 .authz_policy = "listener 'in-a': chain 0: rbac 'deny-bad': policy 'deny-ns-bad'" };
	struct km_tel_authz_log l = {};
	char line[1024], *buf = NULL;
	size_t len = 0;
	FILE *f;

	km_tel_authz_format(line, sizeof(line), &c);
	assert_string_equal(line, "authorization: denied 10.0.0.5:0 (netns 1234, shop/cart) -> 10.95.0.2:8080: a DENY policy matched: listener 'in-a': chain 0: rbac 'deny-bad': policy 'deny-ns-bad'");
	/* not enrolled, unbound, at a VIP's endpoint, failing closed */
	ev.src_kind = 0;
	ev.end = 2 | KM_EV_AUTHZ_FAIL_CLOSED;	/* KM_AZW_NO_ALLOW */
	snprintf(c.local, sizeof(c.local), "-");
	snprintf(c.endpoint, sizeof(c.endpoint), "10.95.0.9:80");
	c.authz_policy = "listener 'in-a': chain 0: rbac 'allow': no ALLOW policy matched";
	km_tel_authz_format(line, sizeof(line), &c);
	assert_string_equal(line, "authorization: denied unbound socket (not enrolled) -> 10.95.0.2:8080 (endpoint 10.95.0.9:80): no ALLOW policy matched, on a condition kmesh cannot evaluate at connect (fail closed): listener 'in-a': chain 0: rbac 'allow': no ALLOW policy matched");
	/* a malformed program names no row */
	ev.end = 3;
	km_tel_authz_format(line, sizeof(line), &c);
	assert_non_null(strstr(line, ": the policy program is malformed: -"));

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	for (int i = 0; i < 50; i++)	/* 50 in the first second */
		km_tel_authz_deny(&l, &c, 5000000000ull + i * 1000000ull, f);
	km_tel_authz_tick(&l, 5900000000ull, f);	/* same second: quiet */
	fflush(f);
	assert_int_equal(strstr(buf, "more denials") == NULL, 1);
	km_tel_authz_tick(&l, 6000000001ull, f);
	km_tel_authz_deny(&l, &c, 6000000002ull, f);
	km_tel_authz_deny(&l, &c, 6000000003ull, f);
	fclose(f);
	{
		int lines = 0, more = 0;

		for (char *p = buf; (p = strstr(p, "authorization: denied")); p++)
			lines++;
		for (char *p = buf; (p = strstr(p, "authorization: 30 more denials not logged")); p++)
			more++;
		assert_int_equal(lines, KM_TEL_AUTHZ_LOG_BURST + 2);
		assert_int_equal(more, 1);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_of),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_metrics_open_bytes),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_metrics_counts),
		cmocka_unit_test(test_metrics_requests),
		cmocka_unit_test(test_metrics_cap),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_log_sampling),
		cmocka_unit_test(test_log_open_error),
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_http_bad_addr),
		cmocka_unit_test(test_authz_log),
	};

	return cmocka_run_group_tests_name("telemetry", tests, NULL, NULL);
}
