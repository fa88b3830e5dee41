// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * LB settings from the YAML file: a cluster's lb configs and the fields
 * kmesh accepts without enforcing, hash policies of routes and tcp_proxy
 * (the HTTP fault filter: yaml_reply.c). Decoded as given; model/check.c holds their
 * rules (km_check_cluster_lb, and hash_policy in km_check_action).
 */
#include "yaml_read.h"


#define HDR KM_NE_HEADER_REWRITE

/* Fields accepted and listed as not enforced, by where they may appear
 * (check_fields' "ignored" lists), and the kind each one is listed as. */
const char *const y_ne_action[] = {
	"timeout", "idle_timeout", "retry_policy", "request_mirror_policies",
	"prefix_rewrite", "regex_rewrite", "host_rewrite_literal",
	"auto_host_rewrite", "host_rewrite_header", "host_rewrite_path_regex",
	NULL
};
const char *const y_ne_route[] = { Y_HEADER_FIELDS, NULL };
const char *const y_ne_vhost[] = {
	Y_HEADER_FIELDS, "retry_policy", "hedge_policy", NULL
};
const char *const y_ne_route_config[] = { Y_HEADER_FIELDS, NULL };

static const struct {
	const char *name;
	uint32_t kind;
} ne_kinds[] = {
	{ "timeout", KM_NE_ROUTE_TIMEOUT },
	{ "idle_timeout", KM_NE_ROUTE_TIMEOUT },
	{ "retry_policy", KM_NE_RETRY_POLICY },
	{ "request_mirror_policies", KM_NE_MIRROR },
	{ "hedge_policy", KM_NE_HEDGE_POLICY },
	{ "request_headers_to_add", HDR }, { "request_headers_to_remove", HDR },
	{ "response_headers_to_add", HDR }, { "response_headers_to_remove", HDR },
	{ "prefix_rewrite", HDR }, { "regex_rewrite", HDR },
	{ "host_rewrite_literal", HDR }, { "auto_host_rewrite", HDR },
	{ "host_rewrite_header", HDR }, { "host_rewrite_path_regex", HDR },
};

/* A timeout of 0 turns it off: nothing to enforce. */
static bool zero_duration(const yaml_node_t *v)
{
	return v->type == YAML_SCALAR_NODE &&
	       (y_scalar_is(v, "0s") || y_scalar_is(v, "0"));
}

int y_not_enforced(struct ctx *c, const yaml_node_t *v, const char *what,
		   const char *field, uint32_t bit, uint32_t *bits)
{
	if (c->strict)
		return y_fail(c, v, what,
			      "%s is not enforced by kmesh, refused under --strict",
			      field);
	*bits |= bit;
	return 0;
}

int y_ne_bits(struct ctx *c, yaml_node_t *map, const char *what,
	      const char *const *fields, uint32_t *bits)
{
	yaml_node_t *v;
	int ret;

	for (size_t i = 0; i < sizeof(ne_kinds) / sizeof(ne_kinds[0]); i++) {
		bool listed = false;

		for (size_t f = 0; fields[f] && !listed; f++)
			listed = !strcmp(fields[f], ne_kinds[i].name);
		v = listed ? y_field(c, map, ne_kinds[i].name) : NULL;
		if (!v || (ne_kinds[i].kind == KM_NE_ROUTE_TIMEOUT && zero_duration(v)))
			continue;
		ret = y_not_enforced(c, v, what, ne_kinds[i].name,
				     ne_kinds[i].kind, bits);
		if (ret)
			return ret;
	}
	return 0;
}

/* active_request_bias (core.v3.RuntimeDouble): its default_value; kmesh
 * has no runtime, so runtime_key is accepted and unused. */
static int read_bias(struct ctx *c, yaml_node_t *cfg, const char *lwhat,
		     struct km_lb_config *lb)
{
	static const char *const used[] = {
		"default_value", "runtime_key", NULL
	};
	yaml_node_t *b = y_field(c, cfg, "active_request_bias"), *v;
	char bwhat[WHAT_LEN];
	char *end;
	int ret;

