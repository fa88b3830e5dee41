/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Load balancing in the connect path: the draw for each policy, then the
 * shared pick (include/kmesh/lb_pick.h). */
#ifndef KM_BPF_LB_H
#define KM_BPF_LB_H

#include "maps.h"

static __always_inline const struct km_endpoint *
km_endpoint_lookup(void *env, const struct km_endpoint_key *key)
{
	return bpf_map_lookup_elem(&km_endpoint, key);
}

#include "kmesh/lb_pick.h"

static __always_inline __u32 km_lb_draw(__u32 cluster_id, __u8 policy)
{
	__u32 *ctr;

	if (policy == KM_LB_ROUND_ROBIN) {
		ctr = bpf_map_lookup_elem(&km_rr, &cluster_id);
		if (ctr)
			return __sync_fetch_and_add(ctr, 1);
	}
	return bpf_get_prandom_u32();
}

#endif
