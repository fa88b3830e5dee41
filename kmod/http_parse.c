// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * HTTP/1.x request-head parser and string matching; the rules and return
 * values are in include/kmesh/http_parse.h.
 *
 * This file is built verbatim into kmesh.ko and into libkmesh.a
 * (userspace/model/http_parse_user.c includes it), so it calls nothing: no
 * libc, no kernel API, only the small helpers below. Every loop advances a
 * cursor that is checked against a bound before each read.
 */
#include "kmesh/http_parse.h"

static bool km_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool km_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 9110 5.6.2 tchar: what a method and a field name are made of. */
static bool km_is_tchar(unsigned char c)
{
	if (km_is_alpha(c) || km_is_digit(c))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|':
	case '~':
		return true;
	}
	return false;
}

/* Visible ASCII only: a target byte the router and every upstream read alike. */
static bool km_is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static bool km_is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* field-value bytes (RFC 9110 5.5): SP, HTAB, VCHAR, obs-text. CR and LF
 * end the value; any other control byte or DEL makes the line invalid. */
static bool km_is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* RFC 3986 unreserved, pct-encoded ('%') and sub-delims: reg-name and IPv4. */
static bool km_is_host_char(unsigned char c)
{
	if (km_is_alpha(c) || km_is_digit(c))
		return true;
	switch (c) {
	case '-': case '.': case '_': case '~': case '%': case '!': case '$':
	case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
	case ';': case '=':
		return true;
	}
	return false;
}

static unsigned char km_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool km_eq(const char *a, const char *b, __u32 n, bool icase)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;
	__u32 i;

	for (i = 0; i < n; i++) {
		if (x[i] == y[i])
			continue;
		if (!icase || km_lower(x[i]) != km_lower(y[i]))
			return false;
	}
	return true;
}

static struct km_http_span km_span(__u32 off, __u32 len)
{
	struct km_http_span s = { .off = (__u16)off, .len = (__u16)len };

	return s;
}

/*
 * host [ ":" *DIGIT ] with host an IP-literal "[...]" or a non-empty
 * reg-name/IPv4. '@' is not a host character, so userinfo is refused here.
 * CONNECT's authority-form must name a port (RFC 9110 9.3.6).
 */
static bool km_authority_ok(const unsigned char *s, __u32 len, bool need_port)
{
	__u32 i = 0;

	if (len == 0)
		return false;
	if (s[0] == '[') {
		for (i = 1; i < len && s[i] != ']'; i++)
			if (!km_is_host_char(s[i]) && s[i] != ':')
				return false;
		if (i == len || i == 1)
			return false;
		i++;
	} else {
		while (i < len && km_is_host_char(s[i]))
			i++;
		if (i == 0)
			return false;
	}
	if (i == len)
		return !need_port;
	if (s[i] != ':')
		return false;
	i++;
	if (need_port && i == len)
		return false;
	for (; i < len; i++)
		if (!km_is_digit(s[i]))
			return false;
	return true;
}

/*
 * Consume a line end at *p: LF or CR LF. out is what running out of bytes
 * means (the CR may be the last byte given: the LF can still come).
 */
static int km_eol(const unsigned char *b, __u32 *p, __u32 end, int out)
{
	if (b[*p] == '\n') {
		(*p)++;
		return 0;
	}
	if (b[*p] != '\r')
		return -EINVAL;
	if (*p + 1 == end)
		return out;
	if (b[*p + 1] != '\n')
		return -EINVAL;
	*p += 2;
	return 0;
}

/* Split the target from path_start on into path and query. */
static void km_split_path(struct km_http_req *req, __u32 off, __u32 len,
			  __u32 path_start, const unsigned char *t)
{
	__u32 i = path_start, q;

	while (i < len && t[i] != '?' && t[i] != '#')
		i++;
	req->path = km_span(off + path_start, i - path_start);
	if (i < len && t[i] == '?') {
		q = ++i;
		while (i < len && t[i] != '#')
			i++;
		req->query = km_span(off + q, i - q);
	} else {
		req->query = km_span(off + i, 0);
	}
}

/*
 * Check the form of the whole target t = b[off, off + len), len >= 1, and
 * fill path, query and, for the forms that carry one, the authority into
 * host. Returns whether the target came with an authority, or -EINVAL.
 */
static int km_parse_target(const unsigned char *b, __u32 off, __u32 len,
			   struct km_http_req *req)
{
	const unsigned char *t = b + off;
	const char *m = (const char *)b + req->method.off;
	__u32 mlen = req->method.len, i, a;

	/* methods are case-sensitive (RFC 9110 9.1) */
	if (mlen == 7 && km_eq(m, "CONNECT", 7, false)) {
		if (!km_authority_ok(t, len, true))
			return -EINVAL;
		req->host = km_span(off, len);
		req->path = km_span(off + len, 0);
		req->query = km_span(off + len, 0);
		return 1;
	}
	if (t[0] == '*') {
		if (len != 1 || mlen != 7 || !km_eq(m, "OPTIONS", 7, false))
			return -EINVAL;
		req->path = km_span(off, 1);
		req->query = km_span(off + 1, 0);
		return 0;
	}
	if (t[0] == '/') {
		km_split_path(req, off, len, 0, t);
		return 0;
	}

	/* absolute-form: scheme "://" authority ... */
	if (!km_is_alpha(t[0]))
		return -EINVAL;
	for (i = 1; i < len; i++)
		if (!km_is_alpha(t[i]) && !km_is_digit(t[i]) && t[i] != '+' &&
		    t[i] != '-' && t[i] != '.')
			break;
	if (len - i < 3 || t[i] != ':' || t[i + 1] != '/' || t[i + 2] != '/')
		return -EINVAL;
	a = i + 3;
	for (i = a; i < len; i++)
		if (t[i] == '/' || t[i] == '?' || t[i] == '#')
			break;
	if (!km_authority_ok(t + a, i - a, false))
		return -EINVAL;
	req->host = km_span(off + a, i - a);
	km_split_path(req, off, len, i, t);
	return 1;
}

