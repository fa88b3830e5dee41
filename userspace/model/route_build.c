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

#include "check.h"
#include "local_reply.h"
#include "regex_dfa.h"
#include "route_build.h"

struct rb {
	const struct km_m_route_config *rc;
	const struct km_target_ids *ids;
	const struct km_m_fault *fault;	/* the chain's fault filter */
	struct km_err *err;
	struct km_diag d;	/* quotes */

	/* pass 1: what the blob holds */
	size_t n_domains, n_routes, n_headers, n_targets, str_bytes;
	size_t n_exact, n_wild;
	unsigned int bucket_bits;
	/* the compiled regexes, each distinct pattern once (src), and for
	 * each regex matcher in the order emit() meets them its DFA (occ) */
	void **dfa;
	const char **src;
	size_t *dfa_len, n_regex, regex_bytes;
	__u16 *occ;
	size_t n_occ;

	/* pass 2: the blob and where each region's next record goes */
	unsigned char *t;
	size_t len;
	size_t vhost_at, domain_at, route_at, header_at, target_at, str_at;
	size_t index_at, bucket_at, exact_at, wild_at;
	size_t regex_at, dfa_at, next_occ;
	/* the exact domains' index entries and hashes, sorted into their
	 * buckets once every domain is out (index_finish) */
	struct exact_ent {
		__u32 hash;
		struct km_rt_dref r;
	} *ex;
	size_t n_ex;
};

/* ---- messages: model/check.c's format ------------------------------------- */

#define fail(b, ret, src, vi, ri, ...) \
	km_rc_fail((b)->err, NULL, (b)->rc, src, vi, ri, ret, __VA_ARGS__)
#define quote(b, s) km_diag_quote(&(b)->d, s)

/* ---- pass 1: count (check.c has checked everything) ------------------------ */

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

