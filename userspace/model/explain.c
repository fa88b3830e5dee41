// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `kmeshctl explain`'s core (explain.h): a request -> HTTP/1.1 head ->
 * km_http_parse() -> km_route_match(), the code kmesh.ko runs.
 *
 * The details the kernel does not report (which domain of the virtual host
 * won, which matcher of a route failed) come from the same matcher run on
 * "probe" tables: tiny tables built here from pieces of the real one, e.g.
 * one virtual host per domain, so the virtual host the matcher picks names
 * the domain. No matching rule is written twice.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "kmesh/regex_dfa.h"

/* ---- reading a table -------------------------------------------------------- */

/* The bytes of the blob its head vouches for: min(len, head.len). */
static size_t view_len(const void *blob, size_t len)
{
	const struct km_rt_head *h = km_rt_view_head(blob, len);

	return h ? h->len : 0;
}

/* blob + off if [off, off + size) lies in the blob and off is 4-aligned. */
static const void *view_at(const void *blob, size_t len, uint64_t off,
			   size_t size)
{
	size_t hl = view_len(blob, len);

	if (off > hl || size > hl - off || (off & 3))
		return NULL;
	return (const unsigned char *)blob + off;
}

const struct km_rt_head *km_rt_view_head(const void *blob, size_t len)
{
	const struct km_rt_head *h = blob;

	if (!blob || len < sizeof(*h) || ((uintptr_t)blob & 3))
		return NULL;
	if (h->magic != KM_RT_MAGIC || h->version != KM_RT_VERSION ||
	    h->len < sizeof(*h) || h->len > len ||
	    h->len > KM_ROUTE_TABLE_BIG || h->n_vhosts > KM_MAX_VHOSTS)
		return NULL;
	return h;
}

const struct km_rt_vhost *km_rt_view_vhost(const void *blob, size_t len,
					   unsigned int vi)
{
	const struct km_rt_head *h = km_rt_view_head(blob, len);
	const struct km_rt_vhost *v;

	if (!h || vi >= h->n_vhosts)
		return NULL;
	v = view_at(blob, len, h->vhost_off + (uint64_t)vi * sizeof(*v),
		    sizeof(*v));
	if (!v || v->n_domains > KM_MAX_DOMAINS || v->n_routes > KM_MAX_ROUTES)
		return NULL;
	return v;
}

const struct km_rt_domain *km_rt_view_domain(const void *blob, size_t len,
					     unsigned int vi, unsigned int di)
{
	const struct km_rt_vhost *v = km_rt_view_vhost(blob, len, vi);
	const struct km_rt_domain *d;

	if (!v || di >= v->n_domains)
		return NULL;
	return view_at(blob, len, v->domain_off + (uint64_t)di * sizeof(*d),
		       sizeof(*d));
}

const struct km_rt_route *km_rt_view_route(const void *blob, size_t len,
					   unsigned int vi, unsigned int ri)
{
	const struct km_rt_vhost *v = km_rt_view_vhost(blob, len, vi);
	const struct km_rt_route *r;

	if (!v || ri >= v->n_routes)
		return NULL;
	r = view_at(blob, len, v->route_off + (uint64_t)ri * sizeof(*r),
		    sizeof(*r));
	if (!r || r->n_headers > KM_MAX_HEADER_MATCHES ||
	    r->n_targets > KM_MAX_WEIGHTED)
		return NULL;
	return r;
}

const struct km_rt_header_match *km_rt_view_header(const void *blob,
						   size_t len, unsigned int vi,
						   unsigned int ri,
						   unsigned int hi)
{
	const struct km_rt_route *r = km_rt_view_route(blob, len, vi, ri);
	const struct km_rt_header_match *m;

	if (!r || hi >= r->n_headers)
		return NULL;
	return view_at(blob, len, r->header_off + (uint64_t)hi * sizeof(*m),
		       sizeof(*m));
}

