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

#include "diag.h"

struct km_records;

/* Listen on @port (KM_RESPONDER_PORT; tests pick another), every address
 * of lo. */
int km_responder_start(uint16_t port, struct km_err *err);
void km_responder_stop(void);

/* After a config is applied: its replies (moved out of @r) serve the tag
 * it was compiled with; the other tag keeps the previous config's. */
void km_responder_install(struct km_records *r);

/* The tag the next config compiles with. */
uint8_t km_responder_next_tag(void);

#endif
