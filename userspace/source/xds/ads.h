/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Aggregated Discovery Service client (state of the world and Delta), the
 * way Envoy speaks it to istiod:
 *
 *  - one stream; CDS first, then EDS (for EDS clusters) and LDS once CDS is
 *    accepted, then RDS (for rds route configs) once LDS is;
 *  - every response is decoded and checked whole, then compiled together
 *    with the other types' accepted resources and applied through the
 *    caller's callback (the generation flip). Any bad resource, or a
 *    compile/apply error, NACKs the response: error_detail names each bad
 *    resource, the last accepted version is kept and keeps serving;
 *  - ACK/NACK carry the response's nonce; SotW requests carry the last
 *    accepted version; EDS/RDS requests always carry the full list of
 *    wanted names (an empty list unsubscribes); a type's first request on a
 *    stream goes out with an empty nonce;
 *  - CDS and LDS are full state (a missing resource is deleted); EDS and RDS
 *    updates may be partial (SotW: only the names sent change; Delta:
 *    removed_resources);
 *  - workload mode (opts.workload): Authorization and Address only, both
 *    wildcard Delta subscriptions, no CDS/LDS;
 *  - on GOAWAY, reset or server restart: reconnect with jittered exponential
 *    backoff and resubscribe everything; the last config keeps serving
 *    meanwhile.
 */
#ifndef KM_XDS_ADS_H
#define KM_XDS_ADS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "tls.h"

struct km_ads_node {
	const char *id;			/* sidecar~IP~POD.NS~NS.svc.cluster.local */
	const char *cluster;		/* Node.cluster, optional */
	/* metadata, as istiod reads it */
	const char *istio_version;	/* ISTIO_VERSION */
	const char *cluster_id;		/* CLUSTER_ID */
	const char *namespace_;		/* NAMESPACE */
	const char *instance_ips;	/* INSTANCE_IPS: "ip1,ip2" */
	const char *node_name;		/* NODE_NAME */
	const char *labels;		/* LABELS: "k=v,k=v" -> a Struct */
	const char *name;		/* NAME: the pod's (POD_NAME) */
	const char *service_account;	/* SERVICE_ACCOUNT */
	/* and, as istio-agent does, every ISTIO_META_<KEY>=value of the
	 * environment as KEY (the ones above win) */
};

struct km_ads_opts {
	const char *host;
	uint16_t port;
	bool delta;			/* DeltaAggregatedResources */
	/* Istio's ambient API instead of Envoy's (docs/authz.md): Delta
	 * subscriptions to istio.security.Authorization and
	 * istio.workload.Address, as ztunnel makes; policies enforced on the
	 * workloads whose node is node.node_name. Needs delta. */
	bool workload;
	uint32_t keepalive_ms;		/* >= 15000 */
	bool strict;			/* refuse what would not be enforced */
	struct km_ads_node node;
	/* istiod's TLS port (15012): see tls.h. NULL: plaintext h2c. */
	const struct km_tls_opts *tls;
	/* the bearer token, re-read at every connect (it rotates) */
	const char *token_file;
	/* Each failed attempt or ended stream, with its cause and the retry
	 * delay (level 1), and each stream that comes up (level 2). */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
};

/* Applies a complete model (compile + generation flip). 0, or negative
 * errno with @err saying why: the response is then NACKed with it. */
typedef int (*km_ads_apply_fn)(void *arg, const struct km_model *m,
			       struct km_err *err);

/*
 * An EDS response that changes only endpoints: @n EDS clusters (their CDS
 * cluster with the new ClusterLoadAssignment's endpoints; none for one
 * removed) for kmeshd to replace in place. 0 when done, KM_ADS_FULL when
 * the whole model must be applied instead (apply is then called), or a
 * negative errno with @err set: the response is NACKed and nothing
 * changed.
 */
#define KM_ADS_FULL 1
typedef int (*km_ads_eds_fn)(void *arg, const struct km_m_cluster *changed,
			     size_t n, struct km_err *err);

struct km_ads;

int km_ads_new(struct km_ads **a, const struct km_ads_opts *o,
	       km_ads_apply_fn apply, void *arg, struct km_err *err);
void km_ads_free(struct km_ads *a);
void km_ads_set_eds_fn(struct km_ads *a, km_ads_eds_fn fn);

/* The event loop: the fd to watch (-1 while waiting to reconnect) and its
 * events, readiness, and a timer. km_ads_timeout_ms says how long the loop
 * may sleep; km_ads_tick does the due work (reconnect, keepalive). */
int km_ads_fd(const struct km_ads *a);
uint32_t km_ads_events(const struct km_ads *a);
void km_ads_io(struct km_ads *a, uint32_t revents);
int km_ads_timeout_ms(const struct km_ads *a, uint64_t now_ms);
void km_ads_tick(struct km_ads *a, uint64_t now_ms);

/* The accepted state once more through the apply callback (kmeshd: a DNS
 * answer changed a cluster's endpoints). Nothing is ACKed or NACKed; a
 * failure leaves the serving generation as it is. 0 or negative errno. */
int km_ads_reapply(struct km_ads *a, struct km_err *err);

/* Workload mode: the accepted Workloads (an array to free; its entries
 * live until the next response is handled). NULL when out of memory. */
struct km_wl_workload;
struct km_wl_workload **km_ads_workloads(const struct km_ads *a, size_t *n);

/* State for kmeshctl config: "key=value" lines (xds_*). */
void km_ads_write_state(const struct km_ads *a, FILE *f);

uint64_t km_now_ms(void);

#endif
