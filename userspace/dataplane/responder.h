/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshd's responder (docs/l7.md "Local replies"): the loopback server the
 * kernel sends connects of direct_response, redirect and fault abort routes
 * to. It learns the route's reply from the address the client was
 * connected to (model/local_reply.h), parses the request with
 * libmicrohttpd, writes Envoy's response and closes.
 */
#ifndef KM_RESPONDER_H
#define KM_RESPONDER_H

#include <stdint.h>

#include <stdbool.h>

#include "diag.h"

struct km_records;
struct km_enroll_row;

/* Listen on @port (KM_RESPONDER_PORT; 0 for any, as tests do), every address
 * of lo, in the calling thread's network namespace. */
int km_responder_start(uint16_t port, struct km_err *err);
uint16_t km_responder_port(void);	/* the port it listens on (port 0: any) */
void km_responder_stop(void);

/* Told what changed (@warn: a namespace that cannot be served). */
typedef void (*km_responder_log_fn)(bool warn, const char *msg);

/*
 * Serves the network namespaces of @rows (km_enroll_netns_live's) too, on
 * the same port: a listener opened in each one not served yet, closed in
 * each one no longer in @rows. One that cannot listen (a pod holding the
 * port) is told once, tried again on each call, and stops no other. Call
 * from one thread (it enters each netns for a moment); nothing before
 * km_responder_start.
 */
void km_responder_netns(const struct km_enroll_row *rows, int n,
			km_responder_log_fn log);

/* After a config is applied: its replies (moved out of @r) serve the tag
 * it was compiled with; the other tag keeps the previous config's. */
void km_responder_install(struct km_records *r);

/* The tag the next config compiles with. */
uint8_t km_responder_next_tag(void);

#endif
