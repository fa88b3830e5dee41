/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The live connection counts (km_cl_stat, km_ep_stat): read for kmeshctl,
 * pruned by kmeshd. */
#ifndef KM_LBSTAT_H
#define KM_LBSTAT_H

#include "maps.h"

/* Cluster @stat_key's figures; zeros when it has none yet. */
void km_lbstat_cluster(const struct km_maps *mp, __u64 stat_key,
		       struct km_cl_stat *out);
/* @ep's record in cluster @stat_key; zeros when it has none yet. */
void km_lbstat_ep(const struct km_maps *mp, __u64 stat_key,
		  const struct km_endpoint *ep, struct km_ep_stat *out);
/* Milliseconds left of @v's ejection; 0 when it is not ejected (an
 * ejection whose time ran out ends at the next connect's look). */
__u64 km_lbstat_ejected_ms(const struct km_ep_stat *v);
/* Active connections of @ep in cluster @stat_key. */
__u64 km_lbstat_endpoint(const struct km_maps *mp, __u64 stat_key,
			 const struct km_endpoint *ep);
/*
 * Removes the records of clusters and endpoints @r no longer has, once
 * they hold no connection: a record with connections stays until they
 * close. Returns how many were removed, or -errno.
 */
int km_lbstat_prune(const struct km_maps *mp, const struct km_records *r);

#endif
