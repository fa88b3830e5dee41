// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Clusters and their endpoints from YAML. */
#include "yaml_read.h"
#include "notenf.h"

/* ---- clusters ---------------------------------------------------------- */

/* The DEFAULT thresholds found so far, and where each priority was seen. */
struct thresholds {
	struct km_circuit_breakers *cb;
	int seen_line[2];	/* DEFAULT, HIGH */
};

static int read_threshold(struct ctx *c, yaml_node_t *t, const char *bwhat,
			  size_t i, void *elem, void *arg)
{
	static const char *const used[] = {
		"priority", "max_connections", "max_pending_requests",
		"max_requests", "max_retries", NULL
	};
	static const char *const ignored[] = { "track_remaining", NULL };
	static const struct {
		const char *name;
		size_t off;
	} limits[] = {
		{ "max_connections",
		  offsetof(struct km_circuit_breakers, max_connections) },
		{ "max_pending_requests",
		  offsetof(struct km_circuit_breakers, max_pending_requests) },
		{ "max_requests",
		  offsetof(struct km_circuit_breakers, max_requests) },
		{ "max_retries",
		  offsetof(struct km_circuit_breakers, max_retries) },
	};
	struct thresholds *th = arg;
	struct km_circuit_breakers got = { 0 };
	uint32_t ignore = 0;	/* the model lists them from the limits */
	char twhat[WHAT_LEN];
	yaml_node_t *p;
	int prio = 0;
	int ret;

	what_index(twhat, bwhat, "thresholds", i);
	ret = y_check_fields(c, t, twhat, used, ignored);
	if (!ret)
		ret = y_opt_scalar(c, t, twhat, "priority", &p);
	if (ret)
		return ret;
	if (p && y_scalar_is(p, "HIGH"))
		prio = 1;
	else if (p && !y_scalar_is(p, "DEFAULT"))
		return y_fail(c, p, twhat,
			    "unknown priority '%s' (DEFAULT or HIGH)",
			    quote(c, y_sval(p)));
	if (th->seen_line[prio])
		return y_fail(c, t, twhat, "a second %s entry (first at line %d)",
			    prio ? "HIGH" : "DEFAULT", th->seen_line[prio]);
	th->seen_line[prio] = y_line_of(t);
	/* 0 would read as "unset" in the model, not Envoy's "none allowed",
	 * so it is refused rather than misread. */
	for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
		uint64_t x = 0;

		ret = y_opt_uint(c, t, twhat, limits[k].name, 1, UINT32_MAX, &x);
		/* per-request limits: listed as not enforced */
		if (!ret && x && k && !prio)
			ret = y_not_enforced(c, y_field(c, t, limits[k].name), twhat,
					     limits[k].name, 0, &ignore);
		if (ret)
			return ret;
		*(uint32_t *)((char *)&got + limits[k].off) = (uint32_t)x;
	}
	/* HIGH is for requests Envoy routes at high priority, which kmesh
	 * never sees. */
	if (prio == 0)
		*th->cb = got;
	return 0;
}

/* The optional circuit_breakers field of cluster map n. */
static int read_circuit_breakers(struct ctx *c, yaml_node_t *n,
				 const char *cwhat,
				 struct km_circuit_breakers *cb)
{
	static const char *const used[] = { "thresholds", NULL };
	static const struct list_rules thresholds = {
		.name = "thresholds", .maps = true, .read_item = read_threshold,
	};
	struct thresholds th = { .cb = cb };
	yaml_node_t *v = y_field(c, n, "circuit_breakers");
	char bwhat[WHAT_LEN];
	int ret;

	if (!v)
		return 0;
	what_fmt(bwhat, "%s: circuit_breakers", cwhat);
	ret = y_mapping_at(c, v, cwhat, "circuit_breakers", bwhat, used, NULL);
	if (!ret)
		ret = y_read_list(c, v, bwhat, &thresholds, NULL, NULL, 0, &th);
	return ret;
}

/* ---- upstream transport sockets ---------------------------------------- */

/* Does a scalar (key or value) of the tree at node @arg hold @s? */
struct y_tree {
	struct ctx *c;
	const yaml_node_t *n;
};

