// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for kmod/http_parse.c, the parser kmesh.ko runs on the
 * first bytes an application writes. Besides ASan/UBSan finding memory and
 * UB errors, it checks what the parser promises (include/kmesh/http_parse.h):
 * return values, spans inside the head, the INCOMPLETE rule for split heads,
 * bytes after the head ignored, header lookup, and km_str_match against a
 * naive reference. Build and run: tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmesh/http_parse.h"

#include "fuzz.h"

static int parse_copy(const uint8_t *data, size_t len, struct km_http_req *r)
{
	/* exactly len bytes on the heap, so ASan sees a read past len */
	char *b = malloc(len ? len : 1);
	int ret;

	memcpy(b, data, len);
	memset(r, 0, sizeof(*r));
	ret = km_http_parse(b, (__u32)len, r);
	free(b);
	return ret;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ref_eq(const char *a, const char *b, size_t n, int icase)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = a[i], y = b[i];

		if (icase ? lower(x) != lower(y) : x != y)
			return 0;
	}
	return 1;
}

static bool ref_match(const char *s, size_t sl, const char *p, size_t pl,
		      __u32 flags)
{
	int ic = !!(flags & KM_MATCH_ICASE);

	switch (flags & ~(__u32)KM_MATCH_ICASE) {
	case KM_MATCH_EXACT:
		return sl == pl && ref_eq(s, p, pl, ic);
	case KM_MATCH_PREFIX:
		return pl <= sl && ref_eq(s, p, pl, ic);
	case KM_MATCH_SUFFIX:
		return pl <= sl && ref_eq(s + sl - pl, p, pl, ic);
	case KM_MATCH_CONTAINS:
		for (size_t i = 0; i + pl <= sl; i++)
			if (ref_eq(s + i, p, pl, ic))
				return true;
		return false;
	}
	return false;
}

static void check_match_all(const char *s, size_t sl, const char *p, size_t pl)
{
	for (__u32 kind = 0; kind <= KM_MATCH_CONTAINS + 1; kind++)
		for (int ic = 0; ic < 2; ic++) {
			__u32 f = kind | (ic ? KM_MATCH_ICASE : 0);

			CHECK(km_str_match(s, (__u32)sl, p, (__u32)pl, f) ==
			      ref_match(s, sl, p, pl, f));
		}
}

static void check_span(struct km_http_span sp, const struct km_http_req *r,
		       const uint8_t *data)
{
	CHECK((__u32)sp.off + sp.len <= r->head_len);
	/* no span holds a line end or NUL */
	for (__u32 i = 0; i < sp.len; i++) {
		uint8_t c = data[sp.off + i];

		CHECK(c != '\r' && c != '\n' && c != 0);
	}
}

static int span_eq(const uint8_t *d, struct km_http_span a,
		   struct km_http_span b)
{
	return a.len == b.len && memcmp(d + a.off, d + b.off, a.len) == 0;
}