	if (!b)
		return 0;
	what_fmt(bwhat, "%s: active_request_bias", lwhat);
	ret = y_mapping_at(c, b, lwhat, "active_request_bias", bwhat, used, NULL);
	if (!ret)
		ret = y_req_field(c, b, bwhat, "default_value", &v);
	if (!ret)
		ret = y_want(c, v, YAML_SCALAR_NODE, bwhat, "default_value");
	if (ret)
		return ret;
	lb->bias = strtod(y_sval(v), &end);
	if (end == y_sval(v) || *end)
		return y_fail(c, v, bwhat, "default_value '%s' is not a number",
			      quote(c, y_sval(v)));
	lb->bias_set = true;
	return 0;
}

static int read_ring_hash(struct ctx *c, yaml_node_t *v, const char *lwhat,
			  struct km_m_cluster *cl)
{
	yaml_node_t *hf;
	uint64_t x;
	int ret;

	ret = y_opt_uint(c, v, lwhat, "minimum_ring_size", 0, UINT64_MAX, &x);
	if (!ret)
		ret = y_opt_uint(c, v, lwhat, "maximum_ring_size", 0, UINT64_MAX, &x);
	if (!ret)
		ret = y_opt_scalar(c, v, lwhat, "hash_function", &hf);
	if (ret)
		return ret;
	if (hf && !y_scalar_is(hf, "XX_HASH") && !y_scalar_is(hf, "MURMUR_HASH_2"))
		return y_fail(c, hf, lwhat,
			      "unknown hash_function '%s' (XX_HASH or MURMUR_HASH_2)",
			      quote(c, y_sval(hf)));
	/* served by a Maglev table: the ring's sizes and hash do not apply */
	if (v->data.mapping.pairs.top != v->data.mapping.pairs.start)
		return y_not_enforced(c, v, lwhat, "ring_hash_lb_config",
				      KM_NE_RING_HASH_CONFIG, &cl->not_enforced);
	return 0;
}

/* common_lb_config: locality weighted LB (applied) or zone-aware routing
 * (listed as not enforced), Envoy's oneof; its other fields are refused as
 * unknown. */
static int read_common_lb(struct ctx *c, yaml_node_t *n, const char *cwhat,
			  struct km_m_cluster *cl)
{
	static const char *const kinds[] = {
		"locality_weighted_lb_config", "zone_aware_lb_config", NULL
	};
	yaml_node_t *v = y_field(c, n, "common_lb_config"), *k;
	char cwhat2[WHAT_LEN];
	size_t which;
	int ret;

	if (!v)
		return 0;
	what_fmt(cwhat2, "%s: common_lb_config", cwhat);
	ret = y_mapping_at(c, v, cwhat, "common_lb_config", cwhat2, kinds, NULL);
	if (!ret)
		ret = y_one_of(c, v, cwhat2, kinds, false, &k, &which);
	if (ret <= 0)
		return ret;
	if (which == 0)
		cl->lb.locality_weighted = true;
	else
		return y_not_enforced(c, k, cwhat2, "zone_aware_lb_config",
				      KM_NE_ZONE_AWARE, &cl->not_enforced);
	return 0;
}

