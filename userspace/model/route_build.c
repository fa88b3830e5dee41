// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Route config (model) -> compiled route table blob (route_table.h).
 *
 * Two passes over the model. check_*() validates every object against what
 * the blob and kmod/route_match.c can hold (abi.h limits, string lengths,
 * supported match kinds, weights, duplicate domains) and counts records and
 * string bytes; nothing is written until the whole config is known to fit,
 * so the size is exact and an error leaves no half-built blob. emit_*() then
 * lays the records out in route_table.h's order, one region per record
 * type, followed by the string pool.
 *
 * Both config sources (config_yaml.c, xds/resources.c) already reject most
 * of what is checked here, with messages pointing at the YAML node; the
 * checks are repeated because the blob is what the kernel trusts, whatever
 * filled the model.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dup.h"
#include "route_build.h"

/* Names quoted in a message are cut to this many bytes, so the part saying
 * what is wrong still fits in struct km_err. */
#define QUOTE_MAX 64
#define N_QUOTES 4

struct rb {
	const struct km_m_route_config *rc;
	km_cluster_id_fn cluster_id;
	void *ctx;
	struct km_err *err;
	char quote[N_QUOTES][QUOTE_MAX + 4];
	unsigned int next_quote;

	/* pass 1: what the blob holds */
	size_t n_domains, n_routes, n_headers, n_targets, str_bytes;

	/* pass 2: the blob and where each region's next record goes */
	unsigned char *t;
	size_t len;
	size_t vhost_at, domain_at, route_at, header_at, target_at, str_at;
};

/* ---- messages -------------------------------------------------------------- */

/* s for a message: at most QUOTE_MAX bytes, control bytes as '?'. */
static const char *quote(struct rb *b, const char *s)
{
	char *q = b->quote[b->next_quote++ % N_QUOTES];
	size_t i;

	if (!s)
		return "";
	for (i = 0; s[i] && i < QUOTE_MAX; i++)
		q[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i]) {
		memcpy(q + i, "...", 3);
		i += 3;
	}
	q[i] = 0;
	return q;
}

/*
 * "FILE:LINE: route_config 'rc': virtual_host 'vh': route 'r': what".
 * vi/ri < 0 leave the virtual host / route out; an unnamed object is named
 * by its index. src is the innermost object that knows where it came from.
 */
