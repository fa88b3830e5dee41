// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The model's rules, once (check.h). Messages keep the readers' shape: the
 * innermost object that knows its place gives FILE:LINE (a YAML file; an
 * xDS object has none, its path names the resource), then the object path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "dup.h"
#include "maglev.h"
#include "regex_dfa.h"
#include "kmesh/route_table.h"

/* ---- messages ------------------------------------------------------------- */

/* "PREFIX: route_config 'rc': virtual_host 'vh': route 'r'"; an unnamed
 * object is named by its index. */
static void rc_where(struct km_diag *d, char *buf, const char *prefix,
		     const struct km_m_route_config *rc, long vi, long ri)
{
	char tmp[KM_WHAT_LEN];

	if (rc->name)
		km_what_named(d, buf, prefix, "route_config", rc->name);
	else if (prefix && *prefix)
		km_what_fmt(buf, "%s: route_config", prefix);
	else
		km_what_fmt(buf, "route_config");
	if (vi < 0)
		return;
	memcpy(tmp, buf, KM_WHAT_LEN);
	if (rc->vhosts[vi].name)
		km_what_named(d, buf, tmp, "virtual_host", rc->vhosts[vi].name);
	else
		km_what_index(buf, tmp, "virtual_hosts", (size_t)vi);
	if (ri < 0)
		return;
	memcpy(tmp, buf, KM_WHAT_LEN);
	if (rc->vhosts[vi].routes[ri].name)
		km_what_named(d, buf, tmp, "route",
			      rc->vhosts[vi].routes[ri].name);
	else
		km_what_index(buf, tmp, "routes", (size_t)ri);
}

static int rc_vfail(struct km_diag *d, const char *prefix,
		    const struct km_m_route_config *rc,
		    const struct km_src *src, long vi, long ri,
		    const char *fmt, va_list ap)
{
	char where[KM_WHAT_LEN];

	if (!src || !src->file)
		src = &rc->src;
	rc_where(d, where, prefix, rc, vi, ri);
	return km_diag_vfail(d, src, where, fmt, ap);
}

int km_rc_fail(struct km_err *err, const char *prefix,
	       const struct km_m_route_config *rc, const struct km_src *src,
	       long vi, long ri, int ret, const char *fmt, ...)
{
	struct km_diag d;
	va_list ap;

	km_diag_init(&d, err, NULL);
	va_start(ap, fmt);
	rc_vfail(&d, prefix, rc, src, vi, ri, fmt, ap);
	va_end(ap);
	return ret;
}

struct chk {
	const struct km_m_route_config *rc;
	const char *prefix;
	bool kernel;		/* also what the in-kernel matcher can do */
	struct km_diag d;
};

