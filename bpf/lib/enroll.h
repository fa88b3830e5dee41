/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Enrollment: kmesh touches only workloads enrolled by network namespace or
 * by cgroup v2 (the cgroup itself or any ancestor). It is checked only after
 * the destination matched a service frontend, so ordinary connects pay for
 * one frontend lookup and nothing else. */
#ifndef KM_BPF_ENROLL_H
#define KM_BPF_ENROLL_H

#include "maps.h"

/* The enrollment that covers the caller, in *key: its network namespace,
 * else its cgroup, else the enrolled ancestor nearest the root. */
static __always_inline bool km_enroll_find(struct bpf_sock_addr *ctx,
					   struct km_enroll_key *key)
{
	__u64 id, self;
	int level;

	key->kind = KM_ENROLL_NETNS;
	key->id = bpf_get_netns_cookie(ctx);
	if (bpf_map_lookup_elem(&km_enroll, key))
		return true;

	key->kind = KM_ENROLL_CGROUP;
	self = bpf_get_current_cgroup_id();
	key->id = self;
	if (bpf_map_lookup_elem(&km_enroll, key))
		return true;
	/* Ancestors from the root down; 0 means below our own level. */
	for (level = 1; level < KM_MAX_CGROUP_DEPTH; level++) {
		id = bpf_get_current_ancestor_cgroup_id(level);
		if (id == 0 || id == self)
			break;
		key->id = id;
		if (bpf_map_lookup_elem(&km_enroll, key))
			return true;
	}
	return false;
}

static __always_inline bool km_enrolled(struct bpf_sock_addr *ctx)
{
	struct km_enroll_key key = {};

	return km_enroll_find(ctx, &key);
}

#endif