/* The raw string, or NULL when outside the blob. */
static const char *view_raw(const void *blob, size_t len, __u32 off, __u32 n)
{
	size_t hl = view_len(blob, len);

	if (n > KM_RT_STR_MAX || off > hl || n > hl - off)
		return NULL;
	return (const char *)blob + off;
}

const char *km_rt_view_str(const void *blob, size_t len, __u32 off, __u32 n,
			   char *buf, size_t size)
{
	const char *s = view_raw(blob, len, off, n);
	size_t i;

	if (!s) {
		snprintf(buf, size, "?");
		return buf;
	}
	for (i = 0; i < n && i + 1 < size; i++) {
		unsigned char c = s[i];

		buf[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	buf[i] = 0;
	return buf;
}

const char *km_rt_domain_kind_name(unsigned int kind)
{
	switch (kind) {
	case KM_RT_DOM_EXACT: return "exact";
	case KM_RT_DOM_SUFFIX: return "suffix wildcard";
	case KM_RT_DOM_PREFIX: return "prefix wildcard";
	case KM_RT_DOM_ANY: return "any ('*')";
	}
	return "?";
}

const char *km_rt_view_domain_text(const void *blob, size_t len,
				   const struct km_rt_domain *d, char *buf,
				   size_t size)
{
	char s[KM_RT_STR_MAX + 1];

	km_rt_view_str(blob, len, d->off, d->len, s, sizeof(s));
	switch (d->kind) {
	case KM_RT_DOM_SUFFIX: snprintf(buf, size, "*%s", s); break;
	case KM_RT_DOM_PREFIX: snprintf(buf, size, "%s*", s); break;
	case KM_RT_DOM_ANY: snprintf(buf, size, "*"); break;
	default: snprintf(buf, size, "%s", s); break;
	}
	return buf;
}

static const char *path_kind_name(unsigned int kind)
{
	switch (kind) {
	case KM_RT_PATH_PREFIX: return "prefix";
	case KM_RT_PATH_EXACT: return "path";
	case KM_RT_PATH_SEPARATED_PREFIX: return "path_separated_prefix";
	case KM_RT_PATH_REGEX: return "safe_regex";
	}
	return "?";
}

const char *km_rt_view_path_text(const void *blob, size_t len,
				 const struct km_rt_route *r, char *buf,
				 size_t size)
{
	char s[KM_RT_STR_MAX + 1];

	km_rt_view_str(blob, len, r->path_off, r->path_len, s, sizeof(s));
	snprintf(buf, size, "%s '%s'%s", path_kind_name(r->path_kind), s,
		 r->flags & KM_RT_R_ICASE ? " (case-insensitive)" : "");
	return buf;
}

const char *km_rt_view_header_text(const void *blob, size_t len,
				   const struct km_rt_header_match *m,
				   char *buf, size_t size)
{
	static const char *const kinds[] = {
		[KM_RT_HDR_EXACT] = "exact", [KM_RT_HDR_PREFIX] = "prefix",
		[KM_RT_HDR_SUFFIX] = "suffix", [KM_RT_HDR_CONTAINS] = "contains",
		[KM_RT_HDR_REGEX] = "safe_regex",
	};
	char name[KM_RT_STR_MAX + 1], val[KM_RT_STR_MAX + 1];
	bool inv = m->flags & KM_RT_H_INVERT;
	const char *what = m->flags & KM_RT_H_QUERY ? "query parameter" :
			   "header";

	km_rt_view_str(blob, len, m->name_off, m->name_len, name, sizeof(name));
	km_rt_view_str(blob, len, m->value_off, m->value_len, val, sizeof(val));
	if (m->kind == KM_RT_HDR_PRESENT) {
		bool want = !!(m->flags & KM_RT_H_PRESENT) != inv;

		snprintf(buf, size, "%s '%s' %s%s", what, name,
			 want ? "present" : "not present",
			 inv ? " (invert_match)" : "");
	} else if (m->kind == KM_RT_HDR_REGEX) {
		snprintf(buf, size, "%s '%s' %ssafe_regex '%s'%s", what, name,
			 inv ? "not " : "", val, inv ? " (invert_match)" : "");
	} else if (m->kind >= KM_RT_HDR_EXACT && m->kind <= KM_RT_HDR_CONTAINS) {
		snprintf(buf, size, "%s '%s' %s%s '%s'%s", what, name,
			 inv ? "not " : "", kinds[m->kind], val,
			 m->flags & KM_RT_H_ICASE ? " (ignore_case)" : "");
	} else {
		snprintf(buf, size, "%s '%s' (unknown match kind %u)", what,
			 name, m->kind);
	}
	return buf;
}

/* ---- building and parsing the request ---------------------------------------- */

struct head_buf {
	char *s;		/* x->head */
	size_t len;
	bool full;
};

static void head_add(struct head_buf *h, const char *a, const char *b,
		     const char *c)
{
	const char *parts[] = { a, b, c };

	for (size_t i = 0; i < 3; i++) {
		size_t n = parts[i] ? strlen(parts[i]) : 0;

		if (h->len + n > KM_HTTP_MAX_HEAD) {
			h->full = true;
			return;
		}
		if (n)	/* memcpy(dst, NULL, 0) is undefined (UBSan) */
			memcpy(h->s + h->len, parts[i], n);
		h->len += n;
	}
	h->s[h->len] = 0;
}

/* A value that goes into the head verbatim: no CR, LF or NUL can end up in
 * it (a C string holds no NUL). */
static int check_line(const char *what, const char *v, struct km_err *err)
{
	if (strpbrk(v, "\r\n")) {
		km_err_set(err, "%s contains CR or LF: each value must be one line", what);
		return -EINVAL;
	}
	return 0;
}

static int check_request(const struct km_explain_req *rq, struct km_err *err)
{
	const char *m = rq->method ? rq->method : "GET";
	char what[64];
	int ret;

	if (!*m || strpbrk(m, " \t")) {
		km_err_set(err, "method '%s' is not one token", m);
		return -EINVAL;
	}
	if (!rq->target || !*rq->target) {
		km_err_set(err, "the path (request-target) is empty: give --path /something");
		return -EINVAL;
	}
	if (strpbrk(rq->target, " \t")) {
		km_err_set(err, "path '%s' contains a space or tab: percent-encode it (%%20)",
			   rq->target);
		return -EINVAL;
	}
	ret = check_line("method", m, err);
	if (!ret)
		ret = check_line("path", rq->target, err);
	if (!ret && rq->host)
		ret = check_line("host", rq->host, err);
	if (ret)
		return ret;
	if (rq->n_headers + !!rq->host > KM_HTTP_MAX_HEADERS) {
		km_err_set(err, "%zu header lines, kmesh.ko routes on requests with at most %d",
			   rq->n_headers + !!rq->host, KM_HTTP_MAX_HEADERS);
		return -E2BIG;
	}
	for (size_t i = 0; i < rq->n_headers; i++) {
		const char *hd = rq->headers[i], *colon = strchr(hd, ':');

		snprintf(what, sizeof(what), "header %zu", i + 1);
		ret = check_line(what, hd, err);
		if (ret)
			return ret;
		if (!colon || colon == hd) {
			km_err_set(err, "header '%s' is not 'Name: value'", hd);
			return -EINVAL;
		}
		if (colon[-1] == ' ' || colon[-1] == '\t') {
			km_err_set(err, "header '%s': whitespace before ':' (HTTP/1.1 forbids it; kmesh.ko would not route such a request)",
				   hd);
			return -EINVAL;
		}
	}
	return 0;
}

/* Parses head[0..len) + the empty line: 0 or the parser's error. */
static int parse_prefix(struct km_explain *x, size_t len)
{
	char tmp[KM_HTTP_MAX_HEAD + 2];
	struct km_http_req req;

	if (len + 2 > KM_HTTP_MAX_HEAD)
		return -E2BIG;
	memcpy(tmp, x->head, len);
	memcpy(tmp + len, "\r\n", 2);
	return km_http_parse(tmp, (__u32)(len + 2), &req);
}

/*
 * The head was rejected: find the first line that makes a complete head
 * invalid, so the message names the element (each prefix of lines plus
 * the empty line is a head of its own).
 */
static int name_bad_element(struct km_explain *x,
			    const struct km_explain_req *rq, int ret,
			    struct km_err *err)
{
	const char *m = rq->method ? rq->method : "GET";
	size_t end = 0, line = 0;

	if (ret == -E2BIG) {
		km_err_set(err, "the request head is too long: kmesh.ko routes on heads of at most %d bytes",
			   KM_HTTP_MAX_HEAD);
		return ret;
	}
	for (;;) {
		char *nl = memchr(x->head + end, '\n', x->head_len - end);

		if (!nl)
			break;
		end = (size_t)(nl - x->head) + 1;
		if (parse_prefix(x, end) != 0)
			break;
		line++;
	}
	if (line == 0)
		km_err_set(err, "request line '%s %s HTTP/1.1' is not one kmesh.ko routes on (method a token; path '/...', 'http://authority/...', or '*' with OPTIONS; visible ASCII, no userinfo)",
			   m, rq->target);
	else if (rq->host && line == 1)
		km_err_set(err, "host '%s' is not a valid authority (host[:port])",
			   rq->host);
	else if (line - 1 - !!rq->host < rq->n_headers)
		km_err_set(err, "header '%s' is rejected by the HTTP parser (name a token, value visible ASCII; a second Host must equal the first)",
			   rq->headers[line - 1 - !!rq->host]);
	else
		km_err_set(err, "the request head is rejected by the HTTP parser");
	return -EINVAL;
}

static int build_head(struct km_explain *x, const struct km_explain_req *rq,
		      struct km_err *err)
{
	struct head_buf h = { .s = x->head };
	int ret;

	ret = check_request(rq, err);
	if (ret)
		return ret;
	head_add(&h, rq->method ? rq->method : "GET", " ", rq->target);
	head_add(&h, " HTTP/1.1\r\n", NULL, NULL);
	if (rq->host)
		head_add(&h, "Host: ", rq->host, "\r\n");
	for (size_t i = 0; i < rq->n_headers; i++)
		head_add(&h, rq->headers[i], "\r\n", NULL);
	head_add(&h, "\r\n", NULL, NULL);
	if (h.full) {
		km_err_set(err, "the request head is too long: kmesh.ko routes on heads of at most %d bytes",
			   KM_HTTP_MAX_HEAD);
		return -E2BIG;
	}
	x->head_len = (__u32)h.len;
	ret = km_http_parse(x->head, x->head_len, &x->req);
	if (ret == KM_HTTP_INCOMPLETE)
		ret = -EINVAL;	/* cannot happen: the head ends with CRLF CRLF */
	if (ret)
		return name_bad_element(x, rq, ret, err);
	return 0;
}

/* ---- probe tables --------------------------------------------------------------- */

/*
 * A table being built: records at fixed offsets the caller chooses, then
 * strings from str_at on. Sized for the largest probe: one vhost per domain
 * of one real vhost, each domain string at its longest.
 */
#define PROBE_MAX (sizeof(struct km_rt_head) +				\
		   KM_MAX_DOMAINS * (sizeof(struct km_rt_vhost) +		\
				     sizeof(struct km_rt_domain) +		\
				     sizeof(struct km_rt_dref) +		\
				     KM_RT_STR_MAX + 1) +			\
		   sizeof(struct km_rt_index) + 2 * sizeof(__u32) + 64 +	\
		   PROBE_REGEX_MAX)
/* a route's or matcher's regex: the index of one, and its DFA */
#define PROBE_REGEX_MAX (sizeof(struct km_rt_regexes) + 4 + 4 +		\
			 sizeof(struct km_dfa) + 256 + KM_DFA_MAX_STATES / 8 +	\
			 2 * KM_DFA_MAX_TRANS)

