// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Model -> map records.
 *
 * Clusters: the compiler resolves priority and locality fail-over. An
 * endpoint is usable when its health is UNKNOWN or HEALTHY. Levels are
 * ordered by (Envoy priority, locality rank against the node's locality);
 * the kernel receives only the first level with a usable endpoint, so the
 * connect path never walks levels. A health or membership change is a new
 * generation.
 *
 * Listeners: every (address, port) of every filter chain is one frontend.
 * The port is filter_chain_match.destination_port when set, else the
 * listener's. An http_connection_manager chain's frontend carries its
 * compiled route table (KM_FE_L7, route_build.c) and, as targets, its
 * default action (see default_http_action): what the connect path serves
 * when it cannot route on the request (no kmesh.ko, a read before the first
 * write, an incomplete head).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "lb_compile.h"
#include "local_reply.h"
#include "route_build.h"
#include "strmap.h"

/* ---- name -> cluster index (values are index + 1: NULL is "absent") --- */

static long name_index_get(const struct km_strmap *ni, const char *name)
{
	return (long)(intptr_t)km_strmap_get(ni, name) - 1;
}

/* ---- clusters --------------------------------------------------------- */

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

unsigned int km_locality_rank(const struct km_locality *node,
			      const struct km_locality *ep)
{
	const char *n[3] = { node->region, node->zone, node->sub_zone };
	const char *e[3] = { NULL, NULL, NULL };
	unsigned int set = 0, matched = 0, i;

	if (ep) {
		e[0] = ep->region;
		e[1] = ep->zone;
		e[2] = ep->sub_zone;
	}
	for (i = 0; i < 3 && n[i]; i++)
		set++;
	for (i = 0; i < set && same(n[i], e[i]); i++)
		matched++;
	return set - matched;
}

static bool usable(const struct km_m_cluster *mc,
		   const struct km_m_endpoint *ep)
{
	/* locality weighted LB: a locality without a weight gets no traffic
	 * (Envoy) */
	if (mc->lb.locality_weighted && !ep->locality_weight)
		return false;
	return km_endpoint_usable(ep);
}

/* Locality weighted LB spreads over every locality of a priority by their
 * weights (lb_compile.c): the locality rank does not apply. */
static uint64_t level_of(const struct km_model *m, const struct km_m_cluster *mc,
			 const struct km_m_endpoint *ep)
{
	if (mc->lb.locality_weighted)
		return (uint64_t)ep->priority << 8;
	return ((uint64_t)ep->priority << 8) |
	       km_locality_rank(&m->node_locality, &ep->locality);
}


/* Istio's BlackHoleCluster is a STATIC cluster with no endpoints: what it
 * does in Envoy (no upstream: the connection is closed) is a refused
 * connect here, counted apart from a service that lost its endpoints. */
#define ISTIO_BLACKHOLE "BlackHoleCluster"

static uint8_t cluster_kind(const struct km_m_cluster *mc)
{
	if (mc->original_dst)
		return KM_CK_PASSTHROUGH;
	if (!mc->n_endpoints && !strcmp(mc->name, ISTIO_BLACKHOLE))
		return KM_CK_BLACKHOLE;
	return KM_CK_ENDPOINTS;
}

/*
 * The cluster id a route or tcp_proxy names. xDS (validate_clusters false,
 * as istiod sets it): a name CDS does not have is accepted and resolves to
 * one "no cluster" record, made on first use, that refuses the connect
 * (counted no_cluster, Envoy's NC): CDS and RDS never wait on each other.
 * A static file must define it (-ENOENT).
 */
static long cluster_ref(const struct km_model *m, const struct km_strmap *ni,
			struct km_records *r, const char *name)
{
	long id = name_index_get(ni, name);

	if (id >= 0 || !m->rds_may_wait)
		return id;
	if (r->no_cluster_id)
		return r->no_cluster_id - 1;
	if (r->n_clusters >= KM_MAX_CLUSTERS)
		return -E2BIG;
	id = r->n_clusters++;
	r->clusters[id].kind = KM_CK_NO_CLUSTER;
	r->cluster_names[id] = "(no cluster)";
	r->no_cluster_id = id + 1;
	return id;
}

static int compile_cluster(const struct km_model *m,
			   const struct km_m_cluster *mc, uint32_t id,
			   struct km_records *r, struct km_err *err)
{
	struct km_lw_cursor lw = { 0 };
	struct km_cluster *c = &r->clusters[id];
	uint64_t best = UINT64_MAX, total = 0;
	uint32_t first_weight = 0;
	size_t i;

	c->lb_policy = mc->lb_policy;
	c->kind = cluster_kind(mc);
	c->max_connections = mc->cb.max_connections;
	c->max_pending_requests = mc->cb.max_pending_requests;
	c->max_requests = mc->cb.max_requests;
	c->max_retries = mc->cb.max_retries;
	if (mc->n_endpoints > KM_MAX_CLUSTER_ENDPOINTS) {
		km_err_at(err, &mc->src, "cluster '%s': %zu endpoints, limit is %d",
			   mc->name, mc->n_endpoints,
			   KM_MAX_CLUSTER_ENDPOINTS);
		return -E2BIG;
	}
	c->n_configured = mc->n_endpoints;

	for (i = 0; i < mc->n_endpoints; i++) {
		uint64_t lv = level_of(m, mc, &mc->endpoints[i]);

		if (usable(mc, &mc->endpoints[i]) && lv < best)
			best = lv;
	}
	if (best == UINT64_MAX)
		return 0;	/* no usable endpoint: connects are refused */
	c->priority = best >> 8;
	c->locality_rank = best & 0xff;

	for (i = 0; i < mc->n_endpoints; i++) {
		const struct km_m_endpoint *me = &mc->endpoints[i];
		struct km_endpoint_key *k;
		struct km_endpoint *v;
		uint32_t w;

		if (!usable(mc, me) || level_of(m, mc, me) != best)
			continue;
		w = mc->lb.locality_weighted ? km_locality_ep_weight(mc, i, &lw) :
					       me->weight;
		if (r->n_endpoints >= KM_MAX_ENDPOINTS) {
			km_err_at(err, &mc->src, "cluster '%s': more than %d endpoints in all clusters",
				   mc->name, KM_MAX_ENDPOINTS);
			return -E2BIG;
		}
		total += w;
		if (total > KM_MAX_TOTAL_WEIGHT) {
			km_err_at(err, &me->src, "cluster '%s': endpoint weights add up to more than %u",
				   mc->name, KM_MAX_TOTAL_WEIGHT);
			return -ERANGE;
		}
		if (c->n_endpoints == 0)
			first_weight = w;
		else if (w != first_weight)
			c->weighted = 1;

		k = &r->ep_keys[r->n_endpoints];
		v = &r->ep_vals[r->n_endpoints];
		r->n_endpoints++;
		k->cluster_id = id;
		k->index = c->n_endpoints++;
		v->addr = me->ip.addr;
		v->family = me->ip.family;
		v->port = htons(me->port);
		v->health = me->health;
		v->weight = w;
		v->cum_weight = total;
	}
	c->total_weight = total;
	return 0;
}

/* ---- listeners ----------------------------------------------------------- */

/*
 * The action an http_connection_manager listener is served with as L4: in
 * the first virtual host that has domain "*", the first route that matches
 * every request (prefix "/", no header or query matchers), else that virtual
 * host's first route; without a "*" host, the first route of the first
 * virtual host.
 */
static const struct km_m_action *vhost_default(const struct km_m_vhost *vh)
{
	if (!vh || vh->n_routes == 0)
		return NULL;
	for (size_t i = 0; i < vh->n_routes; i++) {
		const struct km_m_route *rt = &vh->routes[i];

		if (rt->path_kind == KM_PATH_PREFIX && rt->path &&
		    strcmp(rt->path, "/") == 0 && rt->n_headers == 0 &&
		    rt->n_query_params == 0)
			return &rt->action;
	}
	return &vh->routes[0].action;
}

static const struct km_m_action *
default_http_action(const struct km_m_route_config *rc)
{
	const struct km_m_vhost *vh = NULL;
	size_t i, j;

	for (i = 0; i < rc->n_vhosts && !vh; i++)
		for (j = 0; j < rc->vhosts[i].n_domains; j++)
			if (strcmp(rc->vhosts[i].domains[j], "*") == 0) {
				vh = &rc->vhosts[i];
				break;
			}
	if (!vh && rc->n_vhosts)
		vh = &rc->vhosts[0];
	return vhost_default(vh);
}

static bool cluster_has_family(const struct km_m_cluster *mc, uint8_t family)
{
	for (size_t i = 0; i < mc->n_endpoints; i++)
		if (mc->endpoints[i].ip.family == family)
			return true;
	return false;
}

#define KM_PASSTHROUGH 1	/* fill_targets: serve nothing, connects untouched */

static int target_ids(void *ctx, const char *name, __u32 *id);
static int reply_ids(void *ctx, const struct km_m_reply *reply, __u32 *id);
static int abort_ids(void *ctx, uint16_t status, __u32 *id);

struct route_ids {
	const struct km_model *m;
	const struct km_strmap *ni;
	struct km_records *r;
};

static int fill_targets(const struct km_model *m, const struct km_strmap *ni,
			struct km_records *r, const struct km_m_listener *l,
			const struct km_m_action *a,
			const struct km_m_fault *fault, struct km_frontend *fe,
			struct km_err *err)
{
	struct route_ids ctx = { .m = m, .ni = ni, .r = r };
	const struct km_target_ids ids = {
		.cluster = target_ids, .reply = reply_ids, .abort = abort_ids,
		.ctx = &ctx,
	};
	const struct km_m_abort *ab = km_abort_for(a, fault);
	size_t n = km_action_n_targets(a, ab), passthrough = 0, i;
	uint32_t id[KM_MAX_WEIGHTED + 1], cum[KM_MAX_WEIGHTED + 1], total = 0;
	long bad;
	int ret;

	if (n == 0 || n > KM_MAX_WEIGHTED) {
		km_err_at(err, &a->src, "listener '%s': %zu targets in a route action (clusters, and a fault abort), need 1 to %d",
			   l->name, n, KM_MAX_WEIGHTED);
		return -EINVAL;
	}
	ret = km_action_targets(a, ab, &ids, id, cum, &total, &bad);
	if (ret == -E2BIG && bad >= 0) {
		km_err_at(err, &a->clusters[bad].src, "listener '%s': cluster '%s' is not defined, and %d clusters leave no room to refuse it",
			   l->name, a->clusters[bad].cluster, KM_MAX_CLUSTERS);
		return -E2BIG;
	}
	if (ret && bad >= 0) {
		km_err_at(err, &a->clusters[bad].src, "listener '%s': cluster '%s' is not defined",
			   l->name, a->clusters[bad].cluster);
		return -ENOENT;
	}
	if (ret == -ERANGE) {
		km_err_at(err, &a->src, "listener '%s': the route's weights (with its fault abort's percentage) add up to more than %u",
			   l->name, KM_MAX_TOTAL_WEIGHT);
		return -ERANGE;
	}
	if (ret) {
		km_err_at(err, &a->src, "listener '%s': local replies: %s (at most %u, and %d clusters in all)",
			   l->name, strerror(-ret), KM_REPLY_MAX_IDS,
			   KM_MAX_CLUSTERS);
		return ret;
	}
	if (total == 0) {	/* the readers refuse it; never a 0 divisor */
		km_err_at(err, &a->src, "listener '%s': the sum of weights is 0",
			   l->name);
		return -ERANGE;
	}
	for (i = 0; i < n; i++) {
		fe->targets[i].cluster_id = id[i];
		fe->targets[i].cum_weight = cum[i];
		passthrough += r->clusters[id[i]].kind == KM_CK_PASSTHROUGH;
	}
	fe->n_targets = n;
	fe->total_weight = total;
	/* ORIGINAL_DST (Istio's PassthroughCluster) only: without a route
	 * table the connect always goes where it was dialed, so the address
	 * is simply not a frontend. With one, matched routes still route;
	 * the connect hook leaves the rest alone (counted passthrough). */
	if (passthrough == n && !(fe->flags & KM_FE_L7))
		return KM_PASSTHROUGH;
	return 0;
}

/* Every cluster a frontend can reach must have endpoints of its family. */
static int check_families(const struct km_model *m, const struct km_m_listener *l,
			  const struct km_ip *ip, const struct km_frontend *fe,
			  struct km_err *err)
{
	uint8_t other = ip->family == KM_FAMILY_INET ? KM_FAMILY_INET6 : KM_FAMILY_INET;

	for (size_t i = 0; i < fe->n_targets; i++) {
		const struct km_m_cluster *mc;

		if (fe->targets[i].cluster_id >= m->n_clusters)
			continue;	/* the "no cluster" record */
		mc = &m->clusters[fe->targets[i].cluster_id];

		if (cluster_has_family(mc, other)) {
			km_err_at(err, &l->src, "listener '%s': IPv%u address, but cluster '%s' has IPv%u endpoints",
				   l->name, ip->family, mc->name, other);
			return -EAFNOSUPPORT;
		}
	}
	return 0;
}

struct fe_seen {
	struct km_frontend_key key;
	const struct km_m_listener *l;
};

static int fe_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct fe_seen *)a)->key,
		      &((const struct fe_seen *)b)->key, sizeof(struct km_frontend_key));
}

