/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inbound authorization (docs/authz.md, "Inbound"): the server side. An
 * sk_lookup program on each enrolled network namespace (and kmeshd's own)
 * sees a TCP SYN for a local address and port before any listener is
 * chosen. When that destination has a policy program, it runs it with the
 * peer's source address and the peer's identity if kmesh can prove it;
 * SK_DROP ends the lookup with no socket, so the kernel answers the SYN
 * with a reset (inet_lookup_run_sk_lookup -> ERR_PTR(-ECONNREFUSED) ->
 * no socket): the client sees ECONNREFUSED at once.
 *
 * The peer's identity:
 * - a same-node client whose connect the connect hook already allowed to
 *   exactly this address and port (km_authz_pass, written at its SYN by
 *   sockops; taken once): not judged again;
 * - else the identity kmesh vouches for at the source address
 *   (km_authz_peer): anyone may send a SYN from any address, but the
 *   SYN-ACK goes to the address's owner, which resets a handshake it did
 *   not start, so only the owner completes it (kmeshd leaves out an
 *   address that this netns, or any other enrolled one, also holds);
 * - else unproven.
 */
#ifndef KM_BPF_INBOUND_H
#define KM_BPF_INBOUND_H

#include "authz.h"
#include "events.h"

/* One word of a context field, loaded in place (a pointer to a context
 * field cannot be passed on: the verifier refuses arithmetic on it). */
#define KM_LOAD_W(dst, field)			\
	do {					\
		__u32 __w = (field);		\
		barrier_var(__w);		\
		(dst) = __w;			\
	} while (0)

/* At the SYN of a connect the hook allowed: the 4-tuple the server will
 * see, when the socket still goes where the hook allowed (a NAT after the
 * hook, such as kube-proxy's, sends it elsewhere: no pass). */
static __always_inline void km_authz_sockops(struct bpf_sock_ops *skops)
{
	struct km_authz_pass_key k = {};
	struct km_sk_authz *m;
	struct bpf_sock *sk;
	__u8 one = 1;

	if (skops->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return;
	sk = skops->sk;
	if (!sk)
		return;
	m = bpf_sk_storage_get(&km_sk_authz, sk, 0, 0);
	if (!m)
		return;
	/* the barriers keep clang from merging the branches' context loads
	 * into one with a computed offset, which the verifier refuses */
	if (sk->family == KM_AF_INET) {
		k.src.w[2] = bpf_htonl(0xffff);
		KM_LOAD_W(k.src.w[3], sk->src_ip4);
		k.dst.w[2] = bpf_htonl(0xffff);
		KM_LOAD_W(k.dst.w[3], sk->dst_ip4);
	} else {
		KM_LOAD_W(k.src.w[0], sk->src_ip6[0]);
		KM_LOAD_W(k.src.w[1], sk->src_ip6[1]);
		KM_LOAD_W(k.src.w[2], sk->src_ip6[2]);
		KM_LOAD_W(k.src.w[3], sk->src_ip6[3]);
		KM_LOAD_W(k.dst.w[0], sk->dst_ip6[0]);
		KM_LOAD_W(k.dst.w[1], sk->dst_ip6[1]);
		KM_LOAD_W(k.dst.w[2], sk->dst_ip6[2]);
		KM_LOAD_W(k.dst.w[3], sk->dst_ip6[3]);
	}
	k.sport = bpf_htons(sk->src_port);
	k.dport = sk->dst_port;
	if (k.dport != m->port || k.dst.w[0] != m->dst.w[0] ||
	    k.dst.w[1] != m->dst.w[1] || k.dst.w[2] != m->dst.w[2] ||
	    k.dst.w[3] != m->dst.w[3])
		return;
	bpf_map_update_elem(&km_authz_pass, &k, &one, BPF_ANY);
}

/* The denial's event: who sent it, where to, which row decided. */
static __always_inline void km_ev_inbound(const struct km_az_loop *l,
					  const struct km_authz_pass_key *k,
					  __u64 generation, bool proven)
{
	struct km_conn_event *e;

	if (!km_cfg_events)
		return;
	e = km_ev_reserve(KM_EV_REFUSED);
	if (!e)
		return;
	e->reason = KM_EV_REASON_AUTHZ;
	e->start_ns = bpf_ktime_get_ns();
	e->end_ns = e->start_ns;
	e->generation = generation;
	e->vip = k->dst;
	e->vip_port = k->dport;
	e->local = k->src;
	e->local_port = k->sport;
	e->listener_id = KM_EV_NONE;
	e->cluster_id = KM_EV_NONE;
	e->route_id = KM_EV_NONE;
	e->end = l->st.why | KM_EV_AUTHZ_INBOUND |
		 (l->st.unknown ? KM_EV_AUTHZ_FAIL_CLOSED : 0) |
		 (proven ? KM_EV_AUTHZ_PEER_PROVEN : 0);
	e->authz_row = l->st.row;
	km_ev_submit(e);
}

static __always_inline int km_inbound(struct bpf_sk_lookup *ctx)
{
	struct km_authz_pass_key k = {};
	struct km_authz_prog *p;
	struct km_identity *id = NULL;
	struct km_az_loop *l;
	struct km_gen *gen;
	__u32 zero = 0;
	__u64 tok;
	__u8 slot;

	if (ctx->protocol != KM_IPPROTO_TCP)
		return SK_PASS;
	gen = bpf_map_lookup_elem(&km_gen, &zero);
	if (!gen || !(gen->flags & KM_GEN_AUTHZ))
		return SK_PASS;
	slot = gen->slot & 1;
	if (ctx->family == KM_AF_INET) {
		k.src.w[2] = bpf_htonl(0xffff);
		KM_LOAD_W(k.src.w[3], ctx->remote_ip4);
		k.dst.w[2] = bpf_htonl(0xffff);
		KM_LOAD_W(k.dst.w[3], ctx->local_ip4);
	} else {
		KM_LOAD_W(k.src.w[0], ctx->remote_ip6[0]);
		KM_LOAD_W(k.src.w[1], ctx->remote_ip6[1]);
		KM_LOAD_W(k.src.w[2], ctx->remote_ip6[2]);
		KM_LOAD_W(k.src.w[3], ctx->remote_ip6[3]);
		KM_LOAD_W(k.dst.w[0], ctx->local_ip6[0]);
		KM_LOAD_W(k.dst.w[1], ctx->local_ip6[1]);
		KM_LOAD_W(k.dst.w[2], ctx->local_ip6[2]);
		KM_LOAD_W(k.dst.w[3], ctx->local_ip6[3]);
	}
	k.sport = ctx->remote_port;
	k.dport = bpf_htons(ctx->local_port);
	p = km_authz_prog_find(slot, &k.dst, k.dport);
	if (!p)
		return SK_PASS;
	if (bpf_map_lookup_elem(&km_authz_pass, &k)) {
		/* decided by the client's connect hook, and counted there */
		bpf_map_delete_elem(&km_authz_pass, &k);
		return SK_PASS;
	}
	l = km_az_begin(KM_AZ_LOOP_INBOUND, &tok, &k.dst, k.dport);
	if (!l)
		return SK_DROP;
	l->st.env.src = k.src;
	l->st.env.src_known = 1;
	if (p->flags & KM_AZP_IDENT) {
		id = bpf_map_lookup_elem(&km_authz_peer, &k.src);
		if (id)
			km_az_atoms(slot, id, &l->st.env);
	}
	if (!km_az_run(l, KM_AZ_LOOP_INBOUND, tok, p, slot))
		return SK_PASS;
	km_ev_inbound(l, &k, gen->generation, l->st.env.has_ident);
	return SK_DROP;
}

#endif
