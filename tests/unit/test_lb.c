// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* LB selection: the exact code the connect programs run (lb_pick.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>

#include "kmesh/abi.h"

/* The test's "map": one cluster's endpoints by index. */
struct env {
	__u32 cluster_id;
	__u8 slot;
	__u32 n;
	struct km_endpoint eps[KM_MAX_CLUSTER_ENDPOINTS];
	__u32 lookups;
	__s64 missing;	/* index that pretends to be absent, or -1 */
	__u64 active[KM_MAX_CLUSTER_ENDPOINTS];	/* by port (= index) */
	const struct km_maglev_chunk *chunks;	/* km_maglev of the slot */
	__u32 n_chunks;
};

static const struct km_endpoint *km_endpoint_lookup(void *e,
						    const struct km_endpoint_key *k)
{
	struct env *env = e;

	env->lookups++;
	if (k->cluster_id != env->cluster_id || k->slot != env->slot ||
	    k->index >= env->n || (__s64)k->index == env->missing)
		return NULL;
	return &env->eps[k->index];
}

static __u64 km_ep_active(void *e, const struct km_ep_stat_key *k)
{
	struct env *env = e;

	return env->active[k->port % KM_MAX_CLUSTER_ENDPOINTS];
}

static const struct km_maglev_chunk *km_maglev_lookup(void *e,
						      const struct km_maglev_key *k)
{
	struct env *env = e;

	if (k->slot != env->slot || k->chunk >= env->n_chunks)
		return NULL;
	return &env->chunks[k->chunk];
}

#include "kmesh/lb_policy.h"
#include "maglev.h"

static struct env *mkenv(const __u32 *weights, __u32 n, struct km_cluster *c)
{
	struct env *e = calloc(1, sizeof(*e));
	__u32 sum = 0;

	e->cluster_id = 7;
	e->slot = 1;
	e->n = n;
	e->missing = -1;
	memset(c, 0, sizeof(*c));
	for (__u32 i = 0; i < n; i++) {
		sum += weights[i];
		e->eps[i].weight = weights[i];
		e->eps[i].cum_weight = sum;
		e->eps[i].port = i;	/* identifies the endpoint */
		e->eps[i].addr.w[3] = htonl(0x0a000001 + i);
		if (weights[i] != weights[0])
			c->weighted = 1;
	}
	c->n_endpoints = n;
	c->total_weight = sum;
	return e;
}

static void count_picks(struct env *e, const struct km_cluster *c, __u32 draws,
			__u32 *counts)
{
	for (__u32 d = 0; d < draws; d++) {
		const struct km_endpoint *ep = km_pick_endpoint(e, e->slot, e->cluster_id, c, d);

		assert_non_null(ep);
		counts[ep->port]++;
	}
}

static void test_round_robin_exact(void **state)
{
	const __u32 w[] = { 1, 1, 1, 1 };
	__u32 counts[4] = {};
	struct km_cluster c;
	struct env *e = mkenv(w, 4, &c);

	count_picks(e, &c, 400, counts);
	for (int i = 0; i < 4; i++)
		assert_int_equal(counts[i], 100);
	/* consecutive draws rotate */
	for (__u32 d = 0; d < 8; d++)
		assert_int_equal(km_pick_endpoint(e, 1, 7, &c, d)->port, d % 4);
	free(e);
}

static void test_weighted_exact_per_cycle(void **state)
{
	const __u32 w[] = { 1, 2, 3, 4 };
	__u32 counts[4] = {};
	struct km_cluster c;
	struct env *e = mkenv(w, 4, &c);

	assert_true(c.weighted);
	count_picks(e, &c, 1000, counts);
	assert_int_equal(counts[0], 100);
	assert_int_equal(counts[1], 200);
	assert_int_equal(counts[2], 300);
	assert_int_equal(counts[3], 400);
	free(e);
}

