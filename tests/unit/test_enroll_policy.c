// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The enrollment policy section of kmeshd's config (enroll_policy.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config_yaml.h"
#include "enroll_policy.h"

static int load(const char *yaml, struct km_enroll_policy *p, struct km_err *err)
{
	memset(err, 0, sizeof(*err));
	return km_enroll_policy_load_string("mesh.yaml", yaml, strlen(yaml), p, err);
}

static void no_section_meshes_all(void **state)
{
	struct km_enroll_policy p;
	struct km_err err;
	char d[200];

	assert_int_equal(load("static_resources: {}\n", &p, &err), 0);
	assert_false(p.set);
	assert_true(km_enroll_policy_meshed(&p, "anything"));
	km_enroll_policy_describe(&p, d, sizeof(d));
	assert_string_equal(d, "every namespace (no enrollment section)");
	km_enroll_policy_free(&p);
}

static void list_meshes_those(void **state)
{
	struct km_enroll_policy p;
	struct km_err err;
	char d[200];

	assert_int_equal(load("node: {id: n}\nenrollment:\n  namespaces: [shop, demo]\n", &p, &err), 0);
	assert_true(km_enroll_policy_meshed(&p, "shop"));
	assert_true(km_enroll_policy_meshed(&p, "demo"));
	assert_false(km_enroll_policy_meshed(&p, "default"));
	km_enroll_policy_describe(&p, d, sizeof(d));
	assert_string_equal(d, "namespaces shop, demo (mesh.yaml:3)");
	km_enroll_policy_free(&p);
}

static void exclude_meshes_the_rest(void **state)
{
	struct km_enroll_policy p;
	struct km_err err;

	assert_int_equal(load("enrollment: { exclude_namespaces: [kube-system] }\n", &p, &err), 0);
	assert_false(km_enroll_policy_meshed(&p, "kube-system"));
	assert_true(km_enroll_policy_meshed(&p, "shop"));
	km_enroll_policy_free(&p);
}

static void empty_list_meshes_none(void **state)
{
	struct km_enroll_policy p;
	struct km_err err;

	assert_int_equal(load("enrollment: { namespaces: [] }\n", &p, &err), 0);
	assert_false(km_enroll_policy_meshed(&p, "shop"));
	km_enroll_policy_free(&p);
}

/* each refused with file, line and what is wrong */
static void errors_name_line_and_fault(void **state)
{
	static const struct {
		const char *yaml, *msg;
	} cases[] = {
		{ "enrollment: [shop]\n",
		  "mesh.yaml:1: enrollment: expected a mapping with namespaces or exclude_namespaces" },
		{ "node: {}\nenrollment:\n  namespace: [shop]\n",
		  "mesh.yaml:3: enrollment: unknown field 'namespace' (namespaces or exclude_namespaces)" },
		{ "enrollment:\n  namespaces: [a]\n  exclude_namespaces: [b]\n",
		  "mesh.yaml:3: enrollment: namespaces and exclude_namespaces together: give one (the meshed namespaces, or the ones left out)" },
		{ "enrollment:\n  namespaces:\n  - shop\n  - Shop_1\n",
		  "mesh.yaml:4: enrollment: namespaces[1]: 'Shop_1' is not a namespace name (lower-case letters, digits and '-', at most 63)" },
		{ "enrollment:\n  namespaces: [a, a]\n",
		  "mesh.yaml:2: enrollment: namespaces[1]: 'a' is listed twice" },
		{ "enrollment:\n  namespaces: shop\n",
		  "mesh.yaml:2: enrollment: namespaces: expected a list of namespace names" },
		{ "enrollment: {}\n",
		  "mesh.yaml:1: enrollment: empty: give namespaces or exclude_namespaces" },
		{ "enrollment: [\n", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct km_enroll_policy p;
		struct km_err err;

		assert_int_not_equal(load(cases[i].yaml, &p, &err), 0);
		assert_false(p.set);
		if (cases[i].msg)
			assert_string_equal(err.msg, cases[i].msg);
		else
			assert_non_null(strstr(err.msg, "mesh.yaml:2: YAML syntax error"));
	}
}

/* the Envoy reader accepts the section (and only ignores it) */
static void config_reader_accepts_section(void **state)
{
	static const char yaml[] = "enrollment: { namespaces: [shop] }\nstatic_resources: {}\n";
	struct km_model m;
	struct km_err err = {};

	assert_int_equal(km_config_load_string("mesh.yaml", yaml, strlen(yaml), &m, &err), 0);
	km_model_free(&m);
}

static void missing_file_is_no_policy(void **state)
{
	struct km_enroll_policy p;
	struct km_err err = {};

	assert_int_equal(km_enroll_policy_load_file("/nonexistent/mesh.yaml", &p, &err), 0);
	assert_false(p.set);
	assert_int_not_equal(km_enroll_policy_load_file("/dev/null", &p, &err), 0);
	assert_non_null(strstr(err.msg, "/dev/null: not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_section_meshes_all),
		cmocka_unit_test(list_meshes_those),
		cmocka_unit_test(exclude_meshes_the_rest),
		cmocka_unit_test(empty_list_meshes_none),
		cmocka_unit_test(errors_name_line_and_fault),
		cmocka_unit_test(config_reader_accepts_section),
		cmocka_unit_test(missing_file_is_no_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