static void check_head(const uint8_t *data, size_t size,
		       const struct km_http_req *r)
{
	const char *buf = (const char *)data;
	int host_found = 0;

	CHECK(r->head_len >= 14 && r->head_len <= size &&
	      r->head_len <= KM_HTTP_MAX_HEAD);
	CHECK(r->version == 10 || r->version == 11);
	CHECK(r->n_headers <= KM_HTTP_MAX_HEADERS);
	/* the head ends with an empty line */
	CHECK(data[r->head_len - 1] == '\n');
	CHECK(data[r->head_len - 2] == '\n' ||
	      (data[r->head_len - 2] == '\r' && data[r->head_len - 3] == '\n'));

	check_span(r->method, r, data);
	check_span(r->target, r, data);
	check_span(r->path, r, data);
	check_span(r->query, r, data);
	check_span(r->host, r, data);
	CHECK(r->method.off == 0 && r->method.len > 0);
	CHECK(data[r->method.len] == ' ');
	CHECK(r->target.off == r->method.len + 1 && r->target.len > 0);
	CHECK(data[r->target.off + r->target.len] == ' ');
	for (__u32 i = 0; i < r->target.len; i++)
		CHECK(data[r->target.off + i] > 0x20 &&
		      data[r->target.off + i] < 0x7f);
	/* path and query are pieces of the target */
	CHECK(r->path.off >= r->target.off &&
	      r->path.off + r->path.len <= r->target.off + r->target.len);
	CHECK(r->query.off >= r->path.off + r->path.len &&
	      r->query.off + r->query.len <= r->target.off + r->target.len);
	if (r->query.len)
		CHECK(data[r->query.off - 1] == '?');
	for (__u32 i = 0; i < r->path.len; i++)
		CHECK(data[r->path.off + i] != '?' && data[r->path.off + i] != '#');

	for (int i = 0; i < r->n_headers; i++) {
		const struct km_http_header *h = &r->headers[i];
		int j;

		check_span(h->name, r, data);
		check_span(h->value, r, data);
		CHECK(h->name.len > 0 && data[h->name.off + h->name.len] == ':');
		if (h->value.len) {
			uint8_t a = data[h->value.off];
			uint8_t z = data[h->value.off + h->value.len - 1];

			CHECK(a != ' ' && a != '\t' && z != ' ' && z != '\t');
		}
		/* first match wins, whatever the case of the name asked */
		j = km_http_header(r, buf, buf + h->name.off, h->name.len);
		CHECK(j >= 0 && j <= i);
		CHECK(ref_eq(buf + r->headers[j].name.off, buf + h->name.off,
			     h->name.len, 1));
		for (int k = 0; k < j; k++)
			CHECK(r->headers[k].name.len != h->name.len ||
			      !ref_eq(buf + r->headers[k].name.off,
				      buf + h->name.off, h->name.len, 1));
		if (h->name.len == 4 && ref_eq(buf + h->name.off, "host", 4, 1)) {
			/* several Host lines agree, up to case */
			if (host_found)
				CHECK(h->value.len == r->headers[j].value.len &&
				      ref_eq(buf + h->value.off,
					     buf + r->headers[j].value.off,
					     h->value.len, 1));
			host_found = 1;
		}
		check_match_all(buf + h->value.off, h->value.len,
				buf + r->path.off, r->path.len);
	}
	/* host is the target's authority, or the (first) Host value */
	if (r->host.len && !(r->host.off >= r->target.off &&
			     r->host.off < r->target.off + r->target.len)) {
		int j = km_http_header(r, buf, "HOST", 4);

		CHECK(j >= 0 && span_eq(data, r->host, r->headers[j].value));
	}
	CHECK(km_http_header(r, buf, "", 0) == -ENOENT);

	check_match_all(buf + r->path.off, r->path.len, buf + r->query.off,
			r->query.len);
	check_match_all(buf + r->target.off, r->target.len, buf + r->host.off,
			r->host.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct km_http_req r, again;
	int ret;

	if (size > UINT32_MAX)
		return 0;
	ret = km_http_parse((const char *)data, (__u32)size, &r);
	CHECK(ret == 0 || ret == KM_HTTP_INCOMPLETE || ret == -EINVAL ||
	      ret == -E2BIG);
	if (ret == KM_HTTP_INCOMPLETE)
		CHECK(size < KM_HTTP_MAX_HEAD);

	/* km_str_match on raw bytes: data[1..1+k) against the rest */
	if (size > 1) {
		size_t k = data[0] % size;

		check_match_all((const char *)data + 1, k,
				(const char *)data + 1 + k, size - 1 - k);
	}

	if (ret != 0)
		return 0;
	check_head(data, size, &r);

	/* only the head was read: the head alone gives the same result */
	CHECK(parse_copy(data, r.head_len, &again) == 0);
	CHECK(memcmp(&r.method, &again.method, offsetof(struct km_http_req,
	      headers) + r.n_headers * sizeof(r.headers[0])) == 0);
	/* a split head is INCOMPLETE at any cut */
	CHECK(parse_copy(data, r.head_len - 1, &again) == KM_HTTP_INCOMPLETE);
	CHECK(parse_copy(data, r.head_len / 2, &again) == KM_HTTP_INCOMPLETE);
	CHECK(parse_copy(data, (size_t)data[r.head_len - 2] * r.head_len / 256,
			 &again) == KM_HTTP_INCOMPLETE);
	return 0;
}
