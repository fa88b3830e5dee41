// SPDX-License-Identifier: GPL-2.0-only
/*
 * Deferred connect on a stock kernel (verified on Debian 6.12; see
 * ../shared/kernel-notes.md).
 *
 * 1. connect4/6 run in tcp_v{4,6}_pre_connect. The program calls
 *    bpf_km_defer_connect(), which swaps sk->sk_prot to a module copy of the
 *    socket's own proto (tcp_prot or tcpv6_prot) and sock->ops to a copy of
 *    its proto_ops, and remembers the destination at that moment (the VIP).
 * 2. __inet_stream_connect re-reads sk_prot->connect after pre_connect, so
 *    our connect runs: it records the address the program left (the L4
 *    fallback), sets DEFER_CONNECT and returns 0. connect() returns 0
 *    (also for non-blocking sockets: not EINPROGRESS) with the socket in
 *    SS_CONNECTING and no packet sent.
 * 3. On the first write our sendmsg, under the socket lock, copies up to
 *    KM_FIRST_MSG_MAX bytes (without consuming them), re-runs the socket's
 *    connect4/6 programs on the VIP with those bytes reachable through
 *    t_ctx (struct km_rerun), restores the socket's own proto and ops,
 *    makes the real connect to whatever the program chose, and sends with
 *    tcp_sendmsg_locked(), which waits for the handshake (or returns
 *    EAGAIN on a non-blocking socket: retry after POLLOUT).
 *
 * Before the first write:
 *  - poll reports EPOLLOUT | EPOLLWRNORM (tcp_poll would say POLLHUP for a
 *    socket in TCP_CLOSE);
 *  - getpeername returns the address the application dialed (the socket has
 *    no peer yet; inet_getname would say ENOTCONN, which clients that log
 *    their peer right after connect() treat as a failed connect);
 *  - a read (server-speaks-first protocols, or a client that reads first)
 *    connects to the fallback without routing, then reads;
 *  - close and connect(AF_UNSPEC) put the socket back untouched.
 * If the re-run leaves the VIP in place, the connect goes to the fallback.
 *
 * The per-socket state lives in sk_user_data, which a fresh TCP client
 * socket does not use (a socket that has it set is not deferred). Every
 * access is under the socket lock. Each deferred socket holds a module
 * reference until it is restored, so the proto copies outlive it.
 */
#include <linux/bpf-cgroup.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/inet_common.h>
#include <net/inet_sock.h>
#include <net/tcp.h>
#include <net/transp_v6.h>

#include "kmesh.h"

struct km_deferred {
	struct proto *orig_prot;
	const struct proto_ops *orig_ops;
	int vip_len;
	int fallback_len;	/* 0 until our connect ran */
	struct sockaddr_storage vip;
	struct sockaddr_storage fallback;
};

static struct proto km_tcp_prot, km_tcpv6_prot;
static struct proto_ops km_inet_ops, km_inet6_ops;
/* inet6_stream_ops is not exported: read it off a kernel socket at init. */
static const struct proto_ops *km_orig_inet6_ops;

static bool km_is_deferred(const struct sock *sk)
{
	const struct proto *p = READ_ONCE(sk->sk_prot);

	return p == &km_tcp_prot || p == &km_tcpv6_prot;
}

static struct km_deferred *km_d(struct sock *sk)
{
	return rcu_dereference_protected(__sk_user_data(sk),
					 lockdep_sock_is_held(sk));
}

/* Back to the socket's own proto and ops; the caller frees with
 * km_release(). Socket locked. */
static struct km_deferred *km_restore(struct sock *sk)
{
	struct km_deferred *d = km_d(sk);

	inet_clear_bit(DEFER_CONNECT, sk);
	if (sk->sk_socket)
		WRITE_ONCE(sk->sk_socket->ops, d->orig_ops);
	WRITE_ONCE(sk->sk_prot, d->orig_prot);
	rcu_assign_sk_user_data(sk, NULL);
	atomic_long_dec(&km_in_flight);
	return d;
}

static void km_release(struct km_deferred *d)
{
	kfree(d);
	module_put(THIS_MODULE);
}

/* Restore and connect to @addr. Socket locked. */
static int km_connect_to(struct sock *sk, struct sockaddr *addr, int len)
{
	struct km_deferred *d = km_restore(sk);
	int ret = d->orig_prot->connect(sk, addr, len);

	km_release(d);
	return ret;
}

