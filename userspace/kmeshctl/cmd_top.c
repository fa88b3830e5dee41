// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshctl top: connections per second, bytes per second and errors per
 * destination service and per source workload, refreshed every second,
 * sorted by connections per second. It reads kmeshd's /metrics, the same
 * series Prometheus scrapes, and takes the difference between two
 * scrapes a second apart. -o json prints one such snapshot.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "json.h"
#include "strmap.h"
#include "telemetry.h"

#define TOP_MAX_BODY (64u << 20)
#define TOP_ROWS 20

enum { OPENED, CLOSED, BYTES, ERRORS, NV };

struct row {
	const char *name;
	double v[NV];		/* totals, then rates */
};

struct snap {
	struct km_strmap by[2];	/* 0: service, 1: workload -> struct row */
};

/* GET http://@addr/metrics with Connection: close; the body, or NULL. */
static char *fetch(const char *addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST }, *ai;
	char host[256], *colon, *buf = NULL, *body;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (!colon)
		return NULL;
	*colon = 0;
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	if (getaddrinfo(host, colon + 1, &hints, &ai))
		return NULL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) ||
	    dprintf(fd, "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr) < 0) {
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	freeaddrinfo(ai);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb = cap < TOP_MAX_BODY ? realloc(buf, cap = cap * 2 + 65536) : NULL;

			if (!nb)
				break;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (!buf)
		return NULL;
	buf[len] = 0;
	body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.1 200", 12) || !body) {
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
}

/* The value of label @name in a label block, unescaped, into @out. */
static bool label(const char *labels, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name), o = 0;
	const char *p = labels;

	while ((p = strstr(p, name))) {
		if ((p == labels || p[-1] == ',' || p[-1] == '{') &&
		    strncmp(p + nl, "=\"", 2) == 0)
			break;
		p += nl;
	}
	if (!p)
		return false;
	for (p += nl + 2; *p && *p != '"' && o + 1 < len; p++) {
		if (*p == '\\' && p[1])
			p++;
		out[o++] = *p;
	}
	out[o] = 0;
	return true;
}

static struct row *row_of(struct km_strmap *m, const char *name)
{
	struct row *r = km_strmap_get(m, name);
	int err = 0;

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	km_strmap_put(m, name, r, &err);
	if (err) {
		free(r);
		return NULL;
	}
	return r;
}

static void add(struct snap *s, const char *labels, int what, double v)
{
	char svc[512], wl[600], ns[256], flags[64];
	struct row *r;

	if (!label(labels, "destination_service", svc, sizeof(svc)) ||
	    !label(labels, "source_workload", wl, sizeof(wl)) ||
	    !label(labels, "source_workload_namespace", ns, sizeof(ns)))
		return;
	if (strcmp(ns, "unknown")) {
		size_t l = strlen(wl);

		snprintf(wl + l, sizeof(wl) - l, ".%s", ns);
	}
	for (int b = 0; b < 2; b++) {
		r = row_of(&s->by[b], b ? wl : svc);
		if (!r)
			continue;
		r->v[what] += v;
		if (what == CLOSED && label(labels, "response_flags", flags, sizeof(flags)) &&
		    strcmp(flags, "-"))
			r->v[ERRORS] += v;
	}
}

static int scrape(const char *addr, struct snap *s)
{
	static const struct { const char *name; int what; } metrics[] = {
		{ "istio_tcp_connections_opened_total{", OPENED },
		{ "istio_tcp_connections_closed_total{", CLOSED },
		{ "istio_tcp_sent_bytes_total{", BYTES },
		{ "istio_tcp_received_bytes_total{", BYTES },
	};
	char *body = fetch(addr), *line, *save = NULL, *sp;

	memset(s, 0, sizeof(*s));
	if (!body) {
		fprintf(stderr, "kmeshctl: top: no metrics from http://%s/metrics (is kmeshd running with --metrics %s?)\n",
			addr, addr);
		return -1;
	}
	for (line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
			size_t l = strlen(metrics[i].name);

			if (strncmp(line, metrics[i].name, l))
				continue;
			sp = strrchr(line, ' ');
			if (sp)
				add(s, line + l - 1, metrics[i].what, strtod(sp + 1, NULL));
		}
	}
	free(body);
	return 0;
}

