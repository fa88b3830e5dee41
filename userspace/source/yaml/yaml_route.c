// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Route configs, virtual hosts, routes and cluster actions from YAML. */
#include "yaml_read.h"

/* ---- cluster actions (tcp_proxy, route) -------------------------------- */

/* One weighted_clusters entry; weights and their sum: model/check.c. */
static int read_weighted_entry(struct ctx *c, yaml_node_t *e,
			       const char *wwhat, size_t i, void *elem,
			       void *arg)
{
	static const char *const used[] = { "name", "weight", NULL };
	struct km_m_weighted *w = elem;
	char ewhat[WHAT_LEN];
	uint64_t x;
	int ret;

	what_index(ewhat, wwhat, "clusters", i);
	ret = y_check_fields(c, e, ewhat, used, NULL);
	if (!ret)
		ret = y_req_str(c, e, ewhat, "name", KM_NAME_MAX, &w->cluster);
	if (ret)
		return ret;
	w->src = y_src_of(c, e);
	ret = y_req_uint(c, e, ewhat, "weight", 0, KM_MAX_TOTAL_WEIGHT, &x);
	w->weight = (uint32_t)x;
	return ret;
}

static int read_weighted(struct ctx *c, yaml_node_t *v, const char *what,
			 bool route, struct km_m_action *a)
{
	static const char *const tcp_fields[] = { "clusters", NULL };
	static const char *const route_fields[] = {
		"clusters", "total_weight", NULL
	};
	static const struct list_rules clusters = {
		.name = "clusters", .required = true,
		.maps = true, .read_item = read_weighted_entry,
	};
	char wwhat[WHAT_LEN];
	yaml_node_t *t;
	uint64_t x;
	int ret;

	what_fmt(wwhat, "%s: weighted_clusters", what);
	ret = y_mapping_at(c, v, what, "weighted_clusters", wwhat,
			 route ? route_fields : tcp_fields, NULL);
	if (!ret)
		ret = y_read_list(c, v, wwhat, &clusters, (void **)&a->clusters,
				&a->n_clusters, sizeof(*a->clusters), NULL);
	if (ret)
		return ret;
	t = route ? y_field(c, v, "total_weight") : NULL;
	if (!t)
		return 0;
	ret = y_uint_at(c, t, wwhat, "total_weight", 1, KM_MAX_TOTAL_WEIGHT, &x);
	a->total_weight = (uint32_t)x;
	return ret;
}

/* `cluster: x`, the same as one weighted cluster of weight 1. */
static int read_one_cluster(struct ctx *c, yaml_node_t *v, const char *what,
			    struct km_m_action *a)
{
	int ret = y_alloc_array(c, 1, sizeof(*a->clusters),
			      (void **)&a->clusters, &a->n_clusters);

	if (ret)
		return ret;
	a->clusters[0].src = y_src_of(c, v);
	a->clusters[0].weight = 1;
	return y_str_at(c, v, what, "cluster", KM_NAME_MAX, false,
		      &a->clusters[0].cluster);
}

int y_read_action_target(struct ctx *c, yaml_node_t *map,
			      const char *what, bool route,
			      struct km_m_action *a)
{
	static const char *const kinds[] = {
		"cluster", "weighted_clusters", NULL
	};
	yaml_node_t *v;
	size_t which;
	int ret;

	a->src = y_src_of(c, map);
	ret = y_read_action_lb(c, map, what, route, a);
	if (ret)
		return ret;
	ret = y_one_of(c, map, what, kinds, true, &v, &which);
	if (ret < 0)
		return ret;
	if (which == 0)
		return read_one_cluster(c, v, what, a);
	return read_weighted(c, v, what, route, a);
}

/* ---- http routes ------------------------------------------------------- */

static int read_regex(struct ctx *c, yaml_node_t *v, const char *what,
		      const char *name, char **out)
{
	static const char *const used[] = { "regex", NULL };
	static const char *const ignored[] = { "google_re2", NULL };
	int ret;

	ret = y_mapping_at(c, v, what, name, what, used, ignored);
	if (!ret)
		ret = y_req_str(c, v, what, "regex", KM_MAX_MATCH_STR, out);
	return ret;
}

/* Envoy's StringMatcher; ignore_case applies to it only. */
static int read_string_match(struct ctx *c, yaml_node_t *v, const char *what,
			     struct km_m_header_match *h)
{
	static const char *const used[] = {
		"exact", "prefix", "suffix", "contains", "safe_regex",
		"ignore_case", NULL
	};
	static const char *const kinds[] = {
		"exact", "prefix", "suffix", "contains", "safe_regex", NULL
	};
	static const uint8_t kind_of[] = {
		KM_STR_EXACT, KM_STR_PREFIX, KM_STR_SUFFIX, KM_STR_CONTAINS,
		KM_STR_REGEX,
	};
	char swhat[WHAT_LEN];
	yaml_node_t *s;
	size_t which;
	int ret;