static bool tree_holds(const void *arg, const char *s)
{
	const struct y_tree *t = arg;
	const yaml_node_t *n = t->n;
	struct y_tree sub = { t->c, NULL };

	switch (n->type) {
	case YAML_SCALAR_NODE:
		return strstr(y_sval(n), s) != NULL;
	case YAML_SEQUENCE_NODE:
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			sub.n = y_node_at(t->c, *i);
			if (sub.n && tree_holds(&sub, s))
				return true;
		}
		return false;
	case YAML_MAPPING_NODE:
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			sub.n = y_node_at(t->c, p->key);
			if (sub.n && tree_holds(&sub, s))
				return true;
			sub.n = y_node_at(t->c, p->value);
			if (sub.n && tree_holds(&sub, s))
				return true;
		}
		return false;
	default:
		return false;
	}
}

/* kmesh sends plaintext: Istio's mutual TLS is accepted and listed
 * (security: kmeshctl status warns), other TLS is refused, as from xDS
 * (km_upstream_ts_class). */
static int read_one_ts(struct ctx *c, yaml_node_t *n, const char *key,
		       const char *cwhat, struct km_m_cluster *cl)
{
	yaml_node_t *v = y_field(c, n, key);
	struct y_tree t = { c, v };
	int ret;

	if (!v)
		return 0;
	ret = y_want(c, v, !strcmp(key, "transport_socket") ?
		     YAML_MAPPING_NODE : YAML_SEQUENCE_NODE, cwhat, key);
	if (ret)
		return ret;
	switch (km_upstream_ts_class(tree_holds, &t)) {
	case KM_TS_ISTIO_MTLS:
		return y_not_enforced(c, v, cwhat, key, KM_NE_MTLS,
				      &cl->not_enforced);
	case KM_TS_TLS:
		return y_fail(c, v, cwhat,
			      "%s: TLS origination is not supported (kmesh would send it plaintext)",
			      key);
	case KM_TS_INTERNAL:
		return y_fail(c, v, cwhat,
			      "%s: internal_upstream transport sockets (ambient HBONE) are not supported",
			      key);
	default:
		return 0;
	}
}

int y_read_upstream_ts(struct ctx *c, yaml_node_t *n, const char *cwhat,
		       struct km_m_cluster *cl)
{
	int ret = read_one_ts(c, n, "transport_socket_matches", cwhat, cl);

	return ret ? ret : read_one_ts(c, n, "transport_socket", cwhat, cl);
}

/* Where a locality group's endpoints go in the cluster. */
struct endpoint_group {
	struct km_m_endpoint *endpoints;	/* the cluster's */
	size_t pos;		/* of the group's first endpoint */
	uint32_t priority;
	uint32_t group;
	uint32_t locality_weight;	/* 0 = unset */
	struct km_locality locality;
	bool dns;		/* a DNS cluster's: addresses may be names */
};

static int read_health(struct ctx *c, yaml_node_t *n, const char *ewhat,
		       uint8_t *health)
{
	yaml_node_t *v;
	unsigned int h;
	int ret;

	ret = y_opt_scalar(c, n, ewhat, "health_status", &v);
	if (ret || !v)
		return ret;
	for (h = KM_HEALTH_UNKNOWN; h <= KM_HEALTH_DEGRADED; h++)
		if (y_scalar_is(v, km_health_name(h)))
			break;
	if (h > KM_HEALTH_DEGRADED)
		return y_fail(c, v, ewhat, "unknown health_status '%s'",
			    quote(c, y_sval(v)));
	*health = (uint8_t)h;
	return 0;
}

