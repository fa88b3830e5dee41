// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * HTTP route matching over a compiled route table; the rules and return
 * values are in include/kmesh/route_match.h, the blob format in
 * include/kmesh/route_table.h.
 *
 * Built verbatim into kmesh.ko and into libkmesh.a
 * (userspace/model/route_match_user.c includes it): no libc, no kernel API.
 * String comparison and header lookup are http_parse.c's. Every record and
 * string is fetched through km_rt_get()/km_rt_str(), which check it lies
 * inside the blob, and every loop has an abi.h (or, over the request,
 * http_parse.h) constant bound besides its count.
 *
 * The blob is a map value that the agent (or anyone with the map) may
 * rewrite while a lookup runs. So every record is copied out once, one
 * volatile 32-bit load per word (km_rt_get), and only the copy is checked
 * and used: a concurrent writer can make a record wrong, never make a
 * length change between its check and its use. Strings are read in place;
 * their bytes may change under us, their bounds come from the copies.
 */
#include "kmesh/route_match.h"
#include "kmesh/regex_dfa.h"

/* lb_pick.h asks its includer for an endpoint lookup; only km_pick_target()
 * is used here, which never calls it. */
static inline const struct km_endpoint *
km_endpoint_lookup(void *env, const struct km_endpoint_key *key)
{
	return (void *)0;
}
#include "kmesh/lb_pick.h"

/* The blob (len bytes, its own length once the header is read) and the
 * request being routed. */
struct km_rt_ctx {
	const unsigned char *t;
	__u32 len;
	__u32 regex_off;	/* the header's copy */
	const char *buf;
	const struct km_http_req *req;
};

/* &t[off] if [off, off + size) lies inside the blob and off is 4-aligned
 * (every record has 4-byte fields), else NULL. */
static const void *km_rt_at(const struct km_rt_ctx *c, __u32 off, __u32 size)
{
	if (off > c->len || size > c->len - off || (off & 3))
		return (void *)0;
	return c->t + off;
}

/* Copy the record at off (size bytes, a multiple of 4) into dst, each
 * 32-bit word loaded once (READ_ONCE: the compiler may not load it again).
 * false if it is not inside the blob. */
static bool km_rt_get(const struct km_rt_ctx *c, __u32 off, void *dst,
		      __u32 size)
{
	const volatile __u32 *src = km_rt_at(c, off, size);
	__u32 i, w;

	if (!src)
		return false;
	/* the record's own fields are __u16 and __u8 too: store bytes */
	for (i = 0; i < size / 4; i++) {
		w = src[i];
		__builtin_memcpy((char *)dst + i * 4, &w, 4);
	}
	return true;
}

/* String (off, len): inside the blob and no longer than a config string may
 * be, else NULL. A zero-length string at any in-bounds offset is fine. */
static const char *km_rt_str(const struct km_rt_ctx *c, __u32 off, __u32 len)
{
	if (len > KM_RT_STR_MAX || off > c->len || len > c->len - off)
		return (void *)0;
	return (const char *)c->t + off;
}

/* Does s[0..len) match the table's regex number idx (its whole value, in
 * one pass: regex_dfa.h)? 1, 0, or -EINVAL on a bad record. */
static int km_regex_match(const struct km_rt_ctx *c, __u32 idx, const char *s,
			  __u32 len)
{
	struct km_rt_regexes x = {};
	__u32 off[1];
	const void *dfa;

	/* values come from the head: the bound is the head's */
	if (len > KM_HTTP_MAX_HEAD)
		return -EINVAL;
	if (!c->regex_off || !km_rt_get(c, c->regex_off, &x, sizeof(x)) ||
	    x.n > KM_RT_MAX_REGEXES || idx >= x.n ||
	    !km_rt_get(c, c->regex_off + sizeof(x) + idx * 4, off, 4))
		return -EINVAL;
	dfa = km_rt_at(c, off[0], sizeof(struct km_dfa));
	if (!dfa)
		return -EINVAL;
	return km_dfa_match(dfa, c->len - off[0], s, len);
}

static bool km_span_ok(struct km_http_span s, __u32 head_len)
{
	return (__u32)s.off + s.len <= head_len;
}

/* req comes from km_http_parse(), but through a kfunc it is the caller's
 * memory: every span it holds must lie in the head before buf is read. */
