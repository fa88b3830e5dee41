// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The incremental endpoint writer (dataplane/incr.c) against simulated
 * connects: every store operation the writer makes is one tick, and
 * readers (a connect's lookups: the view word, the cluster record, then
 * its endpoints one by one) take steps between ticks as a table says. A
 * grace period ends only when every reader that was running when it
 * started has finished, as synchronize_rcu() does. Each reader must see
 * one version's whole set: a record and exactly its endpoints.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "incr.h"

#define IDS 2
#define VSLOTS 4
#define MAXEP 16
#define READERS 512

struct reader {
	bool active, done;
	int start, stride;	/* stride 0: steps only when a grace period
				 * waits for it */
	int step;
	__u8 vslot;
	struct km_cluster c;
	bool bad;
};

struct sim {
	/* the store; present[] says whether an entry exists */
	struct km_endpoint ep[IDS][VSLOTS][MAXEP];
	bool ep_present[IDS][VSLOTS][MAXEP];
	struct km_cluster cl[IDS][VSLOTS];
	bool cl_present[IDS][VSLOTS];
	__u32 view[IDS][2];

	struct reader r[READERS];
	int n_readers;
	int tick;
	/* grace periods: the readers each one waits for */
	bool gp_set[64][READERS];
	uint64_t n_gp;
	bool no_gp;		/* a broken writer: no grace period at all */
	int mixed, read_ok;
};

static struct sim S;

/* version v of cluster 0: 1 + v % 5 endpoints, endpoint i = (v, i) */
static __u32 n_of(__u32 v)
{
	return 1 + v % 5;
}

static void version(__u32 v, struct km_cluster *c, struct km_endpoint *eps)
{
	memset(c, 0, sizeof(*c));
	c->n_endpoints = n_of(v);
	c->total_weight = v;	/* the version tag */
	for (__u32 i = 0; i < c->n_endpoints; i++) {
		memset(&eps[i], 0, sizeof(eps[i]));
		eps[i].addr.w[3] = v;
		eps[i].port = i;
		eps[i].weight = 1;
	}
}

/* One step of reader @r: the lookups of km_connect() and km_pick_*. */
static void reader_step(struct reader *r)
{
	__u32 id = 0;

	if (r->step == 0) {
		r->vslot = km_view_slot(0, S.view[id][0]);
	} else if (r->step == 1) {
		if (!S.cl_present[id][r->vslot]) {
			r->bad = true;
			r->done = true;
		}
		r->c = S.cl[id][r->vslot];
	} else {
		__u32 i = r->step - 2;
		const struct km_endpoint *e = &S.ep[id][r->vslot][i];

		if (!S.ep_present[id][r->vslot][i] ||
		    e->addr.w[3] != r->c.total_weight || e->port != i)
			r->bad = true;
		if (i + 1 >= r->c.n_endpoints)
			r->done = true;
	}
	r->step++;
	if (r->done) {
		r->active = false;
		if (r->bad)
			S.mixed++;
		else
			S.read_ok++;
	}
}

/* Readers start and step before each store operation. */
static void tick(void)
{
	for (int k = 0; k < S.n_readers; k++) {
		struct reader *r = &S.r[k];

		if (!r->active && !r->done && r->start == S.tick) {
			r->active = true;
			reader_step(r);
		} else if (r->active && r->stride &&
			   (S.tick - r->start) % r->stride == 0) {
			reader_step(r);
		}
	}
	S.tick++;
}

static int s_write_eps(void *ctx, __u32 id, __u8 vs, const struct km_endpoint *eps,
		       __u32 n)
{
	for (__u32 i = 0; i < n; i++) {
		tick();
		S.ep[id][vs][i] = eps[i];
		S.ep_present[id][vs][i] = true;
	}
	return 0;
}

static int s_delete_eps(void *ctx, __u32 id, __u8 vs, __u32 from, __u32 to)
{
	for (__u32 i = from; i < to; i++) {
		tick();
		S.ep_present[id][vs][i] = false;
		memset(&S.ep[id][vs][i], 0xff, sizeof(S.ep[id][vs][i]));
	}
	return 0;
}

static int s_write_cluster(void *ctx, __u32 id, __u8 vs, const struct km_cluster *c)
{
	tick();
	S.cl[id][vs] = *c;
	S.cl_present[id][vs] = true;
	return 0;
}

