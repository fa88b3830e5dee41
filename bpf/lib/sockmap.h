/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sockmap workers: maps, keys, workload bits, the "does it pay" policy and
 * the per-direction flow state. bpf/kmesh_sockmap.bpf.c holds the hooks. */
#ifndef KM_BPF_SOCKMAP_H
#define KM_BPF_SOCKMAP_H

#include <bpf/bpf_core_read.h>
#include "kmesh/sockmap_abi.h"
#include "consts.h"

/* Insert only where it pays. A sockhash insert costs about 15% of a
 * connect (psock allocation, proto swap, teardown on close); a redirected
 * message saves a trip through both TCP stacks. A connection pays for its
 * insert after a few messages, so:
 *  - a destination we know nothing about is joined (long-lived connections
 *    are accelerated from their first one);
 *  - every joined connection reports at close how many messages went
 *    through the sockmap (0 when its peer was not local) into km_sm_dest;
 *  - once KM_SM_LEARN_MIN connections to a destination are known and they
 *    averaged fewer than KM_SM_PAYS_MSGS messages, new connections to it
 *    are not joined. 1 in KM_SM_SAMPLE of them is still watched to its
 *    close (TCP data segments count as messages) so a change is noticed. */
#define KM_SM_LEARN_MIN 4
#define KM_SM_PAYS_MSGS 4
#define KM_SM_SAMPLE 32
/* km_sm_dest counts are halved at this many connections: recent history
 * outweighs old. */
#define KM_SM_DEST_WINDOW 64
/* Receive memory a peer may hold before sends fall back to TCP, when its
 * application did not set SO_RCVBUF: the psock queue is read without
 * tcp_rcv_space_adjust ever growing sk_rcvbuf past its initial
 * tcp_rmem[1] (128 KiB), so the bound would throttle every stream that TCP
 * autotuning would have let grow to tcp_rmem[2] (6 MiB by default). */
#define KM_SM_RCVBUF_FLOOR (2u << 20)

/* Per-socket state (not shared with userspace). */
struct km_sm_sock {
	struct km_sm_key own;	/* this socket's key in km_sm_socks */
	struct km_sm_key peer;	/* where its sends go */
	struct km_sm_src dest;	/* dialed destination (active side) */
	__u64 msgs;		/* messages this socket redirected */
	__u8 joined;		/* in km_sm_socks */
	__u8 active;		/* connecting side: reports to km_sm_dest */
	__u8 sampled;		/* not joined, watched to its close */
	__u8 pad[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, KM_SM_MAX_SOCKS);
	__type(key, struct km_sm_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_sm_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct km_sm_sock);
} km_sm_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_SM_MAX_WORKLOADS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_enroll_key);
	__type(value, struct km_sm_workload);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_sm_workload SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KM_SM_MAX_SOCKS);
	__type(key, struct km_sm_src);
	__type(value, struct km_sm_dst);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_sm_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_SM_MAX_SOCKS);
	__type(key, struct km_sm_key);
	__type(value, struct km_sm_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_sm_flow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KM_SM_MAX_DESTS);
	__type(key, struct km_sm_src);
	__type(value, struct km_sm_dest);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_sm_dest SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KM_SM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_sm_counters SEC(".maps");

static __always_inline void km_sm_count_n(enum km_sm_counter reason, __u64 n)
{
	__u32 key = reason;
	__u64 *v = bpf_map_lookup_elem(&km_sm_counters, &key);

	if (v)
		*v += n;
}

static __always_inline void km_sm_count(enum km_sm_counter reason)
{
	km_sm_count_n(reason, 1);
}

/* ---- addresses -------------------------------------------------------- */

static __always_inline void km_sm_v4(struct km_addr *a, __u32 ip4)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0xffff);
	a->w[3] = ip4;
}

static __always_inline bool km_sm_loopback(const struct km_addr *a)
{
	if (a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0xffff))
		return (bpf_ntohl(a->w[3]) >> 24) == 127;
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == 0 &&
	       a->w[3] == bpf_htonl(1);
}

static __always_inline bool km_sm_addr_eq(const struct km_addr *a,
					  const struct km_addr *b)
{
	return a->w[0] == b->w[0] && a->w[1] == b->w[1] &&
	       a->w[2] == b->w[2] && a->w[3] == b->w[3];
}

/* Every context field is read up front, before any branch: clang would
 * otherwise share one computed ctx pointer between the IPv4 and IPv6
 * paths, and the verifier refuses a modified ctx pointer. */
#define KM_CTX(f) (*(volatile __u32 *)&(f))

