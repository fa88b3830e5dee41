// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * safe_regex -> DFA (userspace/model/regex_dfa.c) and the DFA runner the
 * route matcher uses (include/kmesh/regex_dfa.h):
 *   - match rows: a pattern and inputs with RE2 FullMatch's answer (what
 *     Envoy's safe_regex gives; the expectations follow RE2's syntax page);
 *   - reject rows: a pattern and the exact reason the compiler gives;
 *   - the state limit: a pattern whose DFA needs 2^k states compiles up to
 *     the limit and is refused past it;
 *   - damaged tables: every header field and every table byte changed, the
 *     runner answers -EINVAL or 0/1, never reads outside (each table sits in
 *     a heap buffer of exactly its size: ASan, valgrind);
 *   - hostile inputs: patterns that make backtracking engines exponential,
 *     against inputs as long as a request head, give the right answer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "regex_dfa.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void *compile_or_fail(const char *re, size_t *len)
{
	char why[160];
	void *t = NULL, *c;

	if (km_regex_compile(re, &t, len, why, sizeof(why)))
		fail_msg("'%s' does not compile: %s", re, why);
	/* exactly its size on the heap: an over-read is an ASan error */
	c = malloc(*len);
	assert_non_null(c);
	memcpy(c, t, *len);
	free(t);
	return c;
}

static int run(const void *t, size_t len, const char *s, size_t n)
{
	return km_dfa_match(t, (__u32)len, s, (__u32)n);
}

/* ---- match rows ---------------------------------------------------------------- */

#define MAX_IN 8

struct match_row {
	const char *re;
	const char *yes[MAX_IN];
	const char *no[MAX_IN];
};

