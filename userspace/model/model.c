// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "authz.h"

static void locality_free(struct km_locality *l)
{
	free(l->region);
	free(l->zone);
	free(l->sub_zone);
}

static void action_free(struct km_m_action *a)
{
	for (size_t i = 0; i < a->n_clusters; i++)
		free(a->clusters[i].cluster);
	free(a->clusters);
	free(a->hash);
	km_reply_free(a->reply);
}

void km_reply_free(struct km_m_reply *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->scheme);
	free(r->host);
	free(r->path);
	free(r->prefix);
	free(r->matched);
	free(r);
}

static void matchers_free(struct km_m_header_match *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].value);
	}
	free(m);
}

static void route_free(struct km_m_route *r)
{
	free(r->name);
	free(r->path);
	matchers_free(r->headers, r->n_headers);
	matchers_free(r->query_params, r->n_query_params);
	action_free(&r->action);
}

void km_route_config_free(struct km_m_route_config *rc)
{
	free(rc->name);
	for (size_t i = 0; i < rc->n_vhosts; i++) {
		struct km_m_vhost *vh = &rc->vhosts[i];

		free(vh->name);
		for (size_t j = 0; j < vh->n_domains; j++)
			free(vh->domains[j]);
		free(vh->domains);
		free(vh->domain_srcs);
		for (size_t j = 0; j < vh->n_routes; j++)
			route_free(&vh->routes[j]);
		free(vh->routes);
	}
	free(rc->vhosts);
}

void km_cluster_free(struct km_m_cluster *c)
{
	free(c->name);
	for (size_t i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i].hostname);
	free(c->endpoints);
	for (size_t i = 0; i < c->n_localities; i++)
		locality_free(&c->localities[i]);
	free(c->localities);
}

void km_chain_free(struct km_m_chain *ch)
{
	action_free(&ch->tcp);
	km_route_config_free(&ch->routes);
	free(ch->rds_name);
	free(ch->match.prefixes);
	km_az_engines_free(ch->authz, ch->n_authz);
	memset(ch, 0, sizeof(*ch));
}

void km_listener_free(struct km_m_listener *l)
{
	free(l->name);
	free(l->addrs);
	for (size_t i = 0; i < l->n_chains; i++)
		km_chain_free(&l->chains[i]);
	free(l->chains);
}

void km_model_free(struct km_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_listeners; i++)
		km_listener_free(&m->listeners[i]);
	free(m->listeners);
	for (size_t i = 0; i < m->n_clusters; i++)
		km_cluster_free(&m->clusters[i]);
	free(m->clusters);
	for (size_t i = 0; i < m->n_route_configs; i++)
		km_route_config_free(&m->route_configs[i]);
	free(m->route_configs);
	locality_free(&m->node_locality);
	free(m->node.id);
	free(m->node.cluster);
	free(m->node.istio_version);
	free(m->node.cluster_id);
	free(m->node.namespace_);
	free(m->node.instance_ips);
	free(m->node.node_name);
	free(m->node.labels);
	free(m->source);
	memset(m, 0, sizeof(*m));
}

const struct km_m_cluster *km_model_cluster(const struct km_model *m,
					    const char *name)
{
	for (size_t i = 0; i < m->n_clusters; i++)
		if (strcmp(m->clusters[i].name, name) == 0)
			return &m->clusters[i];
	return NULL;
}

const struct km_m_route_config *km_model_route_config(const struct km_model *m,
						      const char *name)
{
	for (size_t i = 0; i < m->n_route_configs; i++)
		if (m->route_configs[i].name && strcmp(m->route_configs[i].name, name) == 0)
			return &m->route_configs[i];
	return NULL;
}

int km_ip_parse(const char *s, struct km_ip *ip)
{
	struct in_addr a4;

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &a4) == 1) {
		ip->family = KM_FAMILY_INET;
		ip->addr.w[2] = htonl(0xffff);
		ip->addr.w[3] = a4.s_addr;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr.w) == 1) {
		ip->family = KM_FAMILY_INET6;
		return 0;
	}
	return -EINVAL;
}