	what_fmt(swhat, "%s: string_match", what);
	ret = y_mapping_at(c, v, what, "string_match", swhat, used, NULL);
	if (!ret)
		ret = y_opt_bool(c, v, swhat, "ignore_case", &h->ignore_case);
	if (ret)
		return ret;
	ret = y_one_of(c, v, swhat, kinds, true, &s, &which);
	if (ret < 0)
		return ret;
	h->kind = kind_of[which];
	if (h->kind == KM_STR_REGEX)
		return read_regex(c, s, swhat, "safe_regex", &h->value);
	/* Envoy allows an empty exact value, not an empty prefix etc. */
	return y_str_at(c, s, swhat, kinds[which], KM_MAX_MATCH_STR,
		      h->kind == KM_STR_EXACT, &h->value);
}

static int read_header(struct ctx *c, yaml_node_t *n, const char *rwhat,
		       size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"name", "exact_match", "prefix_match", "suffix_match",
		"contains_match", "present_match", "safe_regex_match",
		"string_match", "invert_match", NULL
	};
	static const char *const kinds[] = {
		"exact_match", "prefix_match", "suffix_match",
		"contains_match", "present_match", "safe_regex_match",
		"string_match", NULL
	};
	static const uint8_t kind_of[] = {
		KM_STR_EXACT, KM_STR_PREFIX, KM_STR_SUFFIX, KM_STR_CONTAINS,
		KM_STR_PRESENT, KM_STR_REGEX, 0,
	};
	struct km_m_header_match *h = elem;
	char hwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	h->src = y_src_of(c, n);
	ret = y_item_name(c, n, rwhat, "headers", idx, "header",
			KM_MAX_MATCH_STR, hwhat, &h->name);
	if (!ret)
		ret = y_check_fields(c, n, hwhat, used, NULL);
	if (!ret)
		ret = y_opt_bool(c, n, hwhat, "invert_match", &h->invert);
	if (ret)
		return ret;
	ret = y_one_of(c, n, hwhat, kinds, false, &v, &which);
	if (ret < 0)
		return ret;
	if (ret == 0) {
		/* Envoy: a matcher with no value checks presence */
		h->kind = KM_STR_PRESENT;
		h->present = true;
		return 0;
	}
	h->kind = kind_of[which];
	switch (h->kind) {
	case KM_STR_PRESENT:
		return y_bool_at(c, v, hwhat, kinds[which], &h->present);
	case KM_STR_REGEX:
		return read_regex(c, v, hwhat, kinds[which], &h->value);
	case 0:
		return read_string_match(c, v, hwhat, h);
	default:
		return y_str_at(c, v, hwhat, kinds[which], KM_MAX_MATCH_STR,
			      h->kind == KM_STR_EXACT, &h->value);
	}
}

/* A QueryParameterMatcher: string_match or present_match; neither checks
 * presence, as in Envoy. */
static int read_query_param(struct ctx *c, yaml_node_t *n, const char *rwhat,
			    size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"name", "string_match", "present_match", NULL
	};
	static const char *const kinds[] = {
		"string_match", "present_match", NULL
	};
	struct km_m_header_match *h = elem;
	char qwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	h->src = y_src_of(c, n);
	ret = y_item_name(c, n, rwhat, "query_parameters", idx,
			"query parameter", KM_MAX_MATCH_STR, qwhat, &h->name);
	if (!ret)
		ret = y_check_fields(c, n, qwhat, used, NULL);
	if (ret)
		return ret;
	ret = y_one_of(c, n, qwhat, kinds, false, &v, &which);
	if (ret < 0)
		return ret;
	if (ret == 0 || which == 1) {
		h->kind = KM_STR_PRESENT;
		h->present = true;
		return ret ? y_bool_at(c, v, qwhat, "present_match",
				     &h->present) : 0;
	}
	return read_string_match(c, v, qwhat, h);
}

