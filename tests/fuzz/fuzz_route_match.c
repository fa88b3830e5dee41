// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for kmod/route_match.c (the router kmesh.ko runs on the
 * first request of a connection) and userspace/model/route_build.c (what
 * writes its tables). Three modes, chosen by the first input byte:
 *
 *   0  structured request: the rest of the input picks a method, target,
 *      Host and headers from vocabularies that hit the fixed tables'
 *      domains, paths and header matchers (plus raw bytes), written out as a
 *      head and parsed by km_http_parse();
 *   1  raw request: the rest is the head as sent;
 *   2  damaged table: a request of mode 0, then the rest as (offset, byte)
 *      patches over a copy of a fixed table;
 *   3  raw table: a request of mode 0, then the rest as the blob itself.
 *
 * Modes 0 and 1 run every request the parser accepts against the fixed
 * tables (built by km_route_build() from models made here: hosts, header
 * matchers, query parameter matchers, safe_regex ones checked against
 * glibc regexec()) and compare
 * km_route_match() with a reference written from route_match.h's rules on
 * the model: same status, virtual host and route, and the route's weights
 * picked exactly. Modes 2 and 3 check what the matcher promises on any blob:
 * -EINVAL or a consistent answer, and (ASan) no read outside the blob,
 * which lives in a heap buffer of exactly its length.
 * Build and run: tests/fuzz/run.sh route.
 */
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kmesh/route_match.h"
#include "route_build.h"

#include "fuzz.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixed tables --------------------------------------------------------------- */

#define HM(n, k, v, pres, inv, ic)					\
	{ .name = (char *)(n), .kind = (k), .value = (char *)(v),	\
	  .present = (pres), .invert = (inv), .ignore_case = (ic) }

struct fz_route {
	const char *name;
	uint8_t kind;
	const char *path;
	bool icase;
	struct km_m_header_match h[3];
	const char *clusters[3];
	uint32_t weights[3];
	struct km_m_header_match q[3];	/* query_parameters */
};

struct fz_vhost {
	const char *name;
	const char *domains[8];
	struct fz_route routes[10];
};

static const struct fz_vhost hosts_vhosts[] = {
	{ "exact", { "a.com", "a.com:8080", "[::1]" },
	  { { "e-api", KM_PATH_SEPARATED_PREFIX, "/api", false, {}, { "c1" }, { 1 } },
	    { "e-exact", KM_PATH_EXACT, "/exact", false, {}, { "c2" }, { 1 } },
	    { "e-static", KM_PATH_PREFIX, "/Static", true, {}, { "c3", "c4" }, { 1, 3 } } } },
	{ "suffix-long", { "*.b.a.com" },
	  { { "sl", KM_PATH_PREFIX, "/", false, {}, { "c2" }, { 1 } } } },
	{ "suffix", { "*.A.com", "*-x.org" },
	  { { "s-p", KM_PATH_PREFIX, "/p", false, {}, { "c3" }, { 1 } },
	    { "s-root", KM_PATH_EXACT, "/", false, {}, { "c1" }, { 1 } } } },
	{ "prefix-long", { "www.a.*" },
	  { { "pl", KM_PATH_PREFIX, "", false, {}, { "c4" }, { 1 } } } },
	{ "prefix", { "www.*", "api.*" },
	  { { "p", KM_PATH_PREFIX, "/", false, {}, { "c1" }, { 1 } } } },
	{ "any", { "*" },
	  { { "any-api", KM_PATH_PREFIX, "/api", false, {}, { "c2", "c3" }, { 2, 5 } } } },
};

