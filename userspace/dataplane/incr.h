/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental endpoint updates (docs/design.md, "Incremental endpoint
 * updates"): one cluster's endpoint set is replaced inside the live
 * generation by writing its idle endpoint view and flipping the cluster's
 * km_cl_view word. The writer is written against km_incr_ops so the unit
 * tests can drive it through a simulated store and readers.
 */
#ifndef KM_INCR_H
#define KM_INCR_H

#include <stdbool.h>
#include <stdint.h>

#include "kmesh/abi.h"
#include "strmap.h"

/* The store and the grace periods. Each returns 0 or negative errno. */
struct km_incr_ops {
	/* endpoints [0, n) of cluster @id under slot byte @vslot */
	int (*write_eps)(void *ctx, __u32 id, __u8 vslot,
			 const struct km_endpoint *eps, __u32 n);
	/* endpoints [from, to) of cluster @id under @vslot */
	int (*delete_eps)(void *ctx, __u32 id, __u8 vslot, __u32 from, __u32 to);
	int (*write_cluster)(void *ctx, __u32 id, __u8 vslot,
			     const struct km_cluster *c);
	/* the flip: km_cl_view[km_cl_view_index(slot, id)] = view */
	int (*set_view)(void *ctx, __u32 id, __u8 slot, __u32 view);
	/* Starts a grace period (after every flip before it has returned)
	 * and returns its number; wait: until grace period @n has ended,
	 * i.e. every connect program running when it started has returned. */
	uint64_t (*gp_start)(void *ctx);
	void (*gp_wait)(void *ctx, uint64_t n);
	bool (*gp_done)(void *ctx, uint64_t n);
	void *ctx;
};

/* A flip not yet covered by a started grace period. */
#define KM_INCR_GP_UNSTARTED UINT64_MAX

struct km_incr_cl {
	struct km_cluster rec;	/* the live view's record */
	__u32 idle_n;		/* endpoints the idle view still holds */
	__u8 view;		/* the live view, 0 or 1 */
	/* 1 << family of endpoints a frontend reaching the cluster cannot
	 * take (km_compile refuses them) */
	__u8 forbidden;
	/* the grace period that must end before the idle view (the one
	 * live before the last flip) may be written again; 0: none */
	uint64_t gp;
};

struct km_incr {
	struct km_incr_ops ops;
	bool valid;		/* reset since the last full apply */
	__u8 slot;		/* the live generation slot */
	size_t n;
	struct km_incr_cl *cl;
	struct km_strmap ids;	/* cluster name -> id + 1 */
	size_t n_endpoints;	/* in the live views */
	size_t idle_endpoints;	/* still held by idle views */
	size_t max_endpoints;	/* per generation (--max-endpoints) */
	uint64_t updates;	/* clusters replaced in place, ever */
};

/* After a full apply of @n clusters named @names whose live records are
 * @recs (view 0 everywhere) into generation slot @slot; @forbidden: per
 * cluster, or NULL. */
int km_incr_reset(struct km_incr *w, __u8 slot, const struct km_cluster *recs,
		  const char *const *names, const __u8 *forbidden, size_t n);
void km_incr_free(struct km_incr *w);
/* The full path must run: the next full apply resets. */
void km_incr_invalidate(struct km_incr *w);
/* The id of cluster @name, -1 if it has none. */
long km_incr_id(const struct km_incr *w, const char *name);

/*
 * Replaces cluster @id's record and endpoints with @rec and @eps
 * (rec->n_endpoints of them): written into the idle view, then one flip.
 * A connect sees the old set or the new one. Call km_incr_end() after a
 * batch of these.
 */
int km_incr_replace(struct km_incr *w, __u32 id, const struct km_cluster *rec,
		    const struct km_endpoint *eps);
/* Starts the grace period that covers the batch's flips. */
void km_incr_end(struct km_incr *w);
/* Deletes what idle views hold once their grace period has ended (memory
 * back to the kernel); @wait: wait for it. Returns endpoints deleted. */
size_t km_incr_reclaim(struct km_incr *w, bool wait);

/* The BPF maps as the store, and grace periods from the kernel: a
 * map-in-map update returns after synchronize_rcu(), which waits for
 * every running connect program. A thread waits, so a flip never does. */
struct km_maps;
int km_incr_maps_ops(struct km_incr_ops *ops, const struct km_maps *mp);
void km_incr_maps_ops_free(struct km_incr_ops *ops);

#endif