static int check_duplicates(struct km_records *r, const struct km_model *m,
			    struct km_err *err)
{
	struct fe_seen *s = calloc(r->n_frontends ? r->n_frontends : 1, sizeof(*s));
	int ret = 0;
	size_t i;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < r->n_frontends; i++) {
		s[i].key = r->fe_keys[i];
		s[i].l = &m->listeners[r->fe_vals[i].listener_id];
	}
	qsort(s, r->n_frontends, sizeof(*s), fe_cmp);
	for (i = 1; i < r->n_frontends && !ret; i++) {
		struct km_ip ip = { .addr = s[i].key.addr };
		char buf[64];

		if (fe_cmp(&s[i - 1], &s[i]) != 0)
			continue;
		ip.family = ip.addr.w[0] == 0 && ip.addr.w[1] == 0 &&
			    ip.addr.w[2] == htonl(0xffff) ? KM_FAMILY_INET : KM_FAMILY_INET6;
		km_err_at(err, &s[i].l->src, "listener '%s': %s port %u is already served by listener '%s' (line %d)",
			   s[i].l->name, km_ip_str(&ip, buf, sizeof(buf)),
			   ntohs(s[i].key.port), s[i - 1].l->name, s[i - 1].l->src.line);
		ret = -EEXIST;
	}
	free(s);
	return ret;
}

