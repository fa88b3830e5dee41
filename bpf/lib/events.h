/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Telemetry: connection events into the km_events ring (abi.h says what
 * each record holds; docs/telemetry.md what kmeshd makes of them).
 *
 * The connect hook writes what a connection's events report into the
 * socket's record (getpeername's: its km_peer slot, else its socket
 * storage; no allocation of its own), so the sockops program emits the open event at the TCP connect (once, whether
 * or not the connect was deferred for L7) and the close event at
 * TCP_CLOSE, with the tcp_sock's byte counts and how it ended. A connect
 * kmesh refuses emits its event from the hook. A full ring drops the
 * event and counts the drop: nothing on the data path ever waits.
 *
 * Submits never wake the reader (BPF_RB_NO_WAKEUP): kmeshd drains the
 * ring on a short timer, so a busy node pays no wakeup per connection.
 */
#ifndef KM_BPF_EVENTS_H
#define KM_BPF_EVENTS_H

#include "consts.h"
#include "maps.h"

/* Set by the agent before load (kmeshd --no-telemetry clears it). A
 * constant, so the verifier drops every event branch when it is off. */
const volatile bool km_cfg_events = true;
/* The kernel lets sockops read the current process (the agent probes
 * it): km_ev_netns is kept, and open connections' bytes reported. */
const volatile bool km_cfg_ev_netns = true;

/* What the connect path knows about one connect, as it learns it. */
struct km_conn_ids {
	struct km_enroll_key src;
	__u64 generation;
	__u32 listener_id;
	__u32 cluster_id;
	__u32 route_id;
	__u16 vhost;
	__u16 route;
};

static __always_inline void km_ev_ids_init(struct km_conn_ids *ids,
					   __u64 generation, __u32 listener_id)
{
	ids->generation = generation;
	ids->listener_id = listener_id;
	ids->cluster_id = KM_EV_NONE;
	ids->route_id = KM_EV_NONE;
	ids->vhost = 0;
	ids->route = 0;
}

static __always_inline void km_ev_stat(enum km_ev_stat s)
{
	__u32 key = s;
	__u64 *v = bpf_map_lookup_elem(&km_ev_stats, &key);

	if (v)
		*v += 1;
}