int km_host_ip(const char *host, struct km_ip *ip, uint16_t *port)
{
	char buf[64];
	const char *end = NULL, *p;
	size_t n;

	*port = 0;
	if (host[0] == '[') {
		host++;
		end = strchr(host, ']');
		if (!end)
			return -EINVAL;
		if (end[1] && end[1] != ':')
			return -EINVAL;
		p = end[1] ? end + 2 : NULL;
	} else {
		/* one ':' is a port; more are an unbracketed IPv6 address */
		end = strchr(host, ':');
		if (end && strchr(end + 1, ':'))
			end = NULL;
		p = end ? end + 1 : NULL;
	}
	n = end ? (size_t)(end - host) : strlen(host);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, host, n);
	buf[n] = 0;
	if (km_ip_parse(buf, ip))
		return -EINVAL;
	if (p && *p) {
		char *e;
		unsigned long v = strtoul(p, &e, 10);

		if (*e || !v || v > 65535 || *p < '0' || *p > '9')
			return -EINVAL;
		*port = (uint16_t)v;
	} else if (p) {
		return -EINVAL;		/* "10.0.0.1:" */
	}
	return 0;
}

bool km_ip_unspecified(const struct km_ip *ip)
{
	const uint32_t *w = ip->addr.w;
	uint32_t mapped = ip->family == KM_FAMILY_INET ? htonl(0xffff) : 0;

	return !w[0] && !w[1] && w[2] == mapped && !w[3];
}

const char *km_ip_str(const struct km_ip *ip, char *buf, size_t len)
{
	if (ip->family == KM_FAMILY_INET)
		inet_ntop(AF_INET, &ip->addr.w[3], buf, len);
	else
		inet_ntop(AF_INET6, ip->addr.w, buf, len);
	return buf;
}

const char *km_lb_policy_name(unsigned int p)
{
	switch (p) {
	case KM_LB_ROUND_ROBIN:
		return "ROUND_ROBIN";
	case KM_LB_RANDOM:
		return "RANDOM";
	case KM_LB_LEAST_REQUEST:
		return "LEAST_REQUEST";
	case KM_LB_MAGLEV:
		return "MAGLEV";
	}
	return "?";
}

const char *km_cluster_type_name(unsigned int t)
{
	static const char *const names[] = {
		[KM_CLUSTER_STATIC] = "STATIC",
		[KM_CLUSTER_EDS] = "EDS",
		[KM_CLUSTER_STRICT_DNS] = "STRICT_DNS",
		[KM_CLUSTER_LOGICAL_DNS] = "LOGICAL_DNS",
	};

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : NULL;
}

const char *km_dns_family_name(unsigned int f)
{
	static const char *const names[] = {
		[KM_DNS_AUTO] = "AUTO",
		[KM_DNS_V4_ONLY] = "V4_ONLY",
		[KM_DNS_V6_ONLY] = "V6_ONLY",
		[KM_DNS_V4_PREFERRED] = "V4_PREFERRED",
		[KM_DNS_ALL] = "ALL",
	};

	return f < sizeof(names) / sizeof(names[0]) ? names[f] : NULL;
}

const char *km_hash_kind_name(unsigned int k)
{
	static const char *const names[] = {
		[KM_HK_SOURCE_IP] = "source_ip",
		[KM_HK_NOTHING] = "connection_properties",
		[KM_HK_HEADER] = "header",
		[KM_HK_COOKIE] = "cookie",
		[KM_HK_QUERY_PARAMETER] = "query_parameter",
		[KM_HK_FILTER_STATE] = "filter_state",
	};

	return k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "?";
}

const char *km_health_name(unsigned int h)
{
	static const char *const names[] = {
		[KM_HEALTH_UNKNOWN] = "UNKNOWN",
		[KM_HEALTH_HEALTHY] = "HEALTHY",
		[KM_HEALTH_UNHEALTHY] = "UNHEALTHY",
		[KM_HEALTH_DRAINING] = "DRAINING",
		[KM_HEALTH_TIMEOUT] = "TIMEOUT",
		[KM_HEALTH_DEGRADED] = "DEGRADED",
	};

	return h < sizeof(names) / sizeof(names[0]) ? names[h] : "?";
}
