// SPDX-License-Identifier: GPL-2.0-only
/*
 * Deferred connect on a stock kernel (verified on Debian 6.12; see
 * docs/kernel-notes.md).
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
 *    socket in TCP_CLOSE); a poll or epoll for input only connects to the
 *    fallback, as a read does;
 *  - a second connect() returns EISCONN and the socket stays deferred;
 *  - getpeername returns the address the application dialed (the socket has
 *    no peer yet; inet_getname would say ENOTCONN, which clients that log
 *    their peer right after connect() treat as a failed connect);
 *  - a read (server-speaks-first protocols, or a client that reads first)
 *    connects to the fallback without routing, then reads; a fallback with
 *    port 0 (the first run found none) fails it with ECONNREFUSED;
 *  - close and connect(AF_UNSPEC) put the socket back untouched.
 * If the re-run leaves the VIP in place, the connect goes to the fallback.
 *
 * The per-socket state lives in sk_user_data, which a fresh TCP client
 * socket does not use (a socket that has it set is not deferred). Every
 * access is under the socket lock. Each deferred socket holds a module
 * reference until it is restored, so the proto copies outlive it.
 *
 * Unload. Module text must never run, or be returned into, after it is
 * freed. A deferred socket's own reference is dropped when it is restored,
 * often in the middle of one of our functions that then goes on to block
 * (the first write waits for the handshake and for send-buffer space, for
 * minutes against a silent endpoint). So every override runs between
 * km_enter() and km_leave():
 *  - km_enter() counts the caller in km_callers, then takes a module
 *    reference for the whole call: while any thread is inside, rmmod is
 *    refused (EBUSY/EAGAIN: "in use").
 *  - A thread can read our proto or ops pointer just before another thread
 *    restores the socket and drops the last reference, and enter with the
 *    module already going: try_module_get() fails, but it is still counted,
 *    and km_defer_exit() waits for km_callers to drain.
 *  - The window between reading the pointer and the increment, and the few
 *    instructions after the decrement, contain no voluntary sleep:
 *    synchronize_rcu_tasks() before and after the drain covers them (and
 *    synchronize_rcu() any caller with preemption off).
 * No override ever runs with the socket's reference as its only guard.
 */
#include <linux/bpf-cgroup.h>
#include <linux/delay.h>
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

/* Threads inside an override (see "Unload" above). */
static atomic_t km_callers = ATOMIC_INIT(0);

/* true if the call holds a module reference (false: the module is going,
 * and km_defer_exit() waits for this caller through km_callers) */
static bool km_enter(void)
{
	atomic_inc(&km_callers);
	/* counted before anything of ours is touched; pairs with the
	 * smp_mb() after the drain in km_defer_exit() */
	smp_mb__after_atomic();
	return try_module_get(THIS_MODULE);
}

static void km_leave(bool ref)
{
	if (ref)
		module_put(THIS_MODULE);
	/* everything this call did is visible before it stops counting */
	smp_mb__before_atomic();
	atomic_dec(&km_callers);
	/* from here to the return: no sleep (synchronize_rcu_tasks() in
	 * km_defer_exit() covers it) */
}

/* expr, evaluated between km_enter() and km_leave() */
#define KM_GUARDED(expr) ({				\
	bool km_ref_ = km_enter();			\
	typeof(expr) km_ret_ = (expr);			\
	km_leave(km_ref_);				\
	km_ret_;					\
})

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
static int km_connect_to(struct sock *sk, km_sockaddr_t *addr, int len)
{
	struct km_deferred *d = km_restore(sk);
	int ret = d->orig_prot->connect(sk, addr, len);

	km_release(d);
	return ret;
}

/*
 * Connect to the address the first run left. Port 0 there means the first
 * run found no usable fallback (the default route has no endpoint: see
 * km_no_fallback() in bpf/lib/connect.h): refused, never dialed, so the
 * VIP never leaves the host. (sin_port and sin6_port share an offset.)
 */
static int km_connect_fallback(struct sock *sk)
{
	struct km_deferred *d = km_d(sk);
	struct sockaddr_storage addr = d->fallback;

	km_mod_count(KM_MC_FALLBACKS);
	if (!((struct sockaddr_in *)&addr)->sin_port) {
		km_release(km_restore(sk));
		return -ECONNREFUSED;
	}
	return km_connect_to(sk, (km_sockaddr_t *)&addr, d->fallback_len);
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
	ret = __cgroup_bpf_run_filter_sock_addr(sk, (km_sockaddr_t *)&addr,
						&len, atype, rr, NULL);
	if (ret) {
		km_release(km_restore(sk));
		return ret;
	}
	if (km_same_addr(&addr, len, &d->vip, d->vip_len))
		return km_connect_fallback(sk);
	if (!km_same_addr(&addr, len, &d->fallback, d->fallback_len))
		km_mod_count(KM_MC_REROUTED);
	return km_connect_to(sk, (km_sockaddr_t *)&addr, len);
}

/* ---- the proto and proto_ops overrides ------------------------------------
 * Each __km_X is the work; km_X, what the proto or ops copy points to, runs
 * it guarded (KM_GUARDED, see "Unload" above). */

static int __km_connect(struct sock *sk, km_sockaddr_t *uaddr, int addr_len)
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

static int __km_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
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

/* A read (or a wait for input) before the first write: nothing to route
 * on, so connect to the fallback now. 0 or -errno. */
static int km_read_first(struct sock *sk)
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
	return ret;
}

static int __km_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			KM_RECVMSG_ARGS)
{
	int ret = km_read_first(sk);

	if (ret)
		return ret;
	return READ_ONCE(sk->sk_prot)->recvmsg(sk, msg, len, KM_RECVMSG_PASS);
}