static int s_set_view(void *ctx, __u32 id, __u8 slot, __u32 view)
{
	tick();
	S.view[id][slot & 1] = view;
	return 0;
}

static uint64_t s_gp_start(void *ctx)
{
	uint64_t n = ++S.n_gp;

	assert_true(n < 64);
	for (int k = 0; k < S.n_readers; k++)
		S.gp_set[n][k] = S.r[k].active;
	return n;
}

static bool s_gp_done(void *ctx, uint64_t n)
{
	if (S.no_gp)
		return true;
	for (int k = 0; k < S.n_readers; k++)
		if (S.gp_set[n][k] && S.r[k].active)
			return false;
	return true;
}

/* synchronize_rcu(): the readers it waits for run to their end */
static void s_gp_wait(void *ctx, uint64_t n)
{
	if (S.no_gp)
		return;
	for (int k = 0; k < S.n_readers; k++)
		while (S.gp_set[n][k] && S.r[k].active)
			reader_step(&S.r[k]);
}

static const struct km_incr_ops sim_ops = {
	.write_eps = s_write_eps, .delete_eps = s_delete_eps,
	.write_cluster = s_write_cluster, .set_view = s_set_view,
	.gp_start = s_gp_start, .gp_wait = s_gp_wait, .gp_done = s_gp_done,
};

struct row {
	const char *what;
	int versions;		/* updates of cluster 0, versions 1.. */
	int batch;		/* updates per km_incr_end() */
	int stride;		/* every reader's; 0: only a grace period moves it */
	int reclaim_every;	/* km_incr_reclaim(w, false) after so many */
};

static const struct row rows[] = {
	{ "one update per response, readers at writer speed", 12, 1, 1, 0 },
	{ "one update per response, slow readers", 12, 1, 3, 0 },
	{ "one update per response, very slow readers", 12, 1, 7, 0 },
	{ "readers stalled until a grace period", 12, 1, 0, 0 },
	{ "two updates of one cluster per batch", 12, 2, 2, 0 },
	{ "four per batch, stalled readers", 12, 4, 0, 0 },
	{ "reclaim between updates", 12, 1, 2, 1 },
	{ "reclaim, stalled readers", 12, 2, 0, 2 },
};

/* Version 0 as a full apply leaves it: view 0, records written. */
static void sim_init(struct km_incr *w, int stride, int n_readers, bool no_gp)
{
	struct km_endpoint eps[MAXEP];
	struct km_cluster c[IDS];
	const char *names[IDS] = { "c0", "c1" };

	memset(&S, 0, sizeof(S));
	S.no_gp = no_gp;
	for (int id = 0; id < IDS; id++) {
		version(0, &c[id], eps);
		S.cl[id][0] = c[id];
		S.cl_present[id][0] = true;
		for (__u32 i = 0; i < c[id].n_endpoints; i++) {
			S.ep[id][0][i] = eps[i];
			S.ep_present[id][0][i] = true;
		}
	}
	/* one reader starting at each tick */
	S.n_readers = n_readers;
	for (int k = 0; k < n_readers; k++) {
		S.r[k].start = k;
		S.r[k].stride = stride;
	}
	memset(w, 0, sizeof(*w));
	w->ops = sim_ops;
	assert_int_equal(km_incr_reset(w, 0, c, names, NULL, IDS), 0);
}

/* Runs @row's updates through @replace; the mixed reads seen. */
static int run_row(const struct row *rw, bool no_gp,
		   int (*replace)(struct km_incr *, __u32, const struct km_cluster *,
				  const struct km_endpoint *))
{
	struct km_endpoint eps[MAXEP];
	struct km_cluster c;
	struct km_incr w;

	sim_init(&w, rw->stride, 200, no_gp);
	for (int v = 1; v <= rw->versions; v++) {
		version(v, &c, eps);
		assert_int_equal(replace(&w, 0, &c, eps), 0);
		if (v % rw->batch == 0)
			km_incr_end(&w);
		if (rw->reclaim_every && v % rw->reclaim_every == 0)
			km_incr_reclaim(&w, false);
	}
	km_incr_end(&w);
	/* the readers still running finish */
	for (int k = 0; k < S.n_readers; k++)
		while (S.r[k].active)
			reader_step(&S.r[k]);
	/* after all that, the live view is the last version, whole */
	assert_int_equal(S.cl[0][km_view_slot(0, S.view[0][0])].total_weight,
			 rw->versions);
	assert_int_equal(w.n_endpoints, n_of(rw->versions) + n_of(0));
	km_incr_free(&w);
	return S.mixed;
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int mixed = run_row(&rows[i], false, km_incr_replace);

		if (mixed)
			fail_msg("%s: %d of %d connects saw a mixed or missing set",
				 rows[i].what, mixed, mixed + S.read_ok);
		assert_true(S.read_ok > 0);
	}
}

