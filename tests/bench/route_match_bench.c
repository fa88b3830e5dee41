// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * route_match_bench: what the kernel router costs per connection, measured
 * natively on the code kmesh.ko runs (kmod/http_parse.c and
 * kmod/route_match.c, built into libkmesh.a unchanged).
 *
 *   route_match_bench [-n ITERATIONS] [-r ROUNDS]
 *
 * One route config with 64 routes (prefix /r0/ .. /r63/, each with two
 * header matchers on the last 32 so the scan does some header work) in a
 * "*" virtual host behind 63 other virtual hosts, compiled with
 * km_route_build. A typical browser-sized request head is parsed once, then
 * km_route_match() runs ITERATIONS times for a request that matches route
 * 1 and for one that matches route 64 (the worst case: every route before
 * it is tried). Prints the medians over ROUNDS:
 *
 *   parse_ns X          km_http_parse of the head
 *   match_first_ns Y    route 1 of 64
 *   match_last_ns Z     route 64 of 64
 *
 * The same config again with 4,095 named virtual hosts before the "*" one
 * (Istio's port-80 route config of a 4,096-service mesh; a km_route_big
 * table): the same two requests, and one whose Host names a service
 * (found through the table's domain index) in each table, side by side in
 * each round:
 *
 *   match_first_4096_ns, match_last_4096_ns
 *   match_host_ns, match_host_4096_ns    Host svcN.ns.svc.cluster.local
 *   ratio_first_4096_vs_64, ratio_host_4096_vs_64
 *
 * The 64-vhost config once more with each route's prefix /rN/ written as
 * safe_regex "/rN/.*" (the same routes chosen: a DFA over the whole path
 * instead of a prefix compare), side by side in each round:
 *
 *   match_first_regex_ns, match_last_regex_ns
 *   ratio_first_regex_vs_prefix, ratio_last_regex_vs_prefix
 *
 * In the kernel the same work runs once per connection, in the re-run of
 * connect4/6 on the first write. Figures, never a verdict.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config_yaml.h"
#include "route_build.h"
#include "kmesh/route_match.h"
#include "../tools/km_tool.h"

#define MAX_ROUNDS 50

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cluster_id(void *ctx, const char *name, __u32 *id)
{
	const struct km_model *m = ctx;

	for (size_t i = 0; i < m->n_clusters; i++)
		if (strcmp(m->clusters[i].name, name) == 0) {
			*id = i;
			return 0;
		}
	return -ENOENT;
}

/* regex: the 64 routes match safe_regex "/rN/.*" instead of prefix /rN/ */
static char *config_yaml(int n_named, bool regex)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "static_resources:\n  listeners:\n  - name: web\n"
		"    address: { socket_address: { address: 10.96.0.1, port_value: 80 } }\n"
		"    filter_chains:\n    - filters:\n"
		"      - name: envoy.filters.network.http_connection_manager\n"
		"        typed_config:\n          stat_prefix: web\n"
		"          route_config:\n            name: web\n            virtual_hosts:\n");
	for (int v = 0; v < n_named; v++)
		fprintf(f, "            - name: vh%d\n              domains: [ svc%d.ns.svc.cluster.local, \"svc%d.ns.svc.cluster.local:80\", svc%d ]\n"
			"              routes: [ { match: { prefix: / }, route: { cluster: a } } ]\n",
			v, v, v, v);
	fprintf(f, "            - name: any\n              domains: [ \"*\" ]\n              routes:\n");
	for (int r = 0; r < 64; r++) {
		if (regex)
			fprintf(f, "              - match:\n                  safe_regex: { regex: \"/r%d/.*\" }\n", r);
		else
			fprintf(f, "              - match:\n                  prefix: /r%d/\n", r);
		if (r >= 32)
			fprintf(f, "                  headers:\n"
				"                  - { name: x-user, string_match: { prefix: \"u\" } }\n"
				"                  - { name: x-canary, present_match: false }\n");
		fprintf(f, "                route: { cluster: a }\n");
	}
	fprintf(f, "  clusters:\n  - name: a\n    load_assignment:\n      endpoints:\n"
		"      - lb_endpoints:\n        - endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 80 } } }\n");
	fclose(f);
	return buf;
}

