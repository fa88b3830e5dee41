// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Local replies in the records (local_reply.h): each distinct reply is a
 * synthetic cluster of one endpoint, kmeshd's responder at the reply's
 * loopback address. The connect path needs nothing new: the route's
 * weighted pick (a fault abort's percentage included) lands there like on
 * any cluster.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "lb_compile.h"
#include "local_reply.h"

static size_t action_replies(const struct km_m_action *a)
{
	return (a->reply ? 1 : 0) + (a->abort.set && a->abort.status ? 1 : 0);
}

static size_t rc_replies(const struct km_m_route_config *rc)
{
	size_t n = 0;

	for (size_t i = 0; i < rc->n_vhosts; i++)
		for (size_t j = 0; j < rc->vhosts[i].n_routes; j++)
			n += action_replies(&rc->vhosts[i].routes[j].action);
	return n;
}

/* At most: every reply and abort the model holds (dedup only lowers it). */
size_t km_count_replies(const struct km_model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_route_configs; i++)
		n += rc_replies(&m->route_configs[i]);
	for (size_t i = 0; i < m->n_listeners; i++)
		for (size_t c = 0; c < m->listeners[i].n_chains; c++) {
			const struct km_m_chain *ch = &m->listeners[i].chains[c];

			n += rc_replies(&ch->routes) + action_replies(&ch->tcp) +
			     (ch->fault.abort.status ? 1 : 0);
		}
	return n;
}

int km_replies_alloc(struct km_records *r, size_t n)
{
	r->cap_replies = n;
	r->replies = calloc(n + 1, sizeof(*r->replies));
	r->reply_src = calloc(n + 1, sizeof(*r->reply_src));
	r->reply_cluster = calloc(n + 1, sizeof(*r->reply_cluster));
	r->reply_names = calloc(n + 1, sizeof(*r->reply_names));
	if (!r->replies || !r->reply_src || !r->reply_cluster ||
	    !r->reply_names)
		return -ENOMEM;
	return 0;
}

void km_replies_free(struct km_records *r)
{
	for (size_t i = 0; i < r->n_replies; i++) {
		km_reply_free(r->replies ? r->replies[i] : NULL);
		free(r->reply_names ? r->reply_names[i] : NULL);
	}
	free(r->replies);
	free(r->reply_src);
	free(r->reply_cluster);
	free(r->reply_names);
}

static int find(const struct km_records *r, const struct km_m_reply *src,
		uint16_t status, __u32 *id)
{
	for (size_t i = 0; i < r->n_replies; i++)
		if (src ? r->reply_src[i] == src :
			  (!r->reply_src[i] &&
			   r->replies[i]->kind == KM_REPLY_ABORT &&
			   r->replies[i]->status == status)) {
			*id = r->reply_cluster[i];
			return 0;
		}
	return -ENOENT;
}

int km_reply_cluster(struct km_records *r, const struct km_m_reply *src,
		     uint16_t status, __u32 *id)
{
	const struct km_m_reply abort = { .kind = KM_REPLY_ABORT,
					  .status = status };
	struct km_endpoint_key *k;
	struct km_endpoint *v;
	struct km_cluster *c;
	size_t i = r->n_replies;
	__u32 cid;

	if (!find(r, src, status, id))
		return 0;
	if (i >= r->cap_replies || i >= KM_REPLY_MAX_IDS ||
	    r->n_clusters >= KM_MAX_CLUSTERS ||
	    r->n_endpoints >= KM_MAX_ENDPOINTS)
		return -E2BIG;
	r->replies[i] = km_reply_dup(src ? src : &abort);
	if (!r->replies[i])
		return -ENOMEM;
	r->reply_names[i] = km_reply_describe(r->replies[i]);
	if (!r->reply_names[i]) {
		km_reply_free(r->replies[i]);
		return -ENOMEM;
	}
	r->reply_src[i] = src;
	r->n_replies++;

	cid = r->n_clusters++;
	r->reply_cluster[i] = cid;
	r->cluster_names[cid] = r->reply_names[i];
	c = &r->clusters[cid];
	memset(c, 0, sizeof(*c));
	c->kind = KM_CK_ENDPOINTS;
	c->lb_policy = KM_LB_ROUND_ROBIN;
	c->n_endpoints = c->n_configured = 1;
	c->total_weight = 1;
	c->stat_key = km_stat_key64(r->reply_names[i]);

	k = &r->ep_keys[r->n_endpoints];
	v = &r->ep_vals[r->n_endpoints++];
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->cluster_id = cid;
	k->index = 0;
	/* IPv4 is stored IPv4-mapped: an IPv6 socket reaches it as
	 * ::ffff:127.64.x.y (a dual-stack socket; see docs/l7.md) */
	v->addr.w[2] = htonl(0xffff);
	v->addr.w[3] = htonl(km_reply_addr(r->reply_tag, i + 1));
	v->family = KM_FAMILY_INET;
	v->port = htons(KM_RESPONDER_PORT);
	v->health = KM_HEALTH_HEALTHY;
	v->weight = v->cum_weight = 1;
	*id = cid;
	return 0;
}
