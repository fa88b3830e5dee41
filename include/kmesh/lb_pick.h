/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Endpoint and cluster selection: one logic, compiled into the BPF connect
 * programs and into userspace (unit tests, kmeshctl).
 *
 * The includer defines, before including this file:
 *   static __always_inline const struct km_endpoint *
 *   km_endpoint_lookup(void *env, const struct km_endpoint_key *key);
 * BPF looks up km_endpoint; userspace reads an array or a pinned map.
 *
 * The draw (a counter for round robin, a random number for RANDOM) is the
 * caller's, so the pick itself is deterministic and testable.
 */
#ifndef KMESH_LB_PICK_H
#define KMESH_LB_PICK_H

#include "abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Weighted clusters: the first target whose cumulative weight exceeds
 * draw % total. Returns the cluster id, or -1 for a malformed record. */
static __always_inline long km_pick_target(const struct km_frontend *fe,
					   __u32 draw)
{
	__u32 n = fe->n_targets, w, i;

	/* n is not clamped up front: the verifier must see both bounds in
	 * the loop, and a compiler that knew n <= KM_MAX_WEIGHTED would fold
	 * them into one. A record with n > KM_MAX_WEIGHTED finds nothing past
	 * the array and returns -1. */
	if (n == 0 || fe->total_weight == 0)
		return -1;
	if (n == 1)
		return fe->targets[0].cluster_id;
	w = draw % fe->total_weight;
	for (i = 0; i < KM_MAX_WEIGHTED; i++) {
		if (i >= n)
			break;
		if (w < fe->targets[i].cum_weight)
			return fe->targets[i].cluster_id;
	}
	return -1;
}

/*
 * Pick an endpoint of cluster @c (id @cluster_id, generation slot @slot).
 * Equal weights: index draw % n. Different weights: the endpoint whose
 * cumulative-weight interval holds draw % total_weight, found by binary
 * search, so a round-robin counter gives an exact weighted round robin over
 * every total_weight consecutive draws. NULL when the cluster has no usable
 * endpoint or a record is missing.
 */
static __always_inline const struct km_endpoint *
km_pick_endpoint(void *env, __u8 slot, __u32 cluster_id,
		 const struct km_cluster *c, __u32 draw)
{
	struct km_endpoint_key key = { .cluster_id = cluster_id, .slot = slot };
	const struct km_endpoint *ep;
	__u32 lo, hi, mid, w, i;

	if (c->n_endpoints == 0 || c->n_endpoints > KM_MAX_CLUSTER_ENDPOINTS)
		return (void *)0;
	if (!c->weighted || c->total_weight == 0) {
		key.index = draw % c->n_endpoints;
		return km_endpoint_lookup(env, &key);
	}

	/* smallest index with cum_weight > w */
	w = draw % c->total_weight;
	lo = 0;
	hi = c->n_endpoints - 1;
	for (i = 0; i < KM_EP_SEARCH_STEPS && lo < hi; i++) {
		mid = lo + (hi - lo) / 2;
		key.index = mid;
		ep = km_endpoint_lookup(env, &key);
		if (!ep)
			return (void *)0;
		if (ep->cum_weight > w)
			hi = mid;
		else
			lo = mid + 1;
	}
	key.index = lo;
	return km_endpoint_lookup(env, &key);
}

#endif /* KMESH_LB_PICK_H */