static size_t str_size(const char *s)
{
	return (s ? strlen(s) : 0) + 1;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* The regex s (check.c has compiled it) for the next matcher: the same
 * pattern twice shares one DFA. */
static int add_regex(struct rb *b, const char *s, size_t vi, size_t ri)
{
	char why[160];
	size_t i;
	int ret;

	for (i = 0; i < b->n_regex && strcmp(b->src[i], s); i++)
		;
	if (i == b->n_regex) {
		if (i >= KM_RT_MAX_REGEXES)
			return fail(b, -EINVAL, NULL, (long)vi, (long)ri,
				    "more than %d distinct safe_regex patterns in the route config",
				    KM_RT_MAX_REGEXES);
		ret = km_regex_compile(s, &b->dfa[i], &b->dfa_len[i], why,
				       sizeof(why));
		if (ret)
			return fail(b, ret, NULL, (long)vi, (long)ri,
				    "safe_regex '%s': %s", quote(b, s), why);
		b->src[i] = s;
		b->regex_bytes += align4(b->dfa_len[i]);
		b->n_regex++;
	}
	b->occ[b->n_occ++] = (__u16)i;
	return 0;
}

/* Every path, header and query parameter regex of the config, compiled. */
static int count_regexes(struct rb *b)
{
	const struct km_m_route_config *rc = b->rc;
	size_t n = 0;
	int ret;

	for (size_t vi = 0; vi < rc->n_vhosts; vi++)
		for (size_t ri = 0; ri < rc->vhosts[vi].n_routes; ri++)
			n += 1 + rc->vhosts[vi].routes[ri].n_headers +
			     rc->vhosts[vi].routes[ri].n_query_params;
	b->dfa = calloc(n + 1, sizeof(*b->dfa));
	b->src = calloc(n + 1, sizeof(*b->src));
	b->dfa_len = calloc(n + 1, sizeof(*b->dfa_len));
	b->occ = calloc(n + 1, sizeof(*b->occ));
	if (!b->dfa || !b->src || !b->dfa_len || !b->occ)
		return fail(b, -ENOMEM, NULL, -1, -1, "out of memory");
	for (size_t vi = 0; vi < rc->n_vhosts; vi++) {
		for (size_t ri = 0; ri < rc->vhosts[vi].n_routes; ri++) {
			const struct km_m_route *r = &rc->vhosts[vi].routes[ri];
			size_t nh = r->n_headers + r->n_query_params;

			if (r->path_kind == KM_PATH_REGEX &&
			    (ret = add_regex(b, r->path, vi, ri)))
				return ret;
			for (size_t i = 0; i < nh; i++) {
				const struct km_m_header_match *h =
					i < r->n_headers ? &r->headers[i] :
					&r->query_params[i - r->n_headers];

				if (h->kind == KM_STR_REGEX &&
				    (ret = add_regex(b, h->value, vi, ri)))
					return ret;
			}
		}
	}
	return 0;
}

static void free_regexes(struct rb *b)
{
	for (size_t i = 0; b->dfa && i < b->n_regex; i++)
		free(b->dfa[i]);
	free(b->dfa);
	free(b->src);
	free(b->dfa_len);
	free(b->occ);
}

/* The regex index and the DFAs, after the domain index. */
static void emit_regexes(struct rb *b)
{
	struct km_rt_regexes x = { .n = (__u32)b->n_regex };
	__u32 *off = (__u32 *)(b->t + b->regex_at + sizeof(x));
	size_t at = b->dfa_at;

	if (!b->n_regex)
		return;
	((struct km_rt_head *)b->t)->regex_off = (__u32)b->regex_at;
	memcpy(b->t + b->regex_at, &x, sizeof(x));
	for (size_t i = 0; i < b->n_regex; i++) {
		memcpy(b->t + at, b->dfa[i], b->dfa_len[i]);
		off[i] = (__u32)at;
		at += align4(b->dfa_len[i]);
	}
}

/* The next regex matcher's DFA: its index. */
static __u16 put_regex(struct rb *b)
{
	return b->occ[b->next_occ++];
}

/* Records and pool bytes, in the order emit() writes them. */
static void count(struct rb *b)
{
	const struct km_m_route_config *rc = b->rc;

	b->str_bytes = str_size(rc->name);
	for (size_t vi = 0; vi < rc->n_vhosts; vi++) {
		const struct km_m_vhost *v = &rc->vhosts[vi];

		b->str_bytes += str_size(v->name);
		for (size_t di = 0; di < v->n_domains; di++) {
			const char *s;
			size_t n;

			/* the pool holds the domain without its '*' */
			if (domain_kind(v->domains[di], &s, &n) ==
			    KM_RT_DOM_EXACT)
				b->n_exact++;
			else
				b->n_wild++;
			b->str_bytes += n + 1;
		}
		b->n_domains += v->n_domains;
		for (size_t ri = 0; ri < v->n_routes; ri++) {
			const struct km_m_route *r = &v->routes[ri];
			const struct km_m_header_match *h;
			size_t nh = r->n_headers + r->n_query_params;

			b->str_bytes += str_size(r->name) + str_size(r->path);
			for (size_t i = 0; i < nh; i++) {
				h = i < r->n_headers ? &r->headers[i] :
				    &r->query_params[i - r->n_headers];
				b->str_bytes += str_size(h->name) +
					str_size(h->kind == KM_STR_PRESENT ?
						 NULL : h->value);
			}
			b->n_headers += nh;
			b->n_targets += km_action_n_targets(&r->action,
				km_abort_for(&r->action, b->fault));
		}
		b->n_routes += v->n_routes;
	}
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

/* The index entry of the domain record at @off of virtual host @vi:
 * wildcards in config order, exact domains kept for index_finish(). */
static void index_domain(struct rb *b, const struct km_rt_domain *d,
			 size_t off, size_t vi)
{
	struct km_rt_dref r = { .domain_off = (__u32)off, .vhost = (__u16)vi };

	if (d->kind != KM_RT_DOM_EXACT) {
		memcpy(b->t + b->wild_at, &r, sizeof(r));
		b->wild_at += sizeof(r);
		return;
	}
	b->ex[b->n_ex].hash = km_rt_hash((const char *)b->t + d->off, d->len);
	b->ex[b->n_ex++].r = r;
}

/* Fewest buckets that keep chains short: at least one per exact domain,
 * a power of two. */
static unsigned int bucket_bits(size_t n_exact)
{
	unsigned int bits = 0;

	while (bits < KM_RT_MAX_BUCKET_BITS && ((size_t)1 << bits) < n_exact)
		bits++;
	return bits;
}

/* The index record, start[] and the exact domains by bucket (a counting
 * sort, stable: config order within a bucket). */
static void index_finish(struct rb *b)
{
	__u32 nb = 1u << b->bucket_bits, mask = nb - 1, *start;
	struct km_rt_index x = {
		.bucket_off = (__u32)b->bucket_at,
		.exact_off = (__u32)b->exact_at,
		.wild_off = (__u32)(b->wild_at - b->n_wild * sizeof(struct km_rt_dref)),
		.n_exact = (__u32)b->n_exact,
		.n_wild = (__u32)b->n_wild,
		.bucket_bits = (__u16)b->bucket_bits,
	};

	memcpy(b->t + b->index_at, &x, sizeof(x));
	start = (__u32 *)(b->t + b->bucket_at);
	for (size_t i = 0; i < b->n_ex; i++)
		start[(b->ex[i].hash & mask) + 1]++;
	for (__u32 i = 0; i < nb; i++)
		start[i + 1] += start[i];
	/* start[k] is now bucket k's first slot; place, then shift back */
	for (size_t i = 0; i < b->n_ex; i++) {
		__u32 k = b->ex[i].hash & mask;

		memcpy(b->t + b->exact_at + start[k] * sizeof(struct km_rt_dref),
		       &b->ex[i].r, sizeof(struct km_rt_dref));
		start[k]++;
	}
	for (__u32 i = nb; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
}

static void emit_domains(struct rb *b, size_t vi, struct km_rt_vhost *out)
{
	const struct km_m_vhost *v = &b->rc->vhosts[vi];

	out->n_domains = (__u16)v->n_domains;
	out->domain_off = (__u32)b->domain_at;
	for (size_t i = 0; i < v->n_domains; i++) {
		struct km_rt_domain *d = (void *)(b->t + b->domain_at);
		const char *s;
		size_t n;

		d->kind = domain_kind(v->domains[i], &s, &n);
		put_str(b, s, n, true, &d->off, &d->len);
		index_domain(b, d, b->domain_at, vi);
		b->domain_at += sizeof(*d);
	}
}

static const __u8 header_kind[] = {
	[KM_STR_EXACT] = KM_RT_HDR_EXACT,
	[KM_STR_PREFIX] = KM_RT_HDR_PREFIX,
	[KM_STR_SUFFIX] = KM_RT_HDR_SUFFIX,
	[KM_STR_CONTAINS] = KM_RT_HDR_CONTAINS,
	[KM_STR_PRESENT] = KM_RT_HDR_PRESENT,
	[KM_STR_REGEX] = KM_RT_HDR_REGEX,
};

static const __u8 path_kind[] = {
	[KM_PATH_PREFIX] = KM_RT_PATH_PREFIX,
	[KM_PATH_EXACT] = KM_RT_PATH_EXACT,
	[KM_PATH_SEPARATED_PREFIX] = KM_RT_PATH_SEPARATED_PREFIX,
	[KM_PATH_REGEX] = KM_RT_PATH_REGEX,
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
	if (h->kind == KM_STR_REGEX)
		m->regex = put_regex(b);
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

/* Cumulative weights into km_target[] (abi.h): cluster ids from the
 * caller, local replies and fault aborts as local_reply.h says. */
static int emit_targets(struct rb *b, size_t vi, size_t ri,
			struct km_rt_route *out)
{
	const struct km_m_route *r = &b->rc->vhosts[vi].routes[ri];
	const struct km_m_action *a = &r->action;
	const struct km_m_abort *ab = km_abort_for(a, b->fault);
	uint32_t ids[KM_MAX_WEIGHTED + 1], cum[KM_MAX_WEIGHTED + 1], total = 0;
	size_t n = km_action_n_targets(a, ab);
	long bad;
	int ret;

	if (n > KM_MAX_WEIGHTED)
		return fail(b, -EINVAL, ab ? &ab->src : &r->src, vi, ri,
			    "%zu weighted clusters and a fault abort: %zu targets, limit is %d",
			    a->n_clusters, n, KM_MAX_WEIGHTED);
	ret = km_action_targets(a, ab, b->ids, ids, cum, &total, &bad);
	if (ret && bad >= 0) {
		const struct km_m_weighted *w = &a->clusters[bad];
		const struct km_src *src = w->src.file ? &w->src : &r->src;

		if (ret == -ENOENT)
			return fail(b, ret, src, vi, ri,
				    "cluster '%s' is not defined",
				    quote(b, w->cluster));
		return fail(b, ret < 0 ? ret : -EINVAL, src, vi, ri,
			    "cluster '%s' cannot be a route's target (%s)",
			    quote(b, w->cluster),
			    strerror(ret < 0 ? -ret : EINVAL));
	}
	if (ret == -EOPNOTSUPP)
		return fail(b, ret, &r->src, vi, ri,
			    "%s needs kmeshd's responder (not available here)",
			    a->reply ? "a direct_response or redirect" : "a fault abort");
	if (ret == -ERANGE)
		return fail(b, ret, ab ? &ab->src : &r->src, vi, ri,
			    "fault abort %u/%u: the weights scaled by it are over %u",
			    ab ? ab->num : 0, ab ? ab->den : 0, KM_MAX_TOTAL_WEIGHT);
	if (ret)
		return fail(b, ret, &r->src, vi, ri, "%s", strerror(-ret));
	out->n_targets = (__u16)n;
	out->target_off = (__u32)b->target_at;
	for (size_t i = 0; i < n; i++) {
		struct km_target *t = (void *)(b->t + b->target_at);

		t->cluster_id = ids[i];
		t->cum_weight = cum[i];
		b->target_at += sizeof(*t);
	}
	out->total_weight = total;
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
		if (r->path_kind == KM_PATH_REGEX)
			o->regex = put_regex(b);
		o->flags = r->case_sensitive ? 0 : KM_RT_R_ICASE;
		emit_headers(b, r, o);
		ret = emit_targets(b, vi, ri, o);
		if (ret)
			return ret;
	}
	return 0;
}

/* The regex index: none without regexes. */
static size_t regex_index_size(const struct rb *b)
{
	if (!b->n_regex)
		return 0;
	return sizeof(struct km_rt_regexes) + b->n_regex * sizeof(__u32);
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
	b->index_at = b->target_at + b->n_targets * sizeof(struct km_target);
	b->bucket_at = b->index_at + sizeof(struct km_rt_index);
	b->exact_at = b->bucket_at + ((1u << b->bucket_bits) + 1) * sizeof(__u32);
	b->wild_at = b->exact_at + b->n_exact * sizeof(struct km_rt_dref);
	b->regex_at = b->wild_at + b->n_wild * sizeof(struct km_rt_dref);
	b->dfa_at = b->regex_at + regex_index_size(b);
	b->str_at = b->dfa_at + b->regex_bytes;

	h->magic = KM_RT_MAGIC;
	h->version = KM_RT_VERSION;
	h->flags = (__u16)flags;
	h->len = (__u32)b->len;
	h->n_vhosts = (__u16)rc->n_vhosts;
	h->vhost_off = (__u32)b->vhost_at;
	h->index_off = (__u32)b->index_at;
	emit_regexes(b);
	put_cstr(b, rc->name, false, &h->name_off, &h->name_len);
	for (size_t vi = 0; vi < rc->n_vhosts; vi++) {
		const struct km_m_vhost *v = &rc->vhosts[vi];
		struct km_rt_vhost *o = (void *)(b->t + b->vhost_at);

		b->vhost_at += sizeof(*o);
		put_cstr(b, v->name, false, &o->name_off, &o->name_len);
		emit_domains(b, vi, o);
		ret = emit_routes(b, vi, o);
		if (ret)
			return ret;
	}
	index_finish(b);
	return 0;
}

int km_route_build(const struct km_m_route_config *rc, unsigned int flags,
		   km_cluster_id_fn cluster_id, void *ctx, void **out,
		   size_t *out_len, struct km_err *err)
{
	struct km_target_ids ids = {
		.cluster = cluster_id, .ctx = ctx,
	};

	return km_route_build_ex(rc, flags, &ids, NULL, out, out_len, err);
}

int km_route_build_ex(const struct km_m_route_config *rc, unsigned int flags,
		      const struct km_target_ids *ids,
		      const struct km_m_fault *fault, void **out,
		      size_t *out_len, struct km_err *err)
{
	struct rb b = {
		.rc = rc, .ids = ids, .fault = fault, .err = err,
	};
	size_t len;
	int ret;

	if (flags & ~(unsigned int)KM_RT_F_IGNORE_PORT)
		return fail(&b, -EINVAL, NULL, -1, -1,
			    "unknown route table flags 0x%x", flags);
	km_diag_init(&b.d, err, NULL);
	ret = km_check_route_config(rc, NULL, true, err);
	if (ret)
		return ret;
	count(&b);
	ret = count_regexes(&b);
	if (ret) {
		free_regexes(&b);
		return ret;
	}
	b.bucket_bits = bucket_bits(b.n_exact);

	len = sizeof(struct km_rt_head) +
	      rc->n_vhosts * sizeof(struct km_rt_vhost) +
	      b.n_domains * sizeof(struct km_rt_domain) +
	      b.n_routes * sizeof(struct km_rt_route) +
	      b.n_headers * sizeof(struct km_rt_header_match) +
	      b.n_targets * sizeof(struct km_target) +
	      sizeof(struct km_rt_index) +
	      ((1u << b.bucket_bits) + 1) * sizeof(__u32) +
	      (b.n_exact + b.n_wild) * sizeof(struct km_rt_dref) +
	      regex_index_size(&b) + b.regex_bytes + align4(b.str_bytes);
	if (len > KM_ROUTE_TABLE_BIG) {
		free_regexes(&b);
		return fail(&b, -E2BIG, NULL, -1, -1,
			    "compiled route table would be %zu bytes, limit is %u (KM_ROUTE_TABLE_BIG): fewer virtual hosts, routes or shorter strings",
			    len, KM_ROUTE_TABLE_BIG);
	}

	b.len = len;
	b.t = calloc(1, len);
	b.ex = calloc(b.n_exact + 1, sizeof(*b.ex));
	if (!b.t || !b.ex) {
		free(b.t);
		free(b.ex);
		free_regexes(&b);
		return fail(&b, -ENOMEM, NULL, -1, -1, "out of memory");
	}
	ret = emit(&b, flags);
	free(b.ex);
	free_regexes(&b);
	if (ret) {
		free(b.t);
		return ret;
	}
	*out = b.t;
	*out_len = len;
	return 0;
}
