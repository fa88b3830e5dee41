// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the safe_regex compiler (userspace/model/
 * regex_dfa.c) and the DFA runner the route matcher uses
 * (include/kmesh/regex_dfa.h). The first input byte picks a mode:
 *
 *   0  raw: the rest up to the first NUL is the pattern (any bytes), after
 *      it the subject. The compiler either refuses with a reason or gives
 *      a table that km_dfa_match() accepts, whose header agrees with its
 *      size and limits; the subject gets 0 or 1.
 *   1  differential: the pattern is written from the bytes over the
 *      alphabet "ab.|()*+?[]^$-" (where RE2 and POSIX ERE agree), the
 *      subject over "abc"; when both compile, the DFA's answer must be
 *      glibc regexec()'s on "^(P)$" (full match, the same language); with
 *      the pattern's top bit, "(?i)P" against REG_ICASE on "abcAB".
 *   2  damaged table: a pattern of mode 1 compiled, then the rest as
 *      (offset, byte) patches over the table; km_dfa_match() answers
 *      -EINVAL, 0 or 1 and (ASan) never reads outside the table, which
 *      sits in a heap buffer of exactly its size.
 * Build and run: tests/fuzz/run.sh regex.
 */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regex_dfa.h"

#include "fuzz.h"

static const char alpha[] = "ab.|()*+?[]^$-";

/* pattern over alpha from bytes: NULL-free, at most 24 characters */
static size_t write_pattern(const uint8_t *d, size_t n, char *re)
{
	size_t k = n < 24 ? n : 24;

	for (size_t i = 0; i < k; i++)
		re[i] = alpha[d[i] % (sizeof(alpha) - 1)];
	re[k] = 0;
	return k;
}

static bool is_quant(char c)
{
	return c == '*' || c == '+' || c == '?';
}

/* Where the two syntaxes part: a repetition with nothing (or an anchor,
 * or another repetition) before it is an error in RE2 and a literal or
 * undefined in ERE. Conservative: brackets are not looked into. */
static bool comparable(const char *re)
{
	for (size_t i = 0; re[i]; i++) {
		if (!is_quant(re[i]))
			continue;
		if (i == 0 || strchr("(|^$*+?", re[i - 1]))
			return false;
	}
	/* ERE has no lazy "??", "*?", "+?", and "[]" edge cases differ:
	 * leave brackets with ']' first, '^]' or '[' inside out */
	return !strstr(re, "[]") && !strstr(re, "[^]") && !strstr(re, "[[");
}

static void *exact(const void *t, size_t len)
{
	void *c = malloc(len);

	CHECK(c);
	memcpy(c, t, len);
	return c;
}

static void check_table(const void *t, size_t len)
{
	const struct km_dfa *h = t;

	CHECK(len == h->size);
	CHECK(len == km_dfa_size(h->n_states, h->n_classes));
	CHECK(h->start < h->n_states);
	CHECK(km_dfa_match(t, len, "", 0) >= 0);
}

static void raw(const uint8_t *d, size_t n)
{
	const uint8_t *nul = memchr(d, 0, n);
	size_t plen = nul ? (size_t)(nul - d) : n;
	char *re = malloc(plen + 1), why[160];
	void *t = NULL, *c;
	size_t len = 0;
	int ret;

	CHECK(re);
	memcpy(re, d, plen);
	re[plen] = 0;
	ret = km_regex_compile(re, &t, &len, why, sizeof(why));
	if (ret) {
		CHECK(ret == -EINVAL && why[0]);
		free(re);
		return;
	}
	c = exact(t, len);
	free(t);
	check_table(c, len);
	if (nul) {
		ret = km_dfa_match(c, len, (const char *)nul + 1,
				   (__u32)(n - plen - 1));
		CHECK(ret == 0 || ret == 1);
	}
	free(c);
	free(re);
}

static void differential(const uint8_t *d, size_t n)
{
	char re[32], mine_re[40], ere[64], subj[64], why[160];
	size_t plen, slen, len;
	bool icase;
	void *t = NULL;
	regex_t rx;
	int mine, theirs;

	if (n < 1)
		return;
	/* the top bit: (?i) here, REG_ICASE there, and upper case subjects */
	icase = d[0] & 0x80;
	plen = write_pattern(d + 1, d[0] % 25 < n - 1 ? d[0] % 25 : n - 1, re);
	d += 1 + plen;
	n -= 1 + plen;
	slen = n < sizeof(subj) - 1 ? n : sizeof(subj) - 1;
	for (size_t i = 0; i < slen; i++)
		subj[i] = "abcAB"[d[i] % (icase ? 5 : 3)];
	subj[slen] = 0;
	snprintf(mine_re, sizeof(mine_re), "%s%s", icase ? "(?i)" : "", re);
	/* glibc folds a bracket range under REG_ICASE its own way ("[+-|]"
	 * loses 'A'): no ranges there */
	if (!comparable(re) || (icase && strchr(re, '-')) ||
	    km_regex_compile(mine_re, &t, &len, why, sizeof(why)))
		return;
	snprintf(ere, sizeof(ere), "^(%s)$", re);
	if (regcomp(&rx, ere, REG_EXTENDED | REG_NOSUB |
		    (icase ? REG_ICASE : 0))) {
		free(t);
		return;
	}
	mine = km_dfa_match(t, len, subj, (__u32)slen);
	theirs = regexec(&rx, subj, 0, NULL, 0) == 0;
	regfree(&rx);
	free(t);
	if (mine != theirs) {
		fprintf(stderr, "'%s' on '%s': dfa %d, regexec %d\n", mine_re,
			subj, mine, theirs);
		CHECK(mine == theirs);
	}
}

static void damaged(const uint8_t *d, size_t n)
{
	static const char *const subj[] = { "", "a", "ab", "abcabc", "ba\xc3\xa9" };
	char re[32], why[160];
	size_t plen, len;
	unsigned char *c;
	void *t = NULL;

	if (n < 1)
		return;
	plen = write_pattern(d + 1, d[0] % 25 < n - 1 ? d[0] % 25 : n - 1, re);
	d += 1 + plen;
	n -= 1 + plen;
	if (km_regex_compile(re, &t, &len, why, sizeof(why)))
		return;
	c = exact(t, len);
	free(t);
	for (size_t i = 0; i + 3 <= n; i += 3)
		c[(d[i] | d[i + 1] << 8) % len] = d[i + 2];
	for (size_t i = 0; i < sizeof(subj) / sizeof(subj[0]); i++) {
		int r = km_dfa_match(c, len, subj[i], strlen(subj[i]));

		CHECK(r == 0 || r == 1 || r == -EINVAL);
	}
	/* and any length the caller says is readable, shorter than it is */
	CHECK(km_dfa_match(c, len / 2, "ab", 2) == -EINVAL ||
	      len / 2 >= ((const struct km_dfa *)c)->size);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		raw(data + 1, size - 1);
		break;
	case 1:
		differential(data + 1, size - 1);
		break;
	case 2:
		damaged(data + 1, size - 1);
		break;
	}
	return 0;
}
