/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Local replies: routes kmesh answers itself instead of forwarding
 * (direct_response, redirect, fault abort). docs/l7.md "Local replies".
 *
 * The kernel keeps the fast path: such a route's target is a synthetic
 * cluster whose one endpoint is kmeshd's responder on loopback. The
 * endpoint address says which reply: 127.64.0.0/10, bit 23 the reply
 * table's tag (kmeshd keeps the tables of the last two applied configs, so
 * a connect routed just before a flip still finds its reply), bits 0-21
 * the reply id (1-based). The responder reads it back with getsockname()
 * on the accepted socket: no map, no kernel change.
 *
 * Everything here is pure (no I/O): the compiler's targets, the Location
 * and the response bytes, shared by kmeshd's responder and the tests.
 */
#ifndef KM_LOCAL_REPLY_H
#define KM_LOCAL_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* kmeshd's responder: every 127.64.0.0/10 address, this port, on lo */
#define KM_RESPONDER_PORT 15007
#define KM_REPLY_NET 0x7f400000u	/* 127.64.0.0, host order */
#define KM_REPLY_MAX_IDS ((1u << 22) - 1)

static inline uint32_t km_reply_addr(unsigned int tag, uint32_t id)
{
	return KM_REPLY_NET | (tag & 1u) << 23 | id;
}

/* 127.64.0.0/10 -> tag and id; false for any other address */
static inline bool km_reply_of_addr(uint32_t a, unsigned int *tag,
				    uint32_t *id)
{
	if ((a & 0xff400000u) != KM_REPLY_NET)
		return false;
	*tag = a >> 23 & 1;
	*id = a & KM_REPLY_MAX_IDS;
	return *id != 0;
}

/* ---- which targets a route action gets ---------------------------------- */

/*
 * The abort that applies to an action on a chain: Envoy's fault filter only
 * acts when it is in the chain's http_filters; a route's own
 * typed_per_filter_config replaces the filter's config; NULL: none (no
 * filter, no abort status, or a 0 percentage).
 */
const struct km_m_abort *km_abort_for(const struct km_m_action *a,
				      const struct km_m_fault *chain);

/* Targets km_action_targets() writes: 1 for a reply, n_clusters for
 * clusters, one more for a partial abort, 1 for a 100% abort. */
size_t km_action_n_targets(const struct km_m_action *a,
			   const struct km_m_abort *ab);

struct km_target_ids {
	int (*cluster)(void *ctx, const char *name, uint32_t *id);
	/* the synthetic cluster of a reply, or of an abort's status; NULL:
	 * not supported by the caller (-EOPNOTSUPP) */
	int (*reply)(void *ctx, const struct km_m_reply *r, uint32_t *id);
	int (*abort)(void *ctx, uint16_t status, uint32_t *id);
	void *ctx;
};

/*
 * Weighted targets of @a with abort @ab: cluster ids and cumulative
 * weights into out[km_action_n_targets()], *total the sum. A partial abort
 * of num/den puts the abort first with num * T and every other target's
 * weight times (den - num), T the sum of the route's weights: the kernel's
 * weighted pick (bpf_get_prandom_u32) makes the per-connection decision.
 * Returns 0, or a negative errno with *bad the index of the cluster whose
 * id failed (-1 otherwise): -ERANGE when the scaled weights overflow.
 */
int km_action_targets(const struct km_m_action *a, const struct km_m_abort *ab,
		      const struct km_target_ids *ids, uint32_t *id_out,
		      uint32_t *cum_out, uint32_t *total, long *bad);

/* ---- the response --------------------------------------------------------- */

/* What the responder takes from the request. */
struct km_reply_req {
	const char *host;	/* Host header (or the absolute-form authority);
				 * NULL or "" when absent */
	const char *path;	/* the request target's path and query, as sent */
	bool head;		/* HEAD: the headers only, as Envoy */
};

/*
 * Envoy's redirect Location (Http::Utility::newUri after the route's
 * prefix_rewrite, envoyproxy/envoy source/common/http/utility.cc): into
 * buf, NUL-terminated. Returns its length, or -ENOSPC.
 */
int km_reply_location(const struct km_m_reply *r, const struct km_reply_req *q,
		      char *buf, size_t size);

/* The reason phrase Envoy's HTTP/1 codec writes ("" for a code it does
 * not know, as Envoy). */
const char *km_http_reason(unsigned int status);

/*
 * The whole response: status line, headers, body. @date is the value of
 * the date header (RFC 7231 IMF-fixdate). Returns the length written, or
 * -ENOSPC.
 */
int km_reply_format(const struct km_m_reply *r, const struct km_reply_req *q,
		    const char *date, char *buf, size_t size);

/* A one-line description ("direct_response 502", "redirect 301 https",
 * "fault abort 503"): the synthetic cluster's name in kmeshctl. Returns a
 * malloc'd string, or NULL. */
char *km_reply_describe(const struct km_m_reply *r);

struct km_m_reply *km_reply_dup(const struct km_m_reply *r);

#endif