/* lb_endpoints[j] of a group (arg), named by its position in the cluster. */
static int read_lb_endpoint(struct ctx *c, yaml_node_t *n, const char *cwhat,
			    size_t j, void *elem, void *arg)
{
	static const char *const used[] = {
		"endpoint", "health_status", "load_balancing_weight", NULL
	};
	static const char *const ignored[] = { "metadata", NULL };
	static const char *const ep_used[] = { "address", NULL };
	static const char *const ep_ignored[] = {
		"hostname", "health_check_config", NULL
	};
	const struct endpoint_group *g = arg;
	struct km_m_endpoint *ep = elem;
	size_t pos = g->pos + j;
	char ewhat[WHAT_LEN];
	yaml_node_t *e, *a;
	uint64_t weight = 1;
	int ret;

	what_fmt(ewhat, "%s: endpoint %zu", cwhat, pos + 1);
	if (n->type != YAML_MAPPING_NODE)
		return y_fail(c, n, cwhat, "endpoint %zu must be a mapping, not %s",
			    pos + 1, y_type_name(n->type));
	ret = y_check_fields(c, n, ewhat, used, ignored);
	if (ret)
		return ret;
	ep->src = y_src_of(c, n);
	ret = y_req_field(c, n, ewhat, "endpoint", &e);
	if (!ret)
		ret = y_mapping_at(c, e, ewhat, "endpoint", ewhat, ep_used,
				 ep_ignored);
	if (!ret)
		ret = y_req_field(c, e, ewhat, "address", &a);
	if (!ret)
		ret = y_read_host_address(c, a, ewhat, "address",
					  g->dns ? &ep->hostname : NULL,
					  &ep->ip, &ep->port);
	if (!ret)
		ret = read_health(c, n, ewhat, &ep->health);
	if (!ret)
		ret = y_opt_uint(c, n, ewhat, "load_balancing_weight", 1,
			       UINT32_MAX, &weight);
	if (ret)
		return ret;
	ep->weight = (uint32_t)weight;
	ep->priority = g->priority;
	ep->group = g->group;
	ep->locality_weight = g->locality_weight;
	ep->locality = g->locality;
	return 0;
}

/* endpoints[i] of a load assignment: a locality group, its locality read
 * into elem. */
static int read_endpoint_group(struct ctx *c, yaml_node_t *n,
			       const char *cwhat, size_t i, void *elem,
			       void *arg)
{
	static const char *const used[] = {
		"locality", "priority", "load_balancing_weight",
		"lb_endpoints", NULL
	};
	static const struct list_rules lb_endpoints = {
		.name = "lb_endpoints", .read_item = read_lb_endpoint,
	};
	struct endpoint_group *g = arg;
	struct km_locality *loc = elem;
	char gwhat[WHAT_LEN];
	yaml_node_t *lbe;
	uint64_t prio = 0, x = 0;
	int ret;

	what_index(gwhat, cwhat, "endpoints", i);
	ret = y_check_fields(c, n, gwhat, used, NULL);
	if (!ret)
		ret = y_read_locality(c, n, gwhat, loc);
	if (!ret)
		ret = y_opt_uint(c, n, gwhat, "priority", 0, MAX_PRIORITY, &prio);
	/* applied with common_lb_config.locality_weighted_lb_config */
	if (!ret)
		ret = y_opt_uint(c, n, gwhat, "load_balancing_weight", 1,
			       UINT32_MAX, &x);
	if (!ret)
		ret = y_list_field(c, n, gwhat, &lb_endpoints, &lbe);
	if (ret || !lbe)
		return ret;
	g->priority = (uint32_t)prio;
	g->group = (uint32_t)i;
	g->locality_weight = (uint32_t)x;
	g->locality = *loc;
	ret = y_each_item(c, lbe, cwhat, &lb_endpoints, &g->endpoints[g->pos],
			sizeof(*g->endpoints), g);
	g->pos += y_seq_len(lbe);
	return ret;
}

/* Endpoint count before anything is read, to check the limit against the
 * whole cluster and allocate once. Malformed groups count 0 here and are
 * reported when read. */
static size_t count_endpoints(struct ctx *c, yaml_node_t *groups)
{
	size_t total = 0;

	for (size_t i = 0; i < y_seq_len(groups); i++) {
		yaml_node_t *g = y_seq_item(c, groups, i), *lbe;

		if (g->type != YAML_MAPPING_NODE)
			continue;
		lbe = y_field(c, g, "lb_endpoints");
		if (lbe && lbe->type == YAML_SEQUENCE_NODE)
			total += y_seq_len(lbe);
	}
	return total;
}

