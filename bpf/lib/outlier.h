/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outlier detection in the data path (the state machine is
 * include/kmesh/outlier.h): the sockops program reports how a counted
 * connect to a cluster with outlier detection ended, and the connect
 * programs' pick steps over ejected endpoints.
 */
#ifndef KM_BPF_OUTLIER_H
#define KM_BPF_OUTLIER_H

#include "consts.h"
#include "maps.h"
#include "counters.h"
#include "kmesh/lb_hash.h"
#include "kmesh/outlier.h"

/* Endpoints looked at past an ejected pick, from a start the caller's
 * seed chooses: every endpoint of clusters up to this size. */
#define KM_OD_PROBE 32

static __always_inline struct km_ep_stat *
km_od_stat(__u64 stat_key, const struct km_addr *addr, __be16 port)
{
	struct km_ep_stat_key ek = {};

	km_ep_stat_key_set(&ek, stat_key, addr, port);
	return bpf_map_lookup_elem(&km_ep_stat, &ek);
}

/*
 * A replacement for @ep, the pick in cluster @c, when @ep is ejected: the
 * first endpoint in the cluster's order from @seed % n that is not. A
 * global function, checked once by the verifier (see km_least_global).
 * Returns its index, or -1 to keep @ep: it is not ejected, or every
 * endpoint looked at is (then the pick stands, as Envoy's panic routing).
 */
__attribute__((noinline)) long km_od_global(__u32 slot, __u32 cluster_id,
					   const struct km_cluster *c,
					   const struct km_endpoint *ep,
					   __u32 seed)
{
	struct km_endpoint_key key = { .cluster_id = cluster_id,
				       .slot = (__u8)slot };
	const struct km_endpoint *e;
	__u64 sk, now;
	__u32 n, first, i;

	if (!c || !ep)
		return -1;
	sk = c->stat_key;
	now = bpf_ktime_get_ns();
	if (!km_od_ejected(km_od_stat(sk, &ep->addr, ep->port), now))
		return -1;
	n = c->n_endpoints;
	if (n == 0 || n > KM_MAX_CLUSTER_ENDPOINTS)
		return -1;
	first = seed % n;
	for (i = 0; i < KM_OD_PROBE; i++) {
		if (i >= n)
			break;
		key.index = (first + i) % n;
		e = bpf_map_lookup_elem(&km_endpoint, &key);
		if (!e)
			return -1;
		if (!km_od_ejected(km_od_stat(sk, &e->addr, e->port), now))
			return key.index;
	}
	return -1;
}

/* @ep, or the endpoint that replaces it when it is ejected; @seed 0: a
 * random start. */
static __always_inline const struct km_endpoint *
km_od_skip(__u8 slot, __u32 cid, const struct km_cluster *c,
	   const struct km_endpoint *ep, __u32 seed)
{
	struct km_endpoint_key key = { .cluster_id = cid, .slot = slot };
	const struct km_endpoint *e;
	long i;

	if (!c->od_consecutive || !ep)
		return ep;
	if (!seed)
		seed = bpf_get_prandom_u32();
	i = km_od_global(slot, cid, c, ep, seed);
	if (i < 0)
		return ep;
	key.index = (__u32)i;
	e = bpf_map_lookup_elem(&km_endpoint, &key);
	return e ? e : ep;
}

/* The cluster that routed @o, if the live generation still has it; its
 * key in @ck. */
static __always_inline const struct km_cluster *
km_od_cluster(const struct km_sk_orig *o, struct km_cluster_key *ck)
{
	const struct km_cluster *c;
	struct km_gen *gen;
	__u32 zero = 0;

	gen = bpf_map_lookup_elem(&km_gen, &zero);
	if (!gen)
		return NULL;
	ck->id = o->cluster_id;
	ck->slot = gen->slot & 1;
	c = bpf_map_lookup_elem(&km_cluster, ck);
	/* renumbered by a flip since the connect: this outcome is lost */
	if (!c || c->stat_key != o->stat_key)
		return NULL;
	return c;
}

struct km_od_scan {
	__u64 stat_key;
	__u64 now;
	__u32 cluster_id;
	__u32 ejected;
	__u8 slot;
};

static long km_od_scan_step(__u32 i, void *arg)
{
	struct km_od_scan *s = arg;
	struct km_endpoint_key key = { .cluster_id = s->cluster_id,
				       .index = i, .slot = s->slot };
	const struct km_endpoint *e = bpf_map_lookup_elem(&km_endpoint, &key);

	if (!e)
		return 1;
	if (km_od_ejected(km_od_stat(s->stat_key, &e->addr, e->port), s->now))
		s->ejected++;
	return 0;
}

/* Endpoints of cluster @c (key @ck) ejected at @now: counted when an
 * ejection is tried, so an ejection that ended, or an endpoint the config
 * dropped, never holds a place within max_ejection_percent. */
static __always_inline __u32 km_od_count(const struct km_cluster_key *ck,
					 const struct km_cluster *c, __u64 now)
{
	struct km_od_scan s = { .stat_key = c->stat_key, .now = now,
				.cluster_id = ck->id, .slot = ck->slot };

	if (c->n_endpoints > KM_MAX_CLUSTER_ENDPOINTS)
		return 0;
	bpf_loop(c->n_endpoints, km_od_scan_step, &s, 0);
	return s.ejected;
}

/*
 * sockops: the outcome of a counted connect to a cluster with outlier
 * detection. The TCP connect asks for the state callbacks; SYN_SENT ->
 * ESTABLISHED is a success, SYN_SENT -> CLOSE with an error set on the
 * socket (a reset, the SYN retries running out, an ICMP error) a
 * failure. The application closing the socket while it connects leaves
 * no error and is neither.
 */
static __always_inline void km_od_sockops(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;
	struct km_cluster_key ck = {};
	const struct km_cluster *c;
	struct km_ep_stat *es;
	struct km_sk_orig *o;
	struct tcp_sock *tp;
	__u64 now;
	int ret;

	if (op != BPF_SOCK_OPS_TCP_CONNECT_CB &&
	    op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    !(op == BPF_SOCK_OPS_STATE_CB &&
	      skops->args[0] == BPF_TCP_SYN_SENT &&
	      skops->args[1] == BPF_TCP_CLOSE))
		return;
	tp = km_sockops_tcp(skops);
	if (!tp)
		return;
	o = bpf_sk_storage_get(&km_sk_orig, tp, 0, 0);
	if (!o || !o->od)
		return;
	if (op == BPF_SOCK_OPS_TCP_CONNECT_CB) {
		/* keep the flags others (telemetry) asked for */
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_STATE_CB_FLAG);
		return;
	}
	es = km_od_stat(o->stat_key, &o->endpoint, o->endpoint_port);
	if (!es)
		return;
	if (op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		km_od_success(es);
		return;
	}
	if (!((const struct sock *)tp)->sk_err)
		return;
	c = km_od_cluster(o, &ck);
	if (!c || !km_od_failure(c, es))
		return;
	now = bpf_ktime_get_ns();
	ret = km_od_eject(c, es, bpf_map_lookup_elem(&km_cl_stat, &o->stat_key),
			  now, km_od_count(&ck, c, now), bpf_get_prandom_u32());
	if (ret)
		km_count(ret > 0 ? KM_CNT_OD_EJECTED : KM_CNT_OD_OVERFLOW);
}

#endif