static int read_match(struct ctx *c, yaml_node_t *v, const char *rwhat,
		      struct km_m_route *r)
{
	static const char *const used[] = {
		"prefix", "path", "path_separated_prefix", "safe_regex",
		"case_sensitive", "headers", "query_parameters", NULL
	};
	static const char *const kinds[] = {
		"prefix", "path", "path_separated_prefix", "safe_regex", NULL
	};
	static const uint8_t kind_of[] = {
		KM_PATH_PREFIX, KM_PATH_EXACT, KM_PATH_SEPARATED_PREFIX,
		KM_PATH_REGEX,
	};
	static const struct list_rules headers = {
		.name = "headers", .limit = KM_MAX_HEADER_MATCHES,
		.noun = "header matchers", .maps = true,
		.read_item = read_header,
	};
	static const struct list_rules query_params = {
		.name = "query_parameters", .limit = KM_MAX_HEADER_MATCHES,
		.noun = "query parameter matchers", .maps = true,
		.read_item = read_query_param,
	};
	yaml_node_t *p;
	size_t which;
	int ret;

	ret = y_mapping_at(c, v, rwhat, "match", rwhat, used, NULL);
	if (!ret)
		ret = y_opt_bool(c, v, rwhat, "case_sensitive",
			       &r->case_sensitive);
	if (ret)
		return ret;
	ret = y_one_of(c, v, rwhat, kinds, true, &p, &which);
	if (ret < 0)
		return ret;
	r->path_kind = kind_of[which];
	switch (r->path_kind) {
	case KM_PATH_REGEX:
		ret = read_regex(c, p, rwhat, "safe_regex", &r->path);
		break;
	case KM_PATH_SEPARATED_PREFIX:
		ret = y_str_at(c, p, rwhat, kinds[which], KM_MAX_MATCH_STR, false,
			     &r->path);
		/* Envoy's rule: ^[^?#]+[^?#/]$ */
		if (!ret && (strpbrk(r->path, "?#") ||
			     r->path[strlen(r->path) - 1] == '/'))
			ret = y_fail(c, p, rwhat,
				   "path_separated_prefix '%s' must not contain '?' or '#' or end with '/'",
				   quote(c, r->path));
		break;
	default:
		/* an empty prefix matches every path, as in Envoy */
		ret = y_str_at(c, p, rwhat, kinds[which], KM_MAX_MATCH_STR,
			     r->path_kind == KM_PATH_PREFIX, &r->path);
		break;
	}
	if (!ret)
		ret = y_read_list(c, v, rwhat, &headers, (void **)&r->headers,
				&r->n_headers, sizeof(*r->headers), NULL);
	if (!ret)
		ret = y_read_list(c, v, rwhat, &query_params,
				(void **)&r->query_params, &r->n_query_params,
				sizeof(*r->query_params), NULL);
	if (ret)
		return ret;
	/* they share the route's matcher records in the compiled table */
	if (r->n_headers + r->n_query_params > KM_MAX_HEADER_MATCHES)
		return y_fail(c, y_field(c, v, "query_parameters"), rwhat,
			    "%zu header and %zu query parameter matchers, limit is %d in all",
			    r->n_headers, r->n_query_params,
			    KM_MAX_HEADER_MATCHES);
	return 0;
}

/* A route that kmesh answers itself: it replaces the prefix (or path) of
 * the route's match on a prefix_rewrite redirect. */
static int read_reply(struct ctx *c, yaml_node_t *n, const char *rwhat,
		      size_t which, yaml_node_t *v, struct km_m_route *r)
{
	int ret;

	r->action.src = y_src_of(c, v);
	ret = which == 1 ? y_read_direct_response(c, v, rwhat, &r->action.reply) :
			   y_read_redirect(c, v, rwhat, &r->action.reply);
	if (ret || !r->path || r->path_kind == KM_PATH_REGEX)
		return ret;
	r->action.reply->matched = strdup(r->path);
	return r->action.reply->matched ? 0 : oom(c);
}

static int read_route(struct ctx *c, yaml_node_t *n, const char *vwhat,
		      size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"name", "match", "route", "direct_response", "redirect",
		"typed_per_filter_config", NULL
	};
	static const char *const actions[] = {
		"route", "direct_response", "redirect", NULL
	};
	static const char *const action_used[] = {
		"cluster", "weighted_clusters", "hash_policy", NULL
	};
	struct km_m_route *r = elem;
	char rwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	what_index(rwhat, vwhat, "routes", idx);
	ret = y_opt_str(c, n, rwhat, "name", KM_NAME_MAX, &r->name);
	if (ret)
		return ret;
	if (r->name)
		what_named(c, rwhat, vwhat, "route", r->name);
	r->src = y_src_of(c, n);
	r->case_sensitive = true;
	ret = y_check_fields(c, n, rwhat, used, y_ne_route);
	if (!ret)
		ret = y_req_field(c, n, rwhat, "match", &v);
	if (!ret)
		ret = read_match(c, v, rwhat, r);
	if (!ret && y_one_of(c, n, rwhat, actions, true, &v, &which) < 0)
		ret = -EINVAL;
	if (!ret && which)
		ret = read_reply(c, n, rwhat, which, v, r);
	else if (!ret)
		ret = y_mapping_at(c, v, rwhat, "route", rwhat, action_used,
				   y_ne_action);
	if (!ret && !which)
		ret = y_read_action_target(c, v, rwhat, true, &r->action);
	if (!ret && (v = y_field(c, n, "typed_per_filter_config")))
		ret = y_read_route_filters(c, v, rwhat, &r->action);
	if (!ret)
		ret = y_ne_bits(c, n, rwhat, y_ne_route, &r->action.not_enforced);
	return ret;
}

