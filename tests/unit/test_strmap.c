// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "strmap.h"

/* Against a plain array model: puts, replaces, deletes, re-puts, growth. */
static void test_against_model(void **state)
{
	static intptr_t model[20000];
	struct km_strmap m = {};
	char key[32];
	int err;

	srand(1);
	for (int step = 0; step < 200000; step++) {
		int k = rand() % 20000, op = rand() % 3;

		snprintf(key, sizeof(key), "cluster-%d", k);
		if (op < 2) {
			intptr_t v = step + 1;
			void *old = km_strmap_put(&m, key, (void *)v, &err);

			assert_int_equal(err, 0);
			assert_int_equal((intptr_t)old, model[k]);
			model[k] = v;
		} else {
			assert_int_equal((intptr_t)km_strmap_del(&m, key), model[k]);
			model[k] = 0;
		}
	}
	size_t n = 0, i = 0;
	const char *kk;
	void *vv;

	for (int k = 0; k < 20000; k++) {
		snprintf(key, sizeof(key), "cluster-%d", k);
		assert_int_equal((intptr_t)km_strmap_get(&m, key), model[k]);
		n += model[k] != 0;
	}
	assert_int_equal(m.len, n);
	n = 0;
	while (km_strmap_next(&m, &i, &kk, &vv)) {
		assert_non_null(vv);
		n++;
	}
	assert_int_equal(m.len, n);
	km_strmap_free(&m);
	assert_null(km_strmap_get(&m, "cluster-1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests_name("strmap", tests, NULL, NULL);
}
