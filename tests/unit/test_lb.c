// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* LB selection: the exact code the connect programs run (lb_pick.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kmesh/abi.h"

/* The test's "map": one cluster's endpoints by index. */
struct env {
	__u32 cluster_id;
	__u8 slot;
	__u32 n;
	struct km_endpoint eps[KM_MAX_CLUSTER_ENDPOINTS];
	__u32 lookups;
	__s64 missing;	/* index that pretends to be absent, or -1 */
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

#include "kmesh/lb_pick.h"

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
	};

	return cmocka_run_group_tests_name("lb", tests, NULL, NULL);
}