static int fail(struct rb *b, int ret, const struct km_src *src, long vi,
		long ri, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int fail(struct rb *b, int ret, const struct km_src *src, long vi,
		long ri, const char *fmt, ...)
{
	const struct km_m_route_config *rc = b->rc;
	char where[320], what[400];
	size_t n = 0;
	va_list ap;

	if (!src || !src->file)
		src = &rc->src;
	if (src->file && src->line > 0)
		n += snprintf(where, sizeof(where), "%s:%d: ", src->file,
			      src->line);
	else if (src->file)
		n += snprintf(where, sizeof(where), "%s: ", src->file);
	else
		where[0] = 0;
	if (rc->name)
		n += snprintf(where + n, sizeof(where) - n, "route_config '%s'",
			      quote(b, rc->name));
	else
		n += snprintf(where + n, sizeof(where) - n, "route_config");
	if (vi >= 0 && rc->vhosts[vi].name)
		n += snprintf(where + n, sizeof(where) - n,
			      ": virtual_host '%s'",
			      quote(b, rc->vhosts[vi].name));
	else if (vi >= 0)
		n += snprintf(where + n, sizeof(where) - n,
			      ": virtual_hosts[%ld]", vi);
	if (vi >= 0 && ri >= 0 && rc->vhosts[vi].routes[ri].name)
		snprintf(where + n, sizeof(where) - n, ": route '%s'",
			 quote(b, rc->vhosts[vi].routes[ri].name));
	else if (vi >= 0 && ri >= 0)
		snprintf(where + n, sizeof(where) - n, ": routes[%ld]", ri);

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	km_err_set(b->err, "%s: %s", where, what);
	return ret;
}

/* ---- pass 1: check and count ----------------------------------------------- */

/* A string the blob stores: at most KM_RT_STR_MAX bytes, counted into the
 * pool with its NUL. */
static int check_str(struct rb *b, const char *s, const struct km_src *src,
		     long vi, long ri, const char *what)
{
	size_t n = s ? strlen(s) : 0;

	if (n > KM_RT_STR_MAX)
		return fail(b, -EINVAL, src, vi, ri,
			    "%s is %zu bytes long, limit is %d", what, n,
			    KM_RT_STR_MAX);
	b->str_bytes += n + 1;
	return 0;
}

/* Envoy's domain forms: "*", "*suffix", "prefix*", exact. *s, *n: the part
 * the blob stores. */
static __u8 domain_kind(const char *d, const char **s, size_t *n)
{
	size_t len = strlen(d);

	*s = d;
	*n = len;
	if (len == 1 && d[0] == '*') {
		*n = 0;
		return KM_RT_DOM_ANY;
	}
	if (d[0] == '*') {
		*s = d + 1;
		*n = len - 1;
		return KM_RT_DOM_SUFFIX;
	}
	if (len && d[len - 1] == '*') {
		*n = len - 1;
		return KM_RT_DOM_PREFIX;
	}
	return KM_RT_DOM_EXACT;
}

static int check_domains(struct rb *b, size_t vi)
{
	const struct km_m_vhost *v = &b->rc->vhosts[vi];
	char what[32];
	int ret;

	if (v->n_domains == 0)
		return fail(b, -EINVAL, &v->src, vi, -1, "domains is empty");
	if (v->n_domains > KM_MAX_DOMAINS)
		return fail(b, -EINVAL, &v->src, vi, -1,
			    "%zu domains, limit is %d", v->n_domains,
			    KM_MAX_DOMAINS);
	for (size_t i = 0; i < v->n_domains; i++) {
		const char *d = v->domains[i], *s;
		size_t n;

		snprintf(what, sizeof(what), "domains[%zu]", i);
		if (!d || !d[0])
			return fail(b, -EINVAL, &v->src, vi, -1, "%s is empty",
				    what);
		ret = check_str(b, d, &v->src, vi, -1, what);
		if (ret)
			return ret;
		/* the pool holds the domain without its '*' */
		domain_kind(d, &s, &n);
		b->str_bytes -= strlen(d) - n;
	}
	b->n_domains += v->n_domains;
	return 0;
}

/*
 * A Host picks one virtual host: no domain may appear twice in the route
 * config, in one virtual host or across two (Envoy: "Only unique values for
 * domains are permitted"; a second "*" is its "Only a single wildcard
 * domain"). Compared as lowercase, as Host matching ignores case.
 */
static int check_dup_domains(struct rb *b)
{
	const struct km_m_route_config *rc = b->rc;
	struct km_dup_ref *refs;
	size_t n = 0, first, dup;
	int ret = 0;

	if (!b->n_domains)
		return 0;
	refs = calloc(b->n_domains, sizeof(*refs));
	if (!refs)
		return fail(b, -ENOMEM, NULL, -1, -1, "out of memory");
	/* pos = vhost index * KM_MAX_DOMAINS + domain index */
	for (size_t vi = 0; vi < rc->n_vhosts; vi++)
		for (size_t di = 0; di < rc->vhosts[vi].n_domains; di++)
			refs[n++] = (struct km_dup_ref){
				rc->vhosts[vi].domains[di],
				vi * KM_MAX_DOMAINS + di
			};
	if (km_find_dup(refs, n, true, &first, &dup)) {
		size_t v1 = first / KM_MAX_DOMAINS, v2 = dup / KM_MAX_DOMAINS;
		const struct km_m_vhost *vh = &rc->vhosts[v2];
		const char *d = vh->domains[dup % KM_MAX_DOMAINS];

		if (v1 == v2)
			ret = fail(b, -EINVAL, &vh->src, v2, -1,
				   "domain '%s' appears twice", quote(b, d));
		else if (rc->vhosts[v1].name)
			ret = fail(b, -EINVAL, &vh->src, v2, -1,
				   "domain '%s' is also in virtual_host '%s'",
				   quote(b, d), quote(b, rc->vhosts[v1].name));
		else
			ret = fail(b, -EINVAL, &vh->src, v2, -1,
				   "domain '%s' is also in virtual_hosts[%zu]",
				   quote(b, d), v1);
	}
	free(refs);
	return ret;
}

static int check_path(struct rb *b, size_t vi, size_t ri)
{
	const struct km_m_route *r = &b->rc->vhosts[vi].routes[ri];

	switch (r->path_kind) {
	case KM_PATH_PREFIX:
	case KM_PATH_EXACT:
	case KM_PATH_SEPARATED_PREFIX:
		break;
	case KM_PATH_REGEX:
		return fail(b, -EINVAL, &r->src, vi, ri,
			    "match: safe_regex is not supported by kmesh's in-kernel matcher (use prefix, path or path_separated_prefix)");
	default:
		return fail(b, -EINVAL, &r->src, vi, ri,
			    "match: unknown path match kind %u", r->path_kind);
	}
	if (!r->path)
		return fail(b, -EINVAL, &r->src, vi, ri, "match: path is missing");
	return check_str(b, r->path, &r->src, vi, ri, "match: path");
}

/* The pseudo-headers route_match.c knows; any other would silently never
 * be present, unlike in Envoy. */
static bool known_pseudo_header(const char *name)
{
	return !strcasecmp(name, ":method") || !strcasecmp(name, ":path") ||
	       !strcasecmp(name, ":authority");
}

/* The match kind and value of header or query parameter matcher h, named
 * by what ("header 'x'", a buffer of KM_MAX_MATCH_STR + 64 bytes). */
static int check_match_value(struct rb *b, size_t vi, size_t ri,
			     const struct km_m_header_match *h,
			     const struct km_src *src, char *what)
{
	switch (h->kind) {
	case KM_STR_PRESENT:
		return check_str(b, NULL, src, vi, ri, what);
	case KM_STR_EXACT:
	case KM_STR_PREFIX:
	case KM_STR_SUFFIX:
	case KM_STR_CONTAINS:
		break;
	case KM_STR_REGEX:
		return fail(b, -EINVAL, src, vi, ri,
			    "%s: safe_regex is not supported by kmesh's in-kernel matcher (use exact, prefix, suffix, contains or present)",
			    what);
	default:
		return fail(b, -EINVAL, src, vi, ri,
			    "%s: unknown match kind %u", what, h->kind);
	}
	if (!h->value)
		return fail(b, -EINVAL, src, vi, ri, "%s: value is missing",
			    what);
	strcat(what, ": value");
	return check_str(b, h->value, src, vi, ri, what);
}

static int check_header(struct rb *b, size_t vi, size_t ri, size_t hi)
{
	const struct km_m_route *r = &b->rc->vhosts[vi].routes[ri];
	const struct km_m_header_match *h = &r->headers[hi];
	const struct km_src *src = h->src.file ? &h->src : &r->src;
	char what[KM_MAX_MATCH_STR + 64];
	int ret;

	if (!h->name || !h->name[0])
		return fail(b, -EINVAL, src, vi, ri,
			    "headers[%zu]: name is empty", hi);
	snprintf(what, sizeof(what), "header '%s'", quote(b, h->name));
	ret = check_str(b, h->name, src, vi, ri, what);
	if (ret)
		return ret;
	if (h->name[0] == ':' && !known_pseudo_header(h->name))
		return fail(b, -EINVAL, src, vi, ri,
			    "%s: pseudo-header is not supported (:method, :path and :authority are)",
			    what);
	return check_match_value(b, vi, ri, h, src, what);
}

/* Envoy's QueryParameterMatcher has no invert_match; the matcher would
 * apply one, so a model carrying it is refused rather than half-obeyed. */
static int check_query(struct rb *b, size_t vi, size_t ri, size_t qi)
{
	const struct km_m_route *r = &b->rc->vhosts[vi].routes[ri];
	const struct km_m_header_match *h = &r->query_params[qi];
	const struct km_src *src = h->src.file ? &h->src : &r->src;
	char what[KM_MAX_MATCH_STR + 64];
	int ret;

	if (!h->name || !h->name[0])
		return fail(b, -EINVAL, src, vi, ri,
			    "query_parameters[%zu]: name is empty", qi);
	snprintf(what, sizeof(what), "query parameter '%s'",
		 quote(b, h->name));
	ret = check_str(b, h->name, src, vi, ri, what);
	if (ret)
		return ret;
	if (h->invert)
		return fail(b, -EINVAL, src, vi, ri,
			    "%s: invert_match is not supported for query parameters",
			    what);
	return check_match_value(b, vi, ri, h, src, what);
}

/* Header and query parameter matchers share the route's matcher records. */
static int check_matcher_count(struct rb *b, size_t vi, size_t ri)
{
	const struct km_m_route *r = &b->rc->vhosts[vi].routes[ri];

	if (r->n_headers + r->n_query_params <= KM_MAX_HEADER_MATCHES)
		return 0;
	if (!r->n_query_params)
		return fail(b, -EINVAL, &r->src, vi, ri,
			    "%zu header matchers, limit is %d", r->n_headers,
			    KM_MAX_HEADER_MATCHES);
	if (!r->n_headers)
		return fail(b, -EINVAL, &r->src, vi, ri,
			    "%zu query parameter matchers, limit is %d",
			    r->n_query_params, KM_MAX_HEADER_MATCHES);
	return fail(b, -EINVAL, &r->src, vi, ri,
		    "%zu header and %zu query parameter matchers, limit is %d in all",
		    r->n_headers, r->n_query_params, KM_MAX_HEADER_MATCHES);
}

static int check_action(struct rb *b, size_t vi, size_t ri)
{
	const struct km_m_route *r = &b->rc->vhosts[vi].routes[ri];
	const struct km_m_action *a = &r->action;
	const struct km_src *src = a->src.file ? &a->src : &r->src;
	uint64_t sum = 0;

	if (a->n_clusters == 0)
		return fail(b, -EINVAL, src, vi, ri, "route has no cluster");
	if (a->n_clusters > KM_MAX_WEIGHTED)
		return fail(b, -EINVAL, src, vi, ri,
			    "%zu weighted clusters, limit is %d",
			    a->n_clusters, KM_MAX_WEIGHTED);
	for (size_t i = 0; i < a->n_clusters; i++) {
		if (!a->clusters[i].cluster || !a->clusters[i].cluster[0])
			return fail(b, -EINVAL, src, vi, ri,
				    "weighted_clusters: clusters[%zu] has no name",
				    i);
		sum += a->clusters[i].weight;
	}
	if (sum == 0)
		return fail(b, -EINVAL, src, vi, ri,
			    "weighted_clusters: the sum of weights is 0");
	if (sum > KM_MAX_TOTAL_WEIGHT)
		return fail(b, -EINVAL, src, vi, ri,
			    "weighted_clusters: sum of weights %" PRIu64 " is over the limit %u",
			    sum, KM_MAX_TOTAL_WEIGHT);
	/* Envoy: "Sum of weights in the weighted_cluster should add up to
	 * total_weight" */
	if (a->total_weight && a->total_weight != sum)
		return fail(b, -EINVAL, src, vi, ri,
			    "weighted_clusters: total_weight %" PRIu32 " differs from the sum of weights %" PRIu64,
			    a->total_weight, sum);
	b->n_targets += a->n_clusters;
	return 0;
}

static int check_route(struct rb *b, size_t vi, size_t ri)
{
	const struct km_m_route *r = &b->rc->vhosts[vi].routes[ri];
	int ret;

	ret = check_str(b, r->name, &r->src, vi, ri, "name");
	if (!ret)
		ret = check_path(b, vi, ri);
	if (ret)
		return ret;
	ret = check_matcher_count(b, vi, ri);
	if (ret)
		return ret;
	for (size_t hi = 0; hi < r->n_headers; hi++) {
		ret = check_header(b, vi, ri, hi);
		if (ret)
			return ret;
	}
	for (size_t qi = 0; qi < r->n_query_params; qi++) {
		ret = check_query(b, vi, ri, qi);
		if (ret)
			return ret;
	}
	b->n_headers += r->n_headers + r->n_query_params;
	return check_action(b, vi, ri);
}

static int check_vhost(struct rb *b, size_t vi)
{
	const struct km_m_vhost *v = &b->rc->vhosts[vi];
	int ret;

	ret = check_str(b, v->name, &v->src, vi, -1, "name");
	if (!ret)
		ret = check_domains(b, vi);
	if (ret)
		return ret;
	if (v->n_routes > KM_MAX_ROUTES)
		return fail(b, -EINVAL, &v->src, vi, -1,
			    "%zu routes, limit is %d", v->n_routes,
			    KM_MAX_ROUTES);
	for (size_t ri = 0; ri < v->n_routes; ri++) {
		ret = check_route(b, vi, ri);
		if (ret)
			return ret;
	}
	b->n_routes += v->n_routes;
	return 0;
}

static int check_config(struct rb *b)
{
	const struct km_m_route_config *rc = b->rc;
	int ret;

	ret = check_str(b, rc->name, &rc->src, -1, -1, "name");
	if (ret)
		return ret;
	if (rc->n_vhosts > KM_MAX_VHOSTS)
		return fail(b, -EINVAL, NULL, -1, -1,
			    "%zu virtual_hosts, limit is %d", rc->n_vhosts,
			    KM_MAX_VHOSTS);
	for (size_t vi = 0; vi < rc->n_vhosts; vi++) {
		ret = check_vhost(b, vi);
		if (ret)
			return ret;
	}
	return check_dup_domains(b);
}

/* ---- pass 2: emit ----------------------------------------------------------- */

/* Copies n bytes of s (lowercased if asked) and a NUL into the pool; the
 * (off, len) pair that names them. */
static void put_str(struct rb *b, const char *s, size_t n, bool lower,
		    __u32 *off, __u16 *len)
{
	char *p = (char *)b->t + b->str_at;

	for (size_t i = 0; i < n; i++)
		p[i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
	p[n] = 0;
	*off = (__u32)b->str_at;
	*len = (__u16)n;
	b->str_at += n + 1;
}

static void put_cstr(struct rb *b, const char *s, bool lower, __u32 *off,
		     __u16 *len)
{
	put_str(b, s ? s : "", s ? strlen(s) : 0, lower, off, len);
}

static void emit_domains(struct rb *b, const struct km_m_vhost *v,
			 struct km_rt_vhost *out)
{
	out->n_domains = (__u16)v->n_domains;
	out->domain_off = (__u32)b->domain_at;
	for (size_t i = 0; i < v->n_domains; i++) {
		struct km_rt_domain *d = (void *)(b->t + b->domain_at);
		const char *s;
		size_t n;

		d->kind = domain_kind(v->domains[i], &s, &n);
		put_str(b, s, n, true, &d->off, &d->len);
		b->domain_at += sizeof(*d);
	}
}

static const __u8 header_kind[] = {
	[KM_STR_EXACT] = KM_RT_HDR_EXACT,
	[KM_STR_PREFIX] = KM_RT_HDR_PREFIX,
	[KM_STR_SUFFIX] = KM_RT_HDR_SUFFIX,
	[KM_STR_CONTAINS] = KM_RT_HDR_CONTAINS,
	[KM_STR_PRESENT] = KM_RT_HDR_PRESENT,
};

static const __u8 path_kind[] = {
	[KM_PATH_PREFIX] = KM_RT_PATH_PREFIX,
	[KM_PATH_EXACT] = KM_RT_PATH_EXACT,
	[KM_PATH_SEPARATED_PREFIX] = KM_RT_PATH_SEPARATED_PREFIX,
};

/* One matcher record. Header names are stored lowercase (HTTP header
 * names ignore case); query parameter names as configured. */
static void emit_matcher(struct rb *b, const struct km_m_header_match *h,
			 bool query)
{
	struct km_rt_header_match *m = (void *)(b->t + b->header_at);

	m->kind = header_kind[h->kind];
	m->flags = (h->invert ? KM_RT_H_INVERT : 0) |
		   (h->ignore_case ? KM_RT_H_ICASE : 0) |
		   (h->kind == KM_STR_PRESENT && h->present ?
		    KM_RT_H_PRESENT : 0) |
		   (query ? KM_RT_H_QUERY : 0);
	put_cstr(b, h->name, !query, &m->name_off, &m->name_len);
	put_cstr(b, h->kind == KM_STR_PRESENT ? NULL : h->value, false,
		 &m->value_off, &m->value_len);
	b->header_at += sizeof(*m);
}

/* The route's header matchers, then its query parameter matchers. */
static void emit_headers(struct rb *b, const struct km_m_route *r,
			 struct km_rt_route *out)
{
	out->n_headers = (__u8)(r->n_headers + r->n_query_params);
	out->header_off = (__u32)b->header_at;
	for (size_t i = 0; i < r->n_headers; i++)
		emit_matcher(b, &r->headers[i], false);
	for (size_t i = 0; i < r->n_query_params; i++)
		emit_matcher(b, &r->query_params[i], true);
}

/* Cumulative weights into km_target[] (abi.h), cluster ids from the
 * caller. */
static int emit_targets(struct rb *b, size_t vi, size_t ri,
			struct km_rt_route *out)
{
	const struct km_m_route *r = &b->rc->vhosts[vi].routes[ri];
	const struct km_m_action *a = &r->action;
	__u32 cum = 0;
	int ret;

	out->n_targets = (__u16)a->n_clusters;
	out->target_off = (__u32)b->target_at;
	for (size_t i = 0; i < a->n_clusters; i++) {
		const struct km_m_weighted *w = &a->clusters[i];
		struct km_target *t = (void *)(b->t + b->target_at);
		const struct km_src *src = w->src.file ? &w->src : &r->src;

		ret = b->cluster_id(b->ctx, w->cluster, &t->cluster_id);
		if (ret == -ENOENT)
			return fail(b, ret, src, vi, ri,
				    "cluster '%s' is not defined",
				    quote(b, w->cluster));
		if (ret)
			return fail(b, ret < 0 ? ret : -EINVAL, src, vi, ri,
				    "cluster '%s' cannot be a route's target (%s)",
				    quote(b, w->cluster),
				    strerror(ret < 0 ? -ret : EINVAL));
		cum += w->weight;	/* checked: the sum fits */
		t->cum_weight = cum;
		b->target_at += sizeof(*t);
	}
	out->total_weight = cum;
	return 0;
}

static int emit_routes(struct rb *b, size_t vi, struct km_rt_vhost *out)
{
	const struct km_m_vhost *v = &b->rc->vhosts[vi];
	int ret;

	out->n_routes = (__u16)v->n_routes;
	out->route_off = (__u32)b->route_at;
	for (size_t ri = 0; ri < v->n_routes; ri++) {
		const struct km_m_route *r = &v->routes[ri];
		struct km_rt_route *o = (void *)(b->t + b->route_at);

		b->route_at += sizeof(*o);
		put_cstr(b, r->name, false, &o->name_off, &o->name_len);
		put_cstr(b, r->path, false, &o->path_off, &o->path_len);
		o->path_kind = path_kind[r->path_kind];
		o->flags = r->case_sensitive ? 0 : KM_RT_R_ICASE;
		emit_headers(b, r, o);
		ret = emit_targets(b, vi, ri, o);
		if (ret)
			return ret;
	}
	return 0;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int emit(struct rb *b, unsigned int flags)
{
	const struct km_m_route_config *rc = b->rc;
	struct km_rt_head *h = (void *)b->t;
	int ret;

	b->vhost_at = sizeof(*h);
	b->domain_at = b->vhost_at + rc->n_vhosts * sizeof(struct km_rt_vhost);
	b->route_at = b->domain_at + b->n_domains * sizeof(struct km_rt_domain);
	b->header_at = b->route_at + b->n_routes * sizeof(struct km_rt_route);
	b->target_at = b->header_at +
		       b->n_headers * sizeof(struct km_rt_header_match);
	b->str_at = b->target_at + b->n_targets * sizeof(struct km_target);

	h->magic = KM_RT_MAGIC;
	h->version = KM_RT_VERSION;
	h->flags = (__u16)flags;
	h->len = (__u32)b->len;
	h->n_vhosts = (__u16)rc->n_vhosts;
	h->vhost_off = (__u32)b->vhost_at;
	put_cstr(b, rc->name, false, &h->name_off, &h->name_len);
	for (size_t vi = 0; vi < rc->n_vhosts; vi++) {
		const struct km_m_vhost *v = &rc->vhosts[vi];
		struct km_rt_vhost *o = (void *)(b->t + b->vhost_at);

		b->vhost_at += sizeof(*o);
		put_cstr(b, v->name, false, &o->name_off, &o->name_len);
		emit_domains(b, v, o);
		ret = emit_routes(b, vi, o);
		if (ret)
			return ret;
	}
	return 0;
}

int km_route_build(const struct km_m_route_config *rc, unsigned int flags,
		   km_cluster_id_fn cluster_id, void *ctx, void **out,
		   size_t *out_len, struct km_err *err)
{
	struct rb b = {
		.rc = rc, .cluster_id = cluster_id, .ctx = ctx, .err = err,
	};
	size_t len;
	int ret;

	if (flags & ~(unsigned int)KM_RT_F_IGNORE_PORT)
		return fail(&b, -EINVAL, NULL, -1, -1,
			    "unknown route table flags 0x%x", flags);
	ret = check_config(&b);
	if (ret)
		return ret;

	len = sizeof(struct km_rt_head) +
	      rc->n_vhosts * sizeof(struct km_rt_vhost) +
	      b.n_domains * sizeof(struct km_rt_domain) +
	      b.n_routes * sizeof(struct km_rt_route) +
	      b.n_headers * sizeof(struct km_rt_header_match) +
	      b.n_targets * sizeof(struct km_target) + align4(b.str_bytes);
	if (len > KM_ROUTE_TABLE_MAX)
		return fail(&b, -E2BIG, NULL, -1, -1,
			    "compiled route table would be %zu bytes, limit is %u (KM_ROUTE_TABLE_MAX): fewer virtual hosts, routes or shorter strings",
			    len, KM_ROUTE_TABLE_MAX);

	b.len = len;
	b.t = calloc(1, len);
	if (!b.t)
		return fail(&b, -ENOMEM, NULL, -1, -1, "out of memory");
	ret = emit(&b, flags);
	if (ret) {
		free(b.t);
		return ret;
	}
	*out = b.t;
	*out_len = len;
	return 0;
}
