// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Accepted but not enforced: one walk over the finished model. */
#include <string.h>

#include "not_enforced.h"

static const struct {
	const char *kind;
	const char *why;
} kinds[KM_NE_COUNT] = {
	{ "outlier_detection",
	  "no endpoint is ejected: kmesh does not track connect failures per endpoint, and consecutive_5xx needs responses it never sees" },
	{ "connect_timeout",
	  "the kernel's SYN retries bound a connect (net.ipv4.tcp_syn_retries), not the cluster's timeout" },
	{ "max_pending_requests",
	  "a per-request limit: kmesh routes connections, it never queues requests" },
	{ "max_requests",
	  "a per-request limit: kmesh routes connections, not requests (max_connections is enforced)" },
	{ "max_retries",
	  "kmesh never retries, so there is nothing to limit" },
	{ "ring_hash_lb_config",
	  "RING_HASH is served by a Maglev table (65537 entries): the ring's sizes and hash_function do not apply" },
	{ "retry_policy",
	  "kmesh never retries: it picks one endpoint when the connection is made" },
	{ "timeout",
	  "route timeouts and idle timeouts need a proxy in the byte stream; connections stay open as long as the application keeps them" },
	{ "request_mirror_policies",
	  "mirroring needs a proxy that copies requests" },
	{ "envoy.filters.http.fault",
	  "fault delay needs a proxy that holds requests: they go to the route's cluster at once (aborts are enforced, docs/l7.md)" },
	{ "zone_aware_lb_config",
	  "kmesh serves the node's own locality while it has an endpoint, then the next (locality fail-over), with no zone-aware spill-over by share (common_lb_config)" },
	{ "header_rewrites",
	  "headers to add or remove and path or host rewrites need a proxy that rewrites requests: they reach the backend as the client sent them" },
	{ "hedge_policy",
	  "kmesh sends each connection to one endpoint, never a second request" },
	/* named as the xDS audit's kind (notenf.h), so status warns alike */
	{ "mtls",
	  "Istio mutual TLS (transport_socket_matches, transport_socket): kmesh sends this cluster's traffic plaintext" },
};

static void note(struct km_ne_item *all, uint32_t bits, const char *name)
{
	for (unsigned int k = 0; k < KM_NE_COUNT; k++) {
		if (!(bits & (1u << k)))
			continue;
		if (!all[k].count++)
			all[k].example = name;
	}
}

static uint32_t breaker_bits(const struct km_circuit_breakers *cb)
{
	return (cb->max_pending_requests ? KM_NE_MAX_PENDING_REQUESTS : 0) |
	       (cb->max_requests ? KM_NE_MAX_REQUESTS : 0) |
	       (cb->max_retries ? KM_NE_MAX_RETRIES : 0);
}

static void route_config(struct km_ne_item *all,
			 const struct km_m_route_config *rc)
{
	uint32_t bits = rc->not_enforced;

	for (size_t v = 0; v < rc->n_vhosts; v++) {
		bits |= rc->vhosts[v].not_enforced;
		for (size_t i = 0; i < rc->vhosts[v].n_routes; i++)
			bits |= rc->vhosts[v].routes[i].action.not_enforced;
	}
	note(all, bits, rc->name ? rc->name : "(inline route config)");
}

size_t km_not_enforced(const struct km_model *m,
		       struct km_ne_item out[KM_NE_COUNT])
{
	struct km_ne_item all[KM_NE_COUNT];
	size_t n = 0;

	memset(all, 0, sizeof(all));
	for (size_t i = 0; i < m->n_clusters; i++) {
		const struct km_m_cluster *cl = &m->clusters[i];

		note(all, cl->not_enforced | breaker_bits(&cl->cb), cl->name);
	}
	for (size_t l = 0; l < m->n_listeners; l++) {
		const struct km_m_listener *li = &m->listeners[l];

		for (size_t c = 0; c < li->n_chains; c++) {
			const struct km_m_chain *ch = &li->chains[c];

			note(all, ch->not_enforced, li->name);
			if (ch->kind == KM_CHAIN_TCP_PROXY)
				note(all, ch->tcp.not_enforced, li->name);
			else if (!ch->rds_name)
				route_config(all, &ch->routes);
		}
	}
	for (size_t i = 0; i < m->n_route_configs; i++)
		route_config(all, &m->route_configs[i]);
	for (unsigned int k = 0; k < KM_NE_COUNT; k++) {
		if (!all[k].count)
			continue;
		out[n] = all[k];
		out[n].kind = kinds[k].kind;
		out[n].why = kinds[k].why;
		n++;
	}
	return n;
}
