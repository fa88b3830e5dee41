// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's standard metrics from connection events, as the source reporter
 * (docs/telemetry.md has the table):
 *   open      istio_tcp_connections_opened_total (response_flags "-")
 *   close     istio_tcp_connections_closed_total, and the bytes: received
 *             = what the client sent (the request), sent = what it got
 *             back (the response), as a sidecar counts them
 *   bytes     an open connection's bytes since its last report (every
 *             --tcp-report-interval); its close counts the rest
 *   refused   opened and closed, with the refusal's flag
 *   L7        istio_requests_total for the first request of a connection
 *             the kernel routed (at open), or refused with NR
 * A label set is a series; at most max_series of them per table, then
 * every new one counts in the overflow series, so a port scan cannot grow
 * memory without limit.
 */
#include <stdlib.h>
#include <string.h>

#include "tel.h"

enum { TCP_OPENED, TCP_CLOSED, TCP_SENT, TCP_RECEIVED, TCP_N };

/* The label values of a series, in exposition order (the route only in
 * istio_requests_total). */
enum {
	L_SRC_WORKLOAD, L_SRC_NAMESPACE, L_SRC_PRINCIPAL, L_SERVICE,
	L_SERVICE_NAME, L_SERVICE_NAMESPACE, L_ROUTE, L_FLAGS, L_N
};

static const char *const label_names[L_N] = {
	[L_SRC_WORKLOAD] = "source_workload",
	[L_SRC_NAMESPACE] = "source_workload_namespace",
	[L_SRC_PRINCIPAL] = "source_principal",
	[L_SERVICE] = "destination_service",
	[L_SERVICE_NAME] = "destination_service_name",
	[L_SERVICE_NAMESPACE] = "destination_service_namespace",
	[L_ROUTE] = "destination_route",
	[L_FLAGS] = "response_flags",
};

struct series {
	char *l[L_N];		/* owned copies */
	uint64_t v[TCP_N];
	bool overflow;		/* the overflow series */
};

/* Open addressing on the label values: an event costs a hash of its
 * strings and a compare, never a formatted key. */
struct table {
	bool req;		/* istio_requests_total: the route counts */
	size_t cap, len;	/* cap: power of two */
	struct series **slots;
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

	if (m) {
		m->max_series = max_series;
		m->req.req = true;
	}
	return m;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i])
			continue;
		for (int l = 0; l < L_N; l++)
			free(t->slots[i]->l[l]);
		free(t->slots[i]);
	}
	free(t->slots);
}

void km_tel_metrics_free(struct km_tel_metrics *m)
{
	if (!m)
		return;
	table_free(&m->tcp);
	table_free(&m->req);
	free(m);
}

static uint64_t hash(const char *const *l)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < L_N; i++) {
		for (const char *s = l[i]; *s; s++)
			h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull;	/* separator */
	}
	return h;
}

static bool same(const struct series *s, const char *const *l)
{
	for (int i = 0; i < L_N; i++)
		if (strcmp(s->l[i], l[i]))
			return false;
	return true;
}