/* ---- route tables ---------------------------------------------------------- */

/* the tables of one generation: small ones, then big ones (abi.h) */
#define KM_ROUTE_TABLES (KM_MAX_ROUTE_CONFIGS + KM_MAX_BIG_ROUTE_CONFIGS)

/* Passthrough and blackhole are cluster kinds the connect hook acts on,
 * so a route may name them like any cluster. */
static int target_ids(void *ctx, const char *name, __u32 *id)
{
	const struct route_ids *c = ctx;
	long i = cluster_ref(c->m, c->ni, c->r, name);

	if (i < 0)
		return i == -E2BIG ? -E2BIG : -ENOENT;
	*id = i;
	return 0;
}

/* Local replies and fault aborts: synthetic clusters (reply_compile.c). */
static int reply_ids(void *ctx, const struct km_m_reply *reply, __u32 *id)
{
	return km_reply_cluster(((const struct route_ids *)ctx)->r, reply, 0, id);
}

static int abort_ids(void *ctx, uint16_t status, __u32 *id)
{
	return km_reply_cluster(((const struct route_ids *)ctx)->r, NULL,
				status, id);
}

/* One table per route config and fault filter config: the filter's abort
 * goes into the table's targets. */
static bool same_fault(const struct km_m_fault *a, const struct km_m_fault *b)
{
	const struct km_m_abort *x = a && a->filter ? &a->abort : NULL;
	const struct km_m_abort *y = b && b->filter ? &b->abort : NULL;

	if ((a && a->filter) != (b && b->filter))
		return false;
	if (!x)
		return true;
	return x->status == y->status && x->num == y->num && x->den == y->den;
}