static bool km_req_ok(const struct km_http_req *req)
{
	__u32 hl = req->head_len, i;

	if (hl > KM_HTTP_MAX_HEAD || req->n_headers > KM_HTTP_MAX_HEADERS)
		return false;
	if (!km_span_ok(req->method, hl) || !km_span_ok(req->path, hl) ||
	    !km_span_ok(req->query, hl) || !km_span_ok(req->host, hl) ||
	    !km_span_ok(req->target, hl))
		return false;
	for (i = 0; i < KM_HTTP_MAX_HEADERS && i < req->n_headers; i++)
		if (!km_span_ok(req->headers[i].name, hl) ||
		    !km_span_ok(req->headers[i].value, hl))
			return false;
	return true;
}

/* getPortStart: cut from the last ':' unless a ']' follows it. */
static __u32 km_host_without_port(const char *h, __u32 len)
{
	__u32 i;

	for (i = len; i > 0; i--) {
		if (h[i - 1] == ']')
			return len;
		if (h[i - 1] == ':')
			return i - 1;
	}
	return len;
}

/* Rank of a domain that matches host: 0 exact, 1 suffix, 2 prefix, 3 "*";
 * -1 no match, -EINVAL unknown kind. */
static int km_domain_rank(const struct km_rt_domain *d, const char *s,
			  const char *host, __u32 hlen)
{
	switch (d->kind) {
	case KM_RT_DOM_EXACT:
		return km_str_match(host, hlen, s, d->len,
				    KM_MATCH_EXACT | KM_MATCH_ICASE) ? 0 : -1;
	case KM_RT_DOM_SUFFIX:
		/* the '*' stands for at least one character */
		return d->len < hlen &&
		       km_str_match(host, hlen, s, d->len,
				    KM_MATCH_SUFFIX | KM_MATCH_ICASE) ? 1 : -1;
	case KM_RT_DOM_PREFIX:
		return d->len < hlen &&
		       km_str_match(host, hlen, s, d->len,
				    KM_MATCH_PREFIX | KM_MATCH_ICASE) ? 2 : -1;
	case KM_RT_DOM_ANY:
		return 3;
	}
	return -EINVAL;
}

/* The domain the index entry at @off names: its record in *d, its string
 * in *s, its virtual host's index in *vi. Nothing else is trusted: the
 * virtual host's record is read once, for the winner. */
static int km_dref(const struct km_rt_ctx *c, const struct km_rt_head *h,
		   __u32 off, struct km_rt_domain *d, const char **s, __u32 *vi)
{
	struct km_rt_dref r = {};

	if (!km_rt_get(c, off, &r, sizeof(r)) || r.vhost >= h->n_vhosts ||
	    !km_rt_get(c, r.domain_off, d, sizeof(*d)))
		return -EINVAL;
	*s = km_rt_str(c, d->off, d->len);
	if (!*s)
		return -EINVAL;
	*vi = r.vhost;
	return 0;
}

/* The virtual host with an exact domain equal to host: its index, -ENOENT
 * if none, -EINVAL on a bad record. */
static int km_exact_vhost(const struct km_rt_ctx *c,
			  const struct km_rt_head *h,
			  const struct km_rt_index *x, const char *host,
			  __u32 hlen)
{
	__u32 b = km_rt_hash(host, hlen) & ((1u << x->bucket_bits) - 1);
	__u32 start[2], i, vi;
	struct km_rt_domain d = {};
	const char *s;

	if (!km_rt_get(c, x->bucket_off + b * 4, start, sizeof(start)) ||
	    start[0] > start[1] || start[1] > x->n_exact)
		return -EINVAL;
	for (i = start[0]; i < start[1] && i < KM_MAX_RC_DOMAINS; i++) {
		if (km_dref(c, h, x->exact_off + i * sizeof(struct km_rt_dref),
			    &d, &s, &vi) || d.kind != KM_RT_DOM_EXACT)
			return -EINVAL;
		if (km_domain_rank(&d, s, host, hlen) == 0)
			return (int)vi;
	}
	return -ENOENT;
}

/* Index of the vhost for host (its record copied to *best_v), -ENOENT if
 * none, -EINVAL on a bad record. h is the caller's copy of the header.
 * Envoy's order: an exact domain, else the longest suffix wildcard, else
 * the longest prefix wildcard, else "*"; among equals the first listed. */
