// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The LB policy part of the compiler, run once the clusters and listeners
 * are compiled: LEAST_REQUEST settings, the hash policy of each MAGLEV /
 * RING_HASH cluster, its Maglev table, and every cluster's stat key.
 *
 * Hash policy: Envoy sets it per route (and per tcp_proxy); kmesh keys a
 * cluster's table the same way for every connection, so a cluster hashes
 * on the source address when any route or tcp_proxy to it asks for that
 * (istiod puts the same policy on every route to a DestinationRule's
 * host). Without one, Envoy hashes nothing and picks at random; so does
 * kmesh.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_compile.h"
#include "outlier_cfg.h"
#include "maglev.h"
#include "strmap.h"

#define SRC_FMT "%s:%d: "
#define SRC_ARG(s) ((s).file ? (s).file : "?"), (s).line

uint64_t km_stat_key64(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a 64 */

	for (const unsigned char *p = (const void *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/* ---- locality weighted LB --------------------------------------------- */

/* Envoy's default overprovisioning factor, 140%: a locality keeps its
 * whole weight while 1/1.4 of its endpoints are healthy. */
#define OVERPROVISIONING 1.4

uint32_t km_locality_ep_weight(const struct km_m_cluster *mc, size_t i,
			       struct km_lw_cursor *cur)
{
	const struct km_m_endpoint *me = &mc->endpoints[i];
	double w;

	if (!cur->valid || cur->group != me->group) {
		size_t lo = i, hi = i, n = 0, up = 0;
		double sum = 0, eff;

		while (lo > 0 && mc->endpoints[lo - 1].group == me->group)
			lo--;
		while (hi < mc->n_endpoints && mc->endpoints[hi].group == me->group)
			hi++;
		for (size_t j = lo; j < hi; j++, n++) {
			if (!km_endpoint_usable(&mc->endpoints[j]))
				continue;
			up++;
			sum += mc->endpoints[j].weight;
		}
		eff = me->locality_weight * OVERPROVISIONING * up / n;
		if (eff > me->locality_weight)
			eff = me->locality_weight;
		cur->valid = true;
		cur->group = me->group;
		cur->per_weight = sum > 0 ? eff * KM_LW_SCALE / sum : 0;
	}
	w = cur->per_weight * me->weight + 0.5;
	if (w < 1)
		return 1;
	return w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

/* ---- hash policies ---------------------------------------------------- */

/* What the connect path hashes on for @a (check.c has refused the kinds
 * it cannot). */
static uint8_t action_hash(const struct km_m_action *a)
{
	for (size_t i = 0; i < a->n_hash; i++)
		if (a->hash[i].kind == KM_HK_SOURCE_IP)
			return KM_HASH_SOURCE_IP;
	return 0;
}

static void action_flags(const struct km_strmap *ni, const struct km_m_action *a,
			 struct km_records *r)
{
	uint8_t flags = action_hash(a);

	if (!flags)
		return;
	for (size_t i = 0; i < a->n_clusters; i++) {
		long id = (long)(intptr_t)km_strmap_get(ni, a->clusters[i].cluster) - 1;

		if (id >= 0)
			r->clusters[id].hash_flags |= flags;
	}
}

static void route_config_flags(const struct km_strmap *ni,
			       const struct km_m_route_config *rc,
			       struct km_records *r)
{
	for (size_t v = 0; v < rc->n_vhosts; v++)
		for (size_t i = 0; i < rc->vhosts[v].n_routes; i++)
			action_flags(ni, &rc->vhosts[v].routes[i].action, r);
}

static void hash_flags(const struct km_model *m, const struct km_strmap *ni,
		       struct km_records *r)
{
	for (size_t l = 0; l < m->n_listeners; l++) {
		const struct km_m_listener *li = &m->listeners[l];

		for (size_t c = 0; c < li->n_chains; c++) {
			if (li->chains[c].kind == KM_CHAIN_TCP_PROXY)
				action_flags(ni, &li->chains[c].tcp, r);
			else
				route_config_flags(ni, &li->chains[c].routes, r);
		}
	}
	for (size_t i = 0; i < m->n_route_configs; i++)
		route_config_flags(ni, &m->route_configs[i], r);
}

/* ---- Maglev tables ---------------------------------------------------- */

/* Builds cluster @id's table from its serving endpoints, @eps[0..n). */
static int add_table(const struct km_m_cluster *mc, struct km_cluster *c,
		     const struct km_endpoint *eps, size_t n,
		     struct km_records *r, struct km_err *err)
{
	uint32_t size = mc->lb.maglev_size ? (uint32_t)mc->lb.maglev_size :
					      KM_MAGLEV_SIZE_DEFAULT;
	size_t chunks = (size + KM_MAGLEV_CHUNK - 1) / KM_MAGLEV_CHUNK;
	struct km_maglev_chunk *t;
	int ret;

	if (r->n_maglev_chunks + chunks > KM_MAX_MAGLEV_CHUNKS) {
		km_err_set(err, SRC_FMT "cluster '%s': its Maglev table (%u entries) goes past the limit of %u table entries in all clusters",
			   SRC_ARG(mc->src), mc->name, size,
			   KM_MAX_MAGLEV_CHUNKS * KM_MAGLEV_CHUNK);
		return -E2BIG;
	}
	t = realloc(r->maglev, (r->n_maglev_chunks + chunks) * sizeof(*t));
	if (!t)
		goto oom;
	r->maglev = t;
	t += r->n_maglev_chunks;
	memset(t, 0, chunks * sizeof(*t));
	/* the chunks are contiguous: one table of chunks * KM_MAGLEV_CHUNK */
	ret = km_maglev_build(eps, n, size, (uint16_t *)t);
	if (ret == -ENOMEM)
		goto oom;
	if (ret) {
		km_err_set(err, SRC_FMT "cluster '%s': Maglev table size %u is not a prime",
			   SRC_ARG(mc->src), mc->name, size);
		return ret;
	}
	c->maglev_chunk = r->n_maglev_chunks;
	c->maglev_size = size;
	r->n_maglev_chunks += chunks;
	return 0;
oom:
	km_err_set(err, "out of memory building the Maglev table of cluster '%s'",
		   mc->name);
	return -ENOMEM;
}

_Static_assert(sizeof(struct km_maglev_chunk) ==
	       KM_MAGLEV_CHUNK * sizeof(uint16_t), "chunks are packed");

void km_lb_cluster_fields(const struct km_m_cluster *mc, struct km_cluster *c)
{
	c->stat_key = km_stat_key64(mc->name);
	c->choice_count = mc->lb.choice_count ? mc->lb.choice_count :
						KM_LR_CHOICE_DEFAULT;
	/* 0 or 1.0 (check.c); Envoy's default is 1.0 */
	c->lr_bias = !mc->lb.bias_set || mc->lb.bias != 0.0;
	if (c->kind == KM_CK_ENDPOINTS)
		km_outlier_compile(&mc->od, c);
}

int km_lb_compile(const struct km_model *m, struct km_records *r,
		  struct km_err *err)
{
	struct km_strmap ni = {};
	size_t *first = calloc(m->n_clusters + 1, sizeof(*first));
	int ret = 0;

	if (!first)
		goto oom;
	for (size_t i = 0; i < m->n_clusters; i++) {
		km_strmap_put(&ni, m->clusters[i].name, (void *)(intptr_t)(i + 1),
			      &ret);
		if (ret)
			goto oom;
	}
	/* a cluster's endpoints are contiguous, in index order */
	for (size_t j = r->n_endpoints; j-- > 0;)
		if (r->ep_keys[j].cluster_id < m->n_clusters)
			first[r->ep_keys[j].cluster_id] = j;
	hash_flags(m, &ni, r);

	for (size_t i = 0; i < m->n_clusters && !ret; i++) {
		const struct km_m_cluster *mc = &m->clusters[i];
		struct km_cluster *c = &r->clusters[i];

		km_lb_cluster_fields(mc, c);
		if (c->lb_policy == KM_LB_MAGLEV && c->n_endpoints &&
		    c->kind == KM_CK_ENDPOINTS)
			ret = add_table(mc, c, &r->ep_vals[first[i]],
					c->n_endpoints, r, err);
	}
	free(first);
	km_strmap_free(&ni);
	return ret;
oom:
	free(first);
	km_strmap_free(&ni);
	km_err_set(err, "%s: out of memory compiling the config", m->source);
	return -ENOMEM;
}
