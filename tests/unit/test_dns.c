// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The DNS cluster resolver (userspace/dataplane/dns.c) against a DNS
 * server under the test's control: build/tools/km_dns_stub on 127.0.0.1
 * (a free port), serving a zone file the test writes. No root needed.
 * Envoy's rules: dns_lookup_family, STRICT_DNS's every address,
 * LOGICAL_DNS's first, respect_dns_ttl, an answer change signalled once,
 * the model view the compiler gets.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ads.h"
#include "config_yaml.h"
#include "dns.h"

#define STUB "build/tools/km_dns_stub"

static char dir[] = "/tmp/test_dns.XXXXXX";
static char zone_path[64], ready_path[64], server[64];
static pid_t stub_pid;

static void quiet(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static void zone(const char *text)
{
	char tmp[80];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", zone_path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, zone_path), 0);
}

static int stub_up(void **state)
{
	FILE *f;

	(void)state;
	if (access(STUB, X_OK))
		return 0;	/* each test skips */
	assert_non_null(mkdtemp(dir));
	snprintf(zone_path, sizeof(zone_path), "%s/zone", dir);
	snprintf(ready_path, sizeof(ready_path), "%s/ready", dir);
	zone("");
	stub_pid = fork();
	if (stub_pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(STUB, STUB, "--listen", "127.0.0.1:0", "--zone", zone_path,
		      "--ready-file", ready_path, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(ready_path, R_OK); i++)
		usleep(25000);
	f = fopen(ready_path, "r");
	assert_non_null(f);
	assert_non_null(fgets(server, sizeof(server), f));
	server[strcspn(server, "\n")] = 0;
	fclose(f);
	return 0;
}

static int stub_down(void **state)
{
	(void)state;
	if (stub_pid > 0) {
		kill(stub_pid, SIGTERM);
		waitpid(stub_pid, NULL, 0);
	}
	unlink(zone_path);
	unlink(ready_path);
	rmdir(dir);
	return 0;
}

/* The resolver's state file lines. */
static char *state_of(const struct km_dns *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	km_dns_write_state(d, f);
	fclose(f);
	return buf;
}

/* Runs the resolver until no name waits for its first answer (5 s). */
static void settle(struct km_dns *d)
{
	uint64_t end = km_now_ms() + 5000;

	for (;;) {
		char *st = state_of(d);
		bool pending = strstr(st, "dns_status=pending") != NULL;
		struct pollfd p = { .fd = km_dns_fd(d), .events = POLLIN };
		int to = km_dns_timeout_ms(d, km_now_ms());

		free(st);
		if (!pending)
			return;
		assert_true(km_now_ms() < end);
		poll(&p, 1, to < 0 || to > 20 ? 20 : to);
		km_dns_process(d, km_now_ms());
	}
}

/* Runs the resolver until an answer changes something (5 s). */
static void until_change(struct km_dns *d)
{
	uint64_t end = km_now_ms() + 5000;

	while (!km_dns_take_change(d)) {
		struct pollfd p = { .fd = km_dns_fd(d), .events = POLLIN };
		int to = km_dns_timeout_ms(d, km_now_ms());

		assert_true(km_now_ms() < end);
		poll(&p, 1, to < 0 || to > 20 ? 20 : to);
		km_dns_process(d, km_now_ms());
	}
}

static void load(const char *clusters, struct km_model *m)
{
	char yaml[4096];
	struct km_err err;

	snprintf(yaml, sizeof(yaml), "static_resources:\n  clusters:\n%s",
		 clusters);
	if (km_config_load_string("t.yaml", yaml, strlen(yaml), m, &err))
		fail_msg("%s", err.msg);
}

/* "ADDR:PORT ADDR:PORT" of cluster @name in @v */
static const char *eps_of(const struct km_model *v, const char *name)
{
	static char buf[512];
	char ip[64];
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < v->n_clusters; i++) {
		const struct km_m_cluster *c = &v->clusters[i];

		if (strcmp(c->name, name))
			continue;
		for (size_t e = 0; e < c->n_endpoints; e++)
			off += snprintf(buf + off, sizeof(buf) - off, "%s%s:%u",
					off ? " " : "",
					km_ip_str(&c->endpoints[e].ip, ip, sizeof(ip)),
					c->endpoints[e].port);
	}
	return buf;
}

#define DNS_CLUSTER(name, type, family, host) \
	"  - name: " name "\n    type: " type "\n" \
	"    dns_lookup_family: " family "\n" \
	"    load_assignment:\n      endpoints:\n      - lb_endpoints:\n" \
	"        - endpoint: { address: { socket_address: { address: " host ", port_value: 80 } } }\n"

/* dns_lookup_family as Envoy reads it, STRICT_DNS's every address and
 * LOGICAL_DNS's first, in answer order. */
static void test_families(void **state)
{
	struct km_model m, v;
	struct km_dns *d;
	struct km_err err;

	(void)state;
	if (stub_pid <= 0)
		skip();
	zone("dual.t A 10.0.0.1\ndual.t A 10.0.0.3\ndual.t AAAA fd00::1\n"
	     "v4.t A 10.0.0.2\nv6.t AAAA fd00::2\n"
	     "multi.t A 10.0.0.6\nmulti.t A 10.0.0.5\n");
	load(DNS_CLUSTER("auto", "STRICT_DNS", "AUTO", "dual.t")
	     DNS_CLUSTER("auto4", "STRICT_DNS", "AUTO", "v4.t")
	     DNS_CLUSTER("pref4", "STRICT_DNS", "V4_PREFERRED", "dual.t")
	     DNS_CLUSTER("pref4v6", "STRICT_DNS", "V4_PREFERRED", "v6.t")
	     DNS_CLUSTER("all", "STRICT_DNS", "ALL", "dual.t")
	     DNS_CLUSTER("only6", "STRICT_DNS", "V6_ONLY", "dual.t")
	     DNS_CLUSTER("only6none", "STRICT_DNS", "V6_ONLY", "v4.t")
	     DNS_CLUSTER("only4", "STRICT_DNS", "V4_ONLY", "dual.t")
	     DNS_CLUSTER("logical", "LOGICAL_DNS", "V4_ONLY", "multi.t"), &m);
	assert_int_equal(km_dns_new(&d, server, quiet, &err), 0);

	/* before any answer the names have no address */
	assert_int_equal(km_dns_view(d, &m, &v), 0);
	assert_string_equal(eps_of(&v, "auto"), "");
	km_dns_view_free(&m, &v);

	km_dns_sync(d, &m, km_now_ms());
	settle(d);
	assert_true(km_dns_take_change(d));
	assert_int_equal(km_dns_view(d, &m, &v), 0);
	assert_string_equal(eps_of(&v, "auto"), "fd00::1:80");
	assert_string_equal(eps_of(&v, "auto4"), "10.0.0.2:80");
	assert_string_equal(eps_of(&v, "pref4"), "10.0.0.1:80 10.0.0.3:80");
	assert_string_equal(eps_of(&v, "pref4v6"), "fd00::2:80");
	assert_string_equal(eps_of(&v, "all"), "10.0.0.1:80 10.0.0.3:80 fd00::1:80");
	assert_string_equal(eps_of(&v, "only6"), "fd00::1:80");
	assert_string_equal(eps_of(&v, "only6none"), "");
	assert_string_equal(eps_of(&v, "only4"), "10.0.0.1:80 10.0.0.3:80");
	assert_string_equal(eps_of(&v, "logical"), "10.0.0.6:80");
	/* the model itself is untouched: names, no address */
	assert_string_equal(m.clusters[0].endpoints[0].hostname, "dual.t");
	assert_int_equal(m.clusters[0].endpoints[0].ip.family, 0);
	km_dns_view_free(&m, &v);
	km_dns_free(d);
	km_model_free(&m);
}

/* respect_dns_ttl refreshes at the answer's smallest TTL, else at
 * dns_refresh_rate; a repeated answer is no change, a new one is, once. */
static void test_ttl_and_change(void **state)
{
	struct km_model m, v;
	struct km_dns *d;
	struct km_err err;
	char *st;

	(void)state;
	if (stub_pid <= 0)
		skip();
	zone("a.t A 10.0.0.1 7\na.t A 10.0.0.2 9\nb.t A 10.0.1.1 7\n");
	load("  - name: ttl\n    type: STRICT_DNS\n    respect_dns_ttl: true\n"
	     "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
	     "        - endpoint: { address: { socket_address: { address: a.t, port_value: 80 } } }\n"
	     "  - name: rate\n    type: STRICT_DNS\n    dns_refresh_rate: 0.05s\n"
	     "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
	     "        - endpoint: { address: { socket_address: { address: b.t, port_value: 80 } } }\n",
	     &m);
	assert_int_equal(km_dns_new(&d, server, quiet, &err), 0);
	km_dns_sync(d, &m, km_now_ms());
	settle(d);
	assert_true(km_dns_take_change(d));
	st = state_of(d);
	assert_non_null(strstr(st, "dns_host=a.t\ndns_type=STRICT_DNS\ndns_family=AUTO\n"
				   "dns_status=ok\ndns_addresses=10.0.0.1, 10.0.0.2\n"
				   "dns_failures=0\n"));
	assert_non_null(strstr(st, "dns_refresh_ms=7000\n"));	/* the TTL */
	assert_non_null(strstr(st, "dns_refresh_ms=50\n"));	/* the rate */
	free(st);

	/* b.t is asked again every 50 ms: the same answer changes nothing */
	for (int answers = 0; answers < 3;) {
		struct pollfd p = { .fd = km_dns_fd(d), .events = POLLIN };

		poll(&p, 1, 20);
		answers += km_dns_process(d, km_now_ms());
	}
	assert_false(km_dns_take_change(d));

	zone("a.t A 10.0.0.1 7\nb.t A 10.0.1.2 7\n");
	until_change(d);
	assert_int_equal(km_dns_view(d, &m, &v), 0);
	assert_string_equal(eps_of(&v, "rate"), "10.0.1.2:80");
	assert_string_equal(eps_of(&v, "ttl"), "10.0.0.1:80 10.0.0.2:80");
	km_dns_view_free(&m, &v);
	assert_false(km_dns_take_change(d));
	km_dns_free(d);
	km_model_free(&m);
}

/* A failed resolution keeps the last good answer; a name the synced
 * config no longer has is forgotten. */
static void test_failure_and_sync(void **state)
{
	struct km_model m, m2, v;
	struct km_dns *d;
	struct km_err err;
	char *st;

	(void)state;
	if (stub_pid <= 0)
		skip();
	zone("a.t A 10.0.0.1\nb.t A 10.0.0.2\n");
	load("  - name: one\n    type: STRICT_DNS\n    dns_refresh_rate: 0.05s\n"
	     "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
	     "        - endpoint: { address: { socket_address: { address: a.t, port_value: 80 } } }\n"
	     "        - endpoint: { address: { socket_address: { address: b.t, port_value: 81 } } }\n",
	     &m);
	assert_int_equal(km_dns_new(&d, server, quiet, &err), 0);
	km_dns_sync(d, &m, km_now_ms());
	settle(d);
	assert_true(km_dns_take_change(d));

	zone("a.t SERVFAIL\nb.t A 10.0.0.2\n");
	for (uint64_t end = km_now_ms() + 5000;;) {
		struct pollfd p = { .fd = km_dns_fd(d), .events = POLLIN };

		st = state_of(d);
		if (strstr(st, "dns_host=a.t\ndns_type=STRICT_DNS\ndns_family=AUTO\ndns_status=failing\n"))
			break;
		free(st);
		assert_true(km_now_ms() < end);
		poll(&p, 1, 20);
		km_dns_process(d, km_now_ms());
	}
	assert_non_null(strstr(st, "dns_status=failing\ndns_addresses=10.0.0.1\n"));
	free(st);
	assert_false(km_dns_take_change(d));
	assert_int_equal(km_dns_view(d, &m, &v), 0);
	assert_string_equal(eps_of(&v, "one"), "10.0.0.1:80 10.0.0.2:81");
	km_dns_view_free(&m, &v);

	/* the next config has only b.t */
	load("  - name: one\n    type: STRICT_DNS\n"
	     "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
	     "        - endpoint: { address: { socket_address: { address: b.t, port_value: 81 } } }\n",
	     &m2);
	km_dns_sync(d, &m2, km_now_ms());
	st = state_of(d);
	assert_null(strstr(st, "dns_host=a.t"));
	assert_non_null(strstr(st, "dns_host=b.t\n"));
	free(st);
	km_dns_free(d);
	km_model_free(&m);
	km_model_free(&m2);
}

/* Without a resolver (c-ares did not start) names have no address and
 * the rest of the cluster stays. */
static void test_view_without_resolver(void **state)
{
	struct km_model m, v;

	(void)state;
	load("  - name: c\n    type: STRICT_DNS\n"
	     "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
	     "        - endpoint: { address: { socket_address: { address: a.t, port_value: 80 } } }\n"
	     "        - endpoint: { address: { socket_address: { address: 10.0.0.9, port_value: 80 } } }\n"
	     "  - name: s\n"
	     "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
	     "        - endpoint: { address: { socket_address: { address: 10.0.0.8, port_value: 80 } } }\n",
	     &m);
	assert_int_equal(km_dns_view(NULL, &m, &v), 0);
	assert_string_equal(eps_of(&v, "c"), "10.0.0.9:80");
	/* a STATIC cluster is shared, not copied */
	assert_ptr_equal(v.clusters[1].endpoints, m.clusters[1].endpoints);
	km_dns_view_free(&m, &v);
	assert_ptr_equal(v.clusters, m.clusters);
	km_model_free(&m);
}

static void test_bad_server(void **state)
{
	struct km_dns *d = NULL;
	struct km_err err;

	(void)state;
	assert_int_equal(km_dns_new(&d, "not an address", quiet, &err), -EINVAL);
	assert_null(d);
	assert_non_null(strstr(err.msg, "DNS servers 'not an address'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_ttl_and_change),
		cmocka_unit_test(test_failure_and_sync),
		cmocka_unit_test(test_view_without_resolver),
		cmocka_unit_test(test_bad_server),
	};

	return cmocka_run_group_tests(tests, stub_up, stub_down);
}