/* The table catches a writer without grace periods: a reader stalled on
 * a view the writer comes back to sees a mix (slow readers; stalled ones
 * read everything after the writer is done). */
static void test_catches_no_grace_period(void **state)
{
	assert_true(run_row(&rows[2], true, km_incr_replace) > 0);
}

/* ... and one that rewrites the live view in place. */
static int replace_in_place(struct km_incr *w, __u32 id,
			    const struct km_cluster *rec,
			    const struct km_endpoint *eps)
{
	__u8 vs = km_view_slot(w->slot, w->cl[id].view);

	w->ops.write_eps(w->ops.ctx, id, vs, eps, rec->n_endpoints);
	if (w->cl[id].rec.n_endpoints > rec->n_endpoints)
		w->ops.delete_eps(w->ops.ctx, id, vs, rec->n_endpoints,
				  w->cl[id].rec.n_endpoints);
	w->ops.write_cluster(w->ops.ctx, id, vs, rec);
	w->n_endpoints += rec->n_endpoints;
	w->n_endpoints -= w->cl[id].rec.n_endpoints;
	w->cl[id].rec = *rec;
	return 0;
}

static void test_catches_in_place(void **state)
{
	assert_true(run_row(&rows[1], false, replace_in_place) > 0);
}

/* Reclaim frees the idle view once its grace period has ended, not
 * before; the live view is never touched. */
static void test_reclaim(void **state)
{
	struct km_endpoint eps[MAXEP];
	struct km_cluster c;
	struct km_incr w;

	sim_init(&w, 0, 0, false);
	version(3, &c, eps);
	assert_int_equal(km_incr_replace(&w, 1, &c, eps), 0);
	assert_int_equal(w.idle_endpoints, n_of(0));
	/* a reader still on the old view holds the reclaim back */
	S.n_readers = 1;
	S.r[0] = (struct reader){ .active = true, .step = 1,
				  .vslot = km_view_slot(0, 0) };
	km_incr_end(&w);
	assert_int_equal(km_incr_reclaim(&w, false), 0);
	reader_step(&S.r[0]);
	while (S.r[0].active)
		reader_step(&S.r[0]);
	assert_int_equal(S.mixed, 0);
	assert_int_equal(km_incr_reclaim(&w, false), n_of(0));
	assert_int_equal(w.idle_endpoints, 0);
	for (__u32 i = 0; i < MAXEP; i++)
		assert_false(S.ep_present[1][km_view_slot(0, 0)][i]);
	for (__u32 i = 0; i < n_of(3); i++)
		assert_true(S.ep_present[1][km_view_slot(0, 1)][i]);
	km_incr_free(&w);
}

/* Over --max-endpoints: refused, nothing written. */
static void test_capacity(void **state)
{
	struct km_endpoint eps[MAXEP];
	struct km_cluster c;
	struct km_incr w;
	int t0;

	sim_init(&w, 0, 0, false);
	w.max_endpoints = 2 * n_of(0) + 1;
	version(4, &c, eps);	/* 5 endpoints for 1 */
	t0 = S.tick;
	assert_int_equal(km_incr_replace(&w, 0, &c, eps), -E2BIG);
	assert_int_equal(S.tick, t0);
	assert_int_equal(S.view[0][0], 0);
	version(1, &c, eps);	/* 2 for 1: fits */
	assert_int_equal(km_incr_replace(&w, 0, &c, eps), 0);
	assert_int_equal(S.view[0][0], 1);
	km_incr_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_catches_no_grace_period),
		cmocka_unit_test(test_catches_in_place),
		cmocka_unit_test(test_reclaim),
		cmocka_unit_test(test_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
