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
 *   flow control. See km_sm_msg for the rules.
 * fexit/tcp_bpf_recvmsg: a joined socket's reads, so the sender knows how
 *   much of what it queued has been read (flow control) and how far the
 *   TCP stream has been read (order). It runs only for sockets in some
 *   sockmap: tcp_bpf_recvmsg is their proto's recvmsg.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "lib/sockmap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the agent when fexit/tcp_bpf_recvmsg is attached. Kernels without
 * BPF trampolines (no CONFIG_FUNCTION_TRACER) cannot attach it: then the
 * copied_seq of a flow never moves, so a socket that ever sent over TCP
 * stays on TCP (order is still kept), and the psock queue bound is left to
 * the kernel (see README, Sockmap limits). */
const volatile bool km_sm_read_hook = true;

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

/* The flow towards this socket, starting at its current read position. */
static __always_inline void km_sm_flow_open(const struct km_sm_key *own,
					    struct sock *sk)
{
	struct km_sm_flow f = {};

	f.copied_seq = BPF_CORE_READ((struct tcp_sock *)sk, copied_seq);
	bpf_map_update_elem(&km_sm_flow, own, &f, BPF_ANY);
}

static __always_inline void km_sm_active(struct bpf_sock_ops *skops)
{
	struct km_addr local, remote;
	struct km_sm_sock *st;
	struct km_sm_src dest, src;
	struct km_sm_dst pend = {};
	struct km_sm_key own;
	struct sock *sk;
	__u64 netns;
	__u16 lport, rport;

	sk = km_sm_sock_of(skops);
	if (!sk || !km_sm_tuple(skops, &local, &remote))
		return;
	if (!(km_sm_workload_flags(skops, sk) & KM_SM_ENABLED))
		return;
	netns = bpf_get_netns_cookie(skops);
	lport = skops->local_port;
	rport = km_sm_rport(skops);
	km_sm_src_set(&dest, &remote, rport, netns);

	if (km_sm_dest_short(&dest)) {
		km_sm_count(KM_SM_CNT_SKIP_SHORT);
		if (bpf_get_prandom_u32() % KM_SM_SAMPLE)
			return;
		st = bpf_sk_storage_get(&km_sm_sk, sk, 0,
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

	km_sm_key_set(&own, &local, lport, &remote, rport, netns);
	st = bpf_sk_storage_get(&km_sm_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
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
	km_sm_flow_open(&own, sk);
	km_sm_src_set(&src, &local, lport, netns);
	pend.addr = remote;
	pend.port = rport;
	bpf_map_update_elem(&km_sm_pending, &src, &pend, BPF_ANY);
	km_sm_watch_close(skops);
	km_sm_count(KM_SM_CNT_INSERT_ACTIVE);
}

static __always_inline void km_sm_passive(struct bpf_sock_ops *skops)
{
	struct km_addr local, remote;
	struct km_sm_dst *pend;
	struct km_sm_sock *st;
	struct km_sm_src src;
	struct km_sm_key own;
	struct sock *sk;
	__u32 flags;
	__u64 netns;
	__u16 lport, rport;
	bool orig_dst;

	sk = km_sm_sock_of(skops);
	if (!sk || !km_sm_tuple(skops, &local, &remote))
		return;
	flags = km_sm_workload_flags(skops, sk);
	if (!(flags & KM_SM_ENABLED))
		return;
	netns = bpf_get_netns_cookie(skops);
	lport = skops->local_port;
	rport = km_sm_rport(skops);
	km_sm_src_set(&src, &remote, rport, netns);
	pend = bpf_map_lookup_elem(&km_sm_pending, &src);
	if (!pend) {
		km_sm_count(KM_SM_CNT_NO_LOCAL_PEER);
		return;
	}
	/* The peer dialed something else than where we are: NAT. Only the
	 * REDIRECT of a sidecar mesh is understood, and only in accelerate
	 * mode; anything else stays on the normal path. */
	orig_dst = !km_sm_addr_eq(&pend->addr, &local) || pend->port != lport;
	if (orig_dst && (!(flags & KM_SM_ACCELERATE) ||
			 (lport != KM_SM_PORT_OUTBOUND &&
			  lport != KM_SM_PORT_INBOUND))) {
		km_sm_count(KM_SM_CNT_NO_LOCAL_PEER);
		return;
	}
	km_sm_key_set(&own, &pend->addr, pend->port, &remote, rport, netns);
	bpf_map_delete_elem(&km_sm_pending, &src);

	st = bpf_sk_storage_get(&km_sm_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return;
	if (bpf_sock_hash_update(skops, &km_sm_socks, &own, BPF_NOEXIST)) {
		km_sm_count(KM_SM_CNT_INSERT_FAIL);
		return;
	}
	st->own = own;
	km_sm_key_swap(&st->peer, &own);
	st->joined = 1;
	km_sm_flow_open(&own, sk);
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
 * byte stream intact; otherwise SK_PASS sends it over TCP, which is always
 * correct. tcp_bpf_recvmsg reads the psock queue before the TCP receive
 * queue whenever the psock queue holds data, so:
 *  - order: redirect only when the peer has read every byte this socket
 *    ever sent over TCP (its copied_seq, published by its reads, equals our
 *    write_seq). A published value can only lag, which keeps us on TCP,
 *    never the reverse. Bytes sent over TCP *after* redirected ones are
 *    always read after them (the psock queue is drained first).
 *  - flow control: redirect only while the peer has less than
 *    KM_SM_INFLIGHT_MAX redirected bytes unread. Past that, TCP; the
 *    queued psock bytes count against the peer's receive window, so the
 *    sender blocks as with any slow reader.
 *  - peer gone (closed, so no longer in the sockhash or no flow): TCP,
 *    which ends in the usual RST or EOF.
 */
SEC("sk_msg")
int km_sm_msg(struct sk_msg_md *msg)
{
	struct km_sm_sock *st;
	struct km_sm_flow *f;
	struct tcp_sock *tp;
	struct bpf_sock *bsk = msg->sk;
	__u64 inflight;
	__u32 size = msg->size;

	if (!bsk)
		return SK_PASS;
	st = bpf_sk_storage_get(&km_sm_sk, bsk, 0, 0);
	if (!st || !st->joined)
		return SK_PASS;
	f = bpf_map_lookup_elem(&km_sm_flow, &st->peer);
	if (!f) {
		km_sm_count(KM_SM_CNT_PASS_NO_PEER);
		return SK_PASS;
	}
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return SK_PASS;
	if (f->copied_seq != tp->write_seq) {
		km_sm_count(KM_SM_CNT_PASS_DRAINING);
		return SK_PASS;
	}
	inflight = f->redirected - f->consumed;
	if (km_sm_read_hook && inflight && inflight + size > KM_SM_INFLIGHT_MAX) {
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

/* Arguments 0 (sk) and 3 (flags) are the same on 6.12 (which has a fifth,
 * addr_len) and 6.18; the return value is read with bpf_get_func_ret. */
SEC("fexit/tcp_bpf_recvmsg")
int BPF_PROG(km_sm_recv_exit, struct sock *sk, struct msghdr *m, size_t len,
	     int flags)
{
	struct km_sm_sock *st;
	struct km_sm_flow *f;
	struct tcp_sock *tp;
	__u64 ret = 0;
	__u32 seq, tcp_bytes;

	bpf_get_func_ret(ctx, &ret);
	if ((long)ret <= 0 || (flags & KM_MSG_PEEK))
		return 0;
	st = bpf_sk_storage_get(&km_sm_sk, sk, 0, 0);
	if (!st || !st->joined)
		return 0;
	f = bpf_map_lookup_elem(&km_sm_flow, &st->own);
	if (!f)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	seq = tp->copied_seq;
	tcp_bytes = seq - f->copied_seq;
	f->copied_seq = seq;
	if (ret > tcp_bytes)
		__sync_fetch_and_add(&f->consumed, ret - tcp_bytes);
	return 0;
}