static const struct match_row match_rows[] = {
	/* the whole value, not a part of it (FullMatch) */
	{ "/r/[0-9]+", { "/r/1", "/r/0099" }, { "/r/", "/r/1x", "x/r/1", "/r/1/" } },
	{ "abc", { "abc" }, { "ab", "abcd", "xabc", "" } },
	{ "", { "" }, { "a" } },
	/* anchors are redundant at the ends, impossible inside */
	{ "^/api/v[12]/.*$", { "/api/v1/", "/api/v2/x/y" }, { "/api/v3/", "/api/v1" } },
	{ "\\A/a\\z", { "/a" }, { "/a/" } },
	{ "a$b", {}, { "ab", "a", "b" } },
	{ "(a^)?b", { "b" }, { "ab" } },
	{ "^$", { "" }, { "a" } },
	{ "(^a|b)+", { "a", "ab", "bbb", "abb" }, { "ba", "aa" } },
	/* alternation, groups */
	{ "GET|POST", { "GET", "POST" }, { "PUT", "GETPOST", "" } },
	{ "a|", { "a", "" }, { "aa" } },
	{ "(?:ab)+c", { "abc", "ababc" }, { "c", "abac" } },
	{ "(?P<ver>v[0-9])/(?<rest>.*)", { "v1/", "v2/x" }, { "v/x" } },
	{ "()", { "" }, { "a" } },
	/* repetition */
	{ "a*", { "", "a", "aaaa" }, { "b", "ab" } },
	{ "a+", { "a", "aaa" }, { "" } },
	{ "a?b", { "b", "ab" }, { "aab" } },
	{ "a{2}", { "aa" }, { "a", "aaa" } },
	{ "a{2,}", { "aa", "aaaaaa" }, { "a" } },
	{ "a{2,4}", { "aa", "aaa", "aaaa" }, { "a", "aaaaa" } },
	{ "a{0}b", { "b" }, { "ab" } },
	{ "(ab){0,2}", { "", "ab", "abab" }, { "ababab", "a" } },
	{ "a*?b+?c??", { "b", "aabbc" }, { "c" } },
	{ "(a*)*", { "", "aaa" }, { "b" } },
	{ "(a|b)*abb", { "abb", "aababb" }, { "ab", "abba" } },
	/* '{' that is no repetition is a literal (RE2) */
	{ "a{,3}", { "a{,3}" }, { "aaa" } },
	{ "a{x}", { "a{x}" }, { "a" } },
	{ "{", { "{" }, { "" } },
	/* classes */
	{ "[abc]+", { "cab" }, { "abd" } },
	{ "[a-z0-9_-]+", { "a-b_9" }, { "A", "a.b" } },
	{ "[]a]", { "]", "a" }, { "b" } },
	{ "[^]a]", { "b" }, { "]", "a" } },
	{ "[-a]", { "-", "a" }, { "b" } },
	{ "[a-]", { "-", "a" }, { "b" } },
	{ "[\\]\\\\]", { "]", "\\" }, { "a" } },
	{ "[\\d\\s]+", { "1 2\t3" }, { "a" } },
	{ "[^/]+", { "abc", "\xc3\xa9" }, { "a/b", "" } },
	{ "[^a]", { "\n", "\xe2\x82\xac" }, { "a", "\xe2\x82", "\x80" } },
	{ "[[:alpha:]]+[[:^digit:]]", { "abc", "ab-" }, { "ab1" } },
	{ "[[:xdigit:]]{4}", { "0aF9" }, { "0aG9" } },
	{ "[[:punct:][:space:]]+", { "!/ \t" }, { "a" } },
	{ "[\\D]", { "a", "\xc3\xa9" }, { "1" } },
	{ "[^\\D]", { "7" }, { "a", "\xc3\xa9" } },
	/* Perl classes */
	{ "\\d+", { "0123456789" }, { "12a" } },
	{ "\\D", { "a", "\xc3\xa9" }, { "1" } },
	{ "\\w+", { "aZ_9" }, { "a-b" } },
	{ "\\W", { "-", "\xc3\xa9" }, { "a" } },
	{ "\\s", { " ", "\t", "\n", "\f", "\r" }, { "\v", "a" } },
	{ "\\S", { "a" }, { " " } },
	/* '.' is one character, not '\n', UTF-8 aware */
	{ "x.y", { "xay", "x\xc3\xa9y", "x\xe2\x82\xacy", "x\xf0\x9f\x98\x80y" },
	  { "x\ny", "xy", "x\xc3y", "x\x80y", "xaay" } },
	{ ".*", { "", "anything at all" }, { "a\nb" } },
	/* escapes */
	{ "a\\.b", { "a.b" }, { "axb" } },
	{ "\\/\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$", { "/*+?()[]{}|^$" }, { "" } },
	{ "\\x41\\x{e9}", { "A\xc3\xa9" }, { "Ae" } },
	{ "\\t\\n\\r\\f\\v\\a", { "\t\n\r\f\v\a" }, { "" } },
	{ "\\101", { "A" }, { "a" } },
	/* literal UTF-8 is one atom for repetition */
	{ "caf\xc3\xa9+", { "caf\xc3\xa9", "caf\xc3\xa9\xc3\xa9" }, { "caf\xc3\xa9\xa9" } },
	/* (?i): ASCII case folding, for the rest of the group or inside */
	{ "(?i)abc", { "abc", "ABC", "aBc" }, { "abd" } },
	{ "a(?i)b", { "ab", "aB" }, { "AB", "Ab" } },
	{ "(?i:a)b", { "ab", "Ab" }, { "AB", "aB" } },
	{ "((?i)a)b", { "Ab" }, { "aB" } },
	{ "(?i)a(?-i)b", { "Ab", "ab" }, { "AB" } },
	{ "(?i)x|y", { "X", "Y" }, { "xy" } },
	{ "(?i)[a-c]+[[:lower:]]", { "AbCd", "abcD" }, { "AbC1" } },
	{ "(?i)[^a]", { "b", "B", "1", "\xc3\xa9" }, { "a", "A" } },
	{ "(?i)\\x41\\d", { "a1", "A1" }, { "b1" } },
	/* Envoy/Istio shapes */
	{ "/productpage|/static/.*|/login|/logout|/api/v1/products.*",
	  { "/productpage", "/static/x.css", "/api/v1/products/1" }, { "/productpages", "/login/" } },
	{ "^(v1|v2)\\.[0-9]+$", { "v1.0", "v2.15" }, { "v3.1", "v1." } },
	{ ".*\\.(jpg|png|gif)", { "/a/b.png" }, { "/a/b.pngx" } },
};

static void test_match(void **state)
{
	const struct match_row *r = *state;
	size_t len;
	void *t = compile_or_fail(r->re, &len);

	for (int i = 0; i < MAX_IN && r->yes[i]; i++)
		if (run(t, len, r->yes[i], strlen(r->yes[i])) != 1)
			fail_msg("'%s' should match '%s'", r->re, r->yes[i]);
	for (int i = 0; i < MAX_IN && r->no[i]; i++)
		if (run(t, len, r->no[i], strlen(r->no[i])) != 0)
			fail_msg("'%s' should not match '%s'", r->re, r->no[i]);
	free(t);
}