static int fail(struct chk *k, const struct km_src *src, long vi, long ri,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(struct chk *k, const struct km_src *src, long vi, long ri,
		const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = rc_vfail(&k->d, k->prefix, k->rc, src, vi, ri, fmt, ap);
	va_end(ap);
	return ret;
}

#define quote(k, s) km_diag_quote(&(k)->d, s)

/* ---- actions -------------------------------------------------------------- */

/* hash_policy: kmesh picks the endpoint when the connection is made, before
 * any request exists, so only the source address can be hashed; Envoy
 * allows one policy on a tcp_proxy. */
static int hash_rules(struct km_diag *d, const struct km_m_action *a,
		      bool route, const struct km_src *src, const char *what)
{
	char hwhat[KM_WHAT_LEN];

	if (!route && a->n_hash > 1)
		return km_diag_fail(d, src, what,
				    "%zu hash_policy entries, limit is 1",
				    a->n_hash);
	for (size_t i = 0; i < a->n_hash; i++) {
		const struct km_m_hash *h = &a->hash[i];

		if (h->kind == KM_HK_SOURCE_IP || h->kind == KM_HK_NOTHING)
			continue;
		km_what_index(hwhat, what, "hash_policy", i);
		return km_diag_fail(d, h->src.file ? &h->src : src, hwhat,
				    "%s is not supported: kmesh picks the endpoint when the connection is made, so only the source address can be hashed (%s)",
				    km_hash_kind_name(h->kind),
				    route ? "connection_properties.source_ip" : "source_ip");
	}
	return 0;
}

/* Envoy's validate rules: DirectResponseAction.status [200, 600),
 * RedirectAction's codes, FaultAbort.http_status [200, 600), a
 * percentage's numerator; the body up to Envoy's default
 * max_direct_response_body_size_bytes. A CR or LF would split the
 * response's header. */
#define KM_REPLY_BODY_MAX 4096

static int reply_rules(struct km_diag *d, const struct km_m_action *a,
		       const struct km_src *src, const char *what)
{
	const struct km_m_reply *r = a->reply;
	const char *const strs[] = { r ? r->scheme : NULL, r ? r->host : NULL,
				     r ? r->path : NULL, r ? r->prefix : NULL };
	const struct km_m_abort *ab = &a->abort;

	if (ab->status && (ab->status < 200 || ab->status > 599))
		return km_diag_fail(d, ab->src.file ? &ab->src : src, what,
				    "fault abort http_status %u is out of range (200-599)",
				    ab->status);
	if (ab->status && ab->num > ab->den)
		return km_diag_fail(d, ab->src.file ? &ab->src : src, what,
				    "fault abort percentage %u/%u is over 100%%",
				    ab->num, ab->den);
	if (!r)
		return 0;
	if (r->src.file)
		src = &r->src;
	if (r->kind == KM_REPLY_DIRECT && (r->status < 200 || r->status > 599))
		return km_diag_fail(d, src, what,
				    "direct_response status %u is out of range (200-599)",
				    r->status);
	if (r->kind == KM_REPLY_DIRECT && r->body_len > KM_REPLY_BODY_MAX)
		return km_diag_fail(d, src, what,
				    "direct_response body is %zu bytes, limit is %d",
				    r->body_len, KM_REPLY_BODY_MAX);
	if (r->kind == KM_REPLY_REDIRECT && r->status != 301 &&
	    r->status != 302 && r->status != 303 && r->status != 307 &&
	    r->status != 308)
		return km_diag_fail(d, src, what,
				    "redirect response_code %u is not one of 301, 302, 303, 307, 308",
				    r->status);
	if (r->port > 65535)
		return km_diag_fail(d, src, what,
				    "port_redirect %u is out of range (1-65535)",
				    r->port);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strs[i] && strpbrk(strs[i], "\r\n"))
			return km_diag_fail(d, src, what,
					    "redirect: a CR or LF in '%.64s'",
					    strs[i]);
	return 0;
}