static int km_select_vhost(const struct km_rt_ctx *c,
			   const struct km_rt_head *h, const char *host,
			   __u32 hlen, struct km_rt_vhost *best_v)
{
	struct km_rt_index x = {};
	struct km_rt_domain d = {};
	const char *s;
	int best, rank, best_rank = 4;
	__u32 best_len = 0, i, vi;

	if (!km_rt_get(c, h->index_off, &x, sizeof(x)) ||
	    x.bucket_bits > KM_RT_MAX_BUCKET_BITS ||
	    x.n_exact > KM_MAX_RC_DOMAINS || x.n_wild > KM_MAX_RC_DOMAINS)
		return -EINVAL;
	best = km_exact_vhost(c, h, &x, host, hlen);
	if (best != -ENOENT)	/* an exact domain won, or a bad record */
		goto out;
	for (i = 0; i < x.n_wild && i < KM_MAX_RC_DOMAINS; i++) {
		if (km_dref(c, h, x.wild_off + i * sizeof(struct km_rt_dref),
			    &d, &s, &vi) || d.kind == KM_RT_DOM_EXACT)
			return -EINVAL;
		rank = km_domain_rank(&d, s, host, hlen);
		if (rank == -EINVAL)
			return rank;
		if (rank > 0 && (rank < best_rank ||
				 (rank == best_rank && d.len > best_len))) {
			best = (int)vi;
			best_rank = rank;
			best_len = d.len;
		}
	}
out:
	if (best < 0)
		return best;
	if (!km_rt_get(c, h->vhost_off + (__u32)best * sizeof(*best_v), best_v,
		       sizeof(*best_v)) || best_v->n_domains > KM_MAX_DOMAINS)
		return -EINVAL;
	return best;
}

static bool km_is_connect(const struct km_rt_ctx *c)
{
	const struct km_http_req *r = c->req;

	return km_str_match(c->buf + r->method.off, r->method.len, "CONNECT",
			    7, KM_MATCH_EXACT);
}

/* 1 match, 0 no match, -EINVAL bad record. */
static int km_path_match(const struct km_rt_ctx *c, const struct km_rt_route *r)
{
	const struct km_http_req *req = c->req;
	const char *path = c->buf + req->path.off, *pat;
	__u32 plen = req->path.len;
	__u32 icase = (r->flags & KM_RT_R_ICASE) ? KM_MATCH_ICASE : 0;

	pat = km_rt_str(c, r->path_off, r->path_len);
	if (!pat)
		return -EINVAL;
	if (plen == 0) {
		if (km_is_connect(c))
			return 0;
		path = "/";
		plen = 1;
	}
	switch (r->path_kind) {
	case KM_RT_PATH_PREFIX:
		return km_str_match(path, plen, pat, r->path_len,
				    KM_MATCH_PREFIX | icase);
	case KM_RT_PATH_EXACT:
		return km_str_match(path, plen, pat, r->path_len,
				    KM_MATCH_EXACT | icase);
	case KM_RT_PATH_SEPARATED_PREFIX:
		if (!km_str_match(path, plen, pat, r->path_len,
				  KM_MATCH_PREFIX | icase))
			return 0;
		return plen == r->path_len || path[r->path_len] == '/';
	case KM_RT_PATH_REGEX:
		return km_regex_match(c, r->regex, path, plen);
	}
	return -EINVAL;
}

/*
 * The request's value for header name[0..nlen) (lowercase): *val, *vlen.
 * false if the request has no such header.
 */
static bool km_header_value(const struct km_rt_ctx *c, const char *name,
			    __u32 nlen, const char **val, __u32 *vlen)
{
	const struct km_http_req *req = c->req;
	__u32 end;
	int i;

	if (nlen > 0 && name[0] == ':') {
		if (km_str_match(name, nlen, ":method", 7, KM_MATCH_EXACT)) {
			*val = c->buf + req->method.off;
			*vlen = req->method.len;
			return true;
		}
		if (km_str_match(name, nlen, ":authority", 10, KM_MATCH_EXACT)) {
			*val = c->buf + req->host.off;
			*vlen = req->host.len;
			return req->host.len > 0;
		}
		if (km_str_match(name, nlen, ":path", 5, KM_MATCH_EXACT)) {
			if (req->path.len == 0) {
				if (km_is_connect(c))
					return false;
				*val = "/";
				*vlen = 1;
				return true;
			}
			/* path and query, without a fragment */
			end = req->query.len ? req->query.off + req->query.len :
			      req->path.off + req->path.len;
			if (end < req->path.off)
				return false;
			*val = c->buf + req->path.off;
			*vlen = end - req->path.off;
			return true;
		}
		return false;
	}
	i = km_http_header(req, c->buf, name, nlen);
	if (i < 0)
		return false;
	*val = c->buf + req->headers[i].value.off;
	*vlen = req->headers[i].value.len;
	return true;
}

