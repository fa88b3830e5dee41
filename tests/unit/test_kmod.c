// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kmod.h"

/* The kernel version gate kmeshd applies before modprobe kmesh. */
static void test_kernel_at_least(void **state)
{
	static const struct {
		const char *release;
		bool ok;
	} rows[] = {
		{ "6.12.95+deb12-amd64", true },
		{ "6.12.0", true },
		{ "6.13.2-arch1", true },
		{ "6.18.44-fc-v669", true },
		{ "7.0.1", true },
		{ "10.2.0", true },
		{ "6.11.9", false },
		{ "6.1.0-50-amd64", false },
		{ "6.2.0", false },	/* 2 < 12 numerically, not "2" > "12" */
		{ "5.15.0-91-generic", false },
		{ "4.19.0", false },
		{ "6", true },		/* unparseable: modprobe decides */
		{ "", true },
		{ "custom-kernel", true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool got = km_kernel_at_least(rows[i].release, KM_KMOD_MIN_MAJOR,
					      KM_KMOD_MIN_MINOR);

		if (got != rows[i].ok)
			fail_msg("'%s': got %d, want %d", rows[i].release, got, rows[i].ok);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_at_least),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
