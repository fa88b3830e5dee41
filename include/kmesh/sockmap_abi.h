/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmesh sockmap ABI: the records bpf/kmesh_sockmap.bpf.c shares with the
 * agent and kmeshctl. Same rules as abi.h: fixed width, explicit padding,
 * a size assert per record.
 *
 * Keys. Every socket in km_sm_socks is keyed by the 4-tuple *as its peer
 * sees it*: local = the address the peer dialed, remote = the peer's own
 * address. For a plain connection that is the socket's own 4-tuple. For a
 * proxy socket reached through iptables REDIRECT (accelerate mode), local is
 * the application's original destination, not 127.0.0.1:15001. A sender
 * therefore finds its peer under (its remote, its local) whatever NAT did in
 * between. netns is the network namespace cookie when an address is
 * loopback (127/8, ::1: the same address in every pod) and 0 otherwise.
 */
#ifndef KMESH_SOCKMAP_ABI_H
#define KMESH_SOCKMAP_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "kmesh/abi.h"

#define KM_SM_ABI_VERSION 2

/* Sockets that can be joined at once: two per accelerated connection. */
#define KM_SM_MAX_SOCKS 65536
/* Destinations whose connection lengths are remembered (LRU). */
#define KM_SM_MAX_DESTS 16384
/* Workloads with a sockmap bit: as many as can be enrolled. */
#define KM_SM_MAX_WORKLOADS KM_MAX_ENROLL

/* Istio's iptables REDIRECT targets: the outbound capture port and the
 * inbound capture port. Only a socket accepted on one of these may be
 * paired through an original destination (accelerate mode). */
#define KM_SM_PORT_OUTBOUND 15001
#define KM_SM_PORT_INBOUND 15006

struct km_sm_key {
	struct km_addr local;	/* as the peer sees it (IPv4-mapped) */
	struct km_addr remote;
	__u64 netns;		/* netns cookie if loopback, else 0 */
	__u16 lport;		/* host byte order */
	__u16 rport;
	__u32 pad;
};
_Static_assert(sizeof(struct km_sm_key) == 48, "km_sm_key ABI");

/* km_sm_workload: HASH, key struct km_enroll_key (a cgroup id or a netns
 * cookie, named as for kmeshctl enroll). */
enum km_sm_workload_flags {
	KM_SM_ENABLED = 1 << 0,		/* join local connections */
	KM_SM_ACCELERATE = 1 << 1,	/* also pair through REDIRECT ports */
};

struct km_sm_workload {
	__u32 flags;		/* enum km_sm_workload_flags */
	__u32 pad;
	char path[KM_PATH_MAX];	/* as given to kmeshctl sockmap enable */
};
_Static_assert(sizeof(struct km_sm_workload) == 8 + KM_PATH_MAX,
	       "km_sm_workload ABI");

/* km_sm_pending: LRU_HASH, what an active socket dialed, keyed by its
 * source. The accepted peer looks itself up by its remote address (which
 * REDIRECT does not change) and learns the original destination. */
struct km_sm_src {
	struct km_addr addr;
	__u64 netns;		/* as in km_sm_key */
	__u16 port;		/* host byte order */
	__u16 pad[3];
};
_Static_assert(sizeof(struct km_sm_src) == 32, "km_sm_src ABI");

struct km_sm_dst {
	struct km_addr addr;
	__u16 port;		/* host byte order */
	__u16 pad[3];
};
_Static_assert(sizeof(struct km_sm_dst) == 24, "km_sm_dst ABI");

/* km_sm_flow: HASH, one direction of a joined connection, keyed by the
 * receiver's km_sm_key. Created by the receiver when it joins (sk), then
 * written by the sender (redirected, msgs); read at close (how many
 * messages the connection carried, for the "does it pay" policy). */
struct km_sm_flow {
	__u64 sk;		/* the receiver's struct sock, for the sender's
				 * sk_msg to read its receive state (kernel
				 * address: the map is root-only) */
	__u64 redirected;	/* bytes queued on the receiver's psock */
	__u64 msgs;		/* messages redirected */
};
_Static_assert(sizeof(struct km_sm_flow) == 24, "km_sm_flow ABI");

/* km_sm_dest: LRU_HASH, how long connections to a destination have been,
 * keyed by the dialed destination (km_sm_src layout: addr, netns, port).
 * Halved when conns reaches KM_SM_DEST_WINDOW, so it follows change. */
struct km_sm_dest {
	__u32 conns;		/* connections observed to their close */
	__u32 msgs;		/* messages they carried, both directions */
};
_Static_assert(sizeof(struct km_sm_dest) == 8, "km_sm_dest ABI");

/* km_sm_counters: PERCPU_ARRAY indexed by reason. Order is ABI. */
enum km_sm_counter {
	KM_SM_CNT_INSERT_ACTIVE = 0,	/* connecting socket joined */
	KM_SM_CNT_INSERT_PASSIVE,	/* accepted socket joined to its peer */
	KM_SM_CNT_INSERT_FAIL,		/* sockhash update failed */
	KM_SM_CNT_PAIRED_ORIG_DST,	/* accepted on 15001/15006, paired
					 * through the original destination */
	KM_SM_CNT_SKIP_SHORT,		/* destination's connections are short:
					 * not joined (insert only where it pays) */
	KM_SM_CNT_SAMPLED,		/* short destination re-measured */
	KM_SM_CNT_NO_LOCAL_PEER,	/* accepted socket whose peer was not
					 * joined (remote, or not enabled) */
	KM_SM_CNT_REDIRECT,		/* messages sent straight to the peer */
	KM_SM_CNT_REDIRECT_BYTES,	/* their bytes */
	KM_SM_CNT_PASS_NO_PEER,		/* peer gone or never joined: normal
					 * TCP path */
	KM_SM_CNT_PASS_BACKPRESSURE,	/* peer's receive memory at its
					 * sk_rcvbuf: normal TCP path (its
					 * window blocks us) */
	KM_SM_CNT_PASS_DRAINING,	/* peer has not read all bytes sent over
					 * TCP yet: TCP, to keep the order */
	KM_SM_CNT_CLOSED,		/* joined socket closed */
	KM_SM_CNT_MAX,
};

#endif /* KMESH_SOCKMAP_ABI_H */