static void test_weighted_boundaries(void **state)
{
	const __u32 w[] = { 3, 1, 5 };
	/* cum 3, 4, 9: draws 0-2 -> 0, 3 -> 1, 4-8 -> 2 */
	const __u32 want[] = { 0, 0, 0, 1, 2, 2, 2, 2, 2 };
	struct km_cluster c;
	struct env *e = mkenv(w, 3, &c);

	for (__u32 d = 0; d < 9; d++)
		assert_int_equal(km_pick_endpoint(e, 1, 7, &c, d)->port, want[d]);
	assert_int_equal(km_pick_endpoint(e, 1, 7, &c, 9)->port, 0);	/* wraps */
	free(e);
}

/* Binary search against a linear scan on the largest cluster. */
static void test_weighted_max_cluster(void **state)
{
	static __u32 w[KM_MAX_CLUSTER_ENDPOINTS];
	struct km_cluster c;
	struct env *e;

	srand(42);
	for (int i = 0; i < KM_MAX_CLUSTER_ENDPOINTS; i++)
		w[i] = 1 + rand() % 1000;
	e = mkenv(w, KM_MAX_CLUSTER_ENDPOINTS, &c);
	for (int t = 0; t < 20000; t++) {
		__u32 d = rand(), x = d % c.total_weight, lin = 0;

		while (e->eps[lin].cum_weight <= x)
			lin++;
		e->lookups = 0;
		assert_int_equal(km_pick_endpoint(e, 1, 7, &c, d)->port & 0xffff,
				 lin & 0xffff);
		/* bounded: the search never exceeds its step budget */
		assert_true(e->lookups <= KM_EP_SEARCH_STEPS + 1);
	}
	free(e);
}

static void test_random_roughly_even(void **state)
{
	const __u32 w[] = { 1, 1, 1 };
	__u32 counts[3] = {};
	struct km_cluster c;
	struct env *e = mkenv(w, 3, &c);

	srand(7);
	for (int i = 0; i < 30000; i++)
		counts[km_pick_endpoint(e, 1, 7, &c, rand())->port]++;
	for (int i = 0; i < 3; i++)	/* 10000 expected; 5 sigma is ~400 */
		assert_in_range(counts[i], 9400, 10600);
	free(e);
}

static void test_no_endpoint_and_missing_record(void **state)
{
	const __u32 w[] = { 1, 2 };
	struct km_cluster c;
	struct env *e = mkenv(w, 2, &c);
	struct km_cluster empty = {};

	assert_null(km_pick_endpoint(e, 1, 7, &empty, 0));
	e->missing = 0;
	assert_null(km_pick_endpoint(e, 1, 7, &c, 0));
	/* wrong slot: the other generation's records are never used */
	e->missing = -1;
	assert_null(km_pick_endpoint(e, 0, 7, &c, 0));
	c.n_endpoints = KM_MAX_CLUSTER_ENDPOINTS + 1;
	assert_null(km_pick_endpoint(e, 1, 7, &c, 0));
	free(e);
}

/* ---- LEAST_REQUEST (issue 16) ----------------------------------------- */

static const struct km_endpoint *least(struct env *e, struct km_cluster *c,
				       __u32 seed)
{
	const struct km_endpoint *ep = km_pick_least(e, e->slot, e->cluster_id,
						     c, seed);

	assert_non_null(ep);
	return ep;
}

/* Two endpoints, two choices: both are always candidates, so the less
 * loaded one is always taken; equal loads split evenly. */
static void test_least_two(void **state)
{
	const __u32 w[] = { 1, 1 };
	struct km_cluster c;
	struct env *e = mkenv(w, 2, &c);
	__u32 counts[2] = {};

	(void)state;
	c.choice_count = 2;
	e->active[0] = 5;
	for (__u32 s = 0; s < 1000; s++)
		assert_int_equal(least(e, &c, s * 2654435761u)->port, 1);
	e->active[0] = 0;
	for (__u32 s = 0; s < 1000; s++)
		counts[least(e, &c, s)->port]++;
	assert_int_equal(counts[0], 500);
	assert_int_equal(counts[1], 500);
	free(e);
}