static int action_rules(struct km_diag *d, const struct km_m_action *a,
			bool route, const struct km_src *src, const char *what)
{
	char wwhat[KM_WHAT_LEN];
	uint64_t sum = 0;
	int ret = reply_rules(d, a, src, what);

	if (ret || a->reply)
		return ret;
	ret = hash_rules(d, a, route, src, what);
	if (ret)
		return ret;

	km_what_fmt(wwhat, "%s%sweighted_clusters", what ? what : "",
		    what && *what ? ": " : "");
	if (a->n_clusters == 0)
		return km_diag_fail(d, src, wwhat, "clusters is empty");
	if (a->n_clusters > KM_MAX_WEIGHTED)
		return km_diag_fail(d, a->clusters[KM_MAX_WEIGHTED].src.file ?
				    &a->clusters[KM_MAX_WEIGHTED].src : src,
				    wwhat, "%zu clusters, limit is %d",
				    a->n_clusters, KM_MAX_WEIGHTED);
	for (size_t i = 0; i < a->n_clusters; i++) {
		const struct km_m_weighted *w = &a->clusters[i];
		const struct km_src *at = w->src.file ? &w->src : src;
		char ewhat[KM_WHAT_LEN];

		km_what_index(ewhat, wwhat, "clusters", i);
		if (!w->cluster || !w->cluster[0])
			return km_diag_fail(d, at, ewhat, "name is missing");
		if (!route && w->weight == 0)
			return km_diag_fail(d, at, ewhat,
					    "weight 0 is out of range (1-%u)",
					    KM_MAX_TOTAL_WEIGHT);
		sum += w->weight;
		if (sum > KM_MAX_TOTAL_WEIGHT)
			return km_diag_fail(d, at, wwhat,
					    "sum of weights %" PRIu64 " is over the limit %u",
					    sum, KM_MAX_TOTAL_WEIGHT);
	}
	if (sum == 0)	/* only a route's can be: every weight 0 */
		return km_diag_fail(d, src, wwhat,
				    "the sum of weights is 0: no cluster would get traffic");
	/* Envoy: "Sum of weights in the weighted_cluster should add up to
	 * total_weight" */
	if (a->total_weight && a->total_weight != sum)
		return km_diag_fail(d, src, wwhat,
				    "total_weight %" PRIu32 " differs from the sum of weights %" PRIu64,
				    a->total_weight, sum);
	return 0;
}

int km_check_action(const struct km_m_action *a, bool route, const char *what,
		    struct km_err *err)
{
	struct km_diag d;

	km_diag_init(&d, err, NULL);
	return action_rules(&d, a, route, &a->src, what);
}

/* ---- route configs -------------------------------------------------------- */

/*
 * Envoy validates domains and header matcher names with its "loose"
 * HTTP_HEADER_VALUE / HTTP_HEADER_NAME patterns (strict: false),
 * ^[^\0\n\r]*$: no request head can carry CR or LF in a Host or a field
 * name, so such a rule could never match and is refused, as Envoy does.
 */
static int check_no_crlf(struct chk *k, const char *s, const struct km_src *src,
			 long vi, long ri, const char *what)
{
	if (s && strpbrk(s, "\r\n"))
		return fail(k, src, vi, ri,
			    "%s holds a CR or LF, which no request can carry (Envoy refuses it too)",
			    what);
	return 0;
}

/* A string the blob stores: at most KM_RT_STR_MAX bytes. */
static int check_str(struct chk *k, const char *s, const struct km_src *src,
		     long vi, long ri, const char *what)
{
	size_t n = s ? strlen(s) : 0;

	if (n > KM_RT_STR_MAX)
		return fail(k, src, vi, ri, "%s is %zu bytes long, limit is %d",
			    what, n, KM_RT_STR_MAX);
	return 0;
}

/* Where a virtual host's domain came from: its own line when the reader
 * kept it, else the virtual host's. */
static const struct km_src *domain_src(const struct km_m_vhost *v, size_t di)
{
	if (di < v->n_domain_srcs && v->domain_srcs[di].file)
		return &v->domain_srcs[di];
	return &v->src;
}

