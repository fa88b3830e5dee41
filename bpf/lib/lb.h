/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Load balancing in the connect path: the draw for each policy, the shared
 * picks (include/kmesh/lb_pick.h, lb_policy.h), and the live connection
 * counts LEAST_REQUEST and max_connections read.
 *
 * Counting: a routed connection is counted in its cluster (km_cl_stat) and
 * endpoint (km_ep_stat) when it gets a km_sk_orig socket record, which is
 * always with getpeername on (the default), and otherwise only for the
 * clusters that need the counts (LEAST_REQUEST, max_connections). The
 * record remembers what was counted; the cgroup/sock_release program
 * (close of the socket) takes it back, and a socket routed again (a
 * deferred L7 connect's re-run, a connect() after a failed one) moves it.
 */
#ifndef KM_BPF_LB_H
#define KM_BPF_LB_H

#include "consts.h"
#include "maps.h"
#include "counters.h"
#include "outlier.h"

static __always_inline const struct km_endpoint *
km_endpoint_lookup(void *env, const struct km_endpoint_key *key)
{
	return bpf_map_lookup_elem(&km_endpoint, key);
}

static __always_inline __u64 km_ep_active(void *env,
					  const struct km_ep_stat_key *key)
{
	struct km_ep_stat *s = bpf_map_lookup_elem(&km_ep_stat, key);

	return s ? s->cx_active : 0;
}

static __always_inline const struct km_maglev_chunk *
km_maglev_lookup(void *env, const struct km_maglev_key *key)
{
	return bpf_map_lookup_elem(&km_maglev, key);
}

#include "kmesh/lb_policy.h"

/*
 * LEAST_REQUEST's scan as a global function: the verifier checks a global
 * function once, on its own, where an inlined one is checked again at
 * every call site and on every path leading there. Inlined, this loop was
 * over 85% of the instructions the verifier processed for km_connect4
 * (about 350k of 400k, against its limit of 1M), which made loading slow
 * everywhere and very slow on a debug kernel. Returns the endpoint's index
 * in the cluster, -1 for none.
 */
__attribute__((noinline)) long km_least_global(__u32 slot, __u32 cluster_id,
					      const struct km_cluster *c,
					      __u32 seed)
{
	if (!c)
		return -1;
	return km_least_index(NULL, (__u8)slot, cluster_id, c, seed);
}

static __always_inline __u32 km_lb_draw(__u32 cluster_id, __u8 policy)
{
	__u32 *ctr;

	if (policy == KM_LB_ROUND_ROBIN) {
		ctr = bpf_map_lookup_elem(&km_rr, &cluster_id);
		if (ctr)
			return __sync_fetch_and_add(ctr, 1);
	}
	return bpf_get_prandom_u32();
}

/* The Maglev key: the socket's source address when the cluster hashes on
 * it. A socket that has not bound one (the kernel picks it after this
 * hook) is keyed by its network namespace instead: a pod has one address
 * per namespace, so its connections stay together as Envoy's would. No
 * hash policy: a random key, as Envoy picks with no hash. */
static __always_inline __u64 km_hash_key(struct bpf_sock_addr *ctx,
					 const struct km_cluster *c, bool v6)
{
	struct km_addr a = {};
	struct bpf_sock *sk = ctx->sk;

	if (!(c->hash_flags & KM_HASH_SOURCE_IP))
		return ((__u64)bpf_get_prandom_u32() << 32) |
		       bpf_get_prandom_u32();
	if (v6) {
		a.w[0] = sk->src_ip6[0];
		a.w[1] = sk->src_ip6[1];
		a.w[2] = sk->src_ip6[2];
		a.w[3] = sk->src_ip6[3];
	} else {
		a.w[2] = bpf_htonl(0xffff);
		a.w[3] = sk->src_ip4;
	}
	if (!a.w[0] && !a.w[1] && !a.w[3] && (!a.w[2] || !v6))
		return km_mix64(bpf_get_netns_cookie(ctx));
	return km_hash_addr(&a, 0);
}

/*
 * The endpoint of cluster @c for this connect. @deferred: the fallback of
 * a deferred L7 connect, which must not advance the round robin (the
 * re-run draws again; two draws per connection would send every connection
 * of a two-endpoint cluster to one of them).
 */
static __always_inline const struct km_endpoint *
km_lb_pick(struct bpf_sock_addr *ctx, __u8 slot, __u32 cid,
	   const struct km_cluster *c, bool v6, bool deferred)
{
	const struct km_endpoint *ep;
	__u32 draw;
	__u64 h;

	if (c->lb_policy == KM_LB_MAGLEV) {
		h = km_hash_key(ctx, c, v6);
		/* an ejected entry's keys go on to one endpoint per key */
		return km_od_skip(slot, cid, c,
				  km_pick_maglev(NULL, slot, cid, c, h),
				  (__u32)(h >> 32) ^ (__u32)h);
	}
	/* weighted with active_request_bias 0: Envoy's weighted round robin */
	if (c->lb_policy == KM_LB_LEAST_REQUEST && (!c->weighted || c->lr_bias)) {
		struct km_endpoint_key key = { .cluster_id = cid, .slot = slot };
		long i = km_least_global(slot, cid, c, bpf_get_prandom_u32());

		if (i < 0)
			return NULL;
		key.index = (__u32)i;
		return km_od_skip(slot, cid, c, km_endpoint_lookup(NULL, &key),
				  0);
	}
	if (deferred)
		draw = bpf_get_prandom_u32();
	else
		draw = km_lb_draw(cid, c->lb_policy == KM_LB_LEAST_REQUEST ?
				       KM_LB_ROUND_ROBIN : c->lb_policy);
	ep = km_pick_endpoint(NULL, slot, cid, c, draw);
	return km_od_skip(slot, cid, c, ep, 0);
}

/* The value of @key in hash @map, made (zero) if missing. */
static __always_inline void *km_stat_get(void *map, const void *key,
					 const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Takes back what @o counted. */
static __always_inline void km_uncount(struct km_sk_orig *o)
{
	struct km_ep_stat_key ek = {};
	struct km_cl_stat *cs;
	struct km_ep_stat *es;

	o->od = 0;
	if (!o->counted)
		return;
	o->counted = 0;
	cs = bpf_map_lookup_elem(&km_cl_stat, &o->stat_key);
	if (cs)
		__sync_fetch_and_sub(&cs->cx_active, 1);
	km_ep_stat_key_set(&ek, o->stat_key, &o->endpoint, o->endpoint_port);
	es = bpf_map_lookup_elem(&km_ep_stat, &ek);
	if (es)
		__sync_fetch_and_sub(&es->cx_active, 1);
}

/*
 * Counts a connection to @ep of cluster @c in @o (NULL: no socket record,
 * so nothing could take the count back: not counted). Over the cluster's
 * max_connections it is not counted and -1 is returned: the caller refuses
 * the connect (Envoy's upstream_cx_overflow). The increment comes first
 * and is undone on overflow, so concurrent connects never pass the limit
 * together.
 */
static __always_inline int km_count_conn(struct km_sk_orig *o,
					 const struct km_cluster *c,
					 const struct km_endpoint *ep)
{
	static const struct km_cl_stat cl_zero;
	static const struct km_ep_stat ep_zero;
	struct km_ep_stat_key ek = {};
	struct km_cl_stat *cs;
	struct km_ep_stat *es;
	__u64 before;

	if (!o)
		return 0;
	km_uncount(o);
	cs = km_stat_get(&km_cl_stat, &c->stat_key, &cl_zero);
	if (!cs)
		return 0;
	before = __sync_fetch_and_add(&cs->cx_active, 1);
	if (c->max_connections && before >= c->max_connections) {
		__sync_fetch_and_sub(&cs->cx_active, 1);
		__sync_fetch_and_add(&cs->cx_overflow, 1);
		return -1;
	}
	__sync_fetch_and_add(&cs->cx_total, 1);
	o->stat_key = c->stat_key;
	o->counted = 1;
	o->od = c->od_consecutive != 0;
	km_ep_stat_key_set(&ek, c->stat_key, &ep->addr, ep->port);
	es = km_stat_get(&km_ep_stat, &ek, &ep_zero);
	if (es)
		__sync_fetch_and_add(&es->cx_active, 1);
	return 0;
}

/* Does a connect to @c need a socket record even without getpeername?
 * Outlier detection finds the endpoint of a failed connect in it. */
static __always_inline bool km_lb_needs_count(const struct km_cluster *c)
{
	return c->lb_policy == KM_LB_LEAST_REQUEST || c->max_connections ||
	       c->od_consecutive;
}

#endif