static const struct fz_vhost headers_vhosts[] = {
	{ "vh", { "*" },
	  { { "exact", KM_PATH_PREFIX, "/", false,
	      { HM("x-h", KM_STR_EXACT, "Yes", 0, 0, 0) }, { "c1" }, { 1 } },
	    { "pre-ic-inv", KM_PATH_PREFIX, "/", false,
	      { HM("x-h", KM_STR_PREFIX, "AD", 0, 1, 1),
		HM("x-a", KM_STR_PRESENT, NULL, 1, 0, 0) }, { "c2" }, { 1 } },
	    { "suffix-contains", KM_PATH_PREFIX, "/s", true,
	      { HM("x-a", KM_STR_SUFFIX, "yz", 0, 0, 0),
		HM("x-b", KM_STR_CONTAINS, "MID", 0, 0, 1) }, { "c3" }, { 1 } },
	    { "absent", KM_PATH_EXACT, "/absent", false,
	      { HM("x-h", KM_STR_PRESENT, NULL, 0, 0, 0) }, { "c4" }, { 1 } },
	    { "not-present", KM_PATH_PREFIX, "/np", false,
	      { HM("x-b", KM_STR_PRESENT, NULL, 1, 1, 0) }, { "c1" }, { 1 } },
	    { "inv-exact", KM_PATH_PREFIX, "/ie", false,
	      { HM("x-a", KM_STR_EXACT, "1", 0, 1, 0) }, { "c2" }, { 1 } },
	    { "method", KM_PATH_PREFIX, "/", false,
	      { HM(":method", KM_STR_EXACT, "POST", 0, 0, 0) }, { "c3", "c1" }, { 1, 1 } },
	    { "path", KM_PATH_PREFIX, "", false,
	      { HM(":path", KM_STR_SUFFIX, "?q=1", 0, 0, 0) }, { "c4" }, { 1 } },
	    { "authority", KM_PATH_PREFIX, "/", false,
	      { HM(":Authority", KM_STR_PREFIX, "www.", 0, 0, 1),
		HM("X-Mixed-Case", KM_STR_EXACT, "", 0, 0, 0) }, { "c1" }, { 1 } },
	    { "last", KM_PATH_SEPARATED_PREFIX, "/api", false, {},
	      { "c1", "c2", "c3" }, { 3, 1, 6 } } } },
};

#define QM(n, k, v, pres, ic) HM(n, k, v, pres, 0, ic)

static const struct fz_vhost query_vhosts[] = {
	{ "vh", { "*" },
	  { { "q-exact", KM_PATH_PREFIX, "/", false, {}, { "c1" }, { 1 },
	      { QM("v", KM_STR_EXACT, "2", 0, 0) } },
	    { "q-absent", KM_PATH_EXACT, "/absent", false, {}, { "c2" }, { 1 },
	      { QM("v", KM_STR_PRESENT, NULL, 0, 0) } },
	    { "q-two", KM_PATH_PREFIX, "/", false, {}, { "c3" }, { 1 },
	      { QM("a", KM_STR_PRESENT, NULL, 1, 0),
		QM("ab", KM_STR_PREFIX, "Ya", 0, 1) } },
	    { "q-mixed", KM_PATH_PREFIX, "/s", true,
	      { HM("x-a", KM_STR_PRESENT, NULL, 1, 0, 0) }, { "c4" }, { 1 },
	      { QM("%76", KM_STR_SUFFIX, "%32", 0, 0),
		QM("V", KM_STR_CONTAINS, "", 0, 0),
		QM("x-a", KM_STR_EXACT, "", 0, 0) } },
	    { "q-contains", KM_PATH_PREFIX, "", false, {}, { "c1", "c2" }, { 1, 2 },
	      { QM("v", KM_STR_CONTAINS, "=", 0, 0) } },
	    { "last", KM_PATH_PREFIX, "/", false, {}, { "c4" }, { 1 } } } },
};

/* safe_regex on paths, headers and query parameters. The patterns are
 * POSIX ERE too, with no '.' or negated class (ERE's take any byte, RE2's
 * a UTF-8 character): the reference runs glibc regexec() on "^(P)$". */
static const struct fz_vhost regex_vhosts[] = {
	{ "vh", { "*" },
	  { { "re-path", KM_PATH_REGEX, "/re/[0-9]+/item(/[a-z]+)?", false, {}, { "c1" }, { 1 } },
	    { "re-api", KM_PATH_REGEX, "/(api|API)(/v[12])?(/[a-z0-9_-]*)*", true, {}, { "c2" }, { 1 } },
	    { "re-header", KM_PATH_PREFIX, "/", false,
	      { HM("x-h", KM_STR_REGEX, "[Yy]es|ad[a-z]*", 0, 0, 1) }, { "c3" }, { 1 } },
	    { "re-inv", KM_PATH_PREFIX, "/s", false,
	      { HM("x-a", KM_STR_REGEX, "[0-9]{1,2}", 0, 1, 0),
		HM(":method", KM_STR_REGEX, "GET|POST", 0, 0, 0) }, { "c4" }, { 1 } },
	    { "re-query", KM_PATH_PREFIX, "", false, {}, { "c1", "c2" }, { 1, 2 },
	      { QM("v", KM_STR_REGEX, "(2|x[0-9]*)?", 0, 0),
		QM("ab", KM_STR_REGEX, "[Yy]a[a-zA-Z]*", 0, 0) } },
	    { "last", KM_PATH_PREFIX, "/", false, {}, { "c4" }, { 1 } } } },
};

