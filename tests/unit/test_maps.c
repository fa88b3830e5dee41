// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The names userspace uses for the BPF object's maps and counters, checked
 * against the object itself (its skeleton, opened, never loaded): a map
 * renamed or added in bpf/lib/maps.h without KM_MAPS, or a counter without
 * its name, fails here instead of at kmeshctl's first open on a node.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "maps.h"
#include "kmesh.skel.h"

static void test_map_names_in_object(void **state)
{
	static const char *const names[] = KM_MAP_NAMES;
	struct kmesh_bpf *skel = kmesh_bpf__open();

	(void)state;
	assert_non_null(skel);
	assert_int_equal(sizeof(names) / sizeof(names[0]),
			 sizeof(struct km_maps) / sizeof(int));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!bpf_object__find_map_by_name(skel->obj, names[i]))
			fail_msg("KM_MAPS names %s, the BPF object has no such map",
				 names[i]);
	/* one per-CPU slot per counter */
	assert_int_equal(bpf_map__max_entries(skel->maps.km_counters),
			 KM_CNT_MAX);
	kmesh_bpf__destroy(skel);
}

static void test_counter_names(void **state)
{
	(void)state;
	for (int i = 0; i < KM_CNT_MAX; i++) {
		assert_non_null(km_counter_names[i]);
		assert_true(km_counter_names[i][0]);
		for (int j = 0; j < i; j++)
			if (!strcmp(km_counter_names[i], km_counter_names[j]))
				fail_msg("counter name %s twice",
					 km_counter_names[i]);
	}
	assert_string_equal(km_counter_names[KM_CNT_ROUTED], "routed");
	assert_string_equal(km_counter_names[KM_CNT_NO_CLUSTER], "no_cluster");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_names_in_object),
		cmocka_unit_test(test_counter_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