static int read_domain(struct ctx *c, yaml_node_t *d, const char *vwhat,
		       size_t i, void *elem, void *arg)
{
	char dname[32];

	snprintf(dname, sizeof(dname), "domains[%zu]", i);
	return y_str_at(c, d, vwhat, dname, KM_MAX_MATCH_STR, false, elem);
}

/* Each domain's line, for model/check.c's duplicate-domain message. */
static int domain_srcs(struct ctx *c, yaml_node_t *n, struct km_m_vhost *vh)
{
	yaml_node_t *seq = y_field(c, n, "domains");

	if (!vh->n_domains)
		return 0;
	vh->domain_srcs = calloc(vh->n_domains, sizeof(*vh->domain_srcs));
	if (!vh->domain_srcs)
		return oom(c);
	for (size_t i = 0; i < vh->n_domains; i++)
		vh->domain_srcs[i] = y_src_of(c, y_seq_item(c, seq, i));
	vh->n_domain_srcs = vh->n_domains;
	return 0;
}

static int read_vhost(struct ctx *c, yaml_node_t *n, const char *rcwhat,
		      size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"name", "domains", "routes", NULL
	};
	static const struct list_rules domains = {
		.name = "domains", .required = true,
		.read_item = read_domain,
	};
	static const struct list_rules routes = {
		.name = "routes", .maps = true,
		.read_item = read_route,
	};
	struct km_m_vhost *vh = elem;
	char vwhat[WHAT_LEN];
	int ret;

	vh->src = y_src_of(c, n);
	ret = y_item_name(c, n, rcwhat, "virtual_hosts", idx, "virtual_host",
			KM_NAME_MAX, vwhat, &vh->name);
	if (!ret)
		ret = y_check_fields(c, n, vwhat, used, y_ne_vhost);
	if (!ret)
		ret = y_ne_bits(c, n, vwhat, y_ne_vhost, &vh->not_enforced);
	if (!ret)
		ret = y_read_list(c, n, vwhat, &domains, (void **)&vh->domains,
				&vh->n_domains, sizeof(*vh->domains), NULL);
	if (!ret)
		ret = domain_srcs(c, n, vh);
	if (!ret)
		ret = y_read_list(c, n, vwhat, &routes, (void **)&vh->routes,
				&vh->n_routes, sizeof(*vh->routes), NULL);
	return ret;
}

int y_read_route_config(struct ctx *c, yaml_node_t *v, const char *what,
			     struct km_m_route_config *rc)
{
	static const char *const used[] = {
		"@type", "name", "virtual_hosts", NULL
	};
	static const char *const ignored[] = {
		"validate_clusters", Y_HEADER_FIELDS, NULL
	};
	static const struct list_rules vhosts = {
		.name = "virtual_hosts", .maps = true,
		.read_item = read_vhost,
	};
	char rcwhat[WHAT_LEN];
	int ret;

	ret = y_want(c, v, YAML_MAPPING_NODE, what, "route_config");
	if (!ret)
		ret = y_opt_str(c, v, what, "name", KM_NAME_MAX, &rc->name);
	if (ret)
		return ret;
	rc->src = y_src_of(c, v);
	if (rc->name)
		what_named(c, rcwhat, what, "route_config", rc->name);
	else
		what_fmt(rcwhat, "%s: route_config", what);
	ret = y_check_fields(c, v, rcwhat, used, ignored);
	if (!ret)
		ret = y_ne_bits(c, v, rcwhat, y_ne_route_config, &rc->not_enforced);
	if (!ret)
		ret = y_check_type_url(c, v, rcwhat, URL_ROUTE_CONFIG);
	if (!ret)
		ret = y_read_list(c, v, rcwhat, &vhosts, (void **)&rc->vhosts,
				&rc->n_vhosts, sizeof(*rc->vhosts), NULL);
	if (!ret)
		ret = km_check_route_config(rc, what, false, c->d.err);
	return ret;
}