static struct series **slot_of(const struct table *t, const char *const *l,
			       uint64_t h)
{
	size_t i = h & (t->cap - 1);

	while (t->slots[i] && !same(t->slots[i], l))
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

static int grow(struct table *t)
{
	struct table n = *t;

	n.cap = t->cap ? t->cap * 2 : 64;
	n.slots = calloc(n.cap, sizeof(*n.slots));
	if (!n.slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			*slot_of(&n, (const char *const *)t->slots[i]->l,
				 hash((const char *const *)t->slots[i]->l)) = t->slots[i];
	free(t->slots);
	*t = n;
	return 0;
}

static struct series *add(struct table *t, const char *const *l)
{
	struct series *s;
	int i;

	if ((t->len + 1) * 2 > t->cap && grow(t))
		return NULL;
	s = calloc(1, sizeof(*s));
	for (i = 0; s && i < L_N; i++) {
		s->l[i] = strdup(l[i]);
		if (!s->l[i])
			break;
	}
	if (!s || i < L_N) {
		for (int j = 0; s && j < i; j++)
			free(s->l[j]);
		free(s);
		return NULL;
	}
	*slot_of(t, l, hash(l)) = s;
	t->len++;
	return s;
}

/* The series of @c in @t, the overflow series past the cap, or NULL
 * (out of memory: the event is not counted). */
static struct series *lookup(struct km_tel_metrics *m, struct table *t,
			     const struct km_tel_conn *c, const char *flags)
{
	const char *l[L_N] = {
		[L_SRC_WORKLOAD] = c->src_workload,
		[L_SRC_NAMESPACE] = c->src_namespace,
		[L_SRC_PRINCIPAL] = c->src_principal,
		[L_SERVICE] = c->service,
		[L_SERVICE_NAME] = c->service_name,
		[L_SERVICE_NAMESPACE] = c->service_namespace,
		[L_ROUTE] = t->req ? c->route : "",
		[L_FLAGS] = flags,
	};
	struct series **sp, *s;

	if (t->cap) {
		sp = slot_of(t, l, hash(l));
		if (*sp)
			return *sp;
	}
	if (t->len >= m->max_series) {
		for (int i = 0; i < L_N; i++)
			l[i] = i == L_ROUTE && !t->req ? "" : OVERFLOW;
		t->overflowed++;
		sp = slot_of(t, l, hash(l));
		if (*sp)
			return *sp;
		s = add(t, l);
		if (s)
			s->overflow = true;
		return s;
	}
	return add(t, l);
}

/* lookup(), through the series the event's resolution was counted in
 * before (c->smemo), when it has one. */
static struct series *series_of(struct km_tel_metrics *m, struct table *t,
				const struct km_tel_conn *c, const char *flags)
{
	struct km_tel_smemo *sm = c->smemo;
	struct series *s;
	int f = t->req, i = 0;

	for (; sm && i < KM_TEL_SMEMO && sm->flags[f][i]; i++) {
		if (sm->flags[f][i] != flags)
			continue;
		s = sm->series[f][i];
		t->overflowed += s->overflow;
		return s;
	}
	s = lookup(m, t, c, flags);
	if (s && sm && i < KM_TEL_SMEMO) {
		sm->flags[f][i] = flags;
		sm->series[f][i] = s;
	}
	return s;
}

void km_tel_count(struct km_tel_metrics *m, const struct km_tel_conn *c)
{
	const struct km_conn_event *ev = c->ev;
	struct series *s;
	bool l7 = ev->route_id != KM_EV_NONE;

	switch (ev->type) {
	case KM_EV_OPEN:
		s = series_of(m, &m->tcp, c, "-");
		if (s)
			s->v[TCP_OPENED]++;
		break;
	case KM_EV_CLOSE:
		s = series_of(m, &m->tcp, c, c->flags);
		if (!s)
			break;
		s->v[TCP_CLOSED]++;
		/* the sidecar's view: received from the app, sent to it;
		 * what KM_EV_BYTES reported while it was open is counted */
		s->v[TCP_RECEIVED] += ev->bytes_sent > ev->reported_sent ?
				      ev->bytes_sent - ev->reported_sent : 0;
		s->v[TCP_SENT] += ev->bytes_received > ev->reported_received ?
				  ev->bytes_received - ev->reported_received : 0;
		l7 = false;	/* counted at open */
		break;
	case KM_EV_BYTES:
		/* an open connection's bytes since its last report */
		s = series_of(m, &m->tcp, c, "-");
		if (s) {
			s->v[TCP_RECEIVED] += ev->bytes_sent;
			s->v[TCP_SENT] += ev->bytes_received;
		}
		return;
	case KM_EV_REFUSED:
		s = series_of(m, &m->tcp, c, c->flags);
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
			      ev->type == KM_EV_OPEN ? "-" : c->flags);
		if (s)
			s->v[0]++;
	}
}

/* Prometheus label value escaping: backslash, quote, newline */
static void put_value(FILE *f, const char *s)
{
	size_t n;

	while (*s) {
		n = strcspn(s, "\\\"\n");
		fwrite(s, 1, n, f);
		s += n;
		if (*s)
			fputs(*s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\", f);
		s += !!*s;
	}
}

static void put_labels(FILE *f, const struct table *t, const struct series *s)
{
	fputs("{reporter=\"source\"", f);
	for (int i = 0; i < L_N; i++) {
		if (i == L_ROUTE && !t->req)
			continue;
		if (i == L_ROUTE)
			fputs(",request_protocol=\"http\"", f);
		fprintf(f, ",%s=\"", label_names[i]);
		put_value(f, s->l[i]);
		fputc('"', f);
		if (i == L_SERVICE_NAMESPACE)
			fputs(",destination_workload=\"" KM_TEL_UNKNOWN "\"", f);
	}
	fputs(",connection_security_policy=\"none\"}", f);
}

static void write_metric(const struct table *t, FILE *f, const char *name,
			 const char *help, int idx)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i])
			continue;
		fputs(name, f);
		put_labels(f, t, t->slots[i]);
		fprintf(f, " %llu\n", (unsigned long long)t->slots[i]->v[idx]);
	}
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
		     "Bytes sent to the client (response), counted while open (every --tcp-report-interval) and at close.",
		     TCP_SENT);
	write_metric(&m->tcp, f, "istio_tcp_received_bytes_total",
		     "Bytes received from the client (request), counted while open (every --tcp-report-interval) and at close.",
		     TCP_RECEIVED);
	write_metric(&m->req, f, "istio_requests_total",
		     "First requests of connections routed by kmesh.ko (no response code: kmesh routes requests, it does not see responses).",
		     0);
	fprintf(f, "# HELP kmesh_telemetry_series Label sets held per metric family (cap: --metrics-max-series).\n# TYPE kmesh_telemetry_series gauge\n");
	fprintf(f, "kmesh_telemetry_series{family=\"tcp\"} %zu\n", m->tcp.len);
	fprintf(f, "kmesh_telemetry_series{family=\"requests\"} %zu\n", m->req.len);
	fprintf(f, "# HELP kmesh_telemetry_series_max The cap on label sets per metric family.\n# TYPE kmesh_telemetry_series_max gauge\n");
	fprintf(f, "kmesh_telemetry_series_max %u\n", m->max_series);
	fprintf(f, "# HELP kmesh_telemetry_overflow_total Events counted in the overflow series (the cap was reached).\n# TYPE kmesh_telemetry_overflow_total counter\n");
	fprintf(f, "kmesh_telemetry_overflow_total{family=\"tcp\"} %llu\n",
		(unsigned long long)m->tcp.overflowed);
	fprintf(f, "kmesh_telemetry_overflow_total{family=\"requests\"} %llu\n",
		(unsigned long long)m->req.overflowed);
}