static void snap_free(struct snap *s)
{
	const char *k;
	void *v;

	for (int b = 0; b < 2; b++) {
		for (size_t i = 0; km_strmap_next(&s->by[b], &i, &k, &v);)
			free(v);
		km_strmap_free(&s->by[b]);
	}
}

static int by_rate(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->v[OPENED] != y->v[OPENED])
		return x->v[OPENED] < y->v[OPENED] ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Rows of @now with their rates against @before over @secs, sorted. */
static struct row *rates(const struct km_strmap *now, const struct km_strmap *before,
			 double secs, size_t *n)
{
	struct row *rows = calloc(now->len + 1, sizeof(*rows));
	const char *k;
	void *v;

	*n = 0;
	for (size_t i = 0; rows && km_strmap_next(now, &i, &k, &v);) {
		const struct row *b = km_strmap_get(before, k), *c = v;
		struct row *r = &rows[(*n)++];

		r->name = k;
		for (int j = 0; j < NV; j++)
			r->v[j] = (c->v[j] - (b ? b->v[j] : 0)) / secs;
	}
	if (rows)
		qsort(rows, *n, sizeof(*rows), by_rate);
	return rows;
}

static void print_text(const char *title, const struct row *rows, size_t n)
{
	printf("%-52s %10s %12s %10s\n", title, "conn/s", "bytes/s", "errors/s");
	for (size_t i = 0; i < n && i < TOP_ROWS; i++)
		printf("%-52.52s %10.1f %12.0f %10.1f\n", rows[i].name,
		       rows[i].v[OPENED], rows[i].v[BYTES], rows[i].v[ERRORS]);
	if (!n)
		printf("  (no connections)\n");
}

static void print_json(struct km_json *j, const char *key, const struct row *rows,
		       size_t n)
{
	km_json_arr(j, key);
	for (size_t i = 0; i < n; i++) {
		km_json_obj(j, NULL);
		km_json_str(j, "name", rows[i].name);
		/* rates over the interval, in thousandths: JSON numbers here
		 * are integers */
		km_json_u64(j, "connections_per_s_milli", rows[i].v[OPENED] * 1000);
		km_json_u64(j, "bytes_per_s", rows[i].v[BYTES]);
		km_json_u64(j, "errors_per_s_milli", rows[i].v[ERRORS] * 1000);
		km_json_end(j, '}');
	}
	km_json_end(j, ']');
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* top [--metrics ADDR:PORT] [-n COUNT] */
int cmd_top(struct ctl *c, int argc, char **argv)
{
	const char *addr = KM_TEL_DEFAULT_METRICS;
	bool json = c->json;
	long count = json ? 1 : -1;
	struct snap a, b;
	double t0, t1;
	bool tty = isatty(1);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--metrics") == 0 && i + 1 < argc) {
			addr = argv[++i];
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			count = strtol(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "kmeshctl: top: unexpected '%s' ([--metrics ADDR:PORT] [-n COUNT])\n",
				argv[i]);
			return 2;
		}
	}
	if (scrape(addr, &a))
		return 1;
	t0 = now_s();
	for (long it = 0; count < 0 || it < count; it++) {
		struct row *svc, *wl;
		size_t ns, nw;

		sleep(1);
		if (scrape(addr, &b)) {
			snap_free(&a);
			return 1;
		}
		t1 = now_s();
		svc = rates(&b.by[0], &a.by[0], t1 - t0, &ns);
		wl = rates(&b.by[1], &a.by[1], t1 - t0, &nw);
		if (json) {
			struct km_json j;

			km_json_init(&j, stdout);
			km_json_obj(&j, NULL);
			km_json_u64(&j, "interval_ms", (t1 - t0) * 1000);
			print_json(&j, "services", svc, ns);
			print_json(&j, "workloads", wl, nw);
			km_json_end(&j, '}');
		} else {
			if (tty)
				printf("\033[H\033[2J");
			printf("kmesh top: %s, every 1 s\n\n", addr);
			print_text("DESTINATION SERVICE", svc, ns);
			printf("\n");
			print_text("SOURCE WORKLOAD", wl, nw);
			printf("\n");
			fflush(stdout);
		}
		free(svc);
		free(wl);
		snap_free(&a);
		a = b;
		t0 = t1;
	}
	snap_free(&a);
	return 0;
}