static struct {
	const char *name;
	const struct fz_vhost *vhosts;
	size_t n_vhosts;
	unsigned int flags;
	struct km_m_route_config rc;
	void *blob;
	size_t len;
} tables[] = {
	{ "hosts", hosts_vhosts, NELEM(hosts_vhosts), 0 },
	{ "hosts, ignore port", hosts_vhosts, NELEM(hosts_vhosts), KM_RT_F_IGNORE_PORT },
	{ "headers", headers_vhosts, NELEM(headers_vhosts), 0 },
	{ "query", query_vhosts, NELEM(query_vhosts), 0 },
	{ "regex", regex_vhosts, NELEM(regex_vhosts), 0 },
};

static int cluster_id(void *ctx, const char *name, __u32 *id)
{
	if (name[0] != 'c' || name[1] < '1' || name[1] > '4' || name[2])
		return -ENOENT;
	*id = (__u32)(name[1] - '0');
	return 0;
}

static size_t count(const char *const *a, size_t max)
{
	size_t n = 0;

	while (n < max && a[n])
		n++;
	return n;
}

/* The model the config sources would fill; static, never freed. */
static void make_model(const struct fz_vhost *fv, size_t nv,
		       struct km_m_route_config *rc)
{
	rc->name = (char *)"rc";
	rc->n_vhosts = nv;
	rc->vhosts = calloc(nv, sizeof(*rc->vhosts));
	CHECK(rc->vhosts);
	for (size_t i = 0; i < nv; i++) {
		struct km_m_vhost *v = &rc->vhosts[i];
		size_t nr = 0;

		v->name = (char *)fv[i].name;
		v->domains = (char **)fv[i].domains;
		v->n_domains = count(fv[i].domains, NELEM(fv[i].domains));
		while (nr < NELEM(fv[i].routes) && fv[i].routes[nr].name)
			nr++;
		v->routes = calloc(nr, sizeof(*v->routes));
		CHECK(v->routes);
		v->n_routes = nr;
		for (size_t j = 0; j < nr; j++) {
			const struct fz_route *f = &fv[i].routes[j];
			struct km_m_route *r = &v->routes[j];
			size_t nc = count(f->clusters, 3);

			r->name = (char *)f->name;
			r->path_kind = f->kind;
			r->path = (char *)f->path;
			r->case_sensitive = !f->icase;
			r->headers = (struct km_m_header_match *)f->h;
			while (r->n_headers < 3 && f->h[r->n_headers].name)
				r->n_headers++;
			r->query_params = (struct km_m_header_match *)f->q;
			while (r->n_query_params < 3 &&
			       f->q[r->n_query_params].name)
				r->n_query_params++;
			r->action.clusters = calloc(nc, sizeof(*r->action.clusters));
			CHECK(r->action.clusters);
			r->action.n_clusters = nc;
			for (size_t k = 0; k < nc; k++) {
				r->action.clusters[k].cluster = (char *)f->clusters[k];
				r->action.clusters[k].weight = f->weights[k];
			}
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (size_t t = 0; t < NELEM(tables); t++) {
		struct km_err err = {};
		void *out;
		int ret;

		make_model(tables[t].vhosts, tables[t].n_vhosts, &tables[t].rc);
		ret = km_route_build(&tables[t].rc, tables[t].flags, cluster_id,
				     NULL, &out, &tables[t].len, &err);
		if (ret) {
			fprintf(stderr, "table %s: %s\n", tables[t].name, err.msg);
			abort();
		}
		tables[t].blob = out;
	}
	return 0;
}

/* ---- the reference: route_match.h's rules on the model ------------------------------ */

struct span {
	const char *s;
	size_t n;
};

static struct span sp(const char *buf, struct km_http_span s)
{
	return (struct span){ buf + s.off, s.len };
}

static bool eq(struct span a, const char *b, size_t bn, bool icase)
{
	return a.n == bn && (icase ? !strncasecmp(a.s, b, bn) :
				     !memcmp(a.s, b, bn));
}

static bool starts(struct span a, const char *b, size_t bn, bool icase)
{
	return a.n >= bn && eq((struct span){ a.s, bn }, b, bn, icase);
}

static bool ends(struct span a, const char *b, size_t bn, bool icase)
{
	return a.n >= bn && eq((struct span){ a.s + a.n - bn, bn }, b, bn, icase);
}

static bool contains(struct span a, const char *b, size_t bn, bool icase)
{
	for (size_t i = 0; i + bn <= a.n; i++)
		if (eq((struct span){ a.s + i, bn }, b, bn, icase))
			return true;
	return false;
}

/* Envoy's findVirtualHost: exact, longest *suffix, longest prefix*, "*". */
static int ref_vhost(const struct km_m_route_config *rc, struct span host)
{
	int best = -1, best_rank = 4;
	size_t best_len = 0;

	for (size_t i = 0; i < rc->n_vhosts; i++)
		for (size_t j = 0; j < rc->vhosts[i].n_domains; j++) {
			const char *d = rc->vhosts[i].domains[j];
			size_t n = strlen(d);
			int rank;

			/* a wildcard stands for at least one character */
			if (!strcmp(d, "*")) {
				rank = 3;
				n = 0;
			} else if (d[0] == '*') {
				n--;
				rank = n < host.n && ends(host, d + 1, n, true) ?
				       1 : -1;
			} else if (d[n - 1] == '*') {
				n--;
				rank = n < host.n && starts(host, d, n, true) ?
				       2 : -1;
			} else {
				rank = eq(host, d, n, true) ? 0 : -1;
			}
			if (rank == 0)
				return (int)i;
			if (rank > 0 && (rank < best_rank ||
					 (rank == best_rank && n > best_len))) {
				best = (int)i;
				best_rank = rank;
				best_len = n;
			}
		}
	return best;
}

/* RE2 FullMatch of s by pattern re, for the ERE-compatible patterns of
 * regex_vhosts: glibc regexec() on "^(re)$" (compiled once each). */
static bool ref_regex(struct span s, const char *re)
{
	static struct {
		const char *re;
		regex_t rx;
	} cache[16];
	static size_t n;
	char buf[KM_HTTP_MAX_HEAD + 1], ere[512];
	size_t i;

	for (i = 0; i < n && cache[i].re != re; i++)
		;
	if (i == n) {
		CHECK(n < NELEM(cache));
		snprintf(ere, sizeof(ere), "^(%s)$", re);
		CHECK(regcomp(&cache[n].rx, ere, REG_EXTENDED | REG_NOSUB) == 0);
		cache[n++].re = re;
	}
	/* a value holds no NUL (the parser refuses it) */
	CHECK(s.n < sizeof(buf) && !memchr(s.s, 0, s.n));
	memcpy(buf, s.s, s.n);
	buf[s.n] = 0;
	return regexec(&cache[i].rx, buf, 0, NULL, 0) == 0;
}

struct ref_req {
	const char *buf;
	const struct km_http_req *req;
	bool connect;
};

static bool ref_path(const struct ref_req *q, const struct km_m_route *r)
{
	struct span p = sp(q->buf, q->req->path);
	size_t n = strlen(r->path);
	bool ic = !r->case_sensitive;

	if (p.n == 0) {
		if (q->connect)
			return false;
		p = (struct span){ "/", 1 };
	}
	switch (r->path_kind) {
	case KM_PATH_PREFIX:
		return starts(p, r->path, n, ic);
	case KM_PATH_EXACT:
		return eq(p, r->path, n, ic);
	case KM_PATH_SEPARATED_PREFIX:
		return starts(p, r->path, n, ic) && (p.n == n || p.s[n] == '/');
	case KM_PATH_REGEX:	/* case_sensitive has no effect */
		return ref_regex(p, r->path);
	}
	return false;
}

/* The value the router sees for a header name: false if there is none. */
static bool ref_value(const struct ref_req *q, const char *name,
		      struct span *v)
{
	const struct km_http_req *req = q->req;

	if (!strcasecmp(name, ":method")) {
		*v = sp(q->buf, req->method);
		return true;
	}
	if (!strcasecmp(name, ":authority")) {
		*v = sp(q->buf, req->host);
		return v->n > 0;
	}
	if (!strcasecmp(name, ":path")) {
		if (req->path.len == 0 && q->connect)
			return false;
		if (req->path.len == 0) {
			*v = (struct span){ "/", 1 };
			return true;
		}
		/* path, and "?query" when the query is not empty */
		*v = sp(q->buf, req->path);
		if (req->query.len)
			v->n = (size_t)(req->query.off + req->query.len) -
			       req->path.off;
		return true;
	}
	for (unsigned int i = 0; i < req->n_headers; i++)
		if (eq(sp(q->buf, req->headers[i].name), name, strlen(name),
		       true)) {
			*v = sp(q->buf, req->headers[i].value);
			return true;
		}
	return false;
}

/* Envoy's HeaderUtility::matchHeaders for one matcher. */
static bool ref_header(const struct ref_req *q, const struct km_m_header_match *h)
{
	struct span v;
	size_t n = h->value ? strlen(h->value) : 0;
	bool m;

	if (!ref_value(q, h->name, &v))
		return h->kind == KM_STR_PRESENT && h->present == h->invert;
	switch (h->kind) {
	case KM_STR_EXACT: m = eq(v, h->value, n, h->ignore_case); break;
	case KM_STR_PREFIX: m = starts(v, h->value, n, h->ignore_case); break;
	case KM_STR_SUFFIX: m = ends(v, h->value, n, h->ignore_case); break;
	case KM_STR_CONTAINS: m = contains(v, h->value, n, h->ignore_case); break;
	case KM_STR_REGEX: m = ref_regex(v, h->value); break;	/* no ignore_case */
	default: m = h->present; break;
	}
	return m != h->invert;
}

/*
 * The first query parameter named name (exactly): split the query on '&',
 * the name up to the first '=', the value after it, "" without one;
 * nothing decoded. Written from route_match.h, not from route_match.c.
 */
static bool ref_query_value(const struct ref_req *q, const char *name,
			    struct span *v)
{
	struct span qs = sp(q->buf, q->req->query);
	size_t nl = strlen(name), at = 0;

	while (at <= qs.n) {
		const char *e = qs.s + at;
		const char *amp = memchr(e, '&', qs.n - at);
		size_t elen = amp ? (size_t)(amp - e) : qs.n - at;
		const char *eqp = memchr(e, '=', elen);
		size_t klen = eqp ? (size_t)(eqp - e) : elen;

		if (klen == nl && !memcmp(e, name, nl)) {
			*v = eqp ? (struct span){ eqp + 1, elen - klen - 1 } :
				   (struct span){ e + elen, 0 };
			return true;
		}
		at += elen + 1;
	}
	return false;
}

/* Envoy's QueryParameterMatcher: string_match needs the parameter,
 * present_match is presence == its value. */
static bool ref_query(const struct ref_req *q, const struct km_m_header_match *h)
{
	struct span v;
	size_t n = h->value ? strlen(h->value) : 0;

	if (!ref_query_value(q, h->name, &v))
		return h->kind == KM_STR_PRESENT && !h->present;
	switch (h->kind) {
	case KM_STR_EXACT: return eq(v, h->value, n, h->ignore_case);
	case KM_STR_PREFIX: return starts(v, h->value, n, h->ignore_case);
	case KM_STR_SUFFIX: return ends(v, h->value, n, h->ignore_case);
	case KM_STR_CONTAINS: return contains(v, h->value, n, h->ignore_case);
	case KM_STR_REGEX: return ref_regex(v, h->value);
	default: return h->present;
	}
}

/* -1 no vhost, else vhost * 1000 + route, or vhost * 1000 + 999 for none */
static int ref_match(const struct km_m_route_config *rc, unsigned int flags,
		     const struct ref_req *q)
{
	struct span host = sp(q->buf, q->req->host);
	int vi;

	if (flags & KM_RT_F_IGNORE_PORT)
		for (size_t i = host.n; i > 0; i--) {
			if (host.s[i - 1] == ']')
				break;
			if (host.s[i - 1] == ':') {
				host.n = i - 1;
				break;
			}
		}
	vi = ref_vhost(rc, host);
	if (vi < 0)
		return -1;
	for (size_t ri = 0; ri < rc->vhosts[vi].n_routes; ri++) {
		const struct km_m_route *r = &rc->vhosts[vi].routes[ri];
		bool ok = ref_path(q, r);

		for (size_t hi = 0; ok && hi < r->n_headers; hi++)
			ok = ref_header(q, &r->headers[hi]);
		for (size_t qi = 0; ok && qi < r->n_query_params; qi++)
			ok = ref_query(q, &r->query_params[qi]);
		if (ok)
			return vi * 1000 + (int)ri;
	}
	return vi * 1000 + 999;
}

/* ---- building requests ---------------------------------------------------------------- */

struct in {
	const uint8_t *d;
	size_t n;
};

static uint8_t take(struct in *in)
{
	uint8_t b;

	if (!in->n)
		return 0;
	b = *in->d++;
	in->n--;
	return b;
}

static const char *pick(struct in *in, const char *const *v, size_t n)
{
	return v[take(in) % n];
}

/* Up to 8 raw bytes (any value: the parser decides). */
static void raw(struct in *in, char *out, size_t *len, size_t cap)
{
	size_t n = take(in) % 9;

	for (size_t i = 0; i < n && *len < cap; i++)
		out[(*len)++] = (char)take(in);
}

static void put(char *out, size_t *len, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n <= cap) {
		memcpy(out + *len, s, n);
		*len += n;
	}
}

static const char *const methods[] = {
	"GET", "POST", "post", "CONNECT", "OPTIONS", "PUT", "G(T",
};
static const char *const hosts[] = {
	"a.com", "A.COM", "a.com:8080", "a.com:9090", "x.b.a.com",
	"b.a.com", ".a.com", "x.a.com:80", "foo-x.org", "-x.org", "www.",
	"www.a.net", "www.z.net:1", "api.x", "[::1]", "[::1]:80", "other",
	"", "a.com:",
};
static const char *const paths[] = {
	"/", "/api", "/api/", "/apix", "/API/v1", "/exact", "/exact/",
	"/static/x", "/STATIC", "/p", "/px", "/s", "/S/x", "/absent", "/np",
	"/ie", "?q=1", "?", "#f", "/x?q=1", "", "*",
	/* query parameters: the matchers' names, '=' and '&' in every place */
	"?v=2", "&v=2", "?v", "&v=", "=2", "&", "?a", "&ab=ya", "&ab=YAx",
	"?%76=x%32", "&V=", "&x-a", "=", "?v==2", "/s?a&v=1&v=2",
	/* the regex table's */
	"/re/", "12", "/item", "/ab", "/api/v1", "/v2/x-y", "/Api", "&v=x12",
	"?ab=Yaz", "&ab=ya9",
};
static const char *const names[] = {
	"x-h", "X-H", "x-a", "x-b", "X-Mixed-Case", "host", "Host", "x-other",
};
static const char *const values[] = {
	"Yes", "yes", "admin", "ADx", "1", "2", "xyz", "aMIDb", "mid", "",
	"www.a.com", "POST", " Yes ", "adm", "12", "123",
};

/* A request head from the structured input (input bytes past its end
 * read as 0); its length. */
static size_t make_request(struct in *in, char *out, size_t cap)
{
	size_t len = 0, nh;
	const char *m = pick(in, methods, NELEM(methods));
	uint8_t form = take(in);

	put(out, &len, cap, m);
	put(out, &len, cap, " ");
	if (form % 5 == 0) {
		put(out, &len, cap, "http://");
		put(out, &len, cap, pick(in, hosts, NELEM(hosts)));
	} else if (form % 5 == 1) {
		put(out, &len, cap, pick(in, hosts, NELEM(hosts)));
	}
	for (uint8_t k = take(in) % 4, i = 0; i <= k; i++) {
		put(out, &len, cap, pick(in, paths, NELEM(paths)));
		if (form & 0x80)
			raw(in, out, &len, cap);
	}
	put(out, &len, cap, form & 0x40 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
	if (!(form & 0x20)) {
		put(out, &len, cap, "Host: ");
		put(out, &len, cap, pick(in, hosts, NELEM(hosts)));
		put(out, &len, cap, "\r\n");
	}
	nh = take(in) % 7;
	for (size_t i = 0; i < nh; i++) {
		put(out, &len, cap, pick(in, names, NELEM(names)));
		put(out, &len, cap, ": ");
		put(out, &len, cap, pick(in, values, NELEM(values)));
		if (form & 0x10)
			raw(in, out, &len, cap);
		put(out, &len, cap, "\r\n");
	}
	put(out, &len, cap, "\r\n");
	return len;
}

/* ---- checks ----------------------------------------------------------------------------- */

static void check_answer(int ret, const struct km_route_result *res)
{
	if (ret == -EINVAL) {
		CHECK(res->status == KM_ROUTE_BAD_TABLE);
		CHECK(km_route_pick_cluster(res, 0) == -1);
		return;
	}
	if (ret == -ENOENT) {
		CHECK(res->status == KM_ROUTE_NO_VHOST ||
		      res->status == KM_ROUTE_NO_ROUTE);
		CHECK(km_route_pick_cluster(res, 0) == -1);
		return;
	}
	CHECK(ret == 0 && res->status == KM_ROUTE_MATCHED);
	CHECK(res->action.n_targets >= 1 &&
	      res->action.n_targets <= KM_MAX_WEIGHTED);
	CHECK(res->action.total_weight >= 1);
	for (__u32 d = 0; d < 16; d++)
		CHECK(km_route_pick_cluster(res, d * 0x9e3779b9u) >= 0);
}

/* A fixed (valid) table: the reference's answer, exactly. */
static void check_fixed(size_t t, const char *buf,
			const struct km_http_req *req)
{
	const struct km_m_route_config *rc = &tables[t].rc;
	struct ref_req q = { .buf = buf, .req = req };
	struct km_route_result res;
	int ret, want;

	q.connect = eq(sp(buf, req->method), "CONNECT", 7, false);
	ret = km_route_match(tables[t].blob, (__u32)tables[t].len, buf, req,
			     &res);
	check_answer(ret, &res);
	CHECK(ret != -EINVAL);	/* the builder's tables are valid */
	want = ref_match(rc, tables[t].flags, &q);
	if (want < 0) {
		CHECK(res.status == KM_ROUTE_NO_VHOST);
		return;
	}
	CHECK(res.vhost == want / 1000);
	if (want % 1000 == 999) {
		CHECK(res.status == KM_ROUTE_NO_ROUTE);
		return;
	}
	CHECK(res.status == KM_ROUTE_MATCHED && res.route == want % 1000);
	{
		const struct km_m_action *a =
			&rc->vhosts[res.vhost].routes[res.route].action;
		__u32 total = 0, seen[5] = {};

		CHECK(res.action.n_targets == a->n_clusters);
		for (size_t i = 0; i < a->n_clusters; i++)
			total += a->clusters[i].weight;
		CHECK(res.action.total_weight == total);
		/* total consecutive draws give each cluster its weight */
		for (__u32 d = 0; d < total; d++) {
			long id = km_route_pick_cluster(&res, 1000 * total + d);

			CHECK(id >= 1 && id <= 4);
			seen[id]++;
		}
		for (size_t i = 0; i < a->n_clusters; i++) {
			__u32 id;

			CHECK(cluster_id(NULL, a->clusters[i].cluster, &id) == 0);
			/* the clusters of a route here are distinct */
			CHECK(seen[id] == a->clusters[i].weight);
		}
	}
}

/* A blob that may be anything: copied to exactly len heap bytes (malloc
 * aligns them as a map value is). */
static void check_blob(const void *blob, size_t len, const char *buf,
		       const struct km_http_req *req)
{
	void *c = malloc(len ? len : 1);
	struct km_route_result res;
	int ret;

	memcpy(c, blob, len);
	ret = km_route_match(c, (__u32)len, buf, req, &res);
	check_answer(ret, &res);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char head[KM_HTTP_MAX_HEAD + 256];
	struct in in = { data, size };
	struct km_http_req req;
	uint8_t mode = take(&in) % 4;
	size_t len;

	if (mode == 1) {
		len = in.n < sizeof(head) ? in.n : sizeof(head);
		memcpy(head, in.d, len);
	} else {
		len = make_request(&in, head, sizeof(head));
	}
	if (km_http_parse(head, (__u32)len, &req) != 0)
		return 0;

	if (mode <= 1) {
		for (size_t t = 0; t < NELEM(tables); t++)
			check_fixed(t, head, &req);
		return 0;
	}
	if (mode == 3) {
		check_blob(in.d, in.n, head, &req);
		return 0;
	}
	{
		size_t t = take(&in) % NELEM(tables);
		unsigned char *c = malloc(tables[t].len);

		memcpy(c, tables[t].blob, tables[t].len);
		while (in.n >= 3) {
			size_t off = ((size_t)take(&in) << 8 | take(&in)) %
				     tables[t].len;

			c[off] = take(&in);
		}
		check_blob(c, tables[t].len, head, &req);
		free(c);
	}
	return 0;
}