/* The route id of @rc in @r (KM_FE_L7_BIG in fe->flags when its table is
 * big), compiling it on first use. */
static int route_table_id(const struct km_model *m, const struct km_strmap *ni,
			  const struct km_m_listener *l,
			  const struct km_m_route_config *rc,
			  const struct km_m_fault *fault,
			  struct km_records *r, struct km_frontend *fe,
			  struct km_err *err)
{
	struct route_ids ctx = { .m = m, .ni = ni, .r = r };
	const struct km_target_ids ids = {
		.cluster = target_ids, .reply = reply_ids, .abort = abort_ids,
		.ctx = &ctx,
	};
	const char *name = rc->name ? rc->name : "(inline)";
	size_t i, n_small;
	int ret;

	for (i = 0; i < r->n_routes; i++)
		if (r->route_src[i] == rc &&
		    same_fault(r->route_fault[i], fault))
			goto found;
	if (r->n_routes >= KM_ROUTE_TABLES) {	/* both classes full */
		km_err_at(err, &rc->src, "listener '%s': route config '%s' is one more than the %d route configs kmesh serves",
			  l->name, name, KM_ROUTE_TABLES);
		return -E2BIG;
	}
	ret = km_route_build_ex(rc, 0, &ids, fault, &r->route_blobs[i],
				&r->route_lens[i], err);
	if (ret)
		return ret;
	r->route_src[i] = rc;
	r->route_fault[i] = fault;
	r->n_routes++;
	r->route_big[i] = r->route_lens[i] > KM_ROUTE_TABLE_MAX;
	n_small = r->n_routes - 1 - r->n_big_routes;
	if (r->route_big[i] && r->n_big_routes >= KM_MAX_BIG_ROUTE_CONFIGS) {
		km_err_at(err, &rc->src, "listener '%s': route config '%s' compiles to %zu bytes, and %d route configs over %u bytes are already served",
			  l->name, name, r->route_lens[i],
			  KM_MAX_BIG_ROUTE_CONFIGS, KM_ROUTE_TABLE_MAX);
		return -E2BIG;
	}
	if (!r->route_big[i] && n_small >= KM_MAX_ROUTE_CONFIGS) {
		km_err_at(err, &rc->src, "listener '%s': route config '%s' is one more than the %d route configs kmesh serves",
			  l->name, name, KM_MAX_ROUTE_CONFIGS);
		return -E2BIG;
	}
	r->route_ids[i] = r->route_big[i] ? r->n_big_routes++ : n_small;
found:
	fe->route_id = r->route_ids[i];
	if (r->route_big[i])
		fe->flags |= KM_FE_L7_BIG;
	return 0;
}

/* ---- filter chain selection ------------------------------------------------ */

/* -1 if no prefix of @cm holds @ip, else the longest that does. */
static int prefix_hit(const struct km_m_chain_match *cm, const struct km_ip *ip)
{
	int best = -1;

	for (size_t i = 0; i < cm->n_prefixes; i++) {
		const struct km_cidr *c = &cm->prefixes[i];
		/* IPv4 is stored IPv4-mapped: its bits start at bit 96 */
		unsigned int off = c->ip.family == KM_FAMILY_INET ? 96 : 0;
		unsigned int bits = off + c->len, b;
		const uint8_t *x = (const uint8_t *)&c->ip.addr;
		const uint8_t *y = (const uint8_t *)&ip->addr;

		if (c->ip.family != ip->family || (int)c->len <= best)
			continue;
		for (b = off; b < bits; b++)
			if ((x[b / 8] ^ y[b / 8]) & (0x80 >> (b % 8)))
				break;
		if (b == bits)
			best = c->len;
	}
	return best;
}

/* One level of Envoy's FilterChainMatch: of the chains still @alive, keep
 * those with the highest @score if any scores above 0 (a criterion they
 * set and the traffic meets), else those scoring 0 (criterion unset);
 * a negative score is a criterion the traffic fails. */
static void narrow(bool *alive, const int *score, size_t n)
{
	int best = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (alive[i] && score[i] > best)
			best = score[i];
	for (i = 0; i < n; i++)
		alive[i] = alive[i] && score[i] == best && best >= 0;
}

/*
 * The chain Envoy gives a plaintext connect from a local client to
 * @ip:@port, HTTP (sniffed http/1.1 or h2c) or not, in Envoy's order:
 * destination_port, prefix_ranges, transport_protocol,
 * application_protocols, source_type (resources.c dropped the chains such
 * traffic can never take), else the default_filter_chain. NULL: no chain,
 * the connect is left alone.
 */
