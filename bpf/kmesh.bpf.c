// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmesh connect path: L4 service load balancing on cgroup sock_addr hooks.
 *
 * connect4/6 see every TCP connect on the node. When the destination is a
 * service frontend (VIP:port) and the caller is an enrolled workload, they
 * pick a cluster and an endpoint and rewrite the destination before the SYN
 * exists. getpeername4/6 then show the application the address it dialed.
 * The hooks are thin; the work is in lib/ by role.
 *
 * L7 (a frontend flagged KM_FE_L7, kmesh.ko loaded): the first run defers
 * the connect (bpf_km_defer_connect) and leaves the default route's pick as
 * the fallback; the module re-runs this program on the socket's first write
 * with the first bytes, and km_l7_pick() matches them against the listener's
 * compiled route table (bpf_km_route, kmod/route_match.c, the code kmeshctl
 * explain runs). What follows is the L4 pick on the route's cluster.
 *   no module, or a module without bpf_km_route, or deferral refused
 *	-> L4 on the default route, counted l7_served_as_l4;
 *   head incomplete in the first write, not HTTP, over a parser limit, or
 *	a bad table -> default route, counted l7_default_route and by reason
 *	(l7_default_incomplete, _not_http, _over_limit, _bad_table);
 *   no virtual host or no route -> the first write fails with
 *	ECONNREFUSED (the socket is closed), counted l7_no_route.
 * Routing is per connection: later requests on a keep-alive connection go
 * where the first went (kmod_abi.h says how per-request routing would fit).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/connect.h"
#include "lib/inbound.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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
	struct km_peer_slot *p;
	__u64 cookie;

	/* a storage record may exist for the connection counts alone */
	if (km_cfg_peer_vip == KM_PEER_OFF || ctx->protocol != KM_IPPROTO_TCP)
		return NULL;
	if (km_cfg_peer_vip == KM_PEER_COOKIE) {
		p = km_peer_slot(ctx, &cookie);
		/* another socket's since: the caller's endpoint check would
		 * not tell, the cookie does */
		return p && p->cookie == cookie ? &p->o : NULL;
	}
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

/* Close of a socket: the connection counts it holds (lib/lb.h) go back.
 * The release hook runs once per socket, at its last close. */
SEC("cgroup/sock_release")
int km_sock_release(struct bpf_sock *sk)
{
	struct km_sk_orig *o;

	if (sk->protocol != KM_IPPROTO_TCP)
		return KM_ALLOW;
	o = bpf_sk_storage_get(&km_sk_orig, sk, 0, 0);
	if (o)
		km_uncount(o);
	return KM_ALLOW;
}

/* Telemetry: the open and close events of routed connections
 * (lib/events.h). Every other socket costs a storage lookup and a slot
 * lookup at its connect. Outlier detection: how a connect to a cluster
 * that has it ended (lib/outlier.h). */
SEC("sockops")
int km_sockops(struct bpf_sock_ops *skops)
{
	km_ev_sockops(skops);
	km_od_sockops(skops);
	km_authz_sockops(skops);
	return 1;
}

/* Inbound authorization (lib/inbound.h): attached to network namespaces
 * by kmeshd, not to the cgroup. */
SEC("sk_lookup")
int km_sk_lookup(struct bpf_sk_lookup *ctx)
{
	return km_inbound(ctx);
}

/* Telemetry: open connections' bytes every few seconds (lib/events.h);
 * kmeshd runs it through its pinned iterator link, in each network
 * namespace of km_ev_netns. */
SEC("iter/tcp")
int km_ev_iter(struct bpf_iter__tcp *ctx)
{
	km_ev_iter_tcp(ctx->sk_common);
	return 0;
}