/* NUL is a byte like any other in a value */
static void test_nul_byte(void **state)
{
	size_t len;
	void *t = compile_or_fail("a\\x00b", &len);

	assert_int_equal(run(t, len, "a\0b", 3), 1);
	assert_int_equal(run(t, len, "a\0", 2), 0);
	free(t);
}

/* ---- reject rows ---------------------------------------------------------------------- */

struct reject_row {
	const char *re;
	const char *why;
};

static const struct reject_row reject_rows[] = {
	{ "(a)\\1", "backreference \\1 at offset 3 is not supported (RE2 has none)" },
	{ "\\9", "backreference \\9 at offset 0 is not supported (RE2 has none)" },
	{ "a(?=b)", "lookahead (?= at offset 1 is not supported (RE2 has none)" },
	{ "a(?!b)", "lookahead (?! at offset 1 is not supported (RE2 has none)" },
	{ "(?<=a)b", "lookbehind (?<= at offset 0 is not supported (RE2 has none)" },
	{ "(?<!a)b", "lookbehind (?<! at offset 0 is not supported (RE2 has none)" },
	{ "a\\bb", "word boundary \\b at offset 1 is not supported" },
	{ "\\B", "word boundary \\B at offset 0 is not supported" },
	{ "\\pL", "Unicode class \\p at offset 0 is not supported" },
	{ "\\P{Greek}", "Unicode class \\P at offset 0 is not supported" },
	{ "(?s:.)", "flag s in the group at offset 0 is not supported (only i)" },
	{ "a(?im)b", "flag m in the group at offset 1 is not supported (only i)" },
	{ "(?U)a*", "flag U in the group at offset 0 is not supported (only i)" },
	{ "(?x)a", "bad flags group at offset 0" },
	{ "(?-)a", "bad flags group at offset 0" },
	{ "(?i", "bad flags group at offset 0" },
	{ "(?i:ab", "missing ) for the group at offset 0" },
	{ "(?i)caf\xc3\xa9", "(?i) on the non-ASCII character at offset 7 is not supported (RE2 folds Unicode case)" },
	{ "(?i)\\x{e9}", "(?i) on the non-ASCII character at offset 4 is not supported (RE2 folds Unicode case)" },
	{ "\\Qa.b\\E", "\\Q...\\E quoting at offset 0 is not supported" },
	{ "\\C", "\\C (any byte) at offset 0 is not supported" },
	{ "\\Z", "unknown escape \\Z at offset 0" },
	{ "\\y", "unknown escape \\y at offset 0" },
	{ "a\\", "trailing backslash at offset 1" },
	{ "\\xZZ", "bad escape \\x at offset 0 (two hex digits or \\x{...})" },
	{ "\\x{110000}", "bad escape \\x{...} at offset 0" },
	{ "[\\x{e9}]", "non-ASCII character in a character class at offset 1 is not supported" },
	{ "[\xc3\xa9]", "non-ASCII character in a character class at offset 1 is not supported" },
	{ "[a\\zb]", "anchor \\z inside a character class at offset 2" },
	{ "[[:alfa:]]", "unknown POSIX class at offset 1" },
	{ "[abc", "missing ] for the class at offset 0" },
	{ "[z-a]", "bad range in the class at offset 1" },
	{ "[a-\\d]", "bad range in the class at offset 1" },
	{ "[\\x62-\\x61]", "bad range in the class at offset 1" },
	{ "(ab", "missing ) for the group at offset 0" },
	{ "ab)", "unexpected ) at offset 2" },
	{ "(?P<>a)", "bad named group at offset 0" },
	{ "(?P<a-b>a)", "bad named group at offset 0" },
	{ "*a", "missing argument to repetition operator * at offset 0" },
	{ "a|+", "missing argument to repetition operator + at offset 2" },
	{ "(?)", "bad flags group at offset 0" },
	{ "a**", "bad repetition operator at offset 2 (a repetition of a repetition)" },
	{ "a+{2}", "bad repetition operator at offset 2 (a repetition of a repetition)" },
	{ "a{3,2}", "bad repetition {3,2} at offset 1" },
	{ "a{101}", "repetition count over 100 at offset 1" },
	{ "a{1,1000}", "repetition count over 100 at offset 1" },
	{ "\xff", "invalid UTF-8 at offset 0" },
	{ "a\xc3", "invalid UTF-8 at offset 1" },
	{ "\xed\xa0", "invalid UTF-8 at offset 0" },
	/* hostile sizes */
	{ "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
	  "groups nested deeper than 32 at offset 32" },
	{ "(.{100}){100}", "the pattern is too large (over 2048 NFA nodes; fewer or smaller repetitions)" },
	{ "((a{100}){100}){100}", "the pattern is too large (over 2048 NFA nodes; fewer or smaller repetitions)" },
	{ ".*x.{9}",
	  "the DFA would need more than 1024 states (limits: 1024 states, 16384 transitions; 7 byte classes here)" },
	{ "(a|b)*a(a|b){10}",
	  "the DFA would need more than 1024 states (limits: 1024 states, 16384 transitions; 3 byte classes here)" },
};

