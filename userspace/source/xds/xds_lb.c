// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * LB settings from xDS: a cluster's lb_config and the fields kmesh accepts
 * without enforcing, hash policies of routes and tcp_proxy, and the HTTP
 * fault filter. Decoded as given; model/check.c holds their rules
 * (km_check_cluster_lb, and hash_policy in km_check_action).
 */
#include "xds_read.h"

#define URL_FAULT TYPE_URL "envoy.extensions.filters.http.fault.v3.HTTPFault"
#define FILTER_FAULT "envoy.filters.http.fault"

typedef Envoy__Config__Route__V3__RouteAction__HashPolicy pb_route_hash;

static bool duration_set(const Google__Protobuf__Duration *d)
{
	return d && (d->seconds || d->nanos);
}

int x_read_lb_config(struct ctx *c, const pb_cluster *pc, const char *cwhat,
		     struct km_m_cluster *cl)
{
	const Envoy__Config__Cluster__V3__Cluster__LeastRequestLbConfig *lr;
	const Envoy__Config__Cluster__V3__Cluster__RingHashLbConfig *rh;
	struct km_lb_config *lb = &cl->lb;
	int ret;

	lb->src = xds_src;
	/* accepted, listed as not enforced (model/not_enforced.c) */
	ret = x_read_outlier(c, pc, cwhat, cl);
	if (ret)
		return ret;
	if (duration_set(pc->connect_timeout))
		cl->not_enforced |= KM_NE_CONNECT_TIMEOUT;
	if (pc->common_lb_config &&
	    pc->common_lb_config->locality_config_specifier_case ==
	    ENVOY__CONFIG__CLUSTER__V3__CLUSTER__COMMON_LB_CONFIG__LOCALITY_CONFIG_SPECIFIER_LOCALITY_WEIGHTED_LB_CONFIG)
		lb->locality_weighted = true;
	if (pc->common_lb_config &&
	    pc->common_lb_config->locality_config_specifier_case ==
	    ENVOY__CONFIG__CLUSTER__V3__CLUSTER__COMMON_LB_CONFIG__LOCALITY_CONFIG_SPECIFIER_ZONE_AWARE_LB_CONFIG)
		cl->not_enforced |= KM_NE_ZONE_AWARE;

	switch (pc->lb_config_case) {
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_CONFIG_LEAST_REQUEST_LB_CONFIG:
		lr = pc->least_request_lb_config;
		lb->kind = KM_LBC_LEAST_REQUEST;
		if (lr->choice_count)
			lb->choice_count = lr->choice_count->value;
		if (lr->active_request_bias) {
			lb->bias_set = true;
			lb->bias = lr->active_request_bias->default_value;
		}
		/* slow_start_config and newer fields: a pick kmesh does not
		 * make */
		return x_no_unknown_fields(c, &lr->base, cwhat,
					   "least_request_lb_config");
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_CONFIG_RING_HASH_LB_CONFIG:
		rh = pc->ring_hash_lb_config;
		lb->kind = KM_LBC_RING_HASH;
		/* served by a Maglev table: the ring's sizes and hash do not
		 * apply */
		if (rh->minimum_ring_size || rh->maximum_ring_size ||
		    rh->hash_function)
			cl->not_enforced |= KM_NE_RING_HASH_CONFIG;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_CONFIG_MAGLEV_LB_CONFIG:
		lb->kind = KM_LBC_MAGLEV;
		if (pc->maglev_lb_config->table_size)
			lb->maglev_size = pc->maglev_lb_config->table_size->value;
		return 0;
	default:
		return 0;
	}
}

/* A route's hash_policy entries, and its fields kmesh accepts without
 * enforcing. */
int x_read_route_lb(struct ctx *c, const pb_action *pa, const char *rwhat,
		    struct km_m_action *a)
{
	static const uint8_t kinds[] = {
		[ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HASH_POLICY__POLICY_SPECIFIER_HEADER] = KM_HK_HEADER,
		[ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HASH_POLICY__POLICY_SPECIFIER_COOKIE] = KM_HK_COOKIE,
		[ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HASH_POLICY__POLICY_SPECIFIER_CONNECTION_PROPERTIES] = KM_HK_SOURCE_IP,
		[ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HASH_POLICY__POLICY_SPECIFIER_QUERY_PARAMETER] = KM_HK_QUERY_PARAMETER,
		[ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HASH_POLICY__POLICY_SPECIFIER_FILTER_STATE] = KM_HK_FILTER_STATE,
	};
	char hwhat[WHAT_LEN];