static const struct km_m_chain *chain_pick(const struct km_m_listener *l,
					   const struct km_ip *ip,
					   uint16_t port, bool http,
					   bool *alive, int *score)
{
	size_t i, n = l->n_chains;
	int level;

	for (i = 0; i < n; i++)
		alive[i] = !l->chains[i].fallback;
	for (level = 0; level < 5; level++) {
		for (i = 0; i < n; i++) {
			const struct km_m_chain *ch = &l->chains[i];
			const struct km_m_chain_match *cm = &ch->match;

			switch (level) {
			case 0:	/* 0 stands for the listener's port */
				score[i] = !ch->dest_port ? 0 :
					   ch->dest_port == port ? 1 : -1;
				if (!ch->dest_port && port != l->port)
					score[i] = -1;
				break;
			case 1:	/* longest prefix; +1 so /0 beats unset */
				score[i] = !cm->n_prefixes ? 0 :
					   prefix_hit(cm, ip) < 0 ? -1 :
					   prefix_hit(cm, ip) + 1;
				break;
			case 2:
				score[i] = cm->raw_buffer;
				break;
			case 3:
				score[i] = !cm->http ? 0 : http ? 1 : -1;
				break;
			default:
				score[i] = cm->external;
				break;
			}
		}
		narrow(alive, score, n);
	}
	for (i = 0; i < n; i++)
		if (alive[i])
			return &l->chains[i];
	/* no match: Envoy's default_filter_chain, if there is one */
	for (i = 0; i < n; i++)
		if (l->chains[i].fallback)
			return &l->chains[i];
	return NULL;
}

/* ---- listeners, continued ---------------------------------------------------- */

#define KM_WAITING 2	/* chain_action: its RDS route config is not here yet */

/* The route config of an HTTP chain (inline or RDS), or KM_WAITING. */
static int chain_routes(const struct km_model *m, const struct km_m_listener *l,
			const struct km_m_chain *ch,
			const struct km_m_route_config **rc, struct km_err *err)
{
	*rc = &ch->routes;
	if (!ch->rds_name)
		return 0;
	*rc = km_model_route_config(m, ch->rds_name);
	if (*rc)
		return 0;
	if (m->rds_may_wait)
		return KM_WAITING;
	km_err_at(err, &ch->src, "listener '%s': route config '%s' (rds) is not available%s",
		   l->name, ch->rds_name,
		   m->n_route_configs ? "" : ": a static config cannot use rds");
	return -ENOENT;
}

/*
 * The frontend for the chains picked for one address: targets from the
 * chain non-HTTP traffic takes (@tcp, else @http), the route table from
 * the chain HTTP takes. A sniffed listener (an HTTP chain and a TCP chain
 * on one address) is thus routed by kmesh.ko and served as its TCP chain
 * without it, as Envoy serves traffic its sniffer does not call HTTP.
 */
static int chain_frontend(const struct km_model *m, const struct km_strmap *ni,
			  const struct km_m_listener *l,
			  const struct km_m_chain *tcp,
			  const struct km_m_chain *http,
			  const struct km_m_vhost *vip_vh,
			  struct km_records *r, struct km_frontend *fe,
			  struct km_err *err)
{
	const struct km_m_chain *l4 = tcp ? tcp : http;
	const struct km_m_route_config *rc = NULL;
	const struct km_m_action *a = &l4->tcp;
	int ret;

	if (http && http->kind != KM_CHAIN_HTTP)
		http = NULL;
	if (vip_vh && l4 == http) {
		/* a VIP of a port-wide listener: its own service's route,
		 * not the "*" host's */
		a = vhost_default(vip_vh);
		if (!a)
			return KM_PASSTHROUGH;
	} else if (l4->kind == KM_CHAIN_HTTP) {
		ret = chain_routes(m, l, l4, &rc, err);
		if (ret)
			return ret;
		a = default_http_action(rc);
		if (!a) {
			km_err_at(err, &l4->src, "listener '%s': http_connection_manager has no route to serve",
				   l->name);
			return -EINVAL;
		}
	}
	if (http) {
		ret = chain_routes(m, l, http, &rc, err);
		if (ret)
			return ret;
		fe->flags |= KM_FE_L7;
	}
	ret = fill_targets(m, ni, r, l, a,
			   l4->kind == KM_CHAIN_HTTP ? &l4->fault : NULL, fe, err);
	if (ret)
		return ret;
	if (fe->flags & KM_FE_L7)
		return route_table_id(m, ni, l, rc, &http->fault, r, fe, err);
	return 0;
}

static int add_frontend(const struct km_model *m, const struct km_m_listener *l,
			const struct km_ip *ip, uint16_t port,
			const struct km_frontend *fe, struct km_records *r,
			struct km_err *err)
{
	struct km_frontend_key *k;
	int ret;

	ret = check_families(m, l, ip, fe, err);
	if (ret)
		return ret;
	if (r->n_frontends >= KM_MAX_FRONTENDS) {
		km_err_at(err, &l->src, "listener '%s': more than %d service addresses in all listeners",
			   l->name, KM_MAX_FRONTENDS);
		return -E2BIG;
	}
	k = &r->fe_keys[r->n_frontends];
	memset(k, 0, sizeof(*k));
	k->addr = ip->addr;
	k->port = htons(port);
	r->fe_vals[r->n_frontends++] = *fe;
	return 0;
}

/* Every cluster @a names is ORIGINAL_DST (Istio's PassthroughCluster). */
static bool action_passthrough(const struct km_model *m,
			       const struct km_strmap *ni,
			       const struct km_m_action *a)
{
	for (size_t i = 0; i < a->n_clusters; i++) {
		long id = name_index_get(ni, a->clusters[i].cluster);

		if (id < 0 || (size_t)id >= m->n_clusters ||
		    !m->clusters[id].original_dst)
			return false;
	}
	return a->n_clusters > 0;
}

/* What a listener turned out to be, for kmeshctl. */
struct lkind {
	bool l7, sniffed, waiting, port_wide;
};

/* What one listener address on one port gets (@vip_vh: the address is a
 * VIP of a port-wide listener, named by that virtual host). */