static int __km_disconnect(struct sock *sk, int flags)
{
	struct km_deferred *d = km_restore(sk);	/* called locked */
	struct proto *orig = d->orig_prot;

	km_release(d);
	return orig->disconnect(sk, flags);
}

static int __km_close(struct sock *sk, long timeout)
{
	struct km_deferred *d = NULL;

	lock_sock(sk);
	if (km_is_deferred(sk))
		d = km_restore(sk);
	release_sock(sk);
	sk->sk_prot->close(sk, timeout);
	if (d)
		km_release(d);
	return 0;
}

/*
 * Before the first write a deferred socket is writable: EPOLLOUT. A caller
 * that waits for input only (a server-speaks-first protocol: poll(POLLIN),
 * or epoll registered for EPOLLIN without EPOLLOUT) would wait for ever:
 * nothing is sent until it writes. Connect it to the fallback, as a read
 * does, and answer as TCP does. A caller that asks for both (or cannot say:
 * poll_requested_events() is all bits without a table) sees EPOLLOUT.
 */
static __poll_t __km_poll(struct file *file, struct socket *sock,
			  struct poll_table_struct *wait)
{
	__poll_t want = poll_requested_events(wait);
	struct sock *sk = sock->sk;

	if (km_is_deferred(sk)) {
		if (!(want & (EPOLLIN | EPOLLRDNORM)) ||
		    (want & (EPOLLOUT | EPOLLWRNORM))) {
			sock_poll_wait(file, sock, wait);
			return EPOLLOUT | EPOLLWRNORM;
		}
		if (km_read_first(sk))
			return EPOLLERR;	/* the connect failed at once */
	}
	return tcp_poll(file, sock, wait);
}

static int __km_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
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

/*
 * connect() again on a deferred socket. The first connect() returned 0, so
 * to the application the socket is connected: answer -EISCONN, as TCP does
 * for a connected socket, and keep it deferred. (__inet_stream_connect
 * would see SS_CONNECTING in TCP_CLOSE and answer -ECONNABORTED, undoing
 * the connect.) AF_UNSPEC still disconnects: the socket goes back untouched.
 */
static int __km_stream_connect(struct socket *sock, km_sockaddr_t *uaddr,
			       int addr_len, int flags)
{
	struct sock *sk = sock->sk;
	bool deferred;

	if (addr_len >= sizeof(uaddr->sa_family) &&
	    uaddr->sa_family != AF_UNSPEC) {
		lock_sock(sk);
		deferred = km_is_deferred(sk);
		release_sock(sk);
		if (deferred)
			return -EISCONN;
	}
	return inet_stream_connect(sock, uaddr, addr_len, flags);
}

static int km_connect(struct sock *sk, km_sockaddr_t *uaddr, int addr_len)
{
	return KM_GUARDED(__km_connect(sk, uaddr, addr_len));
}

static int km_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	return KM_GUARDED(__km_sendmsg(sk, msg, size));
}

static int km_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
		      KM_RECVMSG_ARGS)
{
	return KM_GUARDED(__km_recvmsg(sk, msg, len, KM_RECVMSG_PASS));
}

static int km_disconnect(struct sock *sk, int flags)
{
	return KM_GUARDED(__km_disconnect(sk, flags));
}

static void km_close(struct sock *sk, long timeout)
{
	KM_GUARDED(__km_close(sk, timeout));
}

static __poll_t km_poll(struct file *file, struct socket *sock,
			struct poll_table_struct *wait)
{
	return KM_GUARDED(__km_poll(file, sock, wait));
}

static int km_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	return KM_GUARDED(__km_getname(sock, uaddr, peer));
}

static int km_stream_connect(struct socket *sock, km_sockaddr_t *uaddr,
			     int addr_len, int flags)
{
	return KM_GUARDED(__km_stream_connect(sock, uaddr, addr_len, flags));
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
	km_mod_count(KM_MC_DEFERRED);
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
	km_inet_ops.connect = km_stream_connect;

	/* IPv6 may be disabled at boot: then only IPv4 is deferred. */
	if (sock_create_kern(&init_net, AF_INET6, SOCK_STREAM, IPPROTO_TCP,
			     &sock) == 0) {
		km_orig_inet6_ops = sock->ops;
		km_inet6_ops = *sock->ops;
		km_inet6_ops.poll = km_poll;
		km_inet6_ops.getname = km_getname;
		km_inet6_ops.connect = km_stream_connect;
		sock_release(sock);
		km_tcpv6_prot = tcpv6_prot;
		km_override(&km_tcpv6_prot);
	} else {
		pr_info("IPv6 unavailable, deferring IPv4 connects only\n");
	}
	return 0;
}

void km_defer_exit(void)
{
	unsigned long waited = 0;

	/* Callers that read our proto or ops before their socket was
	 * restored and are not counted yet (see "Unload" above). */
	synchronize_rcu();
	synchronize_rcu_tasks();
	/* Callers inside that entered without a reference (the module was
	 * already going): they finish their call, however long it blocks. */
	while (atomic_read(&km_callers)) {
		if (waited++ % 500 == 0)
			pr_info("unload waits for %d caller(s) still inside\n",
				atomic_read(&km_callers));
		msleep(20);
	}
	/* pairs with km_leave(): their work is done before we go on */
	smp_mb();
	/* their last instructions after the decrement */
	synchronize_rcu_tasks();
	/* Every deferred socket holds a module reference: none is left. */
	WARN_ON(atomic_long_read(&km_in_flight));
}