/* @want_vhost < 0: any */
static double time_match_vh(const void *blob, size_t len, const char *head,
			    long n, __u16 want_route, int want_vhost)
{
	struct km_route_result res;
	struct km_http_req req;
	double t0;

	if (km_http_parse(head, strlen(head), &req) != 0) {
		fprintf(stderr, "route_match_bench: head does not parse\n");
		exit(1);
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		km_route_match(blob, len, head, &req, &res);
	t0 = (now_ns() - t0) / n;
	if (res.status != KM_ROUTE_MATCHED || res.route != want_route ||
	    (want_vhost >= 0 && res.vhost != want_vhost)) {
		fprintf(stderr, "route_match_bench: matched status %u vhost %u route %u, expected route %u\n",
			res.status, res.vhost, res.route, want_route);
		exit(1);
	}
	return t0;
}

static double time_match(const void *blob, size_t len, const char *head,
			 long n, __u16 want_route)
{
	return time_match_vh(blob, len, head, n, want_route, -1);
}

/* The route table of the config with @n_named virtual hosts before "*". */
static void *build(int n_named, bool regex, struct km_model *m, size_t *len)
{
	struct km_err err = { 0 };
	char *yaml = config_yaml(n_named, regex);
	void *blob = NULL;

	if (!yaml || km_config_load_string("bench.yaml", yaml, strlen(yaml), m, &err) ||
	    km_route_build(&m->listeners[0].chains[0].routes, 0, cluster_id, m,
			   &blob, len, &err)) {
		fprintf(stderr, "route_match_bench: %s\n", err.msg);
		exit(1);
	}
	free(yaml);
	return blob;
}

int main(int argc, char **argv)
{
	static const char fmt[] =
		"GET /r%d/index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
		"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
		"x-user: u42\r\nConnection: keep-alive\r\n\r\n";
	static const char hfmt[] =
		"GET /index.html HTTP/1.1\r\nHost: svc%d.ns.svc.cluster.local\r\n"
		"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
	double parse[MAX_ROUNDS], first[MAX_ROUNDS], last[MAX_ROUNDS];
	double first_b[MAX_ROUNDS], last_b[MAX_ROUNDS], host[MAX_ROUNDS];
	double host_b[MAX_ROUNDS], r_first[MAX_ROUNDS], r_host[MAX_ROUNDS];
	double first_re[MAX_ROUNDS], last_re[MAX_ROUNDS];
	double r_first_re[MAX_ROUNDS], r_last_re[MAX_ROUNDS];
	long n = 200000, rounds = 7;
	struct km_model m = { 0 }, mb = { 0 }, mr = { 0 };
	char head0[1024], head63[1024], hhead[512], hhead_b[512];
	struct km_http_req req;
	size_t len, len_b, len_re;
	void *blob, *blob_b, *blob_re;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			n = strtol(optarg, NULL, 10);
		else if (opt == 'r')
			rounds = strtol(optarg, NULL, 10);
		else
			return 2;
	}
	if (n < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: route_match_bench [-n ITERATIONS] [-r 1..%d]\n", MAX_ROUNDS);
		return 2;
	}
	blob = build(63, false, &m, &len);
	blob_b = build(KM_MAX_VHOSTS - 1, false, &mb, &len_b);
	blob_re = build(63, true, &mr, &len_re);
	snprintf(head0, sizeof(head0), fmt, 0);
	snprintf(head63, sizeof(head63), fmt, 63);
	snprintf(hhead, sizeof(hhead), hfmt, 40);
	snprintf(hhead_b, sizeof(hhead_b), hfmt, 4000);
	printf("table: 64 virtual hosts, 64 routes in the last, %zu bytes; head %zu bytes\n",
	       len, strlen(head63));
	printf("table: %d virtual hosts, the same routes, %zu bytes\n",
	       KM_MAX_VHOSTS, len_b);
	printf("table: 64 virtual hosts, the 64 routes as safe_regex, %zu bytes\n",
	       len_re);
	for (long r = 0; r < rounds; r++) {
		double t0 = now_ns();

		for (long i = 0; i < n; i++)
			km_http_parse(head63, strlen(head63), &req);
		parse[r] = (now_ns() - t0) / n;
		first[r] = time_match(blob, len, head0, n, 0);
		first_b[r] = time_match(blob_b, len_b, head0, n, 0);
		last[r] = time_match(blob, len, head63, n, 63);
		last_b[r] = time_match(blob_b, len_b, head63, n, 63);
		host[r] = time_match_vh(blob, len, hhead, n, 0, 40);
		host_b[r] = time_match_vh(blob_b, len_b, hhead_b, n, 0, 4000);
		first_re[r] = time_match(blob_re, len_re, head0, n, 0);
		last_re[r] = time_match(blob_re, len_re, head63, n, 63);
		r_first_re[r] = first_re[r] / first[r];
		r_last_re[r] = last_re[r] / last[r];
		r_first[r] = first_b[r] / first[r];
		r_host[r] = host_b[r] / host[r];
	}
	printf("parse_ns %.0f\nmatch_first_ns %.0f\nmatch_last_ns %.0f\n",
	       km_median(parse, rounds), km_median(first, rounds), km_median(last, rounds));
	printf("match_first_4096_ns %.0f\nmatch_last_4096_ns %.0f\n",
	       km_median(first_b, rounds), km_median(last_b, rounds));
	printf("match_host_ns %.0f\nmatch_host_4096_ns %.0f\n",
	       km_median(host, rounds), km_median(host_b, rounds));
	printf("ratio_first_4096_vs_64 %.2f\nratio_host_4096_vs_64 %.2f\n",
	       km_median(r_first, rounds), km_median(r_host, rounds));
	printf("match_first_regex_ns %.0f\nmatch_last_regex_ns %.0f\n",
	       km_median(first_re, rounds), km_median(last_re, rounds));
	printf("ratio_first_regex_vs_prefix %.2f\nratio_last_regex_vs_prefix %.2f\n",
	       km_median(r_first_re, rounds), km_median(r_last_re, rounds));
	free(blob);
	free(blob_b);
	free(blob_re);
	km_model_free(&m);
	km_model_free(&mb);
	km_model_free(&mr);
	return 0;
}