static int compile_dest(const struct km_model *m, const struct km_strmap *ni,
			const struct km_m_listener *l, uint32_t id,
			const struct km_ip *ip, uint16_t port,
			const struct km_m_vhost *vip_vh, bool *scratch,
			int *score, struct km_records *r, struct lkind *k,
			struct km_err *err)
{
	const struct km_m_chain *tcp, *http;
	struct km_frontend fe = { .listener_id = id };
	int ret;

	tcp = chain_pick(l, ip, port, false, scratch, score);
	http = chain_pick(l, ip, port, true, scratch, score);
	if (!tcp && !http)
		return 0;
	/* A port-wide VIP whose non-HTTP side is only the allow_any
	 * passthrough (istiod's PassthroughFilterChain) names no TCP service:
	 * the VIP is its virtual host's, so it is served as that (at L4 by
	 * the host's default route), not left to the passthrough. */
	if (vip_vh && tcp && http && http->kind == KM_CHAIN_HTTP &&
	    tcp->kind == KM_CHAIN_TCP_PROXY && action_passthrough(m, ni, &tcp->tcp))
		tcp = NULL;
	ret = chain_frontend(m, ni, l, tcp, http, vip_vh, r, &fe, err);
	if (ret == KM_WAITING) {
		k->waiting = true;
		return 0;
	}
	if (ret == KM_PASSTHROUGH)
		return 0;
	if (ret)
		return ret;
	k->l7 |= !!(fe.flags & KM_FE_L7);
	k->sniffed |= tcp && http && tcp != http &&
		    http->kind == KM_CHAIN_HTTP && tcp->kind != KM_CHAIN_HTTP;
	return add_frontend(m, l, ip, port, &fe, r, err);
}

static bool fe_exists(const struct km_records *r, const struct km_ip *ip,
		      uint16_t port)
{
	for (size_t i = 0; i < r->n_frontends; i++)
		if (r->fe_keys[i].port == htons(port) &&
		    !memcmp(&r->fe_keys[i].addr, &ip->addr, sizeof(ip->addr)))
			return true;
	return false;
}

/*
 * A port-wide HTTP listener (istiod's 0.0.0.0_PORT with RDS route config
 * "PORT"): every virtual host domain that is an IP of @any's family, with
 * no port or this one, is a service VIP and gets a frontend, routed by the
 * whole route table (Host picks the virtual host, as in Envoy). Other
 * addresses on the port are left alone. A VIP a listener of its own
 * serves is that listener's (Envoy: the exact address wins).
 */
static int compile_port_wide(const struct km_model *m,
			     const struct km_strmap *ni,
			     const struct km_m_listener *l, uint32_t id,
			     const struct km_m_route_config *rc,
			     const struct km_ip *any, uint16_t port,
			     bool *scratch, int *score, struct km_records *r,
			     struct lkind *k, struct km_err *err)
{
	for (size_t v = 0; v < rc->n_vhosts; v++) {
		const struct km_m_vhost *vh = &rc->vhosts[v];

		for (size_t d = 0; d < vh->n_domains; d++) {
			struct km_ip ip;
			uint16_t dport;
			int ret;

			if (km_host_ip(vh->domains[d], &ip, &dport) ||
			    ip.family != any->family ||
			    (dport && dport != port) || fe_exists(r, &ip, port))
				continue;
			ret = compile_dest(m, ni, l, id, &ip, port, vh, scratch,
					   score, r, k, err);
			if (ret)
				return ret;
			k->port_wide = true;
		}
	}
	return 0;
}

/* The route config HTTP to @any:@port takes, or NULL (none, or *wait:
 * its RDS route config is not here yet). */
static int wildcard_routes(const struct km_model *m,
			   const struct km_m_listener *l,
			   const struct km_ip *any, uint16_t port,
			   bool *scratch, int *score, bool *wait,
			   const struct km_m_route_config **rc,
			   struct km_err *err)
{
	const struct km_m_chain *http;
	int ret;

	*rc = NULL;
	http = chain_pick(l, any, port, true, scratch, score);
	if (!http || http->kind != KM_CHAIN_HTTP)
		return 0;
	ret = chain_routes(m, l, http, rc, err);
	if (ret == KM_WAITING) {
		*wait = true;
		*rc = NULL;
		return 0;
	}
	return ret;
}

/* A wildcard listener's chains that name single hosts in prefix_ranges
 * (a /32 or /128 of @any's family): those hosts are its service
 * addresses; a wider range cannot be enumerated and is not served. */
static int compile_prefix_hosts(const struct km_model *m,
				const struct km_strmap *ni,
				const struct km_m_listener *l, uint32_t id,
				const struct km_ip *any, uint16_t port,
				bool *scratch, int *score, struct km_records *r,
				struct lkind *k, struct km_err *err)
{
	unsigned int host = any->family == KM_FAMILY_INET ? 32 : 128;

