/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshd's telemetry (docs/telemetry.md): the connection events of the
 * km_events ring become Istio's standard TCP metrics and kmesh's own on
 * /metrics (libmicrohttpd), and one JSON access-log line per connection.
 *
 * It runs in two threads of its own: the ring reader (drains the ring on
 * a short timer, aggregates, writes the access log) and libmicrohttpd's
 * (serves scrapes). The agent's main loop only starts and stops it and
 * reports each applied generation.
 */
#ifndef KM_TELEMETRY_H
#define KM_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

#define KM_TEL_DEFAULT_METRICS "127.0.0.1:15020"
#define KM_TEL_DEFAULT_MAX_SERIES 2000

struct km_tel_opts {
	bool events;		/* connection events on (default) */
	const char *metrics;	/* ADDR:PORT, or NULL: no HTTP server */
	bool metrics_given;	/* by --metrics: failing to listen is an
				 * error (the default's is a warning) */
	const char *access_log;	/* PATH, "-" (stdout), or NULL */
	bool log_errors_only;	/* access log: refused and failed only */
	unsigned log_sample_pct;	/* access log: 1-100 of the rest */
	uint32_t ring_bytes;	/* km_events size; 0: default */
	unsigned max_series;	/* label sets per metric; then overflow */
	unsigned drain_ms;	/* ring drain period */
	unsigned tcp_report_s;	/* open connections' bytes; 0: at close */
};

/* kmeshd's long options for telemetry, and their parser: @c is the
 * getopt value (KM_TEL_OPT_FIRST...). Returns 0, or 2 with a message. */
#define KM_TEL_OPT_FIRST 2000
#define KM_TEL_LONG_OPTS \
	{ "metrics", required_argument, NULL, KM_TEL_OPT_FIRST }, \
	{ "no-metrics", no_argument, NULL, KM_TEL_OPT_FIRST + 1 }, \
	{ "no-telemetry", no_argument, NULL, KM_TEL_OPT_FIRST + 2 }, \
	{ "access-log", required_argument, NULL, KM_TEL_OPT_FIRST + 3 }, \
	{ "access-log-errors", no_argument, NULL, KM_TEL_OPT_FIRST + 4 }, \
	{ "access-log-sample", required_argument, NULL, KM_TEL_OPT_FIRST + 5 }, \
	{ "events-ring-kb", required_argument, NULL, KM_TEL_OPT_FIRST + 6 }, \
	{ "metrics-max-series", required_argument, NULL, KM_TEL_OPT_FIRST + 7 }, \
	{ "tcp-report-interval", required_argument, NULL, KM_TEL_OPT_FIRST + 8 }
#define KM_TEL_OPT_LAST (KM_TEL_OPT_FIRST + 8)

void km_tel_opts_init(struct km_tel_opts *o);
int km_tel_parse_opt(struct km_tel_opts *o, int c, const char *arg);
void km_tel_usage(FILE *f);

/* Starts the reader and the HTTP server on the maps pinned at @pin_root;
 * @state_dir holds the agent's state file (config and xDS state) and its
 * enrollments (the names of enrolled workloads). */
int km_telemetry_start(const struct km_tel_opts *o, const char *pin_root,
		       const char *state_dir, struct km_err *err);
/* A generation was applied, in @ms milliseconds. */
void km_telemetry_applied(uint64_t generation, uint64_t ms);
/* Drains the ring one last time, closes the log, stops the server. */
void km_telemetry_stop(void);

#endif