/* The optional load_assignment field of cluster map n. */
static int read_load_assignment(struct ctx *c, yaml_node_t *n,
				const char *cwhat, struct km_m_cluster *cl)
{
	static const char *const used[] = { "@type", "endpoints", NULL };
	static const char *const ignored[] = { "cluster_name", NULL };
	static const struct list_rules groups = {
		.name = "endpoints", .maps = true,
		.read_item = read_endpoint_group,
	};
	struct endpoint_group g = { 0 };
	yaml_node_t *v = y_field(c, n, "load_assignment"), *gs;
	char lwhat[WHAT_LEN];
	size_t total;
	int ret;

	if (!v)
		return 0;
	what_fmt(lwhat, "%s: load_assignment", cwhat);
	ret = y_mapping_at(c, v, cwhat, "load_assignment", lwhat, used, ignored);
	if (!ret)
		ret = y_check_type_url(c, v, lwhat, URL_CLA);
	if (ret)
		return ret;
	cl->has_load_assignment = true;
	ret = y_list_field(c, v, lwhat, &groups, &gs);
	if (ret || !gs)
		return ret;
	total = count_endpoints(c, gs);
	if (total > KM_MAX_CLUSTER_ENDPOINTS)
		return y_fail(c, gs, cwhat, "%zu endpoints, limit is %d", total,
			    KM_MAX_CLUSTER_ENDPOINTS);
	ret = y_alloc_array(c, y_seq_len(gs), sizeof(*cl->localities),
			  (void **)&cl->localities, &cl->n_localities);
	if (!ret)
		ret = y_alloc_array(c, total, sizeof(*cl->endpoints),
				  (void **)&cl->endpoints, &cl->n_endpoints);
	if (ret)
		return ret;
	g.endpoints = cl->endpoints;
	g.dns = km_cluster_is_dns(cl);
	return y_each_item(c, gs, cwhat, &groups, cl->localities,
			 sizeof(*cl->localities), &g);
}

/* The optional type field of cluster map n. */
static int read_cluster_type(struct ctx *c, yaml_node_t *n, const char *cwhat,
			     struct km_m_cluster *cl)
{
	yaml_node_t *v;
	int ret = y_opt_scalar(c, n, cwhat, "type", &v);

	if (ret || !v)
		return ret;
	if (y_scalar_is(v, "STATIC"))
		cl->type = KM_CLUSTER_STATIC;
	else if (y_scalar_is(v, "EDS"))
		cl->type = KM_CLUSTER_EDS;
	else if (y_scalar_is(v, "STRICT_DNS"))
		cl->type = KM_CLUSTER_STRICT_DNS;
	else if (y_scalar_is(v, "LOGICAL_DNS"))
		cl->type = KM_CLUSTER_LOGICAL_DNS;
	else if (y_scalar_is(v, "ORIGINAL_DST"))
		return y_fail(c, v, cwhat,
			    "type %s not supported (STATIC, EDS, STRICT_DNS or LOGICAL_DNS)",
			    y_sval(v));
	else
		return y_fail(c, v, cwhat, "unknown type '%s'",
			    quote(c, y_sval(v)));
	return 0;
}

/* A DNS cluster's dns_lookup_family, dns_refresh_rate and respect_dns_ttl
 * (Envoy ignores them on other types, and so does kmesh). */
static int read_dns(struct ctx *c, yaml_node_t *n, const char *cwhat,
		    struct km_m_cluster *cl)
{
	yaml_node_t *v;
	uint64_t ns = 0;
	unsigned int f;
	bool set;
	int ret;