/* The socket's own addresses; false for a family we do not join. */
static __always_inline bool km_sm_tuple(struct bpf_sock_ops *skops,
					struct km_addr *local,
					struct km_addr *remote)
{
	__u32 family = KM_CTX(skops->family);
	__u32 l4 = KM_CTX(skops->local_ip4), r4 = KM_CTX(skops->remote_ip4);
	__u32 l0 = KM_CTX(skops->local_ip6[0]), l1 = KM_CTX(skops->local_ip6[1]);
	__u32 l2 = KM_CTX(skops->local_ip6[2]), l3 = KM_CTX(skops->local_ip6[3]);
	__u32 r0 = KM_CTX(skops->remote_ip6[0]), r1 = KM_CTX(skops->remote_ip6[1]);
	__u32 r2 = KM_CTX(skops->remote_ip6[2]), r3 = KM_CTX(skops->remote_ip6[3]);

	if (family == KM_AF_INET) {
		km_sm_v4(local, l4);
		km_sm_v4(remote, r4);
		return true;
	}
	if (family == KM_AF_INET6) {
		local->w[0] = l0;
		local->w[1] = l1;
		local->w[2] = l2;
		local->w[3] = l3;
		remote->w[0] = r0;
		remote->w[1] = r1;
		remote->w[2] = r2;
		remote->w[3] = r3;
		return true;
	}
	return false;
}

/* remote_port holds the big-endian port in the upper half of the 32-bit
 * field (the verifier shifts it there on little-endian): ntohl gives it. */
static __always_inline __u16 km_sm_rport(struct bpf_sock_ops *skops)
{
	return (__u16)bpf_ntohl(skops->remote_port);
}

static __always_inline void km_sm_key_set(struct km_sm_key *k,
					  const struct km_addr *local, __u16 lport,
					  const struct km_addr *remote, __u16 rport,
					  __u64 netns_cookie)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->local = *local;
	k->remote = *remote;
	k->lport = lport;
	k->rport = rport;
	if (km_sm_loopback(local) || km_sm_loopback(remote))
		k->netns = netns_cookie;
}

static __always_inline void km_sm_key_swap(struct km_sm_key *dst,
					   const struct km_sm_key *src)
{
	__builtin_memset(dst, 0, sizeof(*dst));
	dst->local = src->remote;
	dst->remote = src->local;
	dst->lport = src->rport;
	dst->rport = src->lport;
	dst->netns = src->netns;
}

static __always_inline void km_sm_src_set(struct km_sm_src *s,
					  const struct km_addr *a, __u16 port,
					  __u64 netns_cookie)
{
	__builtin_memset(s, 0, sizeof(*s));
	s->addr = *a;
	s->port = port;
	if (km_sm_loopback(a))
		s->netns = netns_cookie;
}

/* ---- workloads ----------------------------------------------------------- */

/* The workload's flags: its network namespace, else its cgroup or the
 * nearest ancestor with an entry. The socket's own cgroup (sk_cgrp_data),
 * not current's: an accepted socket is established in softirq. */
static __always_inline __u32 km_sm_workload_flags(struct bpf_sock_ops *skops,
						  struct sock *sk)
{
	struct km_enroll_key key = {};
	struct km_sm_workload *w;
	struct cgroup *cg;
	int level;

	key.kind = KM_ENROLL_NETNS;
	key.id = bpf_get_netns_cookie(skops);
	w = bpf_map_lookup_elem(&km_sm_workload, &key);
	if (w)
		return w->flags;

	key.kind = KM_ENROLL_CGROUP;
	cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	for (level = 0; level < KM_MAX_CGROUP_DEPTH && cg; level++) {
		key.id = BPF_CORE_READ(cg, kn, id);
		w = bpf_map_lookup_elem(&km_sm_workload, &key);
		if (w)
			return w->flags;
		/* cgroup.self is the first member: its parent is the
		 * parent cgroup's self. */
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	return 0;
}

/* ---- the "does it pay" policy ------------------------------------------- */

/* True when connections to @dest have been short: do not join. */
static __always_inline bool km_sm_dest_short(const struct km_sm_src *dest)
{
	struct km_sm_dest *d = bpf_map_lookup_elem(&km_sm_dest, dest);

	if (!d || d->conns < KM_SM_LEARN_MIN)
		return false;
	return d->msgs < (__u64)KM_SM_PAYS_MSGS * d->conns;
}

static __always_inline void km_sm_dest_report(const struct km_sm_src *dest,
					      __u64 msgs)
{
	struct km_sm_dest *d = bpf_map_lookup_elem(&km_sm_dest, dest);
	struct km_sm_dest nd = {};

	if (msgs > 0xffff)
		msgs = 0xffff;	/* one huge connection must not pin it */
	if (!d) {
		nd.conns = 1;
		nd.msgs = msgs;
		bpf_map_update_elem(&km_sm_dest, dest, &nd, BPF_ANY);
		return;
	}
	/* Racy read-modify-write across CPUs: a lost report only delays
	 * learning; it never makes a connection wrong. */
	if (d->conns >= KM_SM_DEST_WINDOW) {
		d->conns /= 2;
		d->msgs /= 2;
	}
	d->conns += 1;
	d->msgs += msgs;
}

#endif