struct probe {
	__u32 words[PROBE_MAX / 4 + 1];	/* 4-aligned, as the matcher needs */
	size_t str_at;
	bool bad;		/* a string of the real table was unreadable */
};

static void *probe_at(struct probe *p, size_t off)
{
	return (unsigned char *)p->words + off;
}

/* Copies the real table's string (off, n) into the probe: its new off. */
static __u32 probe_str(struct probe *p, const void *blob, size_t len,
		       __u32 off, __u32 n)
{
	const char *s = view_raw(blob, len, off, n);
	__u32 at = (__u32)p->str_at;

	if (!s) {
		p->bad = true;
		return at;
	}
	memcpy(probe_at(p, at), s, n);
	p->str_at += n + 1;
	return at;
}

/* Copies regex number idx of the real table (its index entry and DFA, no
 * more than the real table's header says it has) into the probe, after its
 * strings: the probe table's one regex, index 0. */
static void probe_regex(struct probe *p, const void *blob, size_t len,
			__u32 idx)
{
	const struct km_rt_head *h = km_rt_view_head(blob, len);
	const struct km_rt_regexes *x = NULL;
	const __u32 *off = NULL;
	const struct km_dfa *d = NULL;
	size_t at = (p->str_at + 3) & ~(size_t)3, n = 0;
	struct km_rt_regexes one = { .n = 1 };
	__u32 dfa_at = (__u32)(at + sizeof(one) + 4);

	if (h && h->regex_off)
		x = view_at(blob, len, h->regex_off, sizeof(*x));
	if (x && idx < x->n)
		off = view_at(blob, len,
			      h->regex_off + sizeof(*x) + (uint64_t)idx * 4, 4);
	if (off)
		d = view_at(blob, len, *off, sizeof(*d));
	if (d)
		n = km_dfa_size(d->n_states, d->n_classes);
	if (!n || n != d->size || !view_at(blob, len, *off, n)) {
		p->bad = true;
		return;
	}
	memcpy(probe_at(p, at), &one, sizeof(one));
	memcpy(probe_at(p, at + sizeof(one)), &dfa_at, 4);
	memcpy(probe_at(p, dfa_at), d, n);
	((struct km_rt_head *)probe_at(p, 0))->regex_off = (__u32)at;
	p->str_at = dfa_at + n;
}

