// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmesh sockmap: join the two ends of a node-local TCP connection so that
 * each send goes straight to the peer socket's receive queue.
 *
 * sockops (cgroup): at ESTABLISHED, a socket of a workload with the sockmap
 *   bit is put into km_sm_socks (the connecting side, unless its
 *   destination has been learned short; lib/sockmap.h says how). It leaves
 *   its source -> destination in km_sm_pending. The accepted side looks
 *   itself up there by its remote address and is joined only when its
 *   peer was: that is how it knows the peer is local. In accelerate mode a
 *   socket accepted on 15001/15006 (iptables REDIRECT) takes the pending
 *   destination, the application's original destination, as its key.
 *   Entries leave the sockhash when a socket closes (the kernel's
 *   sock_map_close/unhash); STATE_CB cleans our side maps then.
 * sk_msg (on the sockhash): redirect to the peer's ingress queue, or
 *   SK_PASS (the normal TCP path) when the redirect could break order or
 *   flow control. It looks the peer socket up in the sockhash and reads
 *   its receive state directly, so it needs no tracing program (BPF
 *   trampolines are missing on kernels without CONFIG_FUNCTION_TRACER).
 *   See km_sm_msg for the rules.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/sockmap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct sock *km_sm_sock_of(struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk = skops->sk;
	struct tcp_sock *tp;

	if (!bsk)
		return NULL;
	tp = bpf_skc_to_tcp_sock(bsk);
	return (struct sock *)tp;
}

