// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* RouteConfigurations, virtual hosts, routes and cluster actions from xDS. */
#include "xds_read.h"
#include "xds_rbac.h"

/* ---- cluster actions (tcp_proxy, route) -------------------------------- */

/* One weighted_clusters entry; has_weight is false for a route entry
 * without a weight (tcp_proxy's plain uint32 is always there). Weights and
 * their sum: model/check.c. */
static int read_weight_entry(struct ctx *c, const char *wwhat, size_t i,
			     const char *name, bool has_weight,
			     uint32_t weight, struct km_m_action *a)
{
	struct km_m_weighted *w = &a->clusters[i];
	char ewhat[WHAT_LEN];
	int ret;

	what_index(ewhat, wwhat, "clusters", i);
	w->src = xds_src;
	ret = x_str_at(c, name, ewhat, "name", KM_NAME_MAX, false, &w->cluster);
	if (ret)
		return ret;
	if (!has_weight)
		return x_fail(c, ewhat, "weight is missing");
	w->weight = weight;
	return 0;
}

static int alloc_weighted(struct ctx *c, size_t n, struct km_m_action *a)
{
	a->clusters = calloc(n ? n : 1, sizeof(*a->clusters));
	if (!a->clusters)
		return oom(c);
	a->n_clusters = n;
	return 0;
}

/* tcp_proxy's form: plain uint32 weights, no total_weight. */
int x_read_tcp_weighted(struct ctx *c, const pb_tcp_weighted *wc,
			     const char *what, struct km_m_action *a)
{
	char wwhat[WHAT_LEN];
	int ret;

	what_fmt(wwhat, "%s: weighted_clusters", what);
	ret = alloc_weighted(c, wc->n_clusters, a);
	for (size_t i = 0; !ret && i < wc->n_clusters; i++)
		ret = read_weight_entry(c, wwhat, i, wc->clusters[i]->name,
					true, wc->clusters[i]->weight, a);
	return ret;
}

/* The route's form: UInt32Value weights, optional total_weight. */
static int read_route_weighted(struct ctx *c, const pb_weighted *wc,
			       const char *what, struct km_m_action *a)
{
	char wwhat[WHAT_LEN], ewhat[WHAT_LEN];
	int ret;

	what_fmt(wwhat, "%s: weighted_clusters", what);
	ret = alloc_weighted(c, wc->n_clusters, a);
	for (size_t i = 0; !ret && i < wc->n_clusters; i++) {
		const Envoy__Config__Route__V3__WeightedCluster__ClusterWeight *e =
			wc->clusters[i];

		if (e->cluster_header && *e->cluster_header) {
			what_index(ewhat, wwhat, "clusters", i);
			return x_fail(c, ewhat,
				    "cluster_header is not supported (name only)");
		}
		ret = read_weight_entry(c, wwhat, i, e->name, e->weight != NULL,
					e->weight ? e->weight->value : 0, a);
	}
	if (ret || !wc->total_weight)
		return ret;
	if (x_u32_in(c, wc->total_weight->value, wwhat, "total_weight", 1,
		   KM_MAX_TOTAL_WEIGHT))
		return -EINVAL;
	a->total_weight = wc->total_weight->value;
	return 0;
}

/* `cluster: x`, the same as one weighted cluster of weight 1. */
int x_read_one_cluster(struct ctx *c, const char *name, const char *what,
			    struct km_m_action *a)
{
	a->clusters = calloc(1, sizeof(*a->clusters));
	if (!a->clusters)
		return oom(c);
	a->n_clusters = 1;
	a->clusters[0].src = xds_src;
	a->clusters[0].weight = 1;
	return x_str_at(c, name, what, "cluster", KM_NAME_MAX, false,
		      &a->clusters[0].cluster);
}

/* ---- http routes ------------------------------------------------------- */

static int read_regex(struct ctx *c, const pb_regex *re, const char *what,
		      char **out)
{
	return x_str_at(c, re ? re->regex : NULL, what, "regex",
		      KM_MAX_MATCH_STR, false, out);
}

