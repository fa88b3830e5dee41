/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Hashes and keys of the LB policies (lb_policy.h), on their own so the
 * Maglev table builder can use them without the data path's lookups. */
#ifndef KMESH_LB_HASH_H
#define KMESH_LB_HASH_H

#include "abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* splitmix64's finaliser: every input bit moves every output bit. */
static __always_inline __u64 km_mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* The hash of an address: the Maglev key of a source IP, and (with the
 * port and a seed) where an endpoint's permutation starts. */
static __always_inline __u64 km_hash_addr(const struct km_addr *a, __u64 seed)
{
	__u64 h = km_mix64(seed ^ (((__u64)a->w[0] << 32) | a->w[1]));

	return km_mix64(h ^ (((__u64)a->w[2] << 32) | a->w[3]));
}

static __always_inline void km_ep_stat_key_set(struct km_ep_stat_key *k,
					       __u64 cluster,
					       const struct km_addr *addr,
					       __be16 port)
{
	k->cluster = cluster;
	k->addr = *addr;
	k->port = port;
}

#endif /* KMESH_LB_HASH_H */