/* Ten endpoints with loads 0..9, two choices: two distinct candidates,
 * so the busiest never wins, and the idlest wins whenever drawn (about
 * 2 in 10). */
static void test_least_p2c(void **state)
{
	const __u32 w[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	struct km_cluster c;
	struct env *e = mkenv(w, 10, &c);
	__u32 counts[10] = {};

	(void)state;
	c.choice_count = 0;	/* Envoy's default: 2 */
	for (__u32 i = 0; i < 10; i++)
		e->active[i] = i;
	for (__u32 s = 0; s < 10000; s++)
		counts[least(e, &c, s * 2654435761u)->port]++;
	assert_int_equal(counts[9], 0);
	assert_in_range(counts[0], 1500, 2500);
	for (__u32 i = 1; i < 9; i++)
		assert_true(counts[i] < counts[i - 1]);
	/* choice_count >= n: every endpoint is a candidate */
	c.choice_count = 10;
	e->active[0] = 3;
	for (__u32 s = 0; s < 100; s++)
		assert_int_equal(least(e, &c, s)->port, 1);
	free(e);
}

/* Different weights, bias 1: the largest weight / (active + 1). */
static void test_least_weighted(void **state)
{
	const __u32 w[] = { 1, 3 };
	struct km_cluster c;
	struct env *e = mkenv(w, 2, &c);

	(void)state;
	c.choice_count = 2;
	c.lr_bias = 1;
	e->active[0] = 0;
	e->active[1] = 3;	/* 1/1 > 3/4 */
	for (__u32 s = 0; s < 100; s++)
		assert_int_equal(least(e, &c, s)->port, 0);
	e->active[1] = 1;	/* 1/1 < 3/2 */
	for (__u32 s = 0; s < 100; s++)
		assert_int_equal(least(e, &c, s)->port, 1);
	/* a missing endpoint record: no pick */
	e->missing = 1;
	assert_null(km_pick_least(e, e->slot, e->cluster_id, &c, 0));
	free(e);
}

/* ---- MAGLEV --------------------------------------------------------- */

static struct km_maglev_chunk *maglev_table(const struct km_endpoint *eps,
					    __u32 n, __u32 size, __u32 *chunks)
{
	struct km_maglev_chunk *t;

	*chunks = (size + KM_MAGLEV_CHUNK - 1) / KM_MAGLEV_CHUNK;
	t = calloc(*chunks, sizeof(*t));
	assert_non_null(t);
	assert_int_equal(km_maglev_build(eps, n, size, (uint16_t *)t), 0);
	return t;
}

static void test_maglev_pick(void **state)
{
	const __u32 w[] = { 1, 1, 1, 1, 1 };
	struct km_maglev_chunk *t;
	struct km_cluster c;
	struct env *e = mkenv(w, 5, &c);

	(void)state;
	t = maglev_table(e->eps, 5, 1021, &e->n_chunks);
	e->chunks = t;
	c.maglev_size = 1021;
	for (__u64 h = 0; h < 5000; h++) {
		const struct km_endpoint *ep =
			km_pick_maglev(e, e->slot, e->cluster_id, &c, h * 0x9e3779b97f4a7c15ull);

		assert_non_null(ep);
		/* the same key, the same endpoint: the table's entry */
		assert_int_equal(ep->port,
				 ((uint16_t *)t)[(h * 0x9e3779b97f4a7c15ull) % 1021]);
	}
	/* a table that is not there: no pick (refused, never a guess) */
	e->n_chunks = 1;
	assert_null(km_pick_maglev(e, e->slot, e->cluster_id, &c, 1020));
	free(t);
	free(e);
}

/*
 * The figure Maglev promises: with one of N endpoints removed, the keys it
 * owned move (1/N of them, unavoidable) and few others do. Measured over
 * the whole table, the key space: entry i is where every key with hash
 * i mod size goes. Printed as "# maglev ..." lines.
 */
static void test_maglev_disruption(void **state)
{
	static const __u32 ns[] = { 3, 5, 10, 50, 100 };
	const __u32 size = KM_MAGLEV_SIZE_DEFAULT;

	(void)state;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		__u32 n = ns[k], gone = n / 2, moved = 0, owned = 0, nc;
		struct km_endpoint eps[100], less[100];
		struct km_maglev_chunk *a, *b;
		uint16_t *ta, *tb;

		memset(eps, 0, sizeof(eps));
		for (__u32 i = 0; i < n; i++) {
			eps[i].addr.w[2] = htonl(0xffff);
			eps[i].addr.w[3] = htonl(0x0a000001 + i);
			eps[i].port = htons(8080);
			eps[i].weight = 1;
		}
		memcpy(less, eps, gone * sizeof(*eps));
		memcpy(less + gone, eps + gone + 1, (n - gone - 1) * sizeof(*eps));
		a = maglev_table(eps, n, size, &nc);
		b = maglev_table(less, n - 1, size, &nc);
		ta = (uint16_t *)a;
		tb = (uint16_t *)b;
		for (__u32 i = 0; i < size; i++) {
			/* the same endpoint has index j in a, j or j - 1 in b */
			__u32 before = ta[i], after = tb[i] >= gone ? tb[i] + 1u : tb[i];

			if (before == gone)
				owned++;
			else if (before != after)
				moved++;
		}
		printf("# maglev N=%u, table %u: removing one endpoint moves %.2f%% of keys (%.2f%% were its own, %.2f%% of the others' keys moved too)\n",
		       n, size, 100.0 * (owned + moved) / size, 100.0 * owned / size,
		       100.0 * moved / (size - owned));
		/* its own share is 1/N, give or take one entry */
		assert_in_range(owned, size / n - 1, size / n + 1);
		/* the others' keys: a few percent at most */
		assert_true(moved * 100 < (size - owned) * 5);
		free(a);
		free(b);
	}
}