int y_read_lb_config(struct ctx *c, yaml_node_t *n, const char *cwhat,
		     struct km_m_cluster *cl)
{
	static const char *const kinds[] = {
		"least_request_lb_config", "ring_hash_lb_config",
		"maglev_lb_config", NULL
	};
	static const uint8_t kind_of[] = {
		KM_LBC_LEAST_REQUEST, KM_LBC_RING_HASH, KM_LBC_MAGLEV
	};
	static const char *const lr_used[] = {
		"choice_count", "active_request_bias", NULL
	};
	static const char *const rh_used[] = {
		"minimum_ring_size", "maximum_ring_size", "hash_function", NULL
	};
	static const char *const mg_used[] = { "table_size", NULL };
	static const char *const *const used[] = { lr_used, rh_used, mg_used };
	struct km_lb_config *lb = &cl->lb;
	char lwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	/* accepted, listed as not enforced (model/not_enforced.c) */
	v = y_field(c, n, "connect_timeout");
	ret = v ? y_not_enforced(c, v, cwhat, "connect_timeout",
				 KM_NE_CONNECT_TIMEOUT, &cl->not_enforced) : 0;
	v = ret ? NULL : y_field(c, n, "outlier_detection");
	if (v)
		ret = y_not_enforced(c, v, cwhat, "outlier_detection",
				     KM_NE_OUTLIER_DETECTION, &cl->not_enforced);
	if (!ret)
		ret = read_common_lb(c, n, cwhat, cl);
	if (ret)
		return ret;
	ret = y_one_of(c, n, cwhat, kinds, false, &v, &which);
	if (ret <= 0)
		return ret;
	what_fmt(lwhat, "%s: %s", cwhat, kinds[which]);
	ret = y_mapping_at(c, v, cwhat, kinds[which], lwhat, used[which], NULL);
	if (ret)
		return ret;
	lb->src = y_src_of(c, v);
	lb->kind = kind_of[which];
	switch (lb->kind) {
	case KM_LBC_LEAST_REQUEST:
		ret = y_opt_uint(c, v, lwhat, "choice_count", 0, UINT64_MAX,
				 &lb->choice_count);
		return ret ? ret : read_bias(c, v, lwhat, lb);
	case KM_LBC_RING_HASH:
		return read_ring_hash(c, v, lwhat, cl);
	default:
		return y_opt_uint(c, v, lwhat, "table_size", 0, UINT64_MAX,
				  &lb->maglev_size);
	}
}

/* One hash_policy entry: a route's (RouteAction.HashPolicy) or a
 * tcp_proxy's (type.v3.HashPolicy). */
static int read_hash_entry(struct ctx *c, yaml_node_t *e, const char *what,
			   size_t i, void *elem, void *arg)
{
	static const char *const route_kinds[] = {
		"header", "cookie", "connection_properties", "query_parameter",
		"filter_state", NULL
	};
	static const uint8_t route_kind_of[] = {
		KM_HK_HEADER, KM_HK_COOKIE, KM_HK_SOURCE_IP,
		KM_HK_QUERY_PARAMETER, KM_HK_FILTER_STATE
	};
	static const char *const route_used[] = {
		"header", "cookie", "connection_properties", "query_parameter",
		"filter_state", "terminal", NULL
	};
	static const char *const tcp_kinds[] = {
		"source_ip", "filter_state", NULL
	};
	static const uint8_t tcp_kind_of[] = {
		KM_HK_SOURCE_IP, KM_HK_FILTER_STATE
	};
	static const char *const props_used[] = { "source_ip", NULL };
	const bool *route = arg;
	struct km_m_hash *h = elem;
	char hwhat[WHAT_LEN];
	bool src_ip = false;
	yaml_node_t *v;
	size_t which;
	int ret;

	what_index(hwhat, what, "hash_policy", i);
	h->src = y_src_of(c, e);
	ret = y_check_fields(c, e, hwhat, *route ? route_used : tcp_kinds, NULL);
	if (!ret)
		ret = y_one_of(c, e, hwhat, *route ? route_kinds : tcp_kinds,
			       true, &v, &which);
	if (ret < 0)
		return ret;
	h->kind = *route ? route_kind_of[which] : tcp_kind_of[which];
	if (h->kind != KM_HK_SOURCE_IP || !*route)
		return 0;
	ret = y_mapping_at(c, v, hwhat, "connection_properties", hwhat,
			   props_used, NULL);
	if (!ret)
		ret = y_opt_bool(c, v, hwhat, "source_ip", &src_ip);
	if (!ret && !src_ip)
		h->kind = KM_HK_NOTHING;
	return ret;
}

int y_read_action_lb(struct ctx *c, yaml_node_t *map, const char *what,
		     bool route, struct km_m_action *a)
{
	static const struct list_rules hash_rules = {
		.name = "hash_policy", .maps = true, .read_item = read_hash_entry,
	};

	/* accepted, listed as not enforced (model/not_enforced.c) */
	int ret = y_ne_bits(c, map, what, y_ne_action, &a->not_enforced);

	if (ret)
		return ret;
	return y_read_list(c, map, what, &hash_rules, (void **)&a->hash,
			   &a->n_hash, sizeof(*a->hash), &route);
}

