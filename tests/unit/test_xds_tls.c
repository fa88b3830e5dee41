// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The xDS client's credentials (userspace/source/xds/tls.c) without a
 * network: the bearer token file (trimmed; refused with a message naming
 * the file when missing, empty, too big or not text) and the CA / client
 * certificate files' errors. The handshake itself is tests/xds/tls.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "grpc_frame.h"
#include "tls.h"

static char dir[] = "/tmp/km-test-tls.XXXXXX";

static const char *file_with(const char *name, const void *data, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void token_ok(const char *content, const char *want)
{
	const char *p = file_with("token", content, strlen(content));
	struct km_err err = {};
	char *hdr = NULL;

	assert_int_equal(km_token_header(p, &hdr, &err), 0);
	assert_string_equal(hdr, want);
	free(hdr);
}

/* the error, which must name the file and contain @what */
static void token_bad(const char *p, int want_ret, const char *what)
{
	struct km_err err = {};
	char *hdr = (char *)1;

	assert_int_equal(km_token_header(p, &hdr, &err), want_ret);
	assert_null(hdr);
	if (!strstr(err.msg, p) || !strstr(err.msg, what))
		fail_msg("'%s': want the path and '%s'", err.msg, what);
}

static void test_token(void **state)
{
	char *big = malloc(KM_TOKEN_MAX + 2);
	const char *p;

	token_ok("eyJhbGciOi.J9.sig\n", "Bearer eyJhbGciOi.J9.sig");
	token_ok("  tok \r\n\n", "Bearer tok");
	/* exactly at the limit is accepted */
	memset(big, 'a', KM_TOKEN_MAX);
	big[KM_TOKEN_MAX] = 0;
	p = file_with("token", big, KM_TOKEN_MAX);
	{
		struct km_err err = {};
		char *hdr = NULL;

		assert_int_equal(km_token_header(p, &hdr, &err), 0);
		assert_int_equal(strlen(hdr), strlen("Bearer ") + KM_TOKEN_MAX);
		free(hdr);
	}
	p = file_with("token", big, KM_TOKEN_MAX + 1);
	token_bad(p, -EINVAL, "over 16384 bytes");
	free(big);

	token_bad(file_with("token", "", 0), -EINVAL, "empty");
	token_bad(file_with("token", " \n\t\n", 4), -EINVAL, "empty");
	token_bad(file_with("token", "two words\n", 10), -EINVAL, "byte 3 is not printable text (0x20)");
	token_bad(file_with("token", "a\0b", 3), -EINVAL, "(0x00)");
	token_bad(file_with("token", "tok\r\nX-Evil: 1", 15), -EINVAL, "(0x0d)");
	{
		char missing[300];

		snprintf(missing, sizeof(missing), "%s/missing", dir);
		token_bad(missing, -ENOENT, "No such file or directory");
	}
}

static void tls_new_bad(const struct km_tls_opts *o, int want_ret, const char *what)
{
	struct km_err err = {};
	struct km_tls *t = (struct km_tls *)1;

	assert_int_equal(km_tls_new(&t, o, &err), want_ret);
	assert_null(t);
	if (!strstr(err.msg, what))
		fail_msg("'%s': want '%s'", err.msg, what);
}

static void test_ca_files(void **state)
{
	char missing[300], ca[300];
	struct km_tls_opts o = { .san = "istiod.istio-system.svc" };

	snprintf(missing, sizeof(missing), "%s/no-ca.pem", dir);
	o.ca_file = missing;
	tls_new_bad(&o, -ENOENT, "CA file");
	tls_new_bad(&o, -ENOENT, "No such file or directory");

	snprintf(ca, sizeof(ca), "%s", file_with("ca.pem", "not a certificate\n", 18));
	o.ca_file = ca;
	tls_new_bad(&o, -EINVAL, "no PEM certificate in it");

	o.san = NULL;
	tls_new_bad(&o, -EINVAL, "expected name");
}

static void test_status_names(void **state)
{
	assert_string_equal(km_grpc_status_name(0), "OK");
	assert_string_equal(km_grpc_status_name(14), "UNAVAILABLE");
	assert_string_equal(km_grpc_status_name(16), "UNAUTHENTICATED");
	assert_string_equal(km_grpc_status_name(17), "unknown code");
	assert_string_equal(km_grpc_status_name(-1), "unknown code");
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_ca_files),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests_name("xds_tls", tests, setup, teardown);
}