/* A zeroed record in the ring, or NULL (ring full: counted). */
static __always_inline struct km_conn_event *km_ev_reserve(__u8 type)
{
	struct km_conn_event *e;

	e = bpf_ringbuf_reserve(&km_events, sizeof(*e), 0);
	if (!e) {
		km_ev_stat(KM_EVS_DROPPED);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	return e;
}

static __always_inline void km_ev_submit(struct km_conn_event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	km_ev_stat(KM_EVS_SUBMITTED);
}

/* The connect hook routed a socket: what its events will say (@o is its
 * record, already holding the VIP, endpoint and cluster). @ids NULL: the
 * events come from another record of the socket, not this one. */
static __always_inline void km_ev_remember(struct km_sk_orig *o,
					   const struct km_conn_ids *ids)
{
	if (!km_cfg_events)
		return;
	if (!ids) {
		o->flags = 0;
		return;
	}
	o->src_id = ids->src.id;
	o->src_kind = ids->src.kind;
	o->listener_id = ids->listener_id;
	o->route_id = ids->route_id;
	o->vhost = ids->vhost;
	o->route = ids->route;
	o->generation = ids->generation;
	o->start_ns = 0;
	o->flags = KM_SKO_EVENTS;
}

static __always_inline void km_ev_refused_fill(struct km_conn_event *e,
						struct bpf_sock_addr *ctx,
						const struct km_frontend_key *fk,
						const struct km_conn_ids *ids,
						__u16 reason)
{
	e->reason = reason;
	e->src_kind = ids->src.kind;
	e->src_id = ids->src.id;
	e->cookie = bpf_get_socket_cookie(ctx);
	e->start_ns = bpf_ktime_get_ns();
	e->end_ns = e->start_ns;
	e->generation = ids->generation;
	e->vip = fk->addr;
	e->vip_port = fk->port;
	e->listener_id = ids->listener_id;
	e->cluster_id = ids->cluster_id;
	e->route_id = ids->route_id;
	e->vhost = ids->vhost;
	e->route = ids->route;
}

/* A connect refused by kmesh, for @reason (the counter it counted). */
static __always_inline void km_ev_refused(struct bpf_sock_addr *ctx,
					  const struct km_frontend_key *fk,
					  const struct km_conn_ids *ids,
					  enum km_counter reason)
{
	struct km_conn_event *e;

	if (!km_cfg_events)
		return;
	e = km_ev_reserve(KM_EV_REFUSED);
	if (!e)
		return;
	km_ev_refused_fill(e, ctx, fk, ids, reason);
	km_ev_submit(e);
}

/* The socket's own address, IPv4-mapped like every km_addr. The barriers
 * keep clang from merging the two branches' context loads into one with a
 * computed offset, which the verifier refuses. */
static __always_inline void km_ev_local(struct km_conn_event *e,
					struct bpf_sock_ops *skops)
{
	__u32 w3;

	if (skops->family == KM_AF_INET) {
		e->local.w[2] = bpf_htonl(0xffff);
		w3 = skops->local_ip4;
		barrier_var(w3);
	} else {
		e->local.w[0] = skops->local_ip6[0];
		e->local.w[1] = skops->local_ip6[1];
		e->local.w[2] = skops->local_ip6[2];
		w3 = skops->local_ip6[3];
		barrier_var(w3);
	}
	e->local.w[3] = w3;
	e->local_port = bpf_htons(skops->local_port);
}

static __always_inline void km_ev_fill(struct km_conn_event *e,
				       const struct km_sk_orig *o, __u64 cookie)
{
	e->src_kind = o->src_kind;
	e->src_id = o->src_id;
	e->cookie = cookie;
	e->start_ns = o->start_ns;
	e->end_ns = o->start_ns;
	e->generation = o->generation;
	e->vip = o->vip;
	e->endpoint = o->endpoint;
	e->vip_port = o->vip_port;
	e->endpoint_port = o->endpoint_port;
	e->listener_id = o->listener_id;
	e->cluster_id = o->cluster_id;
	e->route_id = o->route_id;
	e->vhost = o->vhost;
	e->route = o->route;
}

/*
 * How a connection that reached TCP_CLOSE from state @old ended. A reset
 * from the endpoint sets sk_err before tcp_done() changes the state; a
 * local abort (close with unread data, SO_LINGER 0) leaves an established
 * state without a FIN exchange.
 */
static __always_inline __u8 km_ev_end(__u32 old, const struct sock *sk)
{
	if (old == BPF_TCP_SYN_SENT)
		return KM_END_CONNECT_FAILED;
	if (sk && sk->sk_err)
		return KM_END_PEER_RESET;
	if (old == BPF_TCP_ESTABLISHED || old == BPF_TCP_CLOSE_WAIT ||
	    old == BPF_TCP_FIN_WAIT1)
		return KM_END_LOCAL_RESET;
	return KM_END_FIN;
}

/*
 * Application bytes from the tcp_sock counters, which count sequence
 * space: bytes_acked includes our SYN and, once acknowledged, our FIN;
 * bytes_received includes the peer's FIN (tcp_fin() sets SOCK_DONE, in
 * sk_flags, which is __sk_common.skc_flags). @state: the socket's state
 * (at TCP_CLOSE, the one before it); @fin_acked: our FIN is out and
 * acknowledged (snd_una == snd_nxt).
 */
static __always_inline void km_ev_app_bytes(__u64 acked, __u64 rcvd,
					    __u32 state, bool fin_acked,
					    const struct sock *sk,
					    __u64 *sent, __u64 *received)
{
	bool fin_sent = state == BPF_TCP_FIN_WAIT1 || state == BPF_TCP_FIN_WAIT2 ||
			state == BPF_TCP_CLOSING || state == BPF_TCP_LAST_ACK;

	if (acked && state != BPF_TCP_SYN_SENT)
		acked--;
	if (acked && fin_sent && fin_acked)
		acked--;
	if (rcvd && sk && (sk->__sk_common.skc_flags & (1UL << SOCK_DONE)))
		rcvd--;
	*sent = acked;
	*received = rcvd;
}

static __always_inline void km_ev_bytes(struct km_conn_event *e,
					struct bpf_sock_ops *skops, __u32 old,
					const struct sock *sk)
{
	km_ev_app_bytes(skops->bytes_acked, skops->bytes_received, old,
			skops->snd_una == skops->snd_nxt, sk, &e->bytes_sent,
			&e->bytes_received);
}

static __always_inline void km_ev_close(struct bpf_sock_ops *skops,
					struct km_sk_orig *o,
					const struct sock *sk)
{
	__u32 old = skops->args[0];
	struct km_conn_event *e;

	o->flags &= ~KM_SKO_OPENED;	/* one close per open */
	e = km_ev_reserve(KM_EV_CLOSE);
	if (!e)
		return;
	km_ev_fill(e, o, bpf_get_socket_cookie(skops));
	km_ev_local(e, skops);
	e->end_ns = bpf_ktime_get_ns();
	e->end = km_ev_end(old, sk);
	km_ev_bytes(e, skops, old, sk);
	e->reported_sent = o->reported_sent;
	e->reported_received = o->reported_received;
	km_ev_submit(e);
}

/* The connecting process's network namespace, for km_ev_iter: kmeshd
 * enters it through /proc/TGID/ns/net (TCP_CONNECT_CB runs in connect(),
 * in the caller's context). Written only when it changes. */
static __always_inline void km_ev_note_netns(struct bpf_sock_ops *skops)
{
	__u64 ns;
	__u32 tgid, *v;

	if (!km_cfg_ev_netns)
		return;
	ns = bpf_get_netns_cookie(skops);
	tgid = bpf_get_current_pid_tgid() >> 32;
	v = bpf_map_lookup_elem(&km_ev_netns, &ns);
	if (!v || *v != tgid)
		bpf_map_update_elem(&km_ev_netns, &ns, &tgid, BPF_ANY);
}

static __always_inline void km_ev_open(struct bpf_sock_ops *skops,
				       struct km_sk_orig *o)
{
	struct km_conn_event *e;

	if (o->flags & KM_SKO_OPENED)
		return;
	o->flags |= KM_SKO_OPENED;
	o->start_ns = bpf_ktime_get_ns();
	o->reported_sent = 0;
	o->reported_received = 0;
	km_ev_note_netns(skops);
	/* the state callbacks bring the close; keep others' flags */
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
				  BPF_SOCK_OPS_STATE_CB_FLAG);
	e = km_ev_reserve(KM_EV_OPEN);
	if (!e)
		return;
	km_ev_fill(e, o, bpf_get_socket_cookie(skops));
	km_ev_local(e, skops);
	km_ev_submit(e);
}