/* The probe's domain index, after its strings: one bucket for every
 * exact domain, then the wildcards (the real table's index is not needed:
 * a probe holds a few domains). Returns the blob's length. */
static size_t probe_index(struct probe *p, __u16 n_vhosts)
{
	size_t at = (p->str_at + 3) & ~(size_t)3;
	struct km_rt_index *x = probe_at(p, at);
	__u32 *start = probe_at(p, at + sizeof(*x));
	size_t refs = at + sizeof(*x) + 2 * sizeof(__u32), n = 0;

	x->bucket_off = (__u32)(at + sizeof(*x));
	x->bucket_bits = 0;
	x->exact_off = (__u32)refs;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			x->n_exact = (__u32)n;
			x->wild_off = (__u32)(refs + n * sizeof(struct km_rt_dref));
		}
		for (__u16 vi = 0; vi < n_vhosts; vi++) {
			const struct km_rt_vhost *v = probe_at(p, sizeof(struct km_rt_head) +
							       vi * sizeof(*v));

			for (__u16 di = 0; di < v->n_domains; di++) {
				__u32 off = v->domain_off + di * sizeof(struct km_rt_domain);
				const struct km_rt_domain *d = probe_at(p, off);
				struct km_rt_dref *r;

				if ((d->kind == KM_RT_DOM_EXACT) != (pass == 0))
					continue;
				r = probe_at(p, refs + n++ * sizeof(*r));
				r->domain_off = off;
				r->vhost = vi;
			}
		}
	}
	x->n_wild = (__u32)n - x->n_exact;
	start[0] = 0;
	start[1] = x->n_exact;
	return refs + n * sizeof(struct km_rt_dref);
}

