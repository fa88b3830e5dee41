// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * EDS changes applied in place (incr.h): each changed cluster is compiled
 * alone, all of them are checked before anything is written, then each is
 * replaced in its idle view and flipped. What only a whole compile can
 * decide sends the change down the full path (KM_INCR_FULL): a cluster the
 * live generation does not have, a MAGLEV cluster (tables are per
 * generation), a cluster whose kind changes (Istio's BlackHoleCluster
 * gaining endpoints), endpoints of a family a frontend reaching the
 * cluster cannot take (the full compile names the listener), or a change
 * to more than a quarter of the clusters (a whole generation is then as
 * cheap).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "incr_apply.h"

static __u8 fe_family(const struct km_frontend_key *k)
{
	return !k->addr.w[0] && !k->addr.w[1] &&
	       k->addr.w[2] == htonl(0xffff) ? KM_FAMILY_INET : KM_FAMILY_INET6;
}

int km_incr_reset_from(struct km_incr *w, __u8 slot, const struct km_model *m,
		       const struct km_records *r)
{
	__u8 *fam = calloc(r->n_clusters + 1, 1);
	int ret;

	if (!fam)
		return -ENOMEM;
	/* what km_compile's check_families() allows: endpoints of the other
	 * family than any frontend reaching the cluster are refused */
	for (size_t i = 0; i < r->n_frontends; i++) {
		__u8 other = fe_family(&r->fe_keys[i]) == KM_FAMILY_INET ?
			     KM_FAMILY_INET6 : KM_FAMILY_INET;

		for (size_t t = 0; t < r->fe_vals[i].n_targets &&
				   t < KM_MAX_WEIGHTED; t++) {
			__u32 id = r->fe_vals[i].targets[t].cluster_id;

			if (id < r->n_clusters)
				fam[id] |= 1u << other;
		}
	}
	ret = km_incr_reset(w, slot, r->clusters, r->cluster_names, fam,
			    r->n_clusters);
	free(fam);
	return ret;
}

struct change {
	__u32 id;
	__u8 families;
	struct km_records r;
};

/* Compiles @mc for cluster @id; KM_INCR_FULL for what it cannot do. */
static int compile_one(const struct km_incr *w, const struct km_model *m,
		       const struct km_m_cluster *mc, struct change *ch,
		       struct km_err *err)
{
	long id = km_incr_id(w, mc->name);
	const struct km_cluster *live;
	struct km_cluster *rec;
	int ret;

	if (id < 0)
		return KM_INCR_FULL;
	live = &w->cl[id].rec;
	if (live->lb_policy == KM_LB_MAGLEV || mc->lb_policy == KM_LB_MAGLEV)
		return KM_INCR_FULL;
	ret = km_compile_cluster(m, mc, &ch->r, &ch->families, err);
	if (ret)
		return ret;
	ch->id = id;
	rec = &ch->r.clusters[0];
	if (rec->kind != live->kind || (ch->families & w->cl[id].forbidden))
		return KM_INCR_FULL;
	/* set from the listeners and routes that name the cluster */
	rec->hash_flags = live->hash_flags;
	return 0;
}

static void free_changes(struct change *ch, size_t n)
{
	for (size_t i = 0; ch && i < n; i++)
		km_records_free(&ch[i].r);
	free(ch);
}

int km_incr_apply(struct km_incr *w, const struct km_m_cluster *cl, size_t n,
		  struct km_err *err)
{
	struct km_model m = { .source = (char *)"xds" };
	struct change *ch;
	size_t total, i;
	int ret = 0;

	if (!w->valid || n > w->n / 4 + 16)
		return KM_INCR_FULL;
	ch = calloc(n + 1, sizeof(*ch));
	if (!ch)
		return KM_INCR_FULL;
	/* everything is checked before anything is written */
	total = w->n_endpoints;
	for (i = 0; i < n && !ret; i++) {
		ret = compile_one(w, &m, &cl[i], &ch[i], err);
		if (!ret)
			total = total + ch[i].r.clusters[0].n_endpoints -
				w->cl[ch[i].id].rec.n_endpoints;
	}
	if (!ret && w->max_endpoints && total > w->max_endpoints) {
		km_err_set(err, "%s: %zu endpoints in all clusters, limit is %zu (--max-endpoints)",
			   m.source, total, w->max_endpoints);
		ret = -E2BIG;
	}
	for (i = 0; i < n && !ret; i++)
		if (km_incr_replace(w, ch[i].id, &ch[i].r.clusters[0],
				    ch[i].r.ep_vals))
			ret = KM_INCR_FULL;	/* a map write failed */
	km_incr_end(w);
	free_changes(ch, n);
	return ret;
}