/*
 * The record the connect hook wrote for this socket: its socket storage
 * (KM_PEER_STORAGE, or a cluster with connection counts), else its slot in
 * km_peer, if the slot still holds this socket's cookie. A slot is taken
 * again only after KM_MAX_PEER_SOCKETS newer routed sockets: a connection
 * outliving that many loses its close event.
 */
static __always_inline struct km_sk_orig *
km_ev_record(struct tcp_sock *tp, __u64 cookie)
{
	struct km_sk_orig *o = bpf_sk_storage_get(&km_sk_orig, tp, 0, 0);
	struct km_peer_slot *p;
	__u32 slot;

	if (o && (o->flags & KM_SKO_EVENTS))
		return o;
	slot = (__u32)cookie & (KM_MAX_PEER_SOCKETS - 1);
	p = bpf_map_lookup_elem(&km_peer, &slot);
	if (p && p->cookie == cookie && (p->o.flags & KM_SKO_EVENTS))
		return &p->o;
	return NULL;
}

/* The sockops entry point's share: open at the TCP connect of a socket
 * the connect hook routed, close at its TCP_CLOSE. */
static __always_inline void km_ev_sockops(struct bpf_sock_ops *skops)
{
	struct km_sk_orig *o;
	struct tcp_sock *tp;
	__u32 op = skops->op;

	if (!km_cfg_events)
		return;
	if (op != BPF_SOCK_OPS_TCP_CONNECT_CB &&
	    !(op == BPF_SOCK_OPS_STATE_CB && skops->args[1] == BPF_TCP_CLOSE))
		return;
	tp = km_sockops_tcp(skops);
	if (!tp)
		return;
	o = km_ev_record(tp, bpf_get_socket_cookie(skops));
	if (!o)
		return;
	if (op == BPF_SOCK_OPS_TCP_CONNECT_CB)
		km_ev_open(skops, o);
	else if (o->flags & KM_SKO_OPENED)
		km_ev_close(skops, o, (const struct sock *)tp);
}

/*
 * The iter/tcp program's share. kmeshd runs it every few seconds in each
 * network namespace of km_ev_netns: an open routed connection's bytes
 * since its last report, as a KM_EV_BYTES event, so a long connection's
 * bytes count while it lasts, as Envoy reports them. The iterator holds
 * the socket lock, as the state callback that emits the close does, so
 * the close carries exactly what was reported before it. Only ESTABLISHED
 * and CLOSE_WAIT (no FIN of ours in the counts), and only connections
 * open for KM_EV_BYTES_MIN_AGE_NS: a short one is reported at its close.
 */
static __always_inline void km_ev_iter_tcp(struct sock_common *skc)
{
	struct km_conn_event *e;
	struct km_sk_orig *o;
	struct tcp_sock *tp;
	__u64 cookie, sent, rcvd, now;
	__u8 state;

	if (!km_cfg_events || !skc)
		return;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return;
	state = tp->inet_conn.icsk_inet.sk.__sk_common.skc_state;
	if (state != BPF_TCP_ESTABLISHED && state != BPF_TCP_CLOSE_WAIT)
		return;
	cookie = bpf_get_socket_cookie(tp);
	o = km_ev_record(tp, cookie);
	now = bpf_ktime_get_ns();
	if (!o || !(o->flags & KM_SKO_OPENED) ||
	    now - o->start_ns < KM_EV_BYTES_MIN_AGE_NS)
		return;
	km_ev_app_bytes(tp->bytes_acked, tp->bytes_received, state, false,
			(const struct sock *)tp, &sent, &rcvd);
	if (sent < o->reported_sent)
		sent = o->reported_sent;
	if (rcvd < o->reported_received)
		rcvd = o->reported_received;
	if (sent == o->reported_sent && rcvd == o->reported_received)
		return;
	e = km_ev_reserve(KM_EV_BYTES);
	if (!e)
		return;	/* counted; the close reports these bytes */
	km_ev_fill(e, o, cookie);
	e->end_ns = now;
	e->bytes_sent = sent - o->reported_sent;
	e->bytes_received = rcvd - o->reported_received;
	o->reported_sent = sent;
	o->reported_received = rcvd;
	km_ev_submit(e);
}

#endif