/* Envoy's StringMatcher; ignore_case applies to it only. */
static int read_string_match(struct ctx *c, const pb_string_matcher *sm,
			     const char *what, struct km_m_header_match *h)
{
	char swhat[WHAT_LEN];
	int ret;

	what_fmt(swhat, "%s: string_match", what);
	ret = x_no_unknown_fields(c, &sm->base, swhat, "string_match");
	if (ret)
		return ret;
	h->ignore_case = sm->ignore_case;
	/* Envoy allows an empty exact value, not an empty prefix etc. */
	switch (sm->match_pattern_case) {
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_EXACT:
		h->kind = KM_STR_EXACT;
		return x_str_at(c, sm->exact, swhat, "exact", KM_MAX_MATCH_STR,
			      true, &h->value);
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_PREFIX:
		h->kind = KM_STR_PREFIX;
		return x_str_at(c, sm->prefix, swhat, "prefix", KM_MAX_MATCH_STR,
			      false, &h->value);
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SUFFIX:
		h->kind = KM_STR_SUFFIX;
		return x_str_at(c, sm->suffix, swhat, "suffix", KM_MAX_MATCH_STR,
			      false, &h->value);
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_CONTAINS:
		h->kind = KM_STR_CONTAINS;
		return x_str_at(c, sm->contains, swhat, "contains",
			      KM_MAX_MATCH_STR, false, &h->value);
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SAFE_REGEX:
		h->kind = KM_STR_REGEX;
		return read_regex(c, sm->safe_regex, swhat, &h->value);
	default:
		return x_fail(c, swhat,
			    "needs exact, prefix, suffix, contains or safe_regex");
	}
}

/* A HeaderMatcher: string_match, or the legacy *_match fields istiod still
 * sends to older proxies. */