static void probe_head(struct probe *p, __u16 flags, __u16 n_vhosts)
{
	struct km_rt_head *h = probe_at(p, 0);

	h->magic = KM_RT_MAGIC;
	h->version = KM_RT_VERSION;
	h->flags = flags;
	h->n_vhosts = n_vhosts;
	h->vhost_off = sizeof(*h);
	h->index_off = (__u32)((p->str_at + 3) & ~(size_t)3);
	h->len = (__u32)probe_index(p, n_vhosts);
}

static int probe_match(struct probe *p, const struct km_explain *x,
		       struct km_route_result *res)
{
	const struct km_rt_head *h = probe_at(p, 0);

	if (p->bad) {
		res->status = KM_ROUTE_BAD_TABLE;
		return -EINVAL;
	}
	return km_route_match(p->words, h->len, x->head, &x->req, res);
}

/* The domain of vhost vi that the matcher picks for the request: one probe
 * vhost per domain, no routes. -1 if none (cannot happen for the vhost the
 * matcher chose). */
static int winning_domain(const void *blob, size_t len,
			  const struct km_explain *x, unsigned int vi)
{
	const struct km_rt_head *h = km_rt_view_head(blob, len);
	const struct km_rt_vhost *v = km_rt_view_vhost(blob, len, vi);
	struct km_route_result res;
	struct probe *p;
	size_t dom_at;
	int ret;

	if (!h || !v)
		return -1;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	dom_at = sizeof(*h) + v->n_domains * sizeof(struct km_rt_vhost);
	p->str_at = dom_at + v->n_domains * sizeof(struct km_rt_domain);
	for (unsigned int i = 0; i < v->n_domains; i++) {
		const struct km_rt_domain *d = km_rt_view_domain(blob, len, vi, i);
		struct km_rt_vhost *pv = probe_at(p, sizeof(*h) + i * sizeof(*pv));
		struct km_rt_domain *pd = probe_at(p, dom_at + i * sizeof(*pd));

		if (!d) {
			free(p);
			return -1;
		}
		pv->n_domains = 1;
		pv->domain_off = (__u32)(dom_at + i * sizeof(*pd));
		pd->kind = d->kind;
		pd->len = d->len;
		pd->off = probe_str(p, blob, len, d->off, d->len);
	}
	probe_head(p, h->flags, v->n_domains);
	ret = probe_match(p, x, &res);
	free(p);
	return ret == -ENOENT && res.status == KM_ROUTE_NO_ROUTE ?
	       res.vhost : -1;
}

