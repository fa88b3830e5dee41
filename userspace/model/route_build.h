/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Route config (model) -> compiled route table blob (include/kmesh/
 * route_table.h), the input of kmod/route_match.c.
 */
#ifndef KM_ROUTE_BUILD_H
#define KM_ROUTE_BUILD_H

#include <stddef.h>

#include "model.h"
#include "kmesh/route_table.h"

/* Cluster name -> id: 0 and *id set, or a negative errno (-ENOENT: no such
 * cluster). */
typedef int (*km_cluster_id_fn)(void *ctx, const char *name, __u32 *id);

/*
 * Compile rc into a malloc'd blob (*out, *out_len; the caller frees it).
 * flags: enum km_rt_flags (KM_RT_F_IGNORE_PORT for a route config with
 * ignore_port_in_host_matching). Every limit is checked; nothing is
 * truncated. Returns 0, or a negative errno with err naming the route
 * config, virtual host and route:
 *   -EINVAL  a limit exceeded, a regex outside the supported subset or
 *            over its DFA limits, a duplicate
 *            domain (in one vhost or across vhosts, compared as lowercase),
 *            an empty domain, a route with no cluster, bad weights;
 *   -ENOENT  a cluster the callback does not know (its error otherwise);
 *   -E2BIG   the blob would exceed KM_ROUTE_TABLE_MAX;
 *   -ENOMEM.
 * *out is untouched on error.
 */
int km_route_build(const struct km_m_route_config *rc, unsigned int flags,
		   km_cluster_id_fn cluster_id, void *ctx, void **out,
		   size_t *out_len, struct km_err *err);

/* The same, with local replies and fault aborts (local_reply.h): @ids
 * names their synthetic clusters, @fault is the chain's fault filter (NULL:
 * none). km_route_build() refuses a route that needs a reply. */
struct km_target_ids;
int km_route_build_ex(const struct km_m_route_config *rc, unsigned int flags,
		      const struct km_target_ids *ids,
		      const struct km_m_fault *fault, void **out,
		      size_t *out_len, struct km_err *err);

#endif
