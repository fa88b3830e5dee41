/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * LEAST_REQUEST and MAGLEV, on top of lb_pick.h: one logic for the BPF
 * connect programs and userspace (unit tests, kmeshd's Maglev tables, the
 * disruption measurement).
 *
 * The includer defines, besides lb_pick.h's km_endpoint_lookup():
 *   static __always_inline __u64
 *   km_ep_active(void *env, const struct km_ep_stat_key *key);
 *	active connections of an endpoint (0 when it has no record);
 *   static __always_inline const struct km_maglev_chunk *
 *   km_maglev_lookup(void *env, const struct km_maglev_key *key);
 * BPF looks up km_ep_stat and km_maglev; tests read arrays.
 */
#ifndef KMESH_LB_POLICY_H
#define KMESH_LB_POLICY_H

#include "lb_pick.h"
#include "lb_hash.h"

/* Is @ep (with @a active connections) a better LEAST_REQUEST pick than
 * @best (with @best_a)? Equal weights: fewer active connections. Different
 * weights (active_request_bias 1, Envoy's default): the larger
 * weight / (active + 1), compared as cross products; weights < 2^31 and
 * counts < 2^32 keep them inside 64 bits. */
static __always_inline int km_lr_better(const struct km_cluster *c,
					__u32 weight, __u64 a,
					__u32 best_weight, __u64 best_a)
{
	if (!c->weighted)
		return a < best_a;
	return (__u64)weight * (best_a + 1) > (__u64)best_weight * (a + 1);
}

/*
 * LEAST_REQUEST as Envoy does it, counted in connections: choice_count
 * candidates, the best by km_lr_better(), the first drawn on a tie. The
 * first candidate is @seed % n; each further one is drawn among the other
 * n - 1 endpoints, so two choices are always two endpoints (Envoy draws
 * with replacement and then, with two endpoints, takes the busier one a
 * quarter of the time). With choice_count >= n every endpoint is a
 * candidate, from a random start. Weighted with active_request_bias 0 is
 * not handled here: it is plain weighted round robin (km_lb_pick).
 * Returns the index of the pick in the cluster, -1 when there is none or
 * a record is missing.
 */
static __always_inline long km_least_index(void *env, __u8 slot,
					   __u32 cluster_id,
					   const struct km_cluster *c,
					   __u32 seed)
{
	struct km_endpoint_key key = { .cluster_id = cluster_id, .slot = slot };
	struct km_ep_stat_key sk = {};
	const struct km_endpoint *ep;
	__u32 n = c->n_endpoints, k = c->choice_count, first, r = seed, i;
	__u32 best_w = 0;
	__u64 best_a = 0, a;
	long best_i = -1;
	int scan;

	if (n == 0 || n > KM_MAX_CLUSTER_ENDPOINTS)
		return -1;
	if (k < 2)
		k = KM_LR_CHOICE_DEFAULT;
	scan = k >= n;
	first = seed % n;
	for (i = 0; i < KM_LR_CHOICE_MAX; i++) {
		if (i >= k || (scan && i >= n))
			break;
		if (i == 0 || scan) {
			key.index = (first + i) % n;
		} else {
			/* n > k >= 2 here, so n - 1 >= 2 */
			r = (__u32)km_mix64((__u64)r + i);
			key.index = (first + 1 + r % (n - 1)) % n;
		}
		ep = km_endpoint_lookup(env, &key);
		if (!ep)
			return -1;
		km_ep_stat_key_set(&sk, c->stat_key, &ep->addr, ep->port);
		a = km_ep_active(env, &sk);
		/* the best so far as scalars, not as a pointer into the map:
		 * fewer distinct states for the verifier to walk */
		if (best_i < 0 || km_lr_better(c, ep->weight, a, best_w, best_a)) {
			best_w = ep->weight;
			best_a = a;
			best_i = key.index;
		}
	}
	return best_i;
}

/* km_least_index()'s endpoint. */
static __always_inline const struct km_endpoint *
km_pick_least(void *env, __u8 slot, __u32 cluster_id,
	      const struct km_cluster *c, __u32 seed)
{
	struct km_endpoint_key key = { .cluster_id = cluster_id, .slot = slot };
	long i = km_least_index(env, slot, cluster_id, c, seed);

	if (i < 0)
		return (void *)0;
	key.index = (__u32)i;
	return km_endpoint_lookup(env, &key);
}

/* MAGLEV (and RING_HASH, served by the same table): entry @hash %
 * maglev_size of the cluster's table names the endpoint. NULL when the
 * table or the endpoint is missing. */
static __always_inline const struct km_endpoint *
km_pick_maglev(void *env, __u8 slot, __u32 cluster_id,
	       const struct km_cluster *c, __u64 hash)
{
	struct km_endpoint_key key = { .cluster_id = cluster_id, .slot = slot };
	struct km_maglev_key mk = { .slot = slot };
	const struct km_maglev_chunk *ch;
	__u32 i, e;

	if (c->maglev_size == 0 || c->n_endpoints == 0)
		return (void *)0;
	i = hash % c->maglev_size;
	mk.chunk = c->maglev_chunk + i / KM_MAGLEV_CHUNK;
	ch = km_maglev_lookup(env, &mk);
	if (!ch)
		return (void *)0;
	e = ch->ep[i % KM_MAGLEV_CHUNK];
	if (e >= c->n_endpoints)
		return (void *)0;
	key.index = e;
	return km_endpoint_lookup(env, &key);
}

#endif /* KMESH_LB_POLICY_H */
