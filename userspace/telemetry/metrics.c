// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's standard metrics from connection events, as the source reporter
 * (docs/telemetry.md has the table):
 *   open      istio_tcp_connections_opened_total (response_flags "-")
 *   close     istio_tcp_connections_closed_total, and the bytes: received
 *             = what the client sent (the request), sent = what it got
 *             back (the response), as a sidecar counts them
 *   refused   opened and closed, with the refusal's flag
 *   L7        istio_requests_total for the first request of a connection
 *             the kernel routed (at open), or refused with NR
 * A label set is a series; at most max_series of them per table, then
 * every new one counts in the overflow series, so a port scan cannot grow
 * memory without limit.
 */
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "tel.h"

enum { TCP_OPENED, TCP_CLOSED, TCP_SENT, TCP_RECEIVED, TCP_N };

struct series {
	uint64_t v[TCP_N];
};

struct table {
	struct km_strmap m;	/* label block -> struct series */
	uint64_t overflowed;	/* events counted in the overflow series */
};

struct km_tel_metrics {
	unsigned max_series;
	struct table tcp, req;
};

#define OVERFLOW "overflow"

struct km_tel_metrics *km_tel_metrics_new(unsigned max_series)
{
	struct km_tel_metrics *m = calloc(1, sizeof(*m));

	if (m)
		m->max_series = max_series;
	return m;
}

static void table_free(struct table *t)
{
	const char *k;
	void *v;

	for (size_t i = 0; km_strmap_next(&t->m, &i, &k, &v);)
		free(v);
	km_strmap_free(&t->m);
}

void km_tel_metrics_free(struct km_tel_metrics *m)
{
	if (!m)
		return;
	table_free(&m->tcp);
	table_free(&m->req);
	free(m);
}

/* Prometheus label value escaping: backslash, quote, newline */
static void put_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void label(FILE *f, bool *first, const char *name, const char *v)
{
	fprintf(f, "%s%s=\"", *first ? "" : ",", name);
	put_value(f, v);
	fputc('"', f);
	*first = false;
}

/* The label block of @c for a table (@req: istio_requests_total). */
static char *labels_of(const struct km_tel_conn *c, const char *flags,
		       bool req, bool overflow)
{
	char *buf = NULL;
	size_t len = 0;
	bool first = true;
	FILE *f = open_memstream(&buf, &len);
#define V(x) (overflow ? OVERFLOW : (x))

	if (!f)
		return NULL;
	label(f, &first, "reporter", "source");
	label(f, &first, "source_workload", V(c->src_workload));
	label(f, &first, "source_workload_namespace", V(c->src_namespace));
	label(f, &first, "source_principal", V(c->src_principal));
	label(f, &first, "destination_service", V(c->service));
	label(f, &first, "destination_service_name", V(c->service_name));
	label(f, &first, "destination_service_namespace", V(c->service_namespace));
	label(f, &first, "destination_workload", V(KM_TEL_UNKNOWN));
	if (req) {
		label(f, &first, "request_protocol", "http");
		label(f, &first, "destination_route", V(c->route));
	}
	label(f, &first, "response_flags", V(flags));
	label(f, &first, "connection_security_policy", "none");
#undef V
	fclose(f);
	return buf;
}

/* The series of @c in @t, the overflow series past the cap, or NULL
 * (out of memory: the event is not counted). */
static struct series *series_of(struct km_tel_metrics *m, struct table *t,
				const struct km_tel_conn *c, const char *flags,
				bool req)
{
	char *key = labels_of(c, flags, req, false);
	struct series *s;
	int err = 0;

	if (!key)
		return NULL;
	s = km_strmap_get(&t->m, key);
	if (!s && t->m.len >= m->max_series) {
		free(key);
		key = labels_of(c, flags, req, true);
		if (!key)
			return NULL;
		s = km_strmap_get(&t->m, key);
		t->overflowed++;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (s)
			km_strmap_put(&t->m, key, s, &err);
		if (err) {
			free(s);
			s = NULL;
		}
	}
	free(key);
	return s;
}