static int km_connect_fallback(struct sock *sk)
{
	struct km_deferred *d = km_d(sk);
	struct sockaddr_storage addr = d->fallback;

	km_count(KM_MC_FALLBACKS);
	return km_connect_to(sk, (struct sockaddr *)&addr, d->fallback_len);
}

static bool km_same_addr(const struct sockaddr_storage *a, int alen,
			 const struct sockaddr_storage *b, int blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* The first write: re-run connect4/6 with the first bytes, then connect.
 * Socket locked. */
static int km_connect_routed(struct sock *sk, struct msghdr *msg,
			     struct km_rerun *rr)
{
	struct km_deferred *d = km_d(sk);
	struct sockaddr_storage addr = d->vip;
	struct iov_iter it = msg->msg_iter;	/* the send must see every byte */
	enum cgroup_bpf_attach_type atype;
	int len = d->vip_len, ret;

	rr->magic = KM_RERUN_MAGIC;
	rr->parsed = false;
	rr->len = copy_from_iter(rr->buf, min_t(size_t, msg_data_left(msg),
						sizeof(rr->buf)), &it);
	/* With the bit set tcp_sendmsg would take the Fast Open path. */
	inet_clear_bit(DEFER_CONNECT, sk);

	atype = sk->sk_family == AF_INET6 ? CGROUP_INET6_CONNECT :
					    CGROUP_INET4_CONNECT;
	ret = __cgroup_bpf_run_filter_sock_addr(sk, (struct sockaddr *)&addr,
						&len, atype, rr, NULL);
	if (ret) {
		km_release(km_restore(sk));
		return ret;
	}
	if (km_same_addr(&addr, len, &d->vip, d->vip_len))
		return km_connect_fallback(sk);
	if (!km_same_addr(&addr, len, &d->fallback, d->fallback_len))
		km_count(KM_MC_REROUTED);
	return km_connect_to(sk, (struct sockaddr *)&addr, len);
}

/* ---- the proto and proto_ops overrides ------------------------------------ */

static int km_connect(struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	struct km_deferred *d = km_d(sk);
	int min = sk->sk_family == AF_INET6 ? SIN6_LEN_RFC2133 :
					      sizeof(struct sockaddr_in);

	if (addr_len < min || addr_len > sizeof(d->fallback))
		return -EINVAL;
	memcpy(&d->fallback, uaddr, addr_len);
	d->fallback_len = addr_len;
	inet_set_bit(DEFER_CONNECT, sk);
	return 0;
}

static int km_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct km_rerun *rr = kmalloc(sizeof(*rr), GFP_KERNEL);
	int ret;

	lock_sock(sk);
	if (!km_is_deferred(sk)) {
		/* another thread's write or read connected it meanwhile */
		release_sock(sk);
		kfree(rr);
		return tcp_sendmsg(sk, msg, size);
	}
	if (km_d(sk)->fallback_len == 0)	/* connect() never reached us */
		ret = -ENOTCONN;
	else if (rr)
		ret = km_connect_routed(sk, msg, rr);
	else
		ret = km_connect_fallback(sk);	/* no memory to route */
	if (!ret)
		ret = tcp_sendmsg_locked(sk, msg, size);
	release_sock(sk);
	kfree(rr);
	return ret;
}

static int km_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
		      int flags, int *addr_len)
{
	int ret = 0;

	lock_sock(sk);
	if (km_is_deferred(sk)) {
		if (km_d(sk)->fallback_len)
			ret = km_connect_fallback(sk);
		else
			ret = -ENOTCONN;
	}
	release_sock(sk);
	if (ret)
		return ret;
	return READ_ONCE(sk->sk_prot)->recvmsg(sk, msg, len, flags, addr_len);
}

static int km_disconnect(struct sock *sk, int flags)
{
	struct km_deferred *d = km_restore(sk);	/* called locked */
	struct proto *orig = d->orig_prot;

	km_release(d);
	return orig->disconnect(sk, flags);
}

static void km_close(struct sock *sk, long timeout)
{
	struct km_deferred *d = NULL;

	lock_sock(sk);
	if (km_is_deferred(sk))
		d = km_restore(sk);
	release_sock(sk);
	sk->sk_prot->close(sk, timeout);
	if (d)
		km_release(d);
}

static __poll_t km_poll(struct file *file, struct socket *sock,
			struct poll_table_struct *wait)
{
	if (km_is_deferred(sock->sk)) {
		sock_poll_wait(file, sock, wait);
		return EPOLLOUT | EPOLLWRNORM;
	}
	return tcp_poll(file, sock, wait);
}

