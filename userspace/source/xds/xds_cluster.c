// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Clusters and ClusterLoadAssignments from xDS. */
#include "xds_read.h"

/* ---- clusters ---------------------------------------------------------- */

static int read_circuit_breakers(struct ctx *c, const pb_breakers *b,
				 const char *cwhat,
				 struct km_circuit_breakers *cb)
{
	char bwhat[WHAT_LEN], twhat[WHAT_LEN];
	/* thresholds index + 1 of the DEFAULT and HIGH entries */
	size_t seen[2] = { 0, 0 };

	what_fmt(bwhat, "%s: circuit_breakers", cwhat);
	for (size_t i = 0; i < b->n_thresholds; i++) {
		const pb_thresholds *t = b->thresholds[i];
		const struct {
			const char *name;
			const pb_u32 *v;
			uint32_t *out;
		} limits[] = {
			{ "max_connections", t->max_connections,
			  &cb->max_connections },
			{ "max_pending_requests", t->max_pending_requests,
			  &cb->max_pending_requests },
			{ "max_requests", t->max_requests, &cb->max_requests },
			{ "max_retries", t->max_retries, &cb->max_retries },
		};
		int prio;

		what_index(twhat, bwhat, "thresholds", i);
		if (t->priority == ENVOY__CONFIG__CORE__V3__ROUTING_PRIORITY__DEFAULT)
			prio = 0;
		else if (t->priority == ENVOY__CONFIG__CORE__V3__ROUTING_PRIORITY__HIGH)
			prio = 1;
		else
			return x_fail(c, twhat,
				    "unknown priority %d (DEFAULT or HIGH)",
				    t->priority);
		if (seen[prio])
			return x_fail(c, twhat,
				    "a second %s entry (first is thresholds[%zu])",
				    prio ? "HIGH" : "DEFAULT", seen[prio] - 1);
		seen[prio] = i + 1;
		/* 0 would read as "unset" in the model, not Envoy's "none
		 * allowed", so it is refused rather than misread. */
		for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
			if (!limits[k].v)
				continue;
			if (x_u32_in(c, limits[k].v->value, twhat, limits[k].name,
				   1, UINT32_MAX))
				return -EINVAL;
			/* HIGH is for requests Envoy routes at high priority,
			 * which kmesh never sees. */
			if (prio == 0)
				*limits[k].out = limits[k].v->value;
		}
	}
	return 0;
}