void km_tel_count(struct km_tel_metrics *m, const struct km_tel_conn *c)
{
	const struct km_conn_event *ev = c->ev;
	struct series *s;
	bool l7 = ev->route_id != KM_EV_NONE;

	switch (ev->type) {
	case KM_EV_OPEN:
		s = series_of(m, &m->tcp, c, "-", false);
		if (s)
			s->v[TCP_OPENED]++;
		break;
	case KM_EV_CLOSE:
		s = series_of(m, &m->tcp, c, c->flags, false);
		if (!s)
			break;
		s->v[TCP_CLOSED]++;
		/* the sidecar's view: received from the app, sent to it */
		s->v[TCP_RECEIVED] += ev->bytes_sent;
		s->v[TCP_SENT] += ev->bytes_received;
		l7 = false;	/* counted at open */
		break;
	case KM_EV_REFUSED:
		s = series_of(m, &m->tcp, c, c->flags, false);
		if (s) {
			s->v[TCP_OPENED]++;
			s->v[TCP_CLOSED]++;
		}
		break;
	default:
		return;
	}
	if (l7) {
		s = series_of(m, &m->req, c,
			      ev->type == KM_EV_OPEN ? "-" : c->flags, true);
		if (s)
			s->v[0]++;
	}
}

static void write_metric(const struct table *t, FILE *f, const char *name,
			 const char *help, int idx)
{
	const char *k;
	void *v;

	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; km_strmap_next(&t->m, &i, &k, &v);)
		fprintf(f, "%s{%s} %llu\n", name, k,
			(unsigned long long)((struct series *)v)->v[idx]);
}

void km_tel_metrics_write(const struct km_tel_metrics *m, FILE *f)
{
	write_metric(&m->tcp, f, "istio_tcp_connections_opened_total",
		     "Connections opened (kmesh: routed connects, and refusals).",
		     TCP_OPENED);
	write_metric(&m->tcp, f, "istio_tcp_connections_closed_total",
		     "Connections closed (kmesh: at TCP_CLOSE, and refusals).",
		     TCP_CLOSED);
	write_metric(&m->tcp, f, "istio_tcp_sent_bytes_total",
		     "Bytes sent to the client (response), counted at close.",
		     TCP_SENT);
	write_metric(&m->tcp, f, "istio_tcp_received_bytes_total",
		     "Bytes received from the client (request), counted at close.",
		     TCP_RECEIVED);
	write_metric(&m->req, f, "istio_requests_total",
		     "First requests of connections routed by kmesh.ko (no response code: kmesh routes requests, it does not see responses).",
		     0);
	fprintf(f, "# HELP kmesh_telemetry_series Label sets held per metric family (cap: --metrics-max-series).\n# TYPE kmesh_telemetry_series gauge\n");
	fprintf(f, "kmesh_telemetry_series{family=\"tcp\"} %zu\n", m->tcp.m.len);
	fprintf(f, "kmesh_telemetry_series{family=\"requests\"} %zu\n", m->req.m.len);
	fprintf(f, "# HELP kmesh_telemetry_series_max The cap on label sets per metric family.\n# TYPE kmesh_telemetry_series_max gauge\n");
	fprintf(f, "kmesh_telemetry_series_max %u\n", m->max_series);
	fprintf(f, "# HELP kmesh_telemetry_overflow_total Events counted in the overflow series (the cap was reached).\n# TYPE kmesh_telemetry_overflow_total counter\n");
	fprintf(f, "kmesh_telemetry_overflow_total{family=\"tcp\"} %llu\n",
		(unsigned long long)m->tcp.overflowed);
	fprintf(f, "kmesh_telemetry_overflow_total{family=\"requests\"} %llu\n",
		(unsigned long long)m->req.overflowed);
}