/* Does route r of the real table match with only its path (m NULL), or
 * with an empty prefix and only the header or query parameter matcher m
 * (copied whole, flags included)? */
static bool probe_route(const void *blob, size_t len,
			const struct km_explain *x,
			const struct km_rt_route *r,
			const struct km_rt_header_match *m)
{
	struct km_route_result res;
	struct km_rt_vhost *v;
	struct km_rt_domain *d;
	struct km_rt_route *pr;
	struct km_rt_header_match *pm;
	struct km_target *t;
	struct probe *p = calloc(1, sizeof(*p));
	size_t at = sizeof(struct km_rt_head);
	bool ok;

	if (!p)
		return false;
	v = probe_at(p, at);
	at += sizeof(*v);
	d = probe_at(p, at);
	v->n_domains = 1;
	v->domain_off = (__u32)at;
	d->kind = KM_RT_DOM_ANY;
	at += sizeof(*d);
	pr = probe_at(p, at);
	v->n_routes = 1;
	v->route_off = (__u32)at;
	at += sizeof(*pr);
	pm = probe_at(p, at);
	pr->header_off = (__u32)at;
	at += sizeof(*pm);
	t = probe_at(p, at);
	t->cum_weight = 1;
	pr->n_targets = 1;
	pr->total_weight = 1;
	pr->target_off = (__u32)at;
	at += sizeof(*t);
	p->str_at = at;

	if (m) {
		pr->path_kind = KM_RT_PATH_PREFIX;
		pr->path_off = (__u32)p->str_at;
		p->str_at++;
		*pm = *m;
		pm->name_off = probe_str(p, blob, len, m->name_off, m->name_len);
		pm->value_off = probe_str(p, blob, len, m->value_off,
					  m->value_len);
		pr->n_headers = 1;
		if (m->kind == KM_RT_HDR_REGEX) {
			probe_regex(p, blob, len, m->regex);
			pm->regex = 0;
		}
	} else {
		pr->path_kind = r->path_kind;
		pr->flags = r->flags;
		pr->path_len = r->path_len;
		pr->path_off = probe_str(p, blob, len, r->path_off, r->path_len);
		if (r->path_kind == KM_RT_PATH_REGEX) {
			probe_regex(p, blob, len, r->regex);
			pr->regex = 0;
		}
	}
	probe_head(p, 0, 1);
	ok = probe_match(p, x, &res) == 0;
	free(p);
	return ok;
}