int km_http_parse(const char *buf, __u32 len, struct km_http_req *req)
{
	static const char http1[] = "HTTP/1.";
	const unsigned char *b = (const unsigned char *)buf;
	__u32 end = len < KM_HTTP_MAX_HEAD ? len : KM_HTTP_MAX_HEAD;
	/* Out of bytes at the cap: no continuation can make the head fit. */
	int out = end == KM_HTTP_MAX_HEAD ? -E2BIG : KM_HTTP_INCOMPLETE;
	struct km_http_span host_hdr = km_span(0, 0);
	struct km_http_header *h;
	bool host_seen = false;
	int target_auth, ret;
	__u32 p = 0, start, vend, i;

	req->method = req->target = req->path = req->query = km_span(0, 0);
	req->host = km_span(0, 0);
	req->version = 0;
	req->n_headers = 0;
	req->head_len = 0;

	/* method SP */
	while (p < end && km_is_tchar(b[p]))
		p++;
	if (p == end)
		return out;
	if (p == 0 || b[p] != ' ')
		return -EINVAL;
	req->method = km_span(0, p);
	p++;

	/* request-target SP */
	start = p;
	while (p < end && km_is_target_char(b[p]))
		p++;
	if (p == end)
		return out;
	if (p == start || b[p] != ' ')
		return -EINVAL;
	req->target = km_span(start, p - start);
	target_auth = km_parse_target(b, start, p - start, req);
	if (target_auth < 0)
		return target_auth;
	p++;

	/* HTTP-version line end */
	for (i = 0; i < sizeof(http1) - 1; i++, p++) {
		if (p == end)
			return out;
		if (b[p] != (unsigned char)http1[i])
			return -EINVAL;
	}
	if (p == end)
		return out;
	if (b[p] != '0' && b[p] != '1')
		return -EINVAL;
	req->version = b[p] == '1' ? 11 : 10;
	p++;
	if (p == end)
		return out;
	ret = km_eol(b, &p, end, out);
	if (ret)
		return ret;

	/* field lines, up to the empty line; each pass consumes >= 1 byte */
	for (;;) {
		if (p == end)
			return out;
		if (b[p] == '\r' || b[p] == '\n') {
			ret = km_eol(b, &p, end, out);
			if (ret)
				return ret;
			break;
		}
		if (req->n_headers == KM_HTTP_MAX_HEADERS)
			return -E2BIG;
		h = &req->headers[req->n_headers];

		/* An empty name here is a line starting with SP/HTAB (obs-fold)
		 * or ':'; any byte but ':' after the name, SP included, is the
		 * smuggling-prone "name SP :" form. */
		start = p;
		while (p < end && km_is_tchar(b[p]))
			p++;
		if (p == end)
			return out;
		if (p == start || b[p] != ':')
			return -EINVAL;
		h->name = km_span(start, p - start);
		p++;

		while (p < end && km_is_ows(b[p]))
			p++;
		start = vend = p;
		while (p < end && km_is_field_char(b[p])) {
			if (!km_is_ows(b[p]))
				vend = p + 1;
			p++;
		}
		if (p == end)
			return out;
		ret = km_eol(b, &p, end, out);
		if (ret)
			return ret;
		h->value = km_span(start, vend - start);
		req->n_headers++;

		if (h->name.len != 4 ||
		    !km_eq((const char *)b + h->name.off, "host", 4, true))
			continue;
		if (h->value.len &&
		    !km_authority_ok(b + h->value.off, h->value.len, false))
			return -EINVAL;
		if (host_seen &&
		    (host_hdr.len != h->value.len ||
		     !km_eq((const char *)b + host_hdr.off,
			    (const char *)b + h->value.off, h->value.len, true)))
			return -EINVAL;
		/* the first line's bytes, as km_http_header() would find */
		if (!host_seen)
			host_hdr = h->value;
		host_seen = true;
	}

	if (!target_auth)
		req->host = host_hdr;
	req->head_len = (__u16)p;
	return 0;
}

int km_http_header(const struct km_http_req *req, const char *buf,
		   const char *name, __u32 name_len)
{
	const struct km_http_header *h;
	__u32 i;

	for (i = 0; i < KM_HTTP_MAX_HEADERS && i < req->n_headers; i++) {
		h = &req->headers[i];
		if (h->name.len == name_len &&
		    km_eq(buf + h->name.off, name, name_len, true))
			return (int)i;
	}
	return -ENOENT;
}

bool km_str_match(const char *s, __u32 slen, const char *pat, __u32 plen,
		  __u32 kind_flags)
{
	bool icase = kind_flags & KM_MATCH_ICASE;
	__u32 i;

	switch (kind_flags & ~(__u32)KM_MATCH_ICASE) {
	case KM_MATCH_EXACT:
		return slen == plen && km_eq(s, pat, plen, icase);
	case KM_MATCH_PREFIX:
		return plen <= slen && km_eq(s, pat, plen, icase);
	case KM_MATCH_SUFFIX:
		return plen <= slen && km_eq(s + (slen - plen), pat, plen, icase);
	case KM_MATCH_CONTAINS:
		/* plen >= 1 below keeps slen - plen from wrapping the bound */
		if (plen == 0)
			return true;
		if (plen > slen)
			return false;
		for (i = 0; i <= slen - plen; i++)
			if (km_eq(s + i, pat, plen, icase))
				return true;
		return false;
	}
	return false;
}