/* enum km_health is core.v3.HealthStatus, value for value */
_Static_assert((int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNKNOWN == KM_HEALTH_UNKNOWN &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__HEALTHY == KM_HEALTH_HEALTHY &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNHEALTHY == KM_HEALTH_UNHEALTHY &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__DRAINING == KM_HEALTH_DRAINING &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__TIMEOUT == KM_HEALTH_TIMEOUT &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__DEGRADED == KM_HEALTH_DEGRADED,
	       "HealthStatus values");

static int read_lb_endpoint(struct ctx *c, const pb_lb_endpoint *pe,
			    const char *cwhat, size_t pos,
			    const struct km_m_cluster *cl,
			    struct km_m_endpoint *ep)
{
	char ewhat[WHAT_LEN];
	int ret, health;

	what_fmt(ewhat, "%s: endpoint %zu", cwhat, pos + 1);
	ep->src = xds_src;
	ep->weight = 1;
	if (pe->host_identifier_case !=
	    ENVOY__CONFIG__ENDPOINT__V3__LB_ENDPOINT__HOST_IDENTIFIER_ENDPOINT ||
	    !pe->endpoint)
		return x_fail(c, ewhat, "endpoint is missing");
	ret = x_read_host_address(c, pe->endpoint->address, ewhat, "address",
				  km_cluster_is_dns(cl) ? &ep->hostname : NULL,
				  &ep->ip, &ep->port);
	if (ret)
		return ret;
	health = (int)pe->health_status;
	if (health < KM_HEALTH_UNKNOWN || health > KM_HEALTH_DEGRADED)
		return x_fail(c, ewhat, "unknown health_status %d", health);
	ep->health = (uint8_t)health;
	if (pe->load_balancing_weight) {
		if (x_u32_in(c, pe->load_balancing_weight->value, ewhat,
			   "load_balancing_weight", 1, UINT32_MAX))
			return -EINVAL;
		ep->weight = pe->load_balancing_weight->value;
	}
	return 0;
}

/* A ClusterLoadAssignment's groups, into cl as config_yaml.c fills them:
 * the cluster owns one locality per group, endpoints borrow their group's
 * strings and carry its priority. */
int x_read_load_assignment(struct ctx *c, const pb_cla *la,
				const char *cwhat, struct km_m_cluster *cl)
{
	char gwhat[WHAT_LEN];
	size_t ng = la->n_endpoints, total = 0, pos = 0;
	int ret;

	cl->has_load_assignment = true;
	for (size_t i = 0; i < ng; i++)
		total += la->endpoints[i]->n_lb_endpoints;
	if (total > KM_MAX_CLUSTER_ENDPOINTS)
		return x_fail(c, cwhat, "%zu endpoints, limit is %d", total,
			    KM_MAX_CLUSTER_ENDPOINTS);
	if (!ng)
		return 0;
	cl->localities = calloc(ng, sizeof(*cl->localities));
	if (!cl->localities)
		return oom(c);
	cl->n_localities = ng;
	if (total) {
		cl->endpoints = calloc(total, sizeof(*cl->endpoints));
		if (!cl->endpoints)
			return oom(c);
		cl->n_endpoints = total;
	}

	for (size_t i = 0; i < ng; i++) {
		const pb_locality_eps *g = la->endpoints[i];

		what_index(gwhat, cwhat, "endpoints", i);
		if (g->locality) {
			ret = x_read_locality(c, g->locality, gwhat,
					    &cl->localities[i]);
			if (ret)
				return ret;
		}
		if (x_u32_in(c, g->priority, gwhat, "priority", 0, MAX_PRIORITY))
			return -EINVAL;
		/* applied with locality_weighted_lb_config */
		if (g->load_balancing_weight &&
		    x_u32_in(c, g->load_balancing_weight->value, gwhat,
			   "load_balancing_weight", 1, UINT32_MAX))
			return -EINVAL;
		for (size_t j = 0; j < g->n_lb_endpoints; j++, pos++) {
			struct km_m_endpoint *ep = &cl->endpoints[pos];

			ret = read_lb_endpoint(c, g->lb_endpoints[j], cwhat, pos,
					       cl, ep);
			if (ret)
				return ret;
			ep->priority = g->priority;
			ep->group = (uint32_t)i;
			ep->locality_weight = g->load_balancing_weight ?
				g->load_balancing_weight->value : 0;
			ep->locality = cl->localities[i];
		}
	}
	return 0;
}

static int read_cluster_type(struct ctx *c, const pb_cluster *pc,
			     const char *cwhat, struct km_m_cluster *cl)
{
	const char *name;

	if (pc->cluster_discovery_type_case ==
	    ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_CLUSTER_TYPE)
		return x_fail(c, cwhat,
			    "cluster_type '%s' not supported (type STATIC, EDS, STRICT_DNS, LOGICAL_DNS or ORIGINAL_DST)",
			    quote(c, pc->cluster_type ? pc->cluster_type->name : ""));
	/* unset is proto3's default, STATIC */
	switch (pc->type) {
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STATIC:
		cl->type = KM_CLUSTER_STATIC;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__EDS:
		cl->type = KM_CLUSTER_EDS;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STRICT_DNS:
		cl->type = KM_CLUSTER_STRICT_DNS;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__LOGICAL_DNS:
		cl->type = KM_CLUSTER_LOGICAL_DNS;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__ORIGINAL_DST:
		cl->type = KM_CLUSTER_STATIC;
		cl->original_dst = true;
		return 0;
	default:
		break;
	}
	name = x_enum_name(&envoy__config__cluster__v3__cluster__discovery_type__descriptor,
			 pc->type);
	if (name)
		return x_fail(c, cwhat,
			    "type %s not supported (STATIC, EDS, STRICT_DNS, LOGICAL_DNS or ORIGINAL_DST)",
			    name);
	return x_fail(c, cwhat, "unknown type %d", pc->type);
}

/* enum km_dns_family is Cluster.DnsLookupFamily, value for value */
_Static_assert((int)ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__AUTO == KM_DNS_AUTO &&
	       (int)ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__V4_ONLY == KM_DNS_V4_ONLY &&
	       (int)ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__V6_ONLY == KM_DNS_V6_ONLY &&
	       (int)ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__V4_PREFERRED == KM_DNS_V4_PREFERRED &&
	       (int)ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__ALL == KM_DNS_ALL,
	       "DnsLookupFamily values");

/* A DNS cluster's dns_lookup_family, dns_refresh_rate and respect_dns_ttl
 * (Envoy ignores them on other types, and so does kmesh). */
static int read_dns(struct ctx *c, const pb_cluster *pc, const char *cwhat,
		    struct km_m_cluster *cl)
{
	const Google__Protobuf__Duration *r = pc->dns_refresh_rate;

	if (!km_dns_family_name((unsigned int)pc->dns_lookup_family))
		return x_fail(c, cwhat, "unknown dns_lookup_family %d",
			      pc->dns_lookup_family);
	cl->dns.family = (uint8_t)pc->dns_lookup_family;
	cl->dns.respect_ttl = pc->respect_dns_ttl;
	if (!r)
		return 0;
	if (r->seconds < 0 || r->nanos < 0 || r->nanos > 999999999 ||
	    (uint64_t)r->seconds > KM_REFRESH_MAX_NS / 1000000000 ||
	    (uint64_t)r->seconds * 1000000000 + (uint64_t)r->nanos > KM_REFRESH_MAX_NS)
		return x_fail(c, cwhat, "dns_refresh_rate is out of range");
	cl->dns.refresh_ms = km_refresh_ms((uint64_t)r->seconds * 1000000000 +
					   (uint64_t)r->nanos);
	return 0;
}

static int read_lb_policy(struct ctx *c, const pb_cluster *pc,
			  const char *cwhat, struct km_m_cluster *cl)
{
	const char *name;

	/* Envoy requires CLUSTER_PROVIDED there (ROUND_ROBIN is proto3's
	 * unset): the cluster "picks" the address the application dialed */
	if (cl->original_dst && pc->lb_policy !=
	    ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__ROUND_ROBIN &&
	    pc->lb_policy != ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__CLUSTER_PROVIDED) {
		name = x_enum_name(&envoy__config__cluster__v3__cluster__lb_policy__descriptor,
				   pc->lb_policy);
		return x_fail(c, cwhat,
			      "lb_policy %s on an ORIGINAL_DST cluster (it takes CLUSTER_PROVIDED)",
			      name ? name : "?");
	}
	switch (pc->lb_policy) {
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__ROUND_ROBIN:
		cl->lb_policy = KM_LB_ROUND_ROBIN;
		return 0;
	/* istiod's default for every service cluster */
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__LEAST_REQUEST:
		cl->lb_policy = KM_LB_LEAST_REQUEST;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__RANDOM:
		cl->lb_policy = KM_LB_RANDOM;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__MAGLEV:
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__RING_HASH:
		cl->lb_policy = KM_LB_MAGLEV;
		cl->lb.ring_hash = pc->lb_policy ==
			ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__RING_HASH;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__CLUSTER_PROVIDED:
		/* Envoy requires it on ORIGINAL_DST clusters: the cluster
		 * "picks" the address the application dialed. */
		if (cl->original_dst) {
			cl->lb_policy = KM_LB_ROUND_ROBIN;
			return 0;
		}
		break;
	default:
		break;
	}
	name = x_enum_name(&envoy__config__cluster__v3__cluster__lb_policy__descriptor,
			 pc->lb_policy);
	if (name)
		return x_fail(c, cwhat,
			    "lb_policy %s not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV)",
			    name);
	return x_fail(c, cwhat, "unknown lb_policy %d", pc->lb_policy);
}

static size_t cla_endpoint_count(const pb_cla *la)
{
	size_t n = 0;

	for (size_t i = 0; i < la->n_endpoints; i++)
		n += la->endpoints[i]->n_lb_endpoints;
	return n;
}

int x_read_cluster(struct ctx *c, const pb_cluster *pc,
			struct km_m_cluster *cl)
{
	char cwhat[WHAT_LEN], lwhat[WHAT_LEN];
	const char *svc;
	int ret;

	ret = x_str_at(c, pc->name, "cluster", "name", KM_NAME_MAX, false,
		     &cl->name);
	if (ret)
		return ret;
	cl->src = xds_src;
	what_named(c, cwhat, NULL, "cluster", cl->name);
	ret = read_cluster_type(c, pc, cwhat, cl);
	if (!ret && km_cluster_is_dns(cl))
		ret = read_dns(c, pc, cwhat, cl);
	if (!ret)
		ret = read_lb_policy(c, pc, cwhat, cl);
	if (!ret)
		ret = x_read_lb_config(c, pc, cwhat, cl);
	if (!ret)
		ret = km_check_cluster_lb(cl, cwhat, c->d.err);
	if (ret)
		return ret;

	/* the ClusterLoadAssignment comes named by service_name; kmesh
	 * looks it up by cluster name */
	svc = pc->eds_cluster_config ? pc->eds_cluster_config->service_name : NULL;
	if (cl->type == KM_CLUSTER_EDS && svc && *svc && strcmp(svc, cl->name))
		return x_fail(c, cwhat,
			    "eds_cluster_config.service_name '%s' differs from the cluster name (not supported)",
			    quote(c, svc));

	if (pc->circuit_breakers) {
		ret = read_circuit_breakers(c, pc->circuit_breakers, cwhat,
					    &cl->cb);
		if (ret)
			return ret;
	}
	if (!pc->load_assignment)	/* EDS: filled by its CLA */
		return km_check_cluster(cl, cwhat, c->d.err);
	if (cl->original_dst) {
		/* Envoy refuses these too: the destination is the dialed one */
		if (!cla_endpoint_count(pc->load_assignment))
			return 0;
		what_fmt(lwhat, "%s: load_assignment", cwhat);
		return x_fail(c, lwhat, "an ORIGINAL_DST cluster has no endpoints");
	}
	ret = x_read_load_assignment(c, pc->load_assignment, cwhat, cl);
	if (!ret)
		ret = km_check_cluster(cl, cwhat, c->d.err);
	return ret;
}