	for (size_t c = 0; c < l->n_chains; c++) {
		const struct km_m_chain_match *cm = &l->chains[c].match;

		for (size_t i = 0; i < cm->n_prefixes; i++) {
			const struct km_ip *ip = &cm->prefixes[i].ip;
			int ret;

			if (ip->family != any->family ||
			    cm->prefixes[i].len != host ||
			    fe_exists(r, ip, port))
				continue;
			ret = compile_dest(m, ni, l, id, ip, port, NULL,
					   scratch, score, r, k, err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static bool port_seen(const struct km_m_listener *l, size_t c, uint16_t port)
{
	if (port == l->port)
		return c != SIZE_MAX;
	for (size_t i = 0; i < c; i++)
		if (l->chains[i].dest_port == port)
			return true;
	return false;
}

/* One address of a listener on one port. Pass 0 does the listeners'
 * own addresses, pass 1 the service addresses of wildcard ones (virtual
 * host domains, single-host prefix_ranges), so an exact address wins over
 * a wildcard listener's, as in Envoy. */
static int compile_addr(const struct km_model *m, const struct km_strmap *ni,
			const struct km_m_listener *l, uint32_t id,
			const struct km_ip *ip, uint16_t port, int pass,
			bool *scratch, int *score, struct km_records *r,
			struct lkind *k, struct km_err *err)
{
	const struct km_m_route_config *rc = NULL;
	bool wait = false, any = km_ip_unspecified(ip);
	int ret = 0;

	if (any)
		ret = wildcard_routes(m, l, ip, port, scratch, score, &wait,
				      &rc, err);
	k->waiting |= wait;
	if (ret || (any && !wait) != pass)
		return ret;
	if (rc)
		ret = compile_port_wide(m, ni, l, id, rc, ip, port, scratch,
					score, r, k, err);
	if (!ret && any && !wait)
		ret = compile_prefix_hosts(m, ni, l, id, ip, port, scratch,
					   score, r, k, err);
	if (ret || rc || wait)
		return ret;
	return compile_dest(m, ni, l, id, ip, port, NULL, scratch, score, r, k,
			    err);
}

static int compile_listener(const struct km_model *m, const struct km_strmap *ni,
			    const struct km_m_listener *l, uint32_t id,
			    int pass, struct km_records *r, struct lkind *k,
			    struct km_err *err)
{
	bool *scratch = NULL;
	int *score = NULL, ret = 0;

	if (l->direction == KM_DIR_INBOUND)
		return 0;
	if (l->port == 0) {
		km_err_at(err, &l->src, "listener '%s': no port (port_value 0)",
			   l->name);
		return -EINVAL;
	}
	scratch = calloc(l->n_chains + 1, sizeof(*scratch));
	score = calloc(l->n_chains + 1, sizeof(*score));
	if (!scratch || !score) {
		km_err_set(err, "%s: out of memory compiling the config", m->source);
		ret = -ENOMEM;
		goto out;
	}
	/* the listener's own port, then each other destination_port once */
	for (size_t c = SIZE_MAX; !ret && (c == SIZE_MAX || c < l->n_chains);
	     c++) {
		uint16_t port = c == SIZE_MAX ? l->port : l->chains[c].dest_port;

		if (c != SIZE_MAX && (!port || port_seen(l, c, port)))
			continue;
		for (size_t i = 0; !ret && i < l->n_addrs; i++)
			ret = compile_addr(m, ni, l, id, &l->addrs[i], port,
					   pass, scratch, score, r, k, err);
	}
out:
	free(scratch);
	free(score);
	return ret;
}

/* The lists kmeshctl shows, once both passes are done. */
static void list_listener(const struct km_m_listener *l,
			  const struct lkind *k, struct km_records *r)
{
	if (l->direction == KM_DIR_INBOUND) {
		/* its traffic arrives at this node's workloads: Envoy's
		 * inbound side, never a service address to redirect */
		r->inbound[r->n_inbound++] = l->name;
		return;
	}
	if (k->l7)
		r->l7_listeners[r->n_l7_listeners++] = l->name;
	if (k->sniffed)
		r->sniffed[r->n_sniffed++] = l->name;
	if (k->port_wide)
		r->port_wide[r->n_port_wide++] = l->name;
	if (k->waiting)
		r->waiting[r->n_waiting++] = l->name;
}

/* ---- top ------------------------------------------------------------------ */

static size_t count_domains(const struct km_m_route_config *rc)
{
	size_t n = 0;

	for (size_t i = 0; rc && i < rc->n_vhosts; i++)
		n += rc->vhosts[i].n_domains;
	return n;
}

/* At most: each address on each port, and each domain of an HTTP chain
 * (port-wide VIPs) on each port. */
static size_t count_frontends(const struct km_model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_listeners; i++) {
		const struct km_m_listener *l = &m->listeners[i];
		size_t ports = l->n_chains + 1, d = 0;

		for (size_t c = 0; c < l->n_chains; c++) {
			const struct km_m_chain *ch = &l->chains[c];

			d += count_domains(ch->rds_name ?
				km_model_route_config(m, ch->rds_name) :
				&ch->routes);
		}
		n += ports * (l->n_addrs + d);
	}
	return n;
}

static size_t count_endpoints(const struct km_model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_clusters; i++)
		n += m->clusters[i].n_endpoints;
	return n;
}

static int alloc_records(const struct km_model *m, struct km_records *r)
{
	size_t nfe = count_frontends(m), nep = count_endpoints(m);
	size_t nrep = km_count_replies(m);

	/* Bounded by the limits: the counts are checked while filling. */
	if (nfe > KM_MAX_FRONTENDS)
		nfe = KM_MAX_FRONTENDS;
	if (nep > KM_MAX_ENDPOINTS)
		nep = KM_MAX_ENDPOINTS;
	r->fe_keys = calloc(nfe + 1, sizeof(*r->fe_keys));
	r->fe_vals = calloc(nfe + 1, sizeof(*r->fe_vals));
	/* local replies: one synthetic cluster and endpoint each */
	if (km_replies_alloc(r, nrep))
		return -ENOMEM;
	r->clusters = calloc(m->n_clusters + 1 + nrep, sizeof(*r->clusters));
	r->ep_keys = calloc(nep + nrep + 1, sizeof(*r->ep_keys));
	r->ep_vals = calloc(nep + nrep + 1, sizeof(*r->ep_vals));
	r->listener_names = calloc(m->n_listeners + 1, sizeof(char *));
	r->cluster_names = calloc(m->n_clusters + 1 + nrep, sizeof(char *));
	r->l7_listeners = calloc(m->n_listeners + 1, sizeof(char *));
	r->waiting = calloc(m->n_listeners + 1, sizeof(char *));
	r->inbound = calloc(m->n_listeners + 1, sizeof(char *));
	r->sniffed = calloc(m->n_listeners + 1, sizeof(char *));
	r->port_wide = calloc(m->n_listeners + 1, sizeof(char *));
	r->route_src = calloc(KM_ROUTE_TABLES, sizeof(*r->route_src));
	r->route_fault = calloc(KM_ROUTE_TABLES, sizeof(*r->route_fault));
	r->route_blobs = calloc(KM_ROUTE_TABLES, sizeof(*r->route_blobs));
	r->route_lens = calloc(KM_ROUTE_TABLES, sizeof(*r->route_lens));
	r->route_big = calloc(KM_ROUTE_TABLES, sizeof(*r->route_big));
	r->route_ids = calloc(KM_ROUTE_TABLES, sizeof(*r->route_ids));
	if (!r->fe_keys || !r->fe_vals || !r->clusters || !r->ep_keys ||
	    !r->ep_vals || !r->listener_names || !r->cluster_names ||
	    !r->l7_listeners || !r->waiting || !r->inbound || !r->sniffed ||
	    !r->port_wide ||
	    !r->route_src || !r->route_fault ||
	    !r->route_blobs || !r->route_lens || !r->route_big ||
	    !r->route_ids)
		return -ENOMEM;
	return 0;
}

int km_compile(const struct km_model *m, struct km_records *r,
	       struct km_err *err)
{
	struct km_strmap ni = {};
	struct lkind *kinds = NULL;
	size_t i;
	int ret;

	memset(r, 0, sizeof(*r));
	r->reply_tag = m->reply_tag;
	if (m->n_clusters > KM_MAX_CLUSTERS) {
		km_err_set(err, "%s: %zu clusters, limit is %d", m->source,
			   m->n_clusters, KM_MAX_CLUSTERS);
		return -E2BIG;
	}
	ret = alloc_records(m, r);
	if (ret) {
		km_err_set(err, "%s: out of memory compiling the config", m->source);
		goto out;
	}

	for (i = 0; i < m->n_clusters; i++) {
		const struct km_m_cluster *mc = &m->clusters[i];
		long first = name_index_get(&ni, mc->name);

		if (first >= 0) {
			km_err_at(err, &mc->src, "cluster '%s' is defined twice (first at line %d)",
				   mc->name, m->clusters[first].src.line);
			ret = -EEXIST;
			goto out;
		}
		km_strmap_put(&ni, mc->name, (void *)(intptr_t)(i + 1), &ret);
		if (ret) {
			km_err_set(err, "%s: out of memory compiling the config", m->source);
			goto out;
		}
		r->cluster_names[i] = mc->name;
		ret = compile_cluster(m, mc, i, r, err);
		if (ret)
			goto out;
	}
	r->n_clusters = m->n_clusters;

	kinds = calloc(m->n_listeners + 1, sizeof(*kinds));
	if (!kinds) {
		km_err_set(err, "%s: out of memory compiling the config", m->source);
		ret = -ENOMEM;
		goto out;
	}
	for (int pass = 0; pass < 2; pass++)
		for (i = 0; i < m->n_listeners; i++) {
			r->listener_names[i] = m->listeners[i].name;
			ret = compile_listener(m, &ni, &m->listeners[i], i,
					       pass, r, &kinds[i], err);
			if (ret)
				goto out;
		}
	for (i = 0; i < m->n_listeners; i++)
		list_listener(&m->listeners[i], &kinds[i], r);
	r->n_listener_names = m->n_listeners;
	ret = check_duplicates(r, m, err);
	if (!ret)
		ret = km_lb_compile(m, r, err);
	if (!ret)	/* RBAC filters -> policy programs (authz_compile.c) */
		ret = km_authz_compile(m, &r->authz, err);
out:
	free(kinds);
	km_strmap_free(&ni);
	if (ret)
		km_records_free(r);
	return ret;
}

void km_records_free(struct km_records *r)
{
	free(r->fe_keys);
	free(r->fe_vals);
	free(r->clusters);
	free(r->ep_keys);
	free(r->ep_vals);
	free(r->listener_names);
	free(r->cluster_names);
	free(r->l7_listeners);
	free(r->waiting);
	free(r->inbound);
	free(r->sniffed);
	free(r->port_wide);
	for (size_t i = 0; r->route_blobs && i < r->n_routes; i++)
		free(r->route_blobs[i]);
	free(r->route_src);
	free(r->route_fault);
	km_replies_free(r);
	free(r->route_blobs);
	free(r->route_lens);
	free(r->route_big);
	free(r->route_ids);
	free(r->maglev);
	km_authz_records_free(&r->authz);
	memset(r, 0, sizeof(*r));
}
