/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef KM_BPF_COUNTERS_H
#define KM_BPF_COUNTERS_H

#include "maps.h"

/* Per-CPU, so no atomics; kmeshctl sums the CPUs. */
static __always_inline void km_count(enum km_counter reason)
{
	__u32 key = reason;
	__u64 *v = bpf_map_lookup_elem(&km_counters, &key);

	if (v)
		*v += 1;
}

#endif
