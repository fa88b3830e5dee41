/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Telemetry internals: names, aggregation, access log, exposition. */
#ifndef KM_TEL_H
#define KM_TEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kmesh/abi.h"
#include "model.h"
#include "telemetry.h"

#define KM_TEL_UNKNOWN "unknown"
#define KM_TEL_ADDR_MAX 64	/* "[v6]:port" */

/* The series a resolved event was last counted in, per metric family
 * and response flag (metrics.c): events of one memoized resolution
 * (names.c) find their series without hashing their labels. */
#define KM_TEL_SMEMO 4
struct km_tel_smemo {
	const char *flags[2][KM_TEL_SMEMO];
	void *series[2][KM_TEL_SMEMO];
};

/*
 * One connection event with its ids resolved to Istio's label values.
 * Strings are interned (names.c): they live as long as the telemetry, so
 * an aggregate may keep pointers to them.
 */
struct km_tel_conn {
	const struct km_conn_event *ev;
	const char *src_workload;
	const char *src_namespace;
	const char *src_principal;
	const char *src_service_account;
	const char *service;		/* destination_service */
	const char *service_name;
	const char *service_namespace;
	const char *cluster;		/* "-" when not known */
	const char *listener;
	const char *route;		/* L7: "route config/vhost/route" */
	const char *flags;		/* Envoy's response flags, "-": none */
	const char *end;		/* how it ended, for the access log */
	const char *authz_policy;	/* authz refused: the row that
					 * decided (authz_log.c) */
	struct km_tel_smemo *smemo;	/* NULL: none */
	char vip[KM_TEL_ADDR_MAX];
	char endpoint[KM_TEL_ADDR_MAX];
	char local[KM_TEL_ADDR_MAX];	/* km_tel_local() fills it */
};

/* names.c: ids to names, through the pinned maps */
struct km_tel_names;

/* @state_dir: kmeshd's, where its enrollments (and their names) are */
int km_tel_names_open(struct km_tel_names **np, const char *pin_root,
		      const char *state_dir, struct km_err *err);
/* Reads the live generation; forgets cached names that may be stale. */
void km_tel_names_refresh(struct km_tel_names *n);
void km_tel_resolve(struct km_tel_names *n, const struct km_conn_event *ev,
		    struct km_tel_conn *c);
/* c->local, which only the logs need */
void km_tel_local(struct km_tel_conn *c);
/* The live generation as last refreshed (0: none yet) */
uint64_t km_tel_names_generation(const struct km_tel_names *n);
void km_tel_names_free(struct km_tel_names *n);
/* "a.b.c.d:port" or "[v6]:port"; "-" for an all-zero address */
void km_tel_addr(char *buf, size_t len, const struct km_addr *a, __be16 port);
/* Envoy's response flags of an event ("-": none) */
const char *km_tel_flags(const struct km_conn_event *ev);
/* Istio cluster name "outbound|80||svc.ns.svc.cluster.local" to the
 * service host, its name and namespace; other names are the service
 * itself, namespace not known. Writes into the three buffers. */
void km_tel_service_of(const char *cluster, char *host, char *name,
		       char *ns, size_t len);

/* metrics.c: Istio's TCP metrics, aggregated by label set */
struct km_tel_metrics;

struct km_tel_metrics *km_tel_metrics_new(unsigned max_series);
void km_tel_metrics_free(struct km_tel_metrics *m);
/* Counts one event (the caller holds the telemetry lock). */
void km_tel_count(struct km_tel_metrics *m, const struct km_tel_conn *c);
void km_tel_metrics_write(const struct km_tel_metrics *m, FILE *f);

/* accesslog.c: one JSON line per connection */
struct km_tel_log;

int km_tel_log_open(struct km_tel_log **lp, const struct km_tel_opts *o,
		    struct km_err *err);
void km_tel_log_event(struct km_tel_log *l, const struct km_tel_conn *c,
		      int64_t mono_to_real_ns);
/* Writes the buffered lines (after each drain of the ring) */
void km_tel_log_flush(struct km_tel_log *l);
/* SIGUSR1: open the path again (logrotate moved it) */
void km_tel_log_reopen(struct km_tel_log *l);
/* lines written, and batches of them that could not be */
void km_tel_log_stats(const struct km_tel_log *l, uint64_t *lines,
		      uint64_t *errors);
void km_tel_log_close(struct km_tel_log *l);
/* The JSON line for one event, newline included (tests use it). */
void km_tel_log_format(FILE *f, const struct km_tel_conn *c,
		       int64_t mono_to_real_ns);

/*
 * authz_log.c: one log line per connect authorization denied, naming the
 * policy row that decided, at most KM_TEL_AUTHZ_LOG_BURST a second; the
 * rest are counted and said in one line when the second is over.
 */
#define KM_TEL_AUTHZ_LOG_BURST 20

struct km_tel_authz_log {
	uint64_t window_ns;	/* start of the current second */
	unsigned logged;	/* lines in it */
	uint64_t dropped;	/* denials not logged in it */
};

/* The line for one denial, without a newline. */
void km_tel_authz_format(char *buf, size_t len, const struct km_tel_conn *c);
/* Logs (to @f) a denial seen at @now_ns (monotonic), or counts it. */
void km_tel_authz_deny(struct km_tel_authz_log *l, const struct km_tel_conn *c,
		       uint64_t now_ns, FILE *f);
/* Says how many were not logged once their second is over (called after
 * each drain of the ring, and before a denial). */
void km_tel_authz_tick(struct km_tel_authz_log *l, uint64_t now_ns, FILE *f);
/* Says how many were not logged in the current second (at the stop). */
void km_tel_authz_flush(struct km_tel_authz_log *l, FILE *f);

/* agent.c: kmesh's own metrics (counters, config, xDS, maps) */
struct km_tel_agent {
	const char *pin_root;
	const char *state_file;
	uint64_t applied_generation;	/* km_telemetry_applied() */
	uint64_t apply_ms;
	uint64_t events_read;		/* by the reader */
	uint64_t events_lost_ring;	/* records the ring lost (none
					 * expected: libbpf says so) */
	uint64_t log_lines, log_errors;
	uint32_t ring_bytes;
};

void km_tel_agent_write(const struct km_tel_agent *a, FILE *f);

/* http.c: the /metrics and /healthz/ready server */
typedef char *(*km_tel_render_fn)(size_t *len);
typedef bool (*km_tel_ready_fn)(void);

int km_tel_http_start(const char *addr, km_tel_render_fn render,
		      km_tel_ready_fn ready, struct km_err *err);
void km_tel_http_stop(void);

#endif