static void test_pick_target(void **state)
{
	struct km_frontend fe = {};
	__u32 counts[2] = {};

	fe.n_targets = 2;
	fe.targets[0] = (struct km_target){ .cluster_id = 10, .cum_weight = 80 };
	fe.targets[1] = (struct km_target){ .cluster_id = 11, .cum_weight = 100 };
	fe.total_weight = 100;
	for (__u32 d = 0; d < 1000; d++)
		counts[km_pick_target(&fe, d) - 10]++;
	assert_int_equal(counts[0], 800);
	assert_int_equal(counts[1], 200);

	fe.n_targets = 1;
	assert_int_equal(km_pick_target(&fe, 12345), 10);
	fe.n_targets = 0;
	assert_int_equal(km_pick_target(&fe, 0), -1);
	fe.n_targets = 2;
	fe.total_weight = 0;
	assert_int_equal(km_pick_target(&fe, 0), -1);
	/* a corrupt count never reads past the array */
	fe.n_targets = 1000;
	fe.total_weight = 200;
	assert_int_equal(km_pick_target(&fe, 150), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_robin_exact),
		cmocka_unit_test(test_weighted_exact_per_cycle),
		cmocka_unit_test(test_weighted_boundaries),
		cmocka_unit_test(test_weighted_max_cluster),
		cmocka_unit_test(test_random_roughly_even),
		cmocka_unit_test(test_no_endpoint_and_missing_record),
		cmocka_unit_test(test_pick_target),
		cmocka_unit_test(test_least_two),
		cmocka_unit_test(test_least_p2c),
		cmocka_unit_test(test_least_weighted),
		cmocka_unit_test(test_maglev_pick),
		cmocka_unit_test(test_maglev_disruption),
	};

	return cmocka_run_group_tests_name("lb", tests, NULL, NULL);
}