static void test_reject(void **state)
{
	const struct reject_row *r = *state;
	char why[160] = "unchanged";
	void *t = (void *)&why;
	size_t len = 7;

	assert_int_equal(km_regex_compile(r->re, &t, &len, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, r->why);
	/* *out untouched */
	assert_ptr_equal(t, (void *)&why);
	assert_int_equal(len, 7);
	/* the check-only form says the same */
	assert_int_equal(km_regex_compile(r->re, NULL, NULL, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, r->why);
}

static void test_too_long(void **state)
{
	char re[KM_RE_MAX_PATTERN + 2], why[160];

	memset(re, 'a', sizeof(re) - 1);
	re[sizeof(re) - 1] = 0;
	assert_int_equal(km_regex_compile(re, NULL, NULL, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "the pattern is 256 bytes long, limit is 255");
	re[sizeof(re) - 2] = 0;
	assert_int_equal(km_regex_compile(re, NULL, NULL, why, sizeof(why)), 0);
}

/* ---- the state limit --------------------------------------------------------------------- */

/* (a|b)*a(a|b){k}: "the (k+1)th byte from the end is an a" needs 2^(k+1)
 * DFA states (+ dead): under the limit up to k = 8, refused from k = 9
 * (1026 states for 3 classes). */
static void test_state_limit(void **state)
{
	char re[64], why[160];
	void *t;
	size_t len;

	for (int k = 1; k <= 12; k++) {
		snprintf(re, sizeof(re), "(a|b)*a(a|b){%d}", k);
		int ret = km_regex_compile(re, &t, &len, why, sizeof(why));

		if (k <= 8) {
			const struct km_dfa *h = t;

			if (ret)
				fail_msg("%s: %s", re, why);
			assert_true(h->n_states <= KM_DFA_MAX_STATES);
			assert_true(h->n_states >= 1u << (k + 1));
			assert_int_equal(h->n_classes, 3);
			assert_int_equal(h->size, len);
			/* it still answers right at its size */
			char in[32];

			memset(in, 'b', sizeof(in));
			in[31 - k] = 'a';
			assert_int_equal(run(t, len, in, 32), 1);
			in[31 - k] = 'b';
			in[30 - k] = 'a';
			assert_int_equal(run(t, len, in, 32), 0);
			free(t);
		} else {
			assert_int_equal(ret, -EINVAL);
			assert_non_null(strstr(why, "the DFA would need more than 1024 states"));
		}
	}
}

/* Byte classes keep a table small: a pattern naming a few bytes has a few
 * columns, not 256. */
static void test_byte_classes(void **state)
{
	size_t len;
	const struct km_dfa *h = compile_or_fail("/api/v[0-9]+/users/[a-z]+", &len);

	/* '/', 'a', 'p', 'i', 'v', 'u', 's', 'e', 'r', [0-9], [a-z] others,
	 * everything else */
	assert_true(h->n_classes <= 12);
	assert_int_equal(len, km_dfa_size(h->n_states, h->n_classes));
	free((void *)h);
}

/* ---- damaged tables ----------------------------------------------------------------------- */

static const char *const probes[] = {
	"", "a", "/r/12", "/api/v1/users/bob", "\xff\xfe", "x\xc3\xa9y",
};

static void run_probes(const void *t, size_t len)
{
	for (size_t i = 0; i < NELEM(probes); i++) {
		int r = run(t, len, probes[i], strlen(probes[i]));

		assert_true(r == 0 || r == 1 || r == -EINVAL);
	}
}

static void test_damaged(void **state)
{
	size_t len;
	unsigned char *t = compile_or_fail("/api/v[0-9]+/(users|x.)/[a-z]+", &len);
	const char *ok = "/api/v1/users/bob";

	assert_int_equal(run(t, len, ok, strlen(ok)), 1);
	/* every byte, several values */
	for (size_t i = 0; i < len; i++) {
		unsigned char was = t[i];
		static const unsigned char vals[] = { 0, 1, 0x7f, 0x80, 0xff };

		for (size_t v = 0; v < NELEM(vals); v++) {
			t[i] = vals[v];
			run_probes(t, len);
			t[i] = was ^ 0xff;
			run_probes(t, len);
		}
		t[i] = was;
	}
	/* every truncation: the size in the header no longer fits */
	for (size_t n = 0; n < len; n++) {
		unsigned char *c = malloc(n ? n : 1);

		memcpy(c, t, n);
		assert_int_equal(run(c, n, ok, strlen(ok)), -EINVAL);
		free(c);
	}
	free(t);
}

/* A header whose dimensions and size agree but whose next states point
 * past the table: refused on the first such step. */
static void test_bad_next_state(void **state)
{
	size_t len;
	unsigned char *t = compile_or_fail("ab", &len);
	const struct km_dfa *h = (const void *)t;
	__u16 *trans = (__u16 *)(t + km_dfa_trans_off(h->n_states));

	for (size_t i = 0; i < (size_t)h->n_states * h->n_classes; i++)
		trans[i] = h->n_states;	/* one past the last */
	assert_int_equal(run(t, len, "ab", 2), -EINVAL);
	/* no input, no step: the start state's own answer */
	assert_int_equal(run(t, len, "", 0), 0);
	free(t);
}

/* ---- hostile inputs ---------------------------------------------------------------------- */

/* Patterns that take a backtracking engine exponential time on a near
 * miss, against values as long as a request head: one step per byte here,
 * so they answer like any other (no time is measured: the runner has no
 * other loop than the one over the input). */
static void test_hostile_inputs(void **state)
{
	static const char *const res[] = {
		"(a|aa)*b", "(a+)+b", "(a*)*b", "(.*a){12}b", "(x+x+)+y",
		"(\\w+\\s?)*$x", "(a|a?)+b",
	};
	static char in[8192];
	size_t len;

	memset(in, 'a', sizeof(in));
	memcpy(in + sizeof(in) - 16, "xxxxxxxxxxxxxxxx", 16);
	for (size_t i = 0; i < NELEM(res); i++) {
		void *t = compile_or_fail(res[i], &len);

		/* all a's: no 'b' or 'y' at the end */
		assert_int_equal(run(t, len, in, sizeof(in) - 16), 0);
		assert_int_equal(run(t, len, in, sizeof(in)), 0);
		free(t);
	}
	/* and a long match is found */
	void *t = compile_or_fail("(a|aa)*b", &len);

	in[4000] = 'b';
	assert_int_equal(run(t, len, in, 4001), 1);
	free(t);
}

int main(void)
{
	struct CMUnitTest t[NELEM(match_rows) + NELEM(reject_rows) + 16];
	static char names[NELEM(match_rows) + NELEM(reject_rows)][96];
	size_t n = 0, k = 0;

	for (size_t i = 0; i < NELEM(match_rows); i++, k++) {
		snprintf(names[k], sizeof(names[k]), "match: %s", match_rows[i].re);
		t[n++] = (struct CMUnitTest){ names[k], test_match, NULL, NULL,
					      (void *)&match_rows[i] };
	}
	for (size_t i = 0; i < NELEM(reject_rows); i++, k++) {
		snprintf(names[k], sizeof(names[k]), "reject: %s", reject_rows[i].re);
		t[n++] = (struct CMUnitTest){ names[k], test_reject, NULL, NULL,
					      (void *)&reject_rows[i] };
	}
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_nul_byte);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_too_long);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_state_limit);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_byte_classes);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_damaged);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_next_state);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_hostile_inputs);
	return _cmocka_run_group_tests("regex", t, n, NULL, NULL);
}