	ret = y_opt_scalar(c, n, cwhat, "dns_lookup_family", &v);
	for (f = KM_DNS_AUTO; !ret && v && km_dns_family_name(f); f++)
		if (y_scalar_is(v, km_dns_family_name(f)))
			break;
	if (!ret && v && !km_dns_family_name(f))
		return y_fail(c, v, cwhat,
			    "unknown dns_lookup_family '%s' (AUTO, V4_ONLY, V6_ONLY, V4_PREFERRED or ALL)",
			    quote(c, y_sval(v)));
	if (!ret && v)
		cl->dns.family = (uint8_t)f;
	if (!ret)
		ret = y_opt_duration(c, n, cwhat, "dns_refresh_rate",
				     KM_REFRESH_MAX_NS, &set, &ns);
	if (!ret && set)
		cl->dns.refresh_ms = km_refresh_ms(ns);
	if (!ret)
		ret = y_opt_bool(c, n, cwhat, "respect_dns_ttl",
				 &cl->dns.respect_ttl);
	return ret;
}

/* The optional lb_policy field of cluster map n. */
static int read_lb_policy(struct ctx *c, yaml_node_t *n, const char *cwhat,
			  struct km_m_cluster *cl)
{
	static const char *const unsupported[] = {
		"CLUSTER_PROVIDED", "LOAD_BALANCING_POLICY_CONFIG", NULL
	};
	yaml_node_t *v;
	int ret = y_opt_scalar(c, n, cwhat, "lb_policy", &v);

	if (ret || !v)
		return ret;
	if (y_scalar_is(v, "ROUND_ROBIN"))
		cl->lb_policy = KM_LB_ROUND_ROBIN;
	else if (y_scalar_is(v, "LEAST_REQUEST"))
		cl->lb_policy = KM_LB_LEAST_REQUEST;
	else if (y_scalar_is(v, "RANDOM"))
		cl->lb_policy = KM_LB_RANDOM;
	else if (y_scalar_is(v, "MAGLEV") || y_scalar_is(v, "RING_HASH")) {
		cl->lb_policy = KM_LB_MAGLEV;
		cl->lb.ring_hash = y_scalar_is(v, "RING_HASH");
	} else if (y_in_list(v, unsupported))
		return y_fail(c, v, cwhat,
			    "lb_policy %s not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV)",
			    y_sval(v));
	else
		return y_fail(c, v, cwhat, "unknown lb_policy '%s'",
			    quote(c, y_sval(v)));
	return 0;
}

int y_read_cluster(struct ctx *c, yaml_node_t *n, const char *what,
			size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"@type", "name", "type", "lb_policy", "circuit_breakers",
		"load_assignment", "least_request_lb_config",
		"ring_hash_lb_config", "maglev_lb_config", "connect_timeout",
		"outlier_detection", "common_lb_config", "dns_lookup_family",
		"dns_refresh_rate", "respect_dns_ttl", "transport_socket",
		"transport_socket_matches", NULL
	};
	static const char *const ignored[] = {
		"per_connection_buffer_limit_bytes",
		"common_http_protocol_options",
		"typed_extension_protocol_options", "eds_cluster_config", NULL
	};
	struct km_m_cluster *cl = elem;
	char cwhat[WHAT_LEN];
	int ret;

	cl->src = y_src_of(c, n);
	ret = y_item_name(c, n, NULL, "clusters", idx, "cluster", KM_NAME_MAX,
			cwhat, &cl->name);
	if (!ret)
		ret = y_check_fields(c, n, cwhat, used, ignored);
	if (!ret)
		ret = y_check_type_url(c, n, cwhat, URL_CLUSTER);
	if (!ret)
		ret = read_cluster_type(c, n, cwhat, cl);
	if (!ret)
		ret = read_dns(c, n, cwhat, cl);
	if (!ret)
		ret = read_lb_policy(c, n, cwhat, cl);
	if (!ret)
		ret = y_read_lb_config(c, n, cwhat, cl);
	if (!ret)
		ret = km_check_cluster_lb(cl, cwhat, c->d.err);
	if (!ret)
		ret = read_circuit_breakers(c, n, cwhat, &cl->cb);
	if (!ret)
		ret = y_read_upstream_ts(c, n, cwhat, cl);
	/* EDS without one is filled by xDS later */
	if (!ret)
		ret = read_load_assignment(c, n, cwhat, cl);
	if (!ret)
		ret = km_check_cluster(cl, cwhat, c->d.err);
	return ret;
}
