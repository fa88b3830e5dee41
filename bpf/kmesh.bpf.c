// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmesh connect path: L4 service load balancing on cgroup sock_addr hooks.
 *
 * connect4/6 see every TCP connect on the node. When the destination is a
 * service frontend (VIP:port) and the caller is an enrolled workload, they
 * pick a cluster and an endpoint and rewrite the destination before the SYN
 * exists. getpeername4/6 then show the application the address it dialed.
 * The hooks are thin; the work is in lib/ by role.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/maps.h"
#include "lib/counters.h"
#include "lib/enroll.h"
#include "lib/lb.h"

#define KM_ECONNREFUSED 111
#define KM_IPPROTO_TCP 6

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Set by the agent before load (kmeshd --no-peer-vip clears it). Remembering
 * what a socket dialed is what lets getpeername show the VIP; it costs one
 * socket-storage allocation per routed connect and its free at close
 * (measured on the 6.18 CI machines: about 1 us of the ~1.5 us a routed
 * connect adds; tests/bench). A constant, so the verifier drops the dead
 * branch.
 */
const volatile bool km_cfg_peer_vip = true;

enum km_verdict {
	KM_REJECT = 0,
	KM_ALLOW = 1,
};

/* The connect fails with ECONNREFUSED instead of the hook's default EPERM:
 * a dead service must fail fast, like a closed port. */
static __always_inline int km_refuse(enum km_counter reason)
{
	km_count(reason);
	bpf_set_retval(-KM_ECONNREFUSED);
	return KM_REJECT;
}

static __always_inline void km_remember(struct bpf_sock_addr *ctx,
					const struct km_frontend_key *fk,
					const struct km_endpoint *ep,
					__u32 cluster_id)
{
	struct km_sk_orig *o;

	o = bpf_sk_storage_get(&km_sk_orig, ctx->sk, 0,
			       BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return;
	o->vip = fk->addr;
	o->vip_port = fk->port;
	o->endpoint = ep->addr;
	o->endpoint_port = ep->port;
	o->cluster_id = cluster_id;
}

/* Routes one connect whose destination is in @fk (slot not yet set). */
static __always_inline int km_connect(struct bpf_sock_addr *ctx,
				      struct km_frontend_key *fk, bool v6)
{
	const struct km_frontend *fe;
	const struct km_cluster *c;
	const struct km_endpoint *ep;
	struct km_cluster_key ck = {};
	struct km_gen *gen;
	__u32 zero = 0;
	long cid;

	if (ctx->protocol != KM_IPPROTO_TCP)
		return KM_ALLOW;

	gen = bpf_map_lookup_elem(&km_gen, &zero);
	if (!gen)
		return KM_ALLOW;
	fk->slot = gen->slot & 1;

	fe = bpf_map_lookup_elem(&km_frontend, fk);
	if (!fe) {
		km_count(KM_CNT_MAP_MISS);
		return KM_ALLOW;
	}
	if (!km_enrolled(ctx)) {
		km_count(KM_CNT_NOT_ENROLLED);
		return KM_ALLOW;
	}

	/* From here on the destination is a VIP: never let it through
	 * unrewritten. */
	cid = km_pick_target(fe, bpf_get_prandom_u32());
	if (cid < 0)
		return km_refuse(KM_CNT_INCONSISTENT);
	ck.id = cid;
	ck.slot = fk->slot;
	c = bpf_map_lookup_elem(&km_cluster, &ck);
	if (!c)
		return km_refuse(KM_CNT_INCONSISTENT);
	if (c->n_endpoints == 0)
		return km_refuse(KM_CNT_NO_ENDPOINT);
	ep = km_pick_endpoint(NULL, fk->slot, ck.id, c,
			      km_lb_draw(ck.id, c->lb_policy));
	if (!ep)
		return km_refuse(KM_CNT_INCONSISTENT);

	if (v6) {
		ctx->user_ip6[0] = ep->addr.w[0];
		ctx->user_ip6[1] = ep->addr.w[1];
		ctx->user_ip6[2] = ep->addr.w[2];
		ctx->user_ip6[3] = ep->addr.w[3];
	} else {
		if (ep->family != KM_FAMILY_INET)
			return km_refuse(KM_CNT_FAMILY);
		ctx->user_ip4 = ep->addr.w[3];
	}
	ctx->user_port = ep->port;

	if (km_cfg_peer_vip)
		km_remember(ctx, fk, ep, ck.id);
	km_count(KM_CNT_ROUTED);
	if (fe->flags & KM_FE_L7_AS_L4)
		km_count(KM_CNT_L7_AS_L4);
	return KM_ALLOW;
}

SEC("cgroup/connect4")
int km_connect4(struct bpf_sock_addr *ctx)
{
	struct km_frontend_key fk = {};

	fk.addr.w[2] = bpf_htonl(0xffff);
	fk.addr.w[3] = ctx->user_ip4;
	fk.port = ctx->user_port;
	return km_connect(ctx, &fk, false);
}

SEC("cgroup/connect6")
int km_connect6(struct bpf_sock_addr *ctx)
{
	struct km_frontend_key fk = {};

	fk.addr.w[0] = ctx->user_ip6[0];
	fk.addr.w[1] = ctx->user_ip6[1];
	fk.addr.w[2] = ctx->user_ip6[2];
	fk.addr.w[3] = ctx->user_ip6[3];
	fk.port = ctx->user_port;
	return km_connect(ctx, &fk, true);
}

/* Only a socket this program rewrote, and still connected to the endpoint
 * it was sent to, is answered with the VIP. */
static __always_inline struct km_sk_orig *km_orig(struct bpf_sock_addr *ctx)
{
	if (ctx->protocol != KM_IPPROTO_TCP)
		return NULL;
	return bpf_sk_storage_get(&km_sk_orig, ctx->sk, 0, 0);
}

SEC("cgroup/getpeername4")
int km_getpeername4(struct bpf_sock_addr *ctx)
{
	struct km_sk_orig *o = km_orig(ctx);

	if (!o || ctx->user_ip4 != o->endpoint.w[3] ||
	    ctx->user_port != o->endpoint_port)
		return KM_ALLOW;
	ctx->user_ip4 = o->vip.w[3];
	ctx->user_port = o->vip_port;
	km_count(KM_CNT_PEER_VIP);
	return KM_ALLOW;
}

SEC("cgroup/getpeername6")
int km_getpeername6(struct bpf_sock_addr *ctx)
{
	struct km_sk_orig *o = km_orig(ctx);

	if (!o || ctx->user_port != o->endpoint_port ||
	    ctx->user_ip6[0] != o->endpoint.w[0] ||
	    ctx->user_ip6[1] != o->endpoint.w[1] ||
	    ctx->user_ip6[2] != o->endpoint.w[2] ||
	    ctx->user_ip6[3] != o->endpoint.w[3])
		return KM_ALLOW;
	ctx->user_ip6[0] = o->vip.w[0];
	ctx->user_ip6[1] = o->vip.w[1];
	ctx->user_ip6[2] = o->vip.w[2];
	ctx->user_ip6[3] = o->vip.w[3];
	ctx->user_port = o->vip_port;
	km_count(KM_CNT_PEER_VIP);
	return KM_ALLOW;
}