static __always_inline void km_sm_watch_close(struct bpf_sock_ops *skops)
{
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
				  BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* The flow towards this socket: what its peer redirects into it, and
 * where the peer's sk_msg finds this socket's receive state. */
static __always_inline void km_sm_flow_open(const struct km_sm_key *own,
					    struct sock *sk)
{
	struct km_sm_flow f = {};

	f.sk = (__u64)sk;
	bpf_map_update_elem(&km_sm_flow, own, &f, BPF_ANY);
}

/* An established socket of an enrolled workload with sockmap enabled: what
 * both ends' ESTABLISHED callbacks read before they decide. */
struct km_sm_conn {
	struct km_addr local, remote;
	struct sock *sk;
	__u64 netns;
	__u32 flags;
	__u16 lport, rport;
};

static __always_inline bool km_sm_conn_of(struct bpf_sock_ops *skops,
					  struct km_sm_conn *c)
{
	c->sk = km_sm_sock_of(skops);
	if (!c->sk || !km_sm_tuple(skops, &c->local, &c->remote))
		return false;
	c->flags = km_sm_workload_flags(skops, c->sk);
	if (!(c->flags & KM_SM_ENABLED))
		return false;
	c->netns = bpf_get_netns_cookie(skops);
	c->lport = skops->local_port;
	c->rport = km_sm_rport(skops);
	return true;
}

static __always_inline void km_sm_active(struct bpf_sock_ops *skops)
{
	struct km_sm_conn c;
	struct km_sm_sock *st;
	struct km_sm_src dest, src;
	struct km_sm_dst pend = {};
	struct km_sm_key own;

	if (!km_sm_conn_of(skops, &c))
		return;
	km_sm_src_set(&dest, &c.remote, c.rport, c.netns);

	if (km_sm_dest_short(&dest)) {
		km_sm_count(KM_SM_CNT_SKIP_SHORT);
		if (bpf_get_prandom_u32() % KM_SM_SAMPLE)
			return;
		st = bpf_sk_storage_get(&km_sm_sk, c.sk, 0,
					BPF_SK_STORAGE_GET_F_CREATE);
		if (!st)
			return;
		st->dest = dest;
		st->active = 1;
		st->sampled = 1;
		km_sm_watch_close(skops);
		km_sm_count(KM_SM_CNT_SAMPLED);
		return;
	}

	km_sm_key_set(&own, &c.local, c.lport, &c.remote, c.rport, c.netns);
	st = bpf_sk_storage_get(&km_sm_sk, c.sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return;
	if (bpf_sock_hash_update(skops, &km_sm_socks, &own, BPF_NOEXIST)) {
		km_sm_count(KM_SM_CNT_INSERT_FAIL);
		return;
	}
	st->own = own;
	km_sm_key_swap(&st->peer, &own);
	st->dest = dest;
	st->active = 1;
	st->joined = 1;
	km_sm_flow_open(&own, c.sk);
	km_sm_src_set(&src, &c.local, c.lport, c.netns);
	pend.addr = c.remote;
	pend.port = c.rport;
	bpf_map_update_elem(&km_sm_pending, &src, &pend, BPF_ANY);
	km_sm_watch_close(skops);
	km_sm_count(KM_SM_CNT_INSERT_ACTIVE);
}

static __always_inline void km_sm_passive(struct bpf_sock_ops *skops)
{
	struct km_sm_conn c;
	struct km_sm_dst *pend;
	struct km_sm_sock *st;
	struct km_sm_src src;
	struct km_sm_key own;
	bool orig_dst;

	if (!km_sm_conn_of(skops, &c))
		return;
	km_sm_src_set(&src, &c.remote, c.rport, c.netns);
	pend = bpf_map_lookup_elem(&km_sm_pending, &src);
	if (!pend) {
		km_sm_count(KM_SM_CNT_NO_LOCAL_PEER);
		return;
	}
	/* The peer dialed something else than where we are: NAT. Only the
	 * REDIRECT of a sidecar mesh is understood, and only in accelerate
	 * mode; anything else stays on the normal path. */
	orig_dst = !km_sm_addr_eq(&pend->addr, &c.local) || pend->port != c.lport;
	if (orig_dst && (!(c.flags & KM_SM_ACCELERATE) ||
			 (c.lport != KM_SM_PORT_OUTBOUND &&
			  c.lport != KM_SM_PORT_INBOUND))) {
		km_sm_count(KM_SM_CNT_NO_LOCAL_PEER);
		return;
	}
	km_sm_key_set(&own, &pend->addr, pend->port, &c.remote, c.rport, c.netns);
	bpf_map_delete_elem(&km_sm_pending, &src);

	st = bpf_sk_storage_get(&km_sm_sk, c.sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return;
	if (bpf_sock_hash_update(skops, &km_sm_socks, &own, BPF_NOEXIST)) {
		km_sm_count(KM_SM_CNT_INSERT_FAIL);
		return;
	}
	st->own = own;
	km_sm_key_swap(&st->peer, &own);
	st->joined = 1;
	km_sm_flow_open(&own, c.sk);
	km_sm_watch_close(skops);
	km_sm_count(KM_SM_CNT_INSERT_PASSIVE);
	if (orig_dst)
		km_sm_count(KM_SM_CNT_PAIRED_ORIG_DST);
}

static __always_inline void km_sm_closed(struct bpf_sock_ops *skops)
{
	struct km_sm_flow *back;
	struct km_sm_sock *st;
	struct km_sm_src src;
	struct km_addr local, remote;
	struct sock *sk;
	__u64 msgs;

	sk = km_sm_sock_of(skops);
	if (!sk)
		return;
	st = bpf_sk_storage_get(&km_sm_sk, sk, 0, 0);
	if (!st)
		return;
	if (st->sampled) {
		/* Not joined: TCP data segments stand for messages. */
		km_sm_dest_report(&st->dest, skops->data_segs_in +
				  skops->data_segs_out);
		st->sampled = 0;
		return;
	}
	if (!st->joined)
		return;
	msgs = st->msgs;
	back = bpf_map_lookup_elem(&km_sm_flow, &st->own);
	if (back)
		msgs += back->msgs;
	bpf_map_delete_elem(&km_sm_flow, &st->own);
	if (st->active) {
		km_sm_dest_report(&st->dest, msgs);
		/* The peer never came (remote): drop what it would have
		 * taken. */
		if (km_sm_tuple(skops, &local, &remote)) {
			km_sm_src_set(&src, &local, skops->local_port,
				      bpf_get_netns_cookie(skops));
			bpf_map_delete_elem(&km_sm_pending, &src);
		}
	}
	st->joined = 0;
	km_sm_count(KM_SM_CNT_CLOSED);
}

SEC("sockops")
int km_sm_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		km_sm_active(skops);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		km_sm_passive(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			km_sm_closed(skops);
		break;
	}
	return 1;
}

/*
 * A message goes to the peer's ingress queue only when that keeps the
 * byte stream intact and bounded; otherwise SK_PASS sends it over TCP,
 * which is always correct. sk_msg may not look a socket up in the
 * sockhash (it has no bpf_sk_release), so the peer's flow entry carries
 * its struct sock, read through bpf_core_cast (a fault-safe, read-only
 * load). The entry is deleted at the peer's TCP_CLOSE, before the socket
 * can be freed; TCP sockets are SLAB_TYPESAFE_BY_RCU, so a read racing
 * with the close sees some TCP socket: at worst one stale decision, and
 * the redirect itself goes only to a socket still in the sockhash.
 *  - order: tcp_bpf_recvmsg reads the psock queue before the TCP receive
 *    queue, so a redirect is allowed only when the peer has read every
 *    byte this socket ever sent over TCP: its copied_seq equals our
 *    write_seq (both count the same sequence space; psock reads do not
 *    move copied_seq). Bytes sent over TCP *after* redirected ones are
 *    always read after them (the psock queue is drained first).
 *  - flow control: bpf_tcp_ingress charges the peer's sk_rmem_alloc but
 *    never compares it with sk_rcvbuf (6.12 net/ipv4/tcp_bpf.c), so a
 *    slow reader would queue without bound. Redirect only while the
 *    peer's sk_rmem_alloc (psock queue + TCP receive queue) plus this
 *    message fits its sk_rcvbuf (at least KM_SM_RCVBUF_FLOOR unless the
 *    application set SO_RCVBUF). Past that, TCP: tcp_space() subtracts
 *    sk_rmem_alloc from the advertised window, so the sender's send
 *    buffer fills and it blocks as with any slow reader. An empty peer
 *    always takes the message, so a message larger than sk_rcvbuf still
 *    progresses.
 *  - peer gone (closed, so no longer in the sockhash): TCP, which ends in
 *    the usual RST or EOF.
 */
SEC("sk_msg")
int km_sm_msg(struct sk_msg_md *msg)
{
	struct bpf_sock *bsk = msg->sk;
	struct tcp_sock *tp, *ptp;
	struct km_sm_sock *st;
	struct km_sm_flow *f;
	__u32 size = msg->size, peer_copied, rmem, rcvbuf;

	if (!bsk)
		return SK_PASS;
	st = bpf_sk_storage_get(&km_sm_sk, bsk, 0, 0);
	if (!st || !st->joined)
		return SK_PASS;
	f = bpf_map_lookup_elem(&km_sm_flow, &st->peer);
	if (!f || !f->sk) {
		km_sm_count(KM_SM_CNT_PASS_NO_PEER);
		return SK_PASS;
	}
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return SK_PASS;
	ptp = bpf_core_cast((void *)f->sk, struct tcp_sock);
	peer_copied = ptp->copied_seq;
	rmem = ptp->inet_conn.icsk_inet.sk.sk_backlog.rmem_alloc.counter;
	rcvbuf = ptp->inet_conn.icsk_inet.sk.sk_rcvbuf;
	if (rcvbuf < KM_SM_RCVBUF_FLOOR &&
	    !(ptp->inet_conn.icsk_inet.sk.sk_userlocks & KM_SOCK_RCVBUF_LOCK))
		rcvbuf = KM_SM_RCVBUF_FLOOR;
	if (peer_copied != tp->write_seq) {
		km_sm_count(KM_SM_CNT_PASS_DRAINING);
		return SK_PASS;
	}
	if (rmem && (__u64)rmem + size > rcvbuf) {
		km_sm_count(KM_SM_CNT_PASS_BACKPRESSURE);
		return SK_PASS;
	}
	if (bpf_msg_redirect_hash(msg, &km_sm_socks, &st->peer,
				  BPF_F_INGRESS) != SK_PASS) {
		km_sm_count(KM_SM_CNT_PASS_NO_PEER);
		return SK_PASS;
	}
	__sync_fetch_and_add(&f->redirected, size);
	__sync_fetch_and_add(&f->msgs, 1);
	st->msgs++;
	km_sm_count(KM_SM_CNT_REDIRECT);
	km_sm_count_n(KM_SM_CNT_REDIRECT_BYTES, size);
	return SK_PASS;
}
