/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The names of STRICT_DNS and LOGICAL_DNS clusters, resolved by kmeshd the
 * way Envoy resolves them (its DnsClusterImpl), with c-ares in kmeshd's own
 * event loop: never a blocking call, so xDS and reloads are never held up.
 *
 *  - one resolution target per (cluster, name); resolved when a config that
 *    names it is applied, then again every dns_refresh_rate (5 s default),
 *    or at the answer's smallest TTL with respect_dns_ttl;
 *  - dns_lookup_family: V4_ONLY, V6_ONLY, AUTO (IPv6, else IPv4),
 *    V4_PREFERRED (IPv4, else IPv6), ALL (both, IPv4 first);
 *  - STRICT_DNS: every address is an endpoint (an answer with no address
 *    is a cluster with no endpoints, as in Envoy); LOGICAL_DNS: the first
 *    address, and an empty answer is a failure;
 *  - a failed resolution (server failure, timeout, refused) keeps the last
 *    good addresses, is logged and shows in the state file (kmeshctl dns);
 *  - a changed answer is an endpoint change: km_dns_take_change() says so
 *    and kmeshd applies the config again, a new generation through the
 *    usual compile-and-flip path (not yet incremental).
 *
 * The compiler never sees a name: km_dns_view() gives the model with each
 * name replaced by its addresses (none until the first answer).
 */
#ifndef KM_DNS_H
#define KM_DNS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

struct km_dns;

typedef void (*km_dns_log_fn)(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* @servers: "ADDR[:PORT],..." (c-ares' CSV: "127.0.0.1:5353", "[::1]:53"),
 * or NULL for /etc/resolv.conf. @log's levels: 0 error, 1 warning, 2 info,
 * 3 debug. 0, or -errno with @err saying why. */
int km_dns_new(struct km_dns **d, const char *servers, km_dns_log_fn log,
	       struct km_err *err);
void km_dns_free(struct km_dns *d);

/* Whether @m has a STRICT_DNS or LOGICAL_DNS cluster. */
bool km_dns_wanted(const struct km_model *m);

/* The model with each DNS cluster's names replaced by their last good
 * addresses: a shallow copy (the cluster array and the DNS clusters'
 * endpoint arrays are new, everything else is @m's). @d may be NULL: the
 * names are then dropped. 0 or -ENOMEM. */
int km_dns_view(const struct km_dns *d, const struct km_model *m,
		struct km_model *view);
void km_dns_view_free(const struct km_model *m, struct km_model *view);

/* After @m was applied: resolve the names it has that are new (now), keep
 * those it still has, forget the others. */
void km_dns_sync(struct km_dns *d, const struct km_model *m, uint64_t now_ms);

/* The event loop: one fd to poll for input (c-ares' sockets behind an
 * epoll fd), how long the loop may sleep (-1: nothing pending), and the
 * work due (answers, timeouts, refreshes), after either. True when an
 * answer (good or not) came: the state file has news. */
int km_dns_fd(const struct km_dns *d);
int km_dns_timeout_ms(const struct km_dns *d, uint64_t now_ms);
bool km_dns_process(struct km_dns *d, uint64_t now_ms);

/* True once after an answer changed what some name resolves to. */
bool km_dns_take_change(struct km_dns *d);

/* State for kmeshctl: "dns_*" lines, a record per name (state.h). */
void km_dns_write_state(const struct km_dns *d, FILE *f);

#endif