int km_explain_route_why(const void *blob, size_t len,
			 const struct km_explain *x, unsigned int ri,
			 bool *path_ok, __u32 *headers_ok)
{
	const struct km_rt_route *r;

	if (x->res.status == KM_ROUTE_NO_VHOST)
		return -EINVAL;
	r = km_rt_view_route(blob, len, x->res.vhost, ri);
	if (!r)
		return -EINVAL;
	*path_ok = probe_route(blob, len, x, r, NULL);
	*headers_ok = 0;
	for (unsigned int i = 0; i < r->n_headers; i++) {
		const struct km_rt_header_match *m =
			km_rt_view_header(blob, len, x->res.vhost, ri, i);

		if (m && probe_route(blob, len, x, r, m))
			*headers_ok |= 1u << i;
	}
	return 0;
}

/* ---- explain ---------------------------------------------------------------------- */

int km_explain(const void *blob, size_t len, const struct km_explain_req *rq,
	       struct km_explain *x, struct km_err *err)
{
	const struct km_rt_head *h;
	__u32 prev = 0;
	int ret;

	memset(x, 0, sizeof(*x));
	x->domain = -1;
	ret = build_head(x, rq, err);
	if (ret)
		return ret;
	h = km_rt_view_head(blob, len);
	ret = km_route_match(blob, len > UINT32_MAX ? UINT32_MAX : (__u32)len,
			     x->head, &x->req, &x->res);
	if (!h || ret == -EINVAL) {
		km_err_set(err, "the route table is malformed (the kernel would route this connection by the listener's default route)");
		return -EINVAL;
	}
	memcpy(x->host, x->head + x->req.host.off, x->req.host.len);
	x->host[x->req.host.len] = 0;
	x->port_ignored = h->flags & KM_RT_F_IGNORE_PORT;
	if (x->res.status == KM_ROUTE_NO_VHOST)
		return 0;
	x->domain = winning_domain(blob, len, x, x->res.vhost);
	if (x->res.status != KM_ROUTE_MATCHED)
		return 0;
	x->n_targets = x->res.action.n_targets;
	x->total_weight = x->res.action.total_weight;
	for (unsigned int i = 0; i < x->n_targets && i < KM_MAX_WEIGHTED; i++) {
		const struct km_target *t = &x->res.action.targets[i];

		x->targets[i].cluster_id = t->cluster_id;
		x->targets[i].weight = t->cum_weight - prev;
		prev = t->cum_weight;
	}
	return 0;
}