	if (duration_set(pa->timeout) || duration_set(pa->idle_timeout))
		a->not_enforced |= KM_NE_ROUTE_TIMEOUT;
	if (pa->retry_policy)
		a->not_enforced |= KM_NE_RETRY_POLICY;
	if (pa->n_request_mirror_policies)
		a->not_enforced |= KM_NE_MIRROR;
	if ((pa->prefix_rewrite && *pa->prefix_rewrite) || pa->regex_rewrite ||
	    pa->host_rewrite_specifier_case !=
	    ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HOST_REWRITE_SPECIFIER__NOT_SET)
		a->not_enforced |= KM_NE_HEADER_REWRITE;
	if (!pa->n_hash_policy)
		return 0;
	a->hash = calloc(pa->n_hash_policy, sizeof(*a->hash));
	if (!a->hash)
		return oom(c);
	a->n_hash = pa->n_hash_policy;
	for (size_t i = 0; i < pa->n_hash_policy; i++) {
		const pb_route_hash *h = pa->hash_policy[i];
		unsigned int k = h->policy_specifier_case;

		a->hash[i].src = xds_src;
		if (k >= sizeof(kinds) / sizeof(kinds[0]) || !kinds[k]) {
			what_index(hwhat, rwhat, "hash_policy", i);
			return x_fail(c, hwhat, "needs a policy");
		}
		a->hash[i].kind = kinds[k];
		if (kinds[k] == KM_HK_SOURCE_IP &&
		    !h->connection_properties->source_ip)
			a->hash[i].kind = KM_HK_NOTHING;
	}
	return 0;
}

/* A tcp_proxy's hash_policy (type.v3.HashPolicy) and idle_timeout. */
int x_read_tcp_lb(struct ctx *c, const pb_tcp *t, const char *what,
		  struct km_m_action *a)
{
	char hwhat[WHAT_LEN];

	if (duration_set(t->idle_timeout))
		a->not_enforced |= KM_NE_ROUTE_TIMEOUT;
	if (!t->n_hash_policy)
		return 0;
	a->hash = calloc(t->n_hash_policy, sizeof(*a->hash));
	if (!a->hash)
		return oom(c);
	a->n_hash = t->n_hash_policy;
	for (size_t i = 0; i < t->n_hash_policy; i++) {
		a->hash[i].src = xds_src;
		switch (t->hash_policy[i]->policy_specifier_case) {
		case ENVOY__TYPE__V3__HASH_POLICY__POLICY_SPECIFIER_SOURCE_IP:
			a->hash[i].kind = KM_HK_SOURCE_IP;
			break;
		case ENVOY__TYPE__V3__HASH_POLICY__POLICY_SPECIFIER_FILTER_STATE:
			a->hash[i].kind = KM_HK_FILTER_STATE;
			break;
		default:
			what_index(hwhat, what, "hash_policy", i);
			return x_fail(c, hwhat, "needs a policy");
		}
	}
	return 0;
}

/* An HTTP filter kmesh lists as not enforced: fault injection. */
bool x_is_fault_filter(const pb_http_filter *f)
{
	if (f->config_type_case ==
	    ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_FILTER__CONFIG_TYPE_TYPED_CONFIG)
		return f->typed_config &&
		       !strcmp(f->typed_config->type_url, URL_FAULT);
	return !strcmp(f->name, FILTER_FAULT);
}

/* Headers to add or remove, on a route, a virtual host or a route config:
 * listed as not enforced. */
#define HEADERS_NE(m)							\
	((m)->n_request_headers_to_add || (m)->n_request_headers_to_remove || \
	 (m)->n_response_headers_to_add || (m)->n_response_headers_to_remove ? \
	 KM_NE_HEADER_REWRITE : 0)

uint32_t x_route_not_enforced(const pb_route *pr)
{
	return HEADERS_NE(pr);
}

uint32_t x_vhost_not_enforced(const pb_vhost *pv)
{
	return HEADERS_NE(pv) | (pv->retry_policy ? KM_NE_RETRY_POLICY : 0) |
	       (pv->hedge_policy ? KM_NE_HEDGE_POLICY : 0);
}

uint32_t x_rc_not_enforced(const pb_route_config *prc)
{
	return HEADERS_NE(prc);
}