/*
 * The value of the first query parameter named name[0..nlen) (exactly, as
 * sent): *val, *vlen. false if the query has none. route_match.h has the
 * rules (Envoy's QueryParamsMulti::parseParameters): elements split on '&',
 * the name up to the element's first '=', the rest the value; no '=' gives
 * the value "". One pass over the query, which km_req_ok() bounded by
 * KM_HTTP_MAX_HEAD.
 */
static bool km_query_value(const struct km_rt_ctx *c, const char *name,
			   __u32 nlen, const char **val, __u32 *vlen)
{
	const struct km_http_req *req = c->req;
	const char *q = c->buf + req->query.off;
	__u32 qlen = req->query.len, start = 0, eq = 0, i;
	bool has_eq = false;

	/* i == qlen ends the last element */
	for (i = 0; i <= KM_HTTP_MAX_HEAD && i <= qlen; i++) {
		if (i < qlen && q[i] != '&') {
			if (q[i] == '=' && !has_eq) {
				has_eq = true;
				eq = i;
			}
			continue;
		}
		if (km_str_match(q + start, (has_eq ? eq : i) - start, name,
				 nlen, KM_MATCH_EXACT)) {
			*val = has_eq ? q + eq + 1 : q + i;
			*vlen = has_eq ? i - eq - 1 : 0;
			return true;
		}
		start = i + 1;
		has_eq = false;
	}
	return false;
}

/*
 * Envoy's HeaderUtility::matchHeaders for one header matcher, or
 * ConfigUtility::QueryParameterMatcher::matches for a query parameter
 * matcher (KM_RT_H_QUERY; the builder never inverts one): 1, 0 or -EINVAL.
 */
static int km_header_match(const struct km_rt_ctx *c,
			   const struct km_rt_header_match *m)
{
	bool invert = m->flags & KM_RT_H_INVERT;
	bool present_val = m->flags & KM_RT_H_PRESENT;
	const char *name, *pat, *val;
	__u32 vlen = 0;
	bool match, found;

	name = km_rt_str(c, m->name_off, m->name_len);
	pat = km_rt_str(c, m->value_off, m->value_len);
	if (!name || !pat || m->name_len == 0)
		return -EINVAL;
	if (m->kind < KM_RT_HDR_EXACT || m->kind > KM_RT_HDR_REGEX)
		return -EINVAL;

	if (m->flags & KM_RT_H_QUERY)
		found = km_query_value(c, name, m->name_len, &val, &vlen);
	else
		found = km_header_value(c, name, m->name_len, &val, &vlen);
	if (!found) {
		if (m->kind != KM_RT_HDR_PRESENT)
			return 0;
		return invert ? present_val : !present_val;
	}
	if (m->kind == KM_RT_HDR_REGEX) {
		int ret = km_regex_match(c, m->regex, val, vlen);

		return ret < 0 ? ret : (ret != 0) != invert;
	}
	if (m->kind == KM_RT_HDR_PRESENT)
		match = present_val;
	else
		match = km_str_match(val, vlen, pat, m->value_len,
				     m->kind | ((m->flags & KM_RT_H_ICASE) ?
						KM_MATCH_ICASE : 0));
	return match != invert;
}

/* 1 the route matches the request, 0 not, -EINVAL bad record. r is the
 * caller's copy of the record. */
static int km_route_matches(const struct km_rt_ctx *c,
			    const struct km_rt_route *r)
{
	struct km_rt_header_match m = {};
	int ret;
	__u32 i;

	if (r->n_headers > KM_MAX_HEADER_MATCHES)
		return -EINVAL;
	ret = km_path_match(c, r);
	if (ret <= 0)
		return ret;
	for (i = 0; i < KM_MAX_HEADER_MATCHES && i < r->n_headers; i++) {
		if (!km_rt_get(c, r->header_off + i * sizeof(m), &m, sizeof(m)))
			return -EINVAL;
		ret = km_header_match(c, &m);
		if (ret <= 0)
			return ret;
	}
	return 1;
}