static int check_domains(struct chk *k, size_t vi)
{
	const struct km_m_vhost *v = &k->rc->vhosts[vi];
	char what[32];
	int ret;

	if (v->n_domains == 0)
		return fail(k, &v->src, vi, -1, "domains is empty");
	if (v->n_domains > KM_MAX_DOMAINS)	/* at the first one too many */
		return fail(k, domain_src(v, KM_MAX_DOMAINS), vi, -1,
			    "%zu domains, limit is %d", v->n_domains,
			    KM_MAX_DOMAINS);
	for (size_t i = 0; i < v->n_domains; i++) {
		snprintf(what, sizeof(what), "domains[%zu]", i);
		if (!v->domains[i] || !v->domains[i][0])
			return fail(k, &v->src, vi, -1, "%s is empty", what);
		ret = check_str(k, v->domains[i], &v->src, vi, -1, what);
		if (!ret)
			ret = check_no_crlf(k, v->domains[i], domain_src(v, i),
					    vi, -1, what);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * A Host picks one virtual host: virtual host names are unique, and no
 * domain may appear twice in the route config, in one virtual host or
 * across two (Envoy: "Only unique values for domains are permitted"; a
 * second "*" is its "Only a single wildcard domain"). Domains compare as
 * lowercase, as Host matching ignores case.
 */
static int check_dups(struct chk *k)
{
	const struct km_m_route_config *rc = k->rc;
	struct km_dup_ref *refs;
	size_t n = rc->n_vhosts, first, dup;
	int ret = 0;

	for (size_t vi = 0; vi < rc->n_vhosts; vi++)
		n += rc->vhosts[vi].n_domains;
	if (!n)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return km_diag_oom(&k->d);

	n = 0;
	for (size_t vi = 0; vi < rc->n_vhosts; vi++)
		if (rc->vhosts[vi].name)
			refs[n++] = (struct km_dup_ref){ rc->vhosts[vi].name, vi };
	if (km_find_dup(refs, n, false, &first, &dup)) {
		const struct km_m_vhost *v1 = &rc->vhosts[first];

		if (v1->src.line > 0)
			ret = fail(k, &rc->vhosts[dup].src, -1, -1,
				   "virtual_host '%s' appears twice (first at line %d)",
				   quote(k, v1->name), v1->src.line);
		else
			ret = fail(k, NULL, -1, -1,
				   "virtual_host '%s' appears twice (virtual_hosts[%zu] and [%zu])",
				   quote(k, v1->name), first, dup);
		goto out;
	}

	/* pos = vhost index * KM_MAX_DOMAINS + domain index */
	n = 0;
	for (size_t vi = 0; vi < rc->n_vhosts; vi++)
		for (size_t di = 0; di < rc->vhosts[vi].n_domains; di++)
			refs[n++] = (struct km_dup_ref){
				rc->vhosts[vi].domains[di],
				vi * KM_MAX_DOMAINS + di
			};
	if (km_find_dup(refs, n, true, &first, &dup)) {
		size_t v1 = first / KM_MAX_DOMAINS, v2 = dup / KM_MAX_DOMAINS;
		const struct km_m_vhost *vh = &rc->vhosts[v2];
		const struct km_m_vhost *vf = &rc->vhosts[v1];
		const char *d = vh->domains[dup % KM_MAX_DOMAINS];
		const struct km_src *at = domain_src(vh, dup % KM_MAX_DOMAINS);
		char other[KM_WHAT_LEN] = "";

		if (v1 != v2 && vf->src.line > 0)
			snprintf(other, sizeof(other), " (line %d)",
				 vf->src.line);
		if (v1 == v2)
			ret = fail(k, at, v2, -1, "domain '%s' appears twice%s",
				   quote(k, d), other);
		else if (vf->name)
			ret = fail(k, at, v2, -1,
				   "domain '%s' is also in virtual_host '%s'%s",
				   quote(k, d), quote(k, vf->name), other);
		else
			ret = fail(k, at, v2, -1,
				   "domain '%s' is also in virtual_hosts[%zu]%s",
				   quote(k, d), v1, other);
	}
out:
	free(refs);
	return ret;
}

/* A safe_regex the in-kernel matcher runs: it must compile into a DFA
 * within regex_dfa.h's limits (the builder compiles it again). */
static int check_regex(struct chk *k, const char *re, const struct km_src *src,
		       long vi, long ri, const char *what)
{
	char why[160];
	int ret;

	if (!k->kernel)
		return 0;
	ret = km_regex_compile(re, NULL, NULL, why, sizeof(why));
	if (ret == -ENOMEM)
		return fail(k, src, vi, ri, "%s: out of memory", what);
	if (ret)
		return fail(k, src, vi, ri, "%s: safe_regex '%s': %s", what,
			    quote(k, re), why);
	return 0;
}

static int check_path(struct chk *k, size_t vi, size_t ri)
{
	const struct km_m_route *r = &k->rc->vhosts[vi].routes[ri];
	int ret;

	switch (r->path_kind) {
	case KM_PATH_PREFIX:
	case KM_PATH_EXACT:
	case KM_PATH_SEPARATED_PREFIX:
	case KM_PATH_REGEX:
		break;
	default:
		return fail(k, &r->src, vi, ri,
			    "match: unknown path match kind %u", r->path_kind);
	}
	if (!r->path)
		return fail(k, &r->src, vi, ri, "match: path is missing");
	ret = check_str(k, r->path, &r->src, vi, ri, "match: path");
	if (!ret && r->path_kind == KM_PATH_REGEX)
		ret = check_regex(k, r->path, &r->src, vi, ri, "match");
	return ret;
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
static int check_match_value(struct chk *k, size_t vi, size_t ri,
			     const struct km_m_header_match *h,
			     const struct km_src *src, char *what)
{
	switch (h->kind) {
	case KM_STR_PRESENT:
		return 0;
	case KM_STR_EXACT:
	case KM_STR_PREFIX:
	case KM_STR_SUFFIX:
	case KM_STR_CONTAINS:
	case KM_STR_REGEX:
		break;
	default:
		return fail(k, src, vi, ri, "%s: unknown match kind %u", what,
			    h->kind);
	}
	if (!h->value)
		return fail(k, src, vi, ri, "%s: value is missing", what);
	if (h->kind == KM_STR_REGEX) {
		int ret = check_regex(k, h->value, src, vi, ri, what);

		if (ret)
			return ret;
	}
	strcat(what, ": value");
	return check_str(k, h->value, src, vi, ri, what);
}

/* A header matcher, or (query) a query parameter matcher: Envoy's
 * QueryParameterMatcher has no invert_match; the matcher would apply one,
 * so a model carrying it is refused rather than half-obeyed. */
static int check_matcher(struct chk *k, size_t vi, size_t ri,
			 const struct km_m_header_match *h, size_t i,
			 bool query)
{
	const struct km_m_route *r = &k->rc->vhosts[vi].routes[ri];
	const struct km_src *src = h->src.file ? &h->src : &r->src;
	char what[KM_MAX_MATCH_STR + 64];
	int ret;

	if (!h->name || !h->name[0])
		return fail(k, src, vi, ri, "%s[%zu]: name is empty",
			    query ? "query_parameters" : "headers", i);
	snprintf(what, sizeof(what), "%s '%s'",
		 query ? "query parameter" : "header", quote(k, h->name));
	ret = check_str(k, h->name, src, vi, ri, what);
	if (!ret && !query)
		ret = check_no_crlf(k, h->name, src, vi, ri, what);
	if (ret)
		return ret;
	if (k->kernel && !query && h->name[0] == ':' &&
	    !known_pseudo_header(h->name))
		return fail(k, src, vi, ri,
			    "%s: pseudo-header is not supported (:method, :path and :authority are)",
			    what);
	if (query && h->invert)
		return fail(k, src, vi, ri,
			    "%s: invert_match is not supported for query parameters",
			    what);
	return check_match_value(k, vi, ri, h, src, what);
}

/* Header and query parameter matchers share the route's matcher records. */
static int check_matcher_count(struct chk *k, size_t vi, size_t ri)
{
	const struct km_m_route *r = &k->rc->vhosts[vi].routes[ri];

	if (r->n_headers + r->n_query_params <= KM_MAX_HEADER_MATCHES)
		return 0;
	if (!r->n_query_params)
		return fail(k, &r->src, vi, ri,
			    "%zu header matchers, limit is %d", r->n_headers,
			    KM_MAX_HEADER_MATCHES);
	if (!r->n_headers)
		return fail(k, &r->src, vi, ri,
			    "%zu query parameter matchers, limit is %d",
			    r->n_query_params, KM_MAX_HEADER_MATCHES);
	return fail(k, &r->src, vi, ri,
		    "%zu header and %zu query parameter matchers, limit is %d in all",
		    r->n_headers, r->n_query_params, KM_MAX_HEADER_MATCHES);
}

static int check_route(struct chk *k, size_t vi, size_t ri)
{
	const struct km_m_route *r = &k->rc->vhosts[vi].routes[ri];
	const struct km_src *src = r->action.src.file ? &r->action.src : &r->src;
	char where[KM_WHAT_LEN];
	int ret;

	ret = check_str(k, r->name, &r->src, vi, ri, "name");
	if (!ret)
		ret = check_path(k, vi, ri);
	if (!ret)
		ret = check_matcher_count(k, vi, ri);
	for (size_t i = 0; !ret && i < r->n_headers; i++)
		ret = check_matcher(k, vi, ri, &r->headers[i], i, false);
	for (size_t i = 0; !ret && i < r->n_query_params; i++)
		ret = check_matcher(k, vi, ri, &r->query_params[i], i, true);
	if (ret)
		return ret;
	rc_where(&k->d, where, k->prefix, k->rc, (long)vi, (long)ri);
	return action_rules(&k->d, &r->action, true, src, where);
}

static int check_vhost(struct chk *k, size_t vi)
{
	const struct km_m_vhost *v = &k->rc->vhosts[vi];
	int ret;

	ret = check_str(k, v->name, &v->src, vi, -1, "name");
	if (!ret)
		ret = check_domains(k, vi);
	if (ret)
		return ret;
	if (v->n_routes > KM_MAX_ROUTES)
		return fail(k, &v->routes[KM_MAX_ROUTES].src, vi, -1,
			    "%zu routes, limit is %d",
			    v->n_routes, KM_MAX_ROUTES);
	for (size_t ri = 0; !ret && ri < v->n_routes; ri++)
		ret = check_route(k, vi, ri);
	return ret;
}

int km_check_route_config(const struct km_m_route_config *rc,
			  const char *prefix, bool kernel, struct km_err *err)
{
	struct chk k = { .rc = rc, .prefix = prefix, .kernel = kernel };
	size_t n_domains = 0;
	int ret;

	km_diag_init(&k.d, err, NULL);
	ret = check_str(&k, rc->name, &rc->src, -1, -1, "name");
	if (ret)
		return ret;
	if (rc->n_vhosts > KM_MAX_VHOSTS)
		return fail(&k, &rc->vhosts[KM_MAX_VHOSTS].src, -1, -1,
			    "%zu virtual_hosts, limit is %d",
			    rc->n_vhosts, KM_MAX_VHOSTS);
	for (size_t vi = 0; !ret && vi < rc->n_vhosts; vi++) {
		n_domains += rc->vhosts[vi].n_domains;
		ret = check_vhost(&k, vi);
		if (!ret && n_domains > KM_MAX_RC_DOMAINS)
			ret = fail(&k, &rc->vhosts[vi].src, -1, -1,
				   "more than %d domains in all virtual hosts (at virtual_hosts[%zu])",
				   KM_MAX_RC_DOMAINS, vi);
	}
	return ret ? ret : check_dups(&k);
}

/* ---- clusters --------------------------------------------------------------- */

/* RFC 1123 host names, plus '_' (it is in real DNS names and c-ares takes
 * it); one trailing dot (a rooted name) is allowed. */
static bool dns_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253 + (s[len - 1] == '.'))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

int km_check_cluster(const struct km_m_cluster *cl, const char *what,
		     struct km_err *err)
{
	struct km_diag d;

	if (!km_cluster_is_dns(cl))
		return 0;
	km_diag_init(&d, err, NULL);
	if (cl->type == KM_CLUSTER_LOGICAL_DNS &&
	    (cl->n_localities != 1 || cl->n_endpoints != 1))
		return km_diag_fail(&d, &cl->src, what,
				    "LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint (it has %zu endpoints in %zu groups)",
				    cl->n_endpoints, cl->n_localities);
	if (cl->dns.refresh_ms == 1)
		return km_diag_fail(&d, &cl->src, what,
				    "dns_refresh_rate must be more than 1 ms");
	for (size_t i = 0; i < cl->n_endpoints; i++) {
		const struct km_m_endpoint *ep = &cl->endpoints[i];
		char ewhat[KM_WHAT_LEN];

		if (!ep->hostname || dns_name_ok(ep->hostname))
			continue;
		km_what_fmt(ewhat, "%s: endpoint %zu", what, i + 1);
		return km_diag_fail(&d, &ep->src, ewhat,
				    "address '%s' is neither an IP address nor a DNS name",
				    km_diag_quote(&d, ep->hostname));
	}
	return 0;
}

/* ---- clusters: LB settings ------------------------------------------------ */

int km_check_cluster_lb(const struct km_m_cluster *cl, const char *what,
			struct km_err *err)
{
	static const char *const names[] = {
		[KM_LBC_LEAST_REQUEST] = "least_request_lb_config",
		[KM_LBC_RING_HASH] = "ring_hash_lb_config",
		[KM_LBC_MAGLEV] = "maglev_lb_config",
	};
	static const char *const needs[] = {
		[KM_LBC_LEAST_REQUEST] = "LEAST_REQUEST",
		[KM_LBC_RING_HASH] = "RING_HASH",
		[KM_LBC_MAGLEV] = "MAGLEV",
	};
	const struct km_lb_config *lb = &cl->lb;
	const struct km_src *at = lb->src.file ? &lb->src : &cl->src;
	char lwhat[KM_WHAT_LEN], bwhat[KM_WHAT_LEN];
	struct km_diag d;
	bool ok;

	km_diag_init(&d, err, NULL);
	if (lb->kind == KM_LBC_NONE)
		return 0;
	/* Envoy refuses a config for another policy at runtime */
	ok = (lb->kind == KM_LBC_LEAST_REQUEST && cl->lb_policy == KM_LB_LEAST_REQUEST) ||
	     (lb->kind == KM_LBC_RING_HASH && cl->lb_policy == KM_LB_MAGLEV && lb->ring_hash) ||
	     (lb->kind == KM_LBC_MAGLEV && cl->lb_policy == KM_LB_MAGLEV && !lb->ring_hash);
	if (!ok)
		return km_diag_fail(&d, at, what, "%s needs lb_policy %s",
				    names[lb->kind], needs[lb->kind]);
	km_what_fmt(lwhat, "%s: %s", what, names[lb->kind]);
	if (lb->choice_count &&
	    (lb->choice_count < 2 || lb->choice_count > KM_LR_CHOICE_MAX))
		return km_diag_fail(&d, at, lwhat,
				    "choice_count %" PRIu64 " is out of range (2-%d)",
				    lb->choice_count, KM_LR_CHOICE_MAX);
	/* weight / (active + 1)^bias is compared in integers in the kernel */
	km_what_fmt(bwhat, "%s: active_request_bias", lwhat);
	if (lb->bias_set && lb->bias != 0.0 && lb->bias != 1.0)
		return km_diag_fail(&d, at, bwhat,
				    "default_value %g is not supported (0 or 1.0: weight / (active + 1)^bias is compared in the kernel in integers)",
				    lb->bias);
	if (lb->maglev_size > KM_MAGLEV_SIZE_MAX || lb->maglev_size == 1)
		return km_diag_fail(&d, at, lwhat,
				    "table_size %" PRIu64 " is out of range (2-%u)",
				    lb->maglev_size, KM_MAGLEV_SIZE_MAX);
	if (lb->maglev_size && !km_is_prime(lb->maglev_size))
		return km_diag_fail(&d, at, lwhat,
				    "table_size %" PRIu64 " is not a prime",
				    lb->maglev_size);
	return 0;
}
