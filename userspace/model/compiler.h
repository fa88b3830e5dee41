/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Compiler: a checked model -> flat, fixed-size map records. Cross-object
 * rules (references, address families, global limits) are checked here;
 * a model that does not compile changes nothing.
 */
#ifndef KM_COMPILER_H
#define KM_COMPILER_H

#include "model.h"
#include "authz.h"

struct km_records {
	size_t n_frontends;
	struct km_frontend_key *fe_keys;	/* slot left 0 for the writer */
	struct km_frontend *fe_vals;

	size_t n_clusters;			/* cluster id = index */
	struct km_cluster *clusters;
	/* 1 + the id of the "no cluster" record (routes to clusters CDS
	 * does not have, xDS only), 0 if none was needed */
	size_t no_cluster_id;

	size_t n_endpoints;
	struct km_endpoint_key *ep_keys;
	struct km_endpoint *ep_vals;

	/* Names for kmeshctl, borrowed from the model: listener id and
	 * cluster id are indexes into these. */
	size_t n_listener_names;
	const char **listener_names;
	const char **cluster_names;

	/* http_connection_manager listeners (borrowed): routed by their
	 * route tables when kmesh.ko is there, else served as L4 to their
	 * default route. */
	size_t n_l7_listeners;
	const char **l7_listeners;

	/* Compiled route tables (route_table.h), one per distinct route
	 * config any served listener uses. A table over KM_ROUTE_TABLE_MAX
	 * bytes is big (km_route_big): route_ids[i] counts within its class,
	 * the id its frontends carry (with KM_FE_L7_BIG when big). */
	size_t n_routes, n_big_routes;
	const struct km_m_route_config **route_src;	/* borrowed */
	const struct km_m_fault **route_fault;	/* its chain's, borrowed */
	void **route_blobs;				/* owned */
	size_t *route_lens;
	bool *route_big;
	__u32 *route_ids;

	/* Listeners not served yet: waiting for their RDS route config
	 * (model.rds_may_wait). Borrowed. */
	size_t n_waiting;
	const char **waiting;

	/* traffic_direction INBOUND listeners: kept, never a frontend (for
	 * authorization later). Borrowed. */
	size_t n_inbound;
	const char **inbound;

	/* Sniffed listeners: an HTTP chain (application_protocols http/1.1,
	 * h2c) and a TCP chain on one address: routed as HTTP by kmesh.ko,
	 * served as the TCP chain without it. Borrowed. */
	size_t n_sniffed;
	const char **sniffed;

	/* Maglev tables of the MAGLEV and RING_HASH clusters (lb_compile.c):
	 * chunk i is km_maglev chunk i of the slot. Owned. */
	size_t n_maglev_chunks;
	struct km_maglev_chunk *maglev;

	/* Port-wide HTTP listeners (0.0.0.0_PORT + RDS): a frontend per
	 * virtual host domain that is an IP, none for the wildcard. */
	size_t n_port_wide;
	const char **port_wide;

	/* Policy programs from RBAC filters (authz.h). */
	struct km_authz_records authz;

	/* Local replies (local_reply.h): reply id i + 1 is replies[i]
	 * (owned copies), served by the synthetic cluster reply_cluster[i]
	 * (named by reply_names[i], owned) at the address of
	 * (m->reply_tag, i + 1). reply_src[i]: the model's reply it copies,
	 * NULL for a fault abort's. cap_replies: the room allocated. */
	size_t n_replies, cap_replies;
	struct km_m_reply **replies;
	const struct km_m_reply **reply_src;
	__u32 *reply_cluster;
	char **reply_names;
	uint8_t reply_tag;
};

/* reply_compile.c: the synthetic cluster of a local reply (@src, dedup by
 * pointer) or of a fault abort's @status (@src NULL), made on first use. */
int km_reply_cluster(struct km_records *r, const struct km_m_reply *src,
		     uint16_t status, __u32 *id);
size_t km_count_replies(const struct km_model *m);
int km_replies_alloc(struct km_records *r, size_t n);
void km_replies_free(struct km_records *r);

int km_compile(const struct km_model *m, struct km_records *r,
	       struct km_err *err);
void km_records_free(struct km_records *r);

/* Locality rank of @ep against the node's: 0 = same region, zone and
 * sub_zone (as far as the node sets them), one more per level that
 * differs. Exposed for tests. */
unsigned int km_locality_rank(const struct km_locality *node,
			      const struct km_locality *ep);

#endif