static int read_header(struct ctx *c, const pb_header *ph, const char *rwhat,
		       size_t idx, struct km_m_header_match *h)
{
	char hwhat[WHAT_LEN];
	int ret;

	what_index(hwhat, rwhat, "headers", idx);
	ret = x_str_at(c, ph->name, hwhat, "name", KM_MAX_MATCH_STR, false,
		     &h->name);
	if (ret)
		return ret;
	h->src = xds_src;
	what_named(c, hwhat, rwhat, "header", h->name);
	ret = x_no_unknown_fields(c, &ph->base, hwhat, "header matcher");
	if (ret)
		return ret;
	/* changes what a missing header matches; the data path has no such
	 * mode */
	if (ph->treat_missing_header_as_empty)
		return x_fail(c, hwhat,
			    "treat_missing_header_as_empty is not supported");
	h->invert = ph->invert_match;
	switch (ph->header_match_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_EXACT_MATCH:
		h->kind = KM_STR_EXACT;
		return x_str_at(c, ph->exact_match, hwhat, "exact_match",
			      KM_MAX_MATCH_STR, true, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_PREFIX_MATCH:
		h->kind = KM_STR_PREFIX;
		return x_str_at(c, ph->prefix_match, hwhat, "prefix_match",
			      KM_MAX_MATCH_STR, false, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_SUFFIX_MATCH:
		h->kind = KM_STR_SUFFIX;
		return x_str_at(c, ph->suffix_match, hwhat, "suffix_match",
			      KM_MAX_MATCH_STR, false, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_CONTAINS_MATCH:
		h->kind = KM_STR_CONTAINS;
		return x_str_at(c, ph->contains_match, hwhat, "contains_match",
			      KM_MAX_MATCH_STR, false, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_PRESENT_MATCH:
		h->kind = KM_STR_PRESENT;
		h->present = ph->present_match;
		return 0;
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_SAFE_REGEX_MATCH:
		h->kind = KM_STR_REGEX;
		return read_regex(c, ph->safe_regex_match, hwhat, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_STRING_MATCH:
		return read_string_match(c, ph->string_match, hwhat, h);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_RANGE_MATCH:
		return x_fail(c, hwhat, "range_match is not supported");
	default:
		/* Envoy: a matcher with no value checks presence */
		h->kind = KM_STR_PRESENT;
		h->present = true;
		return 0;
	}
}

/* A QueryParameterMatcher: string_match or present_match; neither checks
 * presence, as in Envoy. */
static int read_query_param(struct ctx *c, const pb_query_param *pq,
			    const char *rwhat, size_t idx,
			    struct km_m_header_match *h)
{
	char qwhat[WHAT_LEN];
	int ret;

	what_index(qwhat, rwhat, "query_parameters", idx);
	ret = x_str_at(c, pq->name, qwhat, "name", KM_MAX_MATCH_STR, false,
		     &h->name);
	if (ret)
		return ret;
	h->src = xds_src;
	what_named(c, qwhat, rwhat, "query parameter", h->name);
	ret = x_no_unknown_fields(c, &pq->base, qwhat,
				"query parameter matcher");
	if (ret)
		return ret;
	switch (pq->query_parameter_match_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__QUERY_PARAMETER_MATCHER__QUERY_PARAMETER_MATCH_SPECIFIER_STRING_MATCH:
		return read_string_match(c, pq->string_match, qwhat, h);
	case ENVOY__CONFIG__ROUTE__V3__QUERY_PARAMETER_MATCHER__QUERY_PARAMETER_MATCH_SPECIFIER_PRESENT_MATCH:
		h->kind = KM_STR_PRESENT;
		h->present = pq->present_match;
		return 0;
	default:
		h->kind = KM_STR_PRESENT;
		h->present = true;
		return 0;
	}
}

/* Match criteria the data path cannot evaluate: refused by name rather
 * than dropped, which would widen the route. */
static int check_match_extras(struct ctx *c, const pb_match *m,
			      const char *rwhat)
{
	if (m->grpc)
		return x_fail(c, rwhat, "match: grpc is not supported");
	if (m->runtime_fraction)
		return x_fail(c, rwhat, "match: runtime_fraction is not supported");
	if (m->tls_context)
		return x_fail(c, rwhat, "match: tls_context is not supported");
	if (m->n_dynamic_metadata)
		return x_fail(c, rwhat, "match: dynamic_metadata is not supported");
	return x_no_unknown_fields(c, &m->base, rwhat, "match");
}

static int read_path(struct ctx *c, const pb_match *m, const char *rwhat,
		     struct km_m_route *r)
{
	int ret;

	switch (m->path_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PREFIX:
		/* an empty prefix matches every path, as in Envoy */
		r->path_kind = KM_PATH_PREFIX;
		return x_str_at(c, m->prefix, rwhat, "prefix", KM_MAX_MATCH_STR,
			      true, &r->path);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH:
		r->path_kind = KM_PATH_EXACT;
		return x_str_at(c, m->path, rwhat, "path", KM_MAX_MATCH_STR,
			      false, &r->path);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH_SEPARATED_PREFIX:
		r->path_kind = KM_PATH_SEPARATED_PREFIX;
		ret = x_str_at(c, m->path_separated_prefix, rwhat,
			     "path_separated_prefix", KM_MAX_MATCH_STR, false,
			     &r->path);
		/* Envoy's rule: ^[^?#]+[^?#/]$ */
		if (!ret && (strpbrk(r->path, "?#") ||
			     r->path[strlen(r->path) - 1] == '/'))
			ret = x_fail(c, rwhat,
				   "path_separated_prefix '%s' must not contain '?' or '#' or end with '/'",
				   quote(c, r->path));
		return ret;
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_SAFE_REGEX:
		/* stored; whether the L7 data path can run it is its call */
		r->path_kind = KM_PATH_REGEX;
		return read_regex(c, m->safe_regex, rwhat, &r->path);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_CONNECT_MATCHER:
		return x_fail(c, rwhat, "connect_matcher is not supported");
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH_MATCH_POLICY:
		return x_fail(c, rwhat, "path_match_policy is not supported");
	default:
		return x_fail(c, rwhat,
			    "needs prefix, path, path_separated_prefix or safe_regex");
	}
}

static int read_match(struct ctx *c, const pb_match *m, const char *rwhat,
		      struct km_m_route *r)
{
	int ret;

	if (!m)
		return x_fail(c, rwhat, "match is missing");
	ret = check_match_extras(c, m, rwhat);
	if (!ret)
		ret = read_path(c, m, rwhat, r);
	if (ret)
		return ret;
	if (m->case_sensitive)
		r->case_sensitive = m->case_sensitive->value;
	/* they share the route's matcher records in the compiled table */
	if (m->n_headers > KM_MAX_HEADER_MATCHES)
		return x_fail(c, rwhat, "%zu header matchers, limit is %d",
			    m->n_headers, KM_MAX_HEADER_MATCHES);
	if (m->n_query_parameters > KM_MAX_HEADER_MATCHES)
		return x_fail(c, rwhat, "%zu query parameter matchers, limit is %d",
			    m->n_query_parameters, KM_MAX_HEADER_MATCHES);
	if (m->n_headers + m->n_query_parameters > KM_MAX_HEADER_MATCHES)
		return x_fail(c, rwhat,
			    "%zu header and %zu query parameter matchers, limit is %d in all",
			    m->n_headers, m->n_query_parameters,
			    KM_MAX_HEADER_MATCHES);
	if (m->n_headers) {
		r->headers = calloc(m->n_headers, sizeof(*r->headers));
		if (!r->headers)
			return oom(c);
		r->n_headers = m->n_headers;
	}
	for (size_t i = 0; i < m->n_headers; i++) {
		ret = read_header(c, m->headers[i], rwhat, i, &r->headers[i]);
		if (ret)
			return ret;
	}
	if (m->n_query_parameters) {
		r->query_params = calloc(m->n_query_parameters,
					 sizeof(*r->query_params));
		if (!r->query_params)
			return oom(c);
		r->n_query_params = m->n_query_parameters;
	}
	for (size_t i = 0; i < m->n_query_parameters; i++) {
		ret = read_query_param(c, m->query_parameters[i], rwhat, i,
				       &r->query_params[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_route_action(struct ctx *c, const pb_action *pa,
			     const char *rwhat, struct km_m_action *a)
{
	a->src = xds_src;
	if (x_read_route_lb(c, pa, rwhat, a))
		return -EINVAL;
	switch (pa->cluster_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER:
		return x_read_one_cluster(c, pa->cluster, rwhat, a);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS:
		return read_route_weighted(c, pa->weighted_clusters, rwhat, a);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER_HEADER:
		return x_fail(c, rwhat,
			    "cluster_header is not supported (cluster or weighted_clusters)");
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER_SPECIFIER_PLUGIN:
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_INLINE_CLUSTER_SPECIFIER_PLUGIN:
		return x_fail(c, rwhat,
			    "cluster specifier plugins are not supported (cluster or weighted_clusters)");
	default:
		return x_fail(c, rwhat, "needs cluster or weighted_clusters");
	}
}

/* Messages name a route "route 'x' in virtual host 'y'", or by index when
 * it has no name. */
static int read_route(struct ctx *c, const pb_route *pr, const char *vwhat,
		      size_t idx, struct km_m_route *r)
{
	char rwhat[WHAT_LEN];
	int ret;

	what_index(rwhat, vwhat, "routes", idx);
	ret = x_opt_str(c, pr->name, rwhat, "name", KM_NAME_MAX, &r->name);
	if (ret)
		return ret;
	if (r->name)
		what_named(c, rwhat, vwhat, "route", r->name);
	r->src = xds_src;
	r->case_sensitive = true;

	switch (pr->action_case) {
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_ROUTE:
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_REDIRECT:
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_DIRECT_RESPONSE:
		break;
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_FILTER_ACTION:
		return x_fail(c, rwhat, "filter_action is not supported");
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_NON_FORWARDING_ACTION:
		return x_fail(c, rwhat, "non_forwarding_action is not supported");
	default:
		return x_fail(c, rwhat, "route is missing");
	}
	ret = read_match(c, pr->match, rwhat, r);
	if (!ret && pr->action_case == ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_ROUTE)
		ret = read_route_action(c, pr->route, rwhat, &r->action);
	else if (!ret)	/* kmeshd's responder answers it (xds_reply.c) */
		ret = x_read_reply(c, pr, rwhat, r);
	if (!ret)
		ret = x_read_route_fault(c, pr, rwhat, &r->action);
	r->action.not_enforced |= x_route_not_enforced(pr);
	return ret;
}

static int read_vhost(struct ctx *c, const pb_vhost *pv, const char *rcwhat,
		      size_t idx, struct km_m_vhost *vh)
{
	char vwhat[WHAT_LEN], dname[32];
	int ret;

	what_index(vwhat, rcwhat, "virtual_hosts", idx);
	ret = x_str_at(c, pv->name, vwhat, "name", KM_NAME_MAX, false, &vh->name);
	if (ret)
		return ret;
	vh->src = xds_src;
	vh->not_enforced = x_vhost_not_enforced(pv);
	what_named(c, vwhat, rcwhat, "virtual_host", vh->name);

	vh->domains = calloc(pv->n_domains + 1, sizeof(*vh->domains));
	if (!vh->domains)
		return oom(c);
	vh->n_domains = pv->n_domains;
	for (size_t i = 0; i < pv->n_domains; i++) {
		snprintf(dname, sizeof(dname), "domains[%zu]", i);
		ret = x_str_at(c, pv->domains[i], vwhat, dname, KM_MAX_MATCH_STR,
			     false, &vh->domains[i]);
		if (ret)
			return ret;
	}

	if (!pv->n_routes)
		return 0;
	vh->routes = calloc(pv->n_routes, sizeof(*vh->routes));
	if (!vh->routes)
		return oom(c);
	vh->n_routes = pv->n_routes;
	for (size_t i = 0; i < pv->n_routes; i++) {
		ret = read_route(c, pv->routes[i], vwhat, i, &vh->routes[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* A RouteConfiguration: an RDS resource (named) or inline in an
 * http_connection_manager (name optional, as in YAML). */
int x_read_route_config(struct ctx *c, const pb_route_config *prc,
			     const char *parent, bool named,
			     struct km_m_route_config *rc)
{
	char rcwhat[WHAT_LEN];
	int ret;

	if (parent && *parent)
		what_fmt(rcwhat, "%s: route_config", parent);
	else
		what_fmt(rcwhat, "route_config");
	if (named)
		ret = x_str_at(c, prc->name, rcwhat, "name", KM_NAME_MAX, false,
			     &rc->name);
	else
		ret = x_opt_str(c, prc->name, rcwhat, "name", KM_NAME_MAX,
			      &rc->name);
	if (ret)
		return ret;
	rc->src = xds_src;
	rc->not_enforced = x_rc_not_enforced(prc);
	if (rc->name)
		what_named(c, rcwhat, parent, "route_config", rc->name);
	if (prc->vhds)
		return x_fail(c, rcwhat, "vhds is not supported");
	/* per-route access control (RBACPerRoute, ...): refused (xds_rbac.c) */
	if (km_xds_authz_per_route(&prc->base, rcwhat, c->d.err))
		return -EINVAL;

	if (!prc->n_virtual_hosts)
		return 0;
	rc->vhosts = calloc(prc->n_virtual_hosts, sizeof(*rc->vhosts));
	if (!rc->vhosts)
		return oom(c);
	rc->n_vhosts = prc->n_virtual_hosts;
	for (size_t i = 0; i < prc->n_virtual_hosts; i++) {
		ret = read_vhost(c, prc->virtual_hosts[i], rcwhat, i,
				 &rc->vhosts[i]);
		if (ret)
			return ret;
	}
	return km_check_route_config(rc, parent, false, c->d.err);
}
