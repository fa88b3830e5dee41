/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The LB policy part of the compiler: LEAST_REQUEST and MAGLEV settings,
 * hash policies, Maglev tables and the stable stat keys of clusters. */
#ifndef KM_LB_COMPILE_H
#define KM_LB_COMPILE_H

#include <stdbool.h>

#include "compiler.h"

/* Fills the LB fields of r's clusters (compiled from m) and builds their
 * Maglev tables. */
/* The record fields that come from the cluster's LB settings alone:
 * stat_key, choice_count, lr_bias. */
void km_lb_cluster_fields(const struct km_m_cluster *mc, struct km_cluster *c);
int km_lb_compile(const struct km_model *m, struct km_records *r,
		  struct km_err *err);

/* km_cluster.stat_key of a cluster name: the same in every generation and
 * kmeshd run. Never 0. */
uint64_t km_stat_key64(const char *name);

/* An endpoint the kernel may get: UNKNOWN or HEALTHY, as Envoy routes to.
 * A DNS cluster's name before kmeshd resolved it has no address yet
 * (ip.family 0): dataplane/dns.c puts the resolved addresses in its place. */
static inline bool km_endpoint_usable(const struct km_m_endpoint *ep)
{
	return ep->ip.family &&
	       (ep->health == KM_HEALTH_UNKNOWN ||
		ep->health == KM_HEALTH_HEALTHY);
}

/* The locality group the last km_locality_ep_weight() call measured. */
struct km_lw_cursor {
	bool valid;
	uint32_t group;
	double per_weight;	/* kernel weight per unit of endpoint weight */
};

/*
 * Locality weighted LB (common_lb_config.locality_weighted_lb_config): the
 * kernel weight of endpoint @i of @mc, a usable one of the serving
 * priority. Envoy picks a locality by its effective weight,
 * load_balancing_weight x min(1, 1.4 x its healthy share), then an
 * endpoint of it by weight; one weighted pick over every endpoint with
 * weight = effective locality weight x endpoint weight / the locality's
 * usable weight gives the same shares. Scaled by KM_LW_SCALE, at least 1.
 * The endpoints of a group are contiguous; @cur keeps the last group's
 * figures.
 */
#define KM_LW_SCALE 1000
uint32_t km_locality_ep_weight(const struct km_m_cluster *mc, size_t i,
			       struct km_lw_cursor *cur);

#endif
