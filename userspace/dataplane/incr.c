// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The incremental endpoint writer (incr.h; docs/design.md, "Incremental
 * endpoint updates").
 *
 * Every cluster has two endpoint views per generation slot. A connect reads
 * the cluster's view word once and then reads the record and endpoints of
 * that view only. Replacing a cluster's set: (1) make sure no connect can
 * still be reading the idle view (the grace period started after the flip
 * that made it idle has ended), (2) write the new endpoints and record
 * into the idle view, (3) flip the view word. Nothing a running connect
 * reads is ever written: the record it looked up and the endpoints of its
 * view stay as they were until a grace period after it could last see them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "incr.h"

void km_incr_free(struct km_incr *w)
{
	free(w->cl);
	w->cl = NULL;
	w->n = 0;
	km_strmap_free(&w->ids);
	w->valid = false;
}

void km_incr_invalidate(struct km_incr *w)
{
	w->valid = false;
}

int km_incr_reset(struct km_incr *w, __u8 slot, const struct km_cluster *recs,
		  const char *const *names, const __u8 *forbidden, size_t n)
{
	int err = 0;

	km_incr_free(w);
	w->cl = calloc(n + 1, sizeof(*w->cl));
	if (!w->cl)
		return -ENOMEM;
	w->n = n;
	w->slot = slot & 1;
	w->n_endpoints = 0;
	w->idle_endpoints = 0;
	for (size_t i = 0; i < n && !err; i++) {
		w->cl[i].rec = recs[i];
		w->cl[i].forbidden = forbidden ? forbidden[i] : 0;
		w->n_endpoints += recs[i].n_endpoints;
		if (names && names[i])
			km_strmap_put(&w->ids, names[i], (void *)(uintptr_t)(i + 1),
				      &err);
	}
	if (err) {
		km_incr_free(w);
		return err;
	}
	w->valid = true;
	return 0;
}

long km_incr_id(const struct km_incr *w, const char *name)
{
	uintptr_t v = (uintptr_t)km_strmap_get(&w->ids, name);

	return v ? (long)v - 1 : -1;
}

/* The idle view of @cl may be written once no connect can read it. */
static void wait_idle(struct km_incr *w, struct km_incr_cl *cl)
{
	if (!cl->gp)
		return;
	if (cl->gp == KM_INCR_GP_UNSTARTED)
		cl->gp = w->ops.gp_start(w->ops.ctx);
	if (!w->ops.gp_done(w->ops.ctx, cl->gp))
		w->ops.gp_wait(w->ops.ctx, cl->gp);
	cl->gp = 0;
}

int km_incr_replace(struct km_incr *w, __u32 id, const struct km_cluster *rec,
		    const struct km_endpoint *eps)
{
	const struct km_incr_ops *o = &w->ops;
	struct km_incr_cl *cl;
	__u8 idle, vslot;
	int ret;

	if (!w->valid || id >= w->n)
		return -ENOENT;
	cl = &w->cl[id];
	if (w->max_endpoints &&
	    w->n_endpoints - cl->rec.n_endpoints + rec->n_endpoints >
	    w->max_endpoints)
		return -E2BIG;
	wait_idle(w, cl);
	idle = cl->view ^ 1;
	vslot = km_view_slot(w->slot, idle);
	ret = o->write_eps(o->ctx, id, vslot, eps, rec->n_endpoints);
	if (!ret && cl->idle_n > rec->n_endpoints)
		ret = o->delete_eps(o->ctx, id, vslot, rec->n_endpoints,
				    cl->idle_n);
	if (!ret)
		ret = o->write_cluster(o->ctx, id, vslot, rec);
	if (ret) {
		/* what the idle view holds is unknown now: all of it */
		if (rec->n_endpoints > cl->idle_n) {
			w->idle_endpoints += rec->n_endpoints - cl->idle_n;
			cl->idle_n = rec->n_endpoints;
		}
		return ret;
	}
	ret = o->set_view(o->ctx, id, w->slot, idle);
	if (ret)
		return ret;
	/* the old view is the idle one now, readable until a grace period */
	w->idle_endpoints -= cl->idle_n;
	cl->idle_n = cl->rec.n_endpoints;
	w->idle_endpoints += cl->idle_n;
	w->n_endpoints += rec->n_endpoints;
	w->n_endpoints -= cl->rec.n_endpoints;
	cl->rec = *rec;
	cl->view = idle;
	cl->gp = KM_INCR_GP_UNSTARTED;
	w->updates++;
	return 0;
}

void km_incr_end(struct km_incr *w)
{
	uint64_t gp = 0;

	for (size_t i = 0; i < w->n; i++)
		if (w->cl[i].gp == KM_INCR_GP_UNSTARTED) {
			if (!gp)
				gp = w->ops.gp_start(w->ops.ctx);
			w->cl[i].gp = gp;
		}
}

size_t km_incr_reclaim(struct km_incr *w, bool wait)
{
	const struct km_incr_ops *o = &w->ops;
	size_t freed = 0;

	if (!w->valid || !w->idle_endpoints)
		return 0;
	km_incr_end(w);
	for (size_t i = 0; i < w->n; i++) {
		struct km_incr_cl *cl = &w->cl[i];

		if (!cl->idle_n)
			continue;
		if (cl->gp && !wait && !o->gp_done(o->ctx, cl->gp))
			continue;
		wait_idle(w, cl);
		if (o->delete_eps(o->ctx, i, km_view_slot(w->slot, cl->view ^ 1),
				  0, cl->idle_n))
			continue;
		w->idle_endpoints -= cl->idle_n;
		freed += cl->idle_n;
		cl->idle_n = 0;
	}
	return freed;
}