static int km_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	const struct proto_ops *orig = NULL;
	struct sock *sk = sock->sk;
	int len = 0;

	lock_sock(sk);
	if (km_is_deferred(sk)) {
		struct km_deferred *d = km_d(sk);

		if (peer) {
			len = d->vip_len;
			memcpy(uaddr, &d->vip, len);
		} else {
			orig = d->orig_ops;
		}
	}
	release_sock(sk);
	if (len)
		return len;
	/* not deferred (any more), or our own address: the socket's own ops */
	if (!orig)
		orig = sk->sk_family == AF_INET6 ? km_orig_inet6_ops : &inet_stream_ops;
	return orig->getname(sock, uaddr, peer);
}

/* ---- entry from the kfunc ------------------------------------------------- */

int km_defer_sock(struct bpf_sock_addr_kern *ctx)
{
	struct sock *sk = ctx->sk;
	const struct proto_ops *ops;
	struct km_deferred *d;
	struct proto *ours;

	if (km_rerun_of(ctx))
		return -EALREADY;
	if (km_is_deferred(sk))
		return 0;	/* connect() again before the first write */
	if (!READ_ONCE(km_defer_enabled))
		return -EOPNOTSUPP;
	if (!sk->sk_socket || sk->sk_type != SOCK_STREAM ||
	    sk->sk_protocol != IPPROTO_TCP)
		return -EOPNOTSUPP;
	if (sk->sk_prot == &tcp_prot && sk->sk_socket->ops == &inet_stream_ops) {
		ours = &km_tcp_prot;
		ops = &km_inet_ops;
	} else if (km_orig_inet6_ops && sk->sk_prot == &tcpv6_prot &&
		   sk->sk_socket->ops == km_orig_inet6_ops) {
		ours = &km_tcpv6_prot;
		ops = &km_inet6_ops;
	} else {
		return -EOPNOTSUPP;	/* not a plain TCP socket (ULP, MPTCP...) */
	}
	/* TCP_FASTOPEN_CONNECT already defers on its own */
	if (inet_test_bit(DEFER_CONNECT, sk) || tcp_sk(sk)->fastopen_req)
		return -EOPNOTSUPP;
	if (rcu_access_pointer(sk->sk_user_data))
		return -EBUSY;
	if (ctx->uaddrlen > sizeof(d->vip))
		return -EINVAL;
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	d = kzalloc(sizeof(*d), GFP_ATOMIC);
	if (!d) {
		module_put(THIS_MODULE);
		return -ENOMEM;
	}
	d->orig_prot = sk->sk_prot;
	d->orig_ops = sk->sk_socket->ops;
	memcpy(&d->vip, ctx->uaddr, ctx->uaddrlen);
	d->vip_len = ctx->uaddrlen;

	rcu_assign_sk_user_data(sk, d);
	WRITE_ONCE(sk->sk_socket->ops, ops);
	WRITE_ONCE(sk->sk_prot, ours);
	atomic_long_inc(&km_in_flight);
	km_count(KM_MC_DEFERRED);
	return 0;
}

/* ---- set-up ------------------------------------------------------------------ */

static void km_override(struct proto *p)
{
	p->connect = km_connect;
	p->sendmsg = km_sendmsg;
	p->recvmsg = km_recvmsg;
	p->disconnect = km_disconnect;
	p->close = km_close;
}

int km_defer_init(void)
{
	struct socket *sock;

	km_tcp_prot = tcp_prot;
	km_override(&km_tcp_prot);
	km_inet_ops = inet_stream_ops;
	km_inet_ops.poll = km_poll;
	km_inet_ops.getname = km_getname;

	/* IPv6 may be disabled at boot: then only IPv4 is deferred. */
	if (sock_create_kern(&init_net, AF_INET6, SOCK_STREAM, IPPROTO_TCP,
			     &sock) == 0) {
		km_orig_inet6_ops = sock->ops;
		km_inet6_ops = *sock->ops;
		km_inet6_ops.poll = km_poll;
		km_inet6_ops.getname = km_getname;
		sock_release(sock);
		km_tcpv6_prot = tcpv6_prot;
		km_override(&km_tcpv6_prot);
	} else {
		pr_info("kmesh: IPv6 unavailable, deferring IPv4 connects only\n");
	}
	return 0;
}

void km_defer_exit(void)
{
	/* Every deferred socket holds a module reference: none is left. */
	WARN_ON(atomic_long_read(&km_in_flight));
}
