/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The connect path: frontend lookup, enrollment, L7 selection (through
 * kmesh.ko's kfuncs), the LB pick and the rewrite. bpf/kmesh.bpf.c holds
 * only the entry points; the flow is described there.
 */
#ifndef KM_BPF_CONNECT_H
#define KM_BPF_CONNECT_H

#include "consts.h"
#include "maps.h"
#include "counters.h"
#include "enroll.h"
#include "lb.h"
#include "kfuncs.h"
#include "authz.h"
#include "events.h"

/*
 * Set by the agent before load (kmeshd --peer-vip, enum km_peer_mode in
 * abi.h). Remembering what a socket dialed is what lets getpeername show
 * the VIP: in a cookie-indexed slot by default (one store, no allocation),
 * or in socket storage (an allocation per routed connect and its free at
 * close; docs/performance.md has both side by side). Clusters that need
 * connection counts (LEAST_REQUEST, max_connections) get the socket
 * storage record whatever the mode: it is what gives a count back at
 * close. A constant, so the verifier drops the dead branches.
 */
const volatile __u8 km_cfg_peer_vip = KM_PEER_COOKIE;

enum km_verdict {
	KM_REJECT = 0,
	KM_ALLOW = 1,
};

/* The connect fails with ECONNREFUSED instead of the hook's default EPERM:
 * a dead service must fail fast, like a closed port. */
static __always_inline int km_refuse(struct bpf_sock_addr *ctx,
				     const struct km_frontend_key *fk,
				     const struct km_conn_ids *ids,
				     enum km_counter reason)
{
	km_count(reason);
	km_ev_refused(ctx, fk, ids, reason);
	bpf_set_retval(-KM_ECONNREFUSED);
	return KM_REJECT;
}

/*
 * The event of a connect authorization denied: which policy row decided
 * and why (the evaluation state is still in km_authz_loop, unless another
 * connect on this CPU preempted this one since: then the row and reason
 * logged may be that one's; the decision itself is checked, authz.h), the
 * source address when the socket is bound, the
 * endpoint when the endpoint's policy denied, and the client's enrollment
 * (the dialed address is checked before it is looked up). kmeshd logs it
 * (docs/authz.md).
 */
static __always_inline void km_ev_authz(struct bpf_sock_addr *ctx,
					const struct km_frontend_key *fk,
					const struct km_conn_ids *ids,
					const struct km_endpoint *ep)
{
	struct km_conn_event *e;
	struct km_enroll_key src = ids->src;
	struct km_az_loop *l;
	__u32 which = KM_AZ_LOOP_CONNECT;

	if (!km_cfg_events)
		return;
	if (!src.kind && !km_enroll_find(ctx, &src))
		src.kind = 0;	/* not enrolled (find leaves a guess) */
	e = km_ev_reserve(KM_EV_REFUSED);
	if (!e)
		return;
	km_ev_refused_fill(e, ctx, fk, ids, KM_EV_REASON_AUTHZ);
	e->src_kind = src.kind;
	e->src_id = src.id;
	l = bpf_map_lookup_elem(&km_authz_loop, &which);
	if (l) {
		e->end = l->st.why | (l->st.unknown ? KM_EV_AUTHZ_FAIL_CLOSED : 0);
		e->authz_row = l->st.row;
		if (l->st.env.src_known && ctx->sk) {
			e->local = l->st.env.src;
			e->local_port = bpf_htons(ctx->sk->src_port);
		}
	}
	if (ep) {
		e->endpoint = ep->addr;
		e->endpoint_port = ep->port;
	}
	km_ev_submit(e);
}

/* Authorization denied the connect (counted in km_authz_stats):
 * ECONNREFUSED, as a closed port. Envoy would accept and then reset; the
 * connect hook can refuse before a SYN exists, which the client sees at
 * once and as the same "not allowed here". @ep: the endpoint whose policy
 * denied, NULL for the address dialed. */
static __always_inline int km_authz_refuse(struct bpf_sock_addr *ctx,
					   const struct km_frontend_key *fk,
					   const struct km_conn_ids *ids,
					   const struct km_endpoint *ep)
{
	km_ev_authz(ctx, fk, ids, ep);
	bpf_set_retval(-KM_ECONNREFUSED);
	return KM_REJECT;
}

static __always_inline void km_remember(struct km_sk_orig *o,
					const struct km_frontend_key *fk,
					const struct km_endpoint *ep,
					__u32 cluster_id)
{
	o->vip = fk->addr;
	o->vip_port = fk->port;
	o->endpoint = ep->addr;
	o->endpoint_port = ep->port;
	o->cluster_id = cluster_id;
}

/* KM_PEER_COOKIE: the socket's slot in km_peer (abi.h), or NULL */
static __always_inline struct km_peer_slot *
km_peer_slot(void *ctx, __u64 *cookie)
{
	__u32 slot;

	*cookie = bpf_get_socket_cookie(ctx);
	slot = (__u32)*cookie & (KM_MAX_PEER_SOCKETS - 1);
	return bpf_map_lookup_elem(&km_peer, &slot);
}

#define KM_L7_DEFAULT (-1)	/* serve the frontend's default targets */
#define KM_L7_NO_ROUTE (-2)
#define KM_L7_DEFERRED (-3)	/* first run: default targets as the fallback */

/* The first bytes cannot be routed on: the default route, counted in all
 * and by reason (the head's rule: README "L7 routing"). */
static __always_inline long km_l7_default(enum km_counter reason)
{
	km_count(KM_CNT_L7_DEFAULT);
	km_count(reason);
	return KM_L7_DEFAULT;
}

/* The cluster the first bytes route to on an L7 frontend, or KM_L7_DEFAULT
 * (no router, or the head cannot be routed on), KM_L7_DEFERRED (first run)
 * or KM_L7_NO_ROUTE. */
static __always_inline long km_l7_pick(struct bpf_sock_addr *ctx,
				       const struct km_frontend *fe, __u8 slot,
				       struct km_conn_ids *ids)
{
	struct bpf_sock_addr_kern *kctx;
	struct km_route_result *res;
	__u32 idx, zero = 0;
	void *table;
	int ret;

	if (!km_kmod_router_present()) {
		km_count(KM_CNT_L7_AS_L4);
		return KM_L7_DEFAULT;
	}
	kctx = bpf_cast_to_kern_ctx(ctx);
	ret = bpf_km_defer_connect(kctx);
	if (ret == 0) {
		/* first run: the default route's pick is the fallback for a
		 * socket that reads before it writes */
		km_count(KM_CNT_L7_DEFERRED);
		return KM_L7_DEFERRED;
	}
	if (ret != -KM_EALREADY) {
		km_count(KM_CNT_L7_AS_L4);	/* switched off, not plain TCP */
		return KM_L7_DEFAULT;
	}

	res = bpf_map_lookup_elem(&km_route_scratch, &zero);
	if (!res)
		return km_l7_default(KM_CNT_L7_DEFAULT_BAD_TABLE);
	/* the table's size is a constant of each map for the verifier */
	if (fe->flags & KM_FE_L7_BIG) {
		idx = km_route_big_index(slot, fe->route_id);
		table = bpf_map_lookup_elem(&km_route_big, &idx);
		if (!table)
			return km_l7_default(KM_CNT_L7_DEFAULT_BAD_TABLE);
		ret = bpf_km_route(kctx, table, KM_ROUTE_TABLE_BIG, res,
				   sizeof(*res));
	} else {
		idx = km_route_index(slot, fe->route_id);
		table = bpf_map_lookup_elem(&km_route, &idx);
		if (!table)
			return km_l7_default(KM_CNT_L7_DEFAULT_BAD_TABLE);
		ret = bpf_km_route(kctx, table, KM_ROUTE_TABLE_MAX, res,
				   sizeof(*res));
	}
	if (ret == -KM_ENODATA)
		return km_l7_default(KM_CNT_L7_DEFAULT_INCOMPLETE);
	if (ret == -KM_E2BIG)
		return km_l7_default(KM_CNT_L7_DEFAULT_OVER_LIMIT);
	if (ret < 0)	/* -EBADMSG */
		return km_l7_default(KM_CNT_L7_DEFAULT_NOT_HTTP);
	if (res->status == KM_ROUTE_BAD_TABLE)
		return km_l7_default(KM_CNT_L7_DEFAULT_BAD_TABLE);
	ids->route_id = fe->route_id;
	if (res->status != KM_ROUTE_MATCHED)
		return KM_L7_NO_ROUTE;
	ids->vhost = res->vhost;
	ids->route = res->route;
	km_count(KM_CNT_L7_ROUTED);
	return km_pick_target(&res->action, bpf_get_prandom_u32());
}

/*
 * The first run of a deferred connect found no usable fallback in the
 * frontend's default targets (no endpoint, blackhole, no cluster, another
 * family). Its health must not decide the connection: the re-run, with the
 * request in hand, may route elsewhere. So the connect stays deferred with
 * port 0 as its fallback, which kmesh.ko never dials: a read before the
 * first write (or a re-run that routes nowhere) fails with ECONNREFUSED,
 * and the VIP never leaves the host. Counted by the re-run.
 */
static __always_inline int km_no_fallback(struct bpf_sock_addr *ctx)
{
	ctx->user_port = 0;
	return KM_ALLOW;
}

/* The slot byte of cluster @cid's records in generation @slot: its live
 * endpoint view, read once (one word), so the cluster record and every
 * endpoint come from one view. */
static __always_inline __u8 km_cluster_view(__u8 slot, __u32 cid)
{
	__u32 k = km_cl_view_index(slot, cid);
	__u32 *v = bpf_map_lookup_elem(&km_cl_view, &k);

	return km_view_slot(slot, v ? *(volatile __u32 *)v : 0);
}

/* Routes one connect whose destination is in @fk (slot not yet set). */
static __always_inline int km_connect(struct bpf_sock_addr *ctx,
				      struct km_frontend_key *fk, bool v6)
{
	const struct km_frontend *fe;
	const struct km_cluster *c;
	const struct km_endpoint *ep;
	struct km_sk_orig *o = NULL;
	__u64 cookie;
	struct km_cluster_key ck = {};
	struct km_conn_ids ids = {};
	struct km_gen *gen;
	__u32 zero = 0;
	bool deferred = false, authz;
	long cid;

	if (ctx->protocol != KM_IPPROTO_TCP)
		return KM_ALLOW;

	gen = bpf_map_lookup_elem(&km_gen, &zero);
	if (!gen)
		return KM_ALLOW;
	fk->slot = gen->slot & 1;
	authz = gen->flags & KM_GEN_AUTHZ;
	km_ev_ids_init(&ids, gen->generation, KM_EV_NONE);
	if (authz && km_authz_denied(ctx, fk->slot, &fk->addr, fk->port, v6))
		return km_authz_refuse(ctx, fk, &ids, NULL);

	fe = bpf_map_lookup_elem(&km_frontend, fk);
	if (!fe) {
		km_count(KM_CNT_MAP_MISS);
		return KM_ALLOW;
	}
	if (!km_enroll_find(ctx, &ids.src)) {
		km_count(KM_CNT_NOT_ENROLLED);
		return KM_ALLOW;
	}
	ids.listener_id = fe->listener_id;

	/* From here on the destination is a VIP: never let it through
	 * unrewritten. */
	cid = KM_L7_DEFAULT;
	if (fe->flags & KM_FE_L7)
		cid = km_l7_pick(ctx, fe, fk->slot, &ids);
	if (cid == KM_L7_NO_ROUTE)
		return km_refuse(ctx, fk, &ids, KM_CNT_L7_NO_ROUTE);
	if (cid == KM_L7_DEFERRED)
		deferred = true;
	if (cid == KM_L7_DEFAULT || cid == KM_L7_DEFERRED)
		cid = km_pick_target(fe, bpf_get_prandom_u32());
	if (cid < 0)
		return deferred ? km_no_fallback(ctx) :
				  km_refuse(ctx, fk, &ids, KM_CNT_INCONSISTENT);
	ck.id = cid;
	ids.cluster_id = cid;
	ck.slot = km_cluster_view(fk->slot, cid);
	c = bpf_map_lookup_elem(&km_cluster, &ck);
	if (!c)
		return deferred ? km_no_fallback(ctx) :
				  km_refuse(ctx, fk, &ids, KM_CNT_INCONSISTENT);
	/* The address dialed is where a passthrough goes, so leaving it is
	 * right on a deferred connect's first run too (also as the fallback
	 * of a socket that reads first); counted once, by the re-run. */
	if (c->kind == KM_CK_PASSTHROUGH) {
		if (!deferred)
			km_count(KM_CNT_PASSTHROUGH);
		return KM_ALLOW;
	}
	if (deferred && (c->kind == KM_CK_BLACKHOLE ||
			 c->kind == KM_CK_NO_CLUSTER || c->n_endpoints == 0))
		return km_no_fallback(ctx);
	if (c->kind == KM_CK_BLACKHOLE)
		return km_refuse(ctx, fk, &ids, KM_CNT_BLACKHOLE);
	if (c->kind == KM_CK_NO_CLUSTER)
		return km_refuse(ctx, fk, &ids, KM_CNT_NO_CLUSTER);
	if (c->n_endpoints == 0)
		return km_refuse(ctx, fk, &ids, KM_CNT_NO_ENDPOINT);
	ep = km_lb_pick(ctx, ck.slot, ck.id, c, v6, deferred);
	if (!ep)
		return deferred ? km_no_fallback(ctx) :
				  km_refuse(ctx, fk, &ids, KM_CNT_INCONSISTENT);
	if (!v6 && ep->family != KM_FAMILY_INET)
		return deferred ? km_no_fallback(ctx) :
				  km_refuse(ctx, fk, &ids, KM_CNT_FAMILY);
	/* the endpoint's own policy (an inbound listener on its address) */
	if (authz && km_authz_denied(ctx, fk->slot, &ep->addr, ep->port, v6))
		return km_authz_refuse(ctx, fk, &ids, ep);

	/* The socket record serves getpeername and the connection counts; a
	 * deferred first run is counted by its re-run, which routes it. */
	if (km_cfg_peer_vip == KM_PEER_STORAGE || km_lb_needs_count(c))
		o = bpf_sk_storage_get(&km_sk_orig, ctx->sk, 0,
				       BPF_SK_STORAGE_GET_F_CREATE);
	if (!deferred && km_count_conn(o, c, ep))
		return km_refuse(ctx, fk, &ids, KM_CNT_CX_OVERFLOW);

	if (v6) {
		ctx->user_ip6[0] = ep->addr.w[0];
		ctx->user_ip6[1] = ep->addr.w[1];
		ctx->user_ip6[2] = ep->addr.w[2];
		ctx->user_ip6[3] = ep->addr.w[3];
	} else {
		ctx->user_ip4 = ep->addr.w[3];
	}
	ctx->user_port = ep->port;

	if (o) {
		km_remember(o, fk, ep, ck.id);
		km_ev_remember(o, &ids);
	}
	/* the cookie slot: getpeername's record (KM_PEER_COOKIE), and what
	 * telemetry reports when the socket has no storage record */
	if (km_cfg_peer_vip == KM_PEER_COOKIE || (km_cfg_events && !o)) {
		struct km_peer_slot *p = km_peer_slot(ctx, &cookie);

		if (p) {
			p->cookie = cookie;
			km_remember(&p->o, fk, ep, ck.id);
			km_ev_remember(&p->o, o ? NULL : &ids);
		}
	}
	/* a deferred connect is counted once, by the re-run that routes it */
	if (deferred)
		return KM_ALLOW;
	km_count(KM_CNT_ROUTED);
	if (fe->flags & KM_FE_L7_AS_L4)
		km_count(KM_CNT_L7_AS_L4);
	return KM_ALLOW;
}

#endif