/* Copy the route's clusters into res->action, checking what the pick
 * relies on: 1..KM_MAX_WEIGHTED targets, cumulative weights that never
 * decrease, and a total equal to the last one and not 0. */
static int km_copy_action(const struct km_rt_ctx *c,
			  const struct km_rt_route *r,
			  struct km_route_result *res)
{
	struct km_target t = {};
	__u32 prev = 0, i;

	if (r->n_targets == 0 || r->n_targets > KM_MAX_WEIGHTED ||
	    r->total_weight == 0 || r->total_weight > KM_MAX_TOTAL_WEIGHT)
		return -EINVAL;
	for (i = 0; i < KM_MAX_WEIGHTED && i < r->n_targets; i++) {
		if (!km_rt_get(c, r->target_off + i * sizeof(t), &t, sizeof(t)) ||
		    t.cum_weight < prev)
			return -EINVAL;
		prev = t.cum_weight;
		res->action.targets[i] = t;
	}
	if (prev != r->total_weight)
		return -EINVAL;
	res->action.n_targets = r->n_targets;
	res->action.total_weight = r->total_weight;
	return 0;
}

static void km_result_clear(struct km_route_result *res, __u32 status)
{
	__u32 i;

	res->status = status;
	res->vhost = 0;
	res->route = 0;
	res->action.listener_id = 0;
	res->action.n_targets = 0;
	res->action.flags = 0;
	res->action.total_weight = 0;
	res->action.route_id = 0;
	for (i = 0; i < KM_MAX_WEIGHTED; i++) {
		res->action.targets[i].cluster_id = 0;
		res->action.targets[i].cum_weight = 0;
	}
}

static int km_bad_table(struct km_route_result *res)
{
	km_result_clear(res, KM_ROUTE_BAD_TABLE);
	return -EINVAL;
}

int km_route_match(const void *table, __u32 len, const char *buf,
		   const struct km_http_req *req, struct km_route_result *res)
{
	struct km_rt_ctx c = {
		.t = table, .len = len, .buf = buf, .req = req,
	};
	struct km_rt_head h = {};
	struct km_rt_vhost v = {};
	struct km_rt_route r = {};
	const char *host = buf + req->host.off;
	__u32 hlen = req->host.len, i;
	int vi, ret;

	km_result_clear(res, KM_ROUTE_NO_VHOST);
	if (((unsigned long)table & 3) || !km_req_ok(req))
		return km_bad_table(res);
	/* a blob says how long it is; a map value may be longer */
	if (!km_rt_get(&c, 0, &h, sizeof(h)) || h.magic != KM_RT_MAGIC ||
	    h.version != KM_RT_VERSION || h.len < sizeof(h) || h.len > len ||
	    h.len > KM_ROUTE_TABLE_BIG || h.n_vhosts > KM_MAX_VHOSTS)
		return km_bad_table(res);
	c.len = h.len;
	c.regex_off = h.regex_off;

	if (h.flags & KM_RT_F_IGNORE_PORT)
		hlen = km_host_without_port(host, hlen);
	vi = km_select_vhost(&c, &h, host, hlen, &v);
	if (vi == -EINVAL)
		return km_bad_table(res);
	if (vi < 0)
		return -ENOENT;

	res->status = KM_ROUTE_NO_ROUTE;
	res->vhost = (__u16)vi;
	if (v.n_routes > KM_MAX_ROUTES)
		return km_bad_table(res);
	for (i = 0; i < KM_MAX_ROUTES && i < v.n_routes; i++) {
		if (!km_rt_get(&c, v.route_off + i * sizeof(r), &r, sizeof(r)))
			return km_bad_table(res);
		ret = km_route_matches(&c, &r);
		if (ret < 0)
			return km_bad_table(res);
		if (!ret)
			continue;
		if (km_copy_action(&c, &r, res))
			return km_bad_table(res);
		res->status = KM_ROUTE_MATCHED;
		res->route = (__u16)i;
		return 0;
	}
	return -ENOENT;
}

long km_route_pick_cluster(const struct km_route_result *res, __u32 draw)
{
	if (res->status != KM_ROUTE_MATCHED)
		return -1;
	return km_pick_target(&res->action, draw);
}
