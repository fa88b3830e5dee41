/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xDS resources -> model objects. Each function decodes one resource (the
 * bytes of an Any.value whose type URL names its message), checks it the way
 * the YAML reader checks the same fields (same limits, same rules), and
 * fills one model object that the caller owns (free with km_*_free from
 * model.h). Errors name the resource: "cluster 'x': lb_policy MAGLEV is not
 * supported". Model objects from xDS have src.file "xds" and src.line 0.
 */
#ifndef KM_XDS_RESOURCES_H
#define KM_XDS_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define KM_TYPE_CLUSTER "type.googleapis.com/envoy.config.cluster.v3.Cluster"
#define KM_TYPE_CLA "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
#define KM_TYPE_LISTENER "type.googleapis.com/envoy.config.listener.v3.Listener"
#define KM_TYPE_ROUTE "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"

/* What a decode skipped without failing: unknown filters and typed_configs
 * (counted, reported by kmeshctl config). */
struct km_xds_skipped {
	uint32_t filters;
	uint32_t typed_configs;
	/* filter chains kmesh cannot evaluate (TLS transport sockets, matches
	 * on more than destination_port: istiod's inbound and catch-all
	 * listeners), and listeners left with no chain kmesh can serve */
	uint32_t chains;
	uint32_t listeners;
};

/* km_xds_listener: the listener has nothing kmesh can serve; not an error,
 * the resource is accepted and skipped (counted). */
#define KM_XDS_SKIP 1

/* Cluster (CDS). For an EDS cluster the endpoints come later from its
 * ClusterLoadAssignment: has_load_assignment is false until then. */
int km_xds_cluster(const uint8_t *buf, size_t len, struct km_m_cluster *out,
		   struct km_xds_skipped *skipped, struct km_err *err);

/* ClusterLoadAssignment (EDS): *cluster_name gets the cluster it is for
 * (malloc'd); the endpoints and localities are filled into @out (a cluster
 * with only those fields set; the caller moves them into the CDS cluster). */
int km_xds_cla(const uint8_t *buf, size_t len, char **cluster_name,
	       struct km_m_cluster *out, struct km_err *err);

/* Listener (LDS); tcp_proxy and http_connection_manager (inline
 * route_config or rds). Returns KM_XDS_SKIP (and counts it) for a listener
 * with no chain kmesh can serve. */
int km_xds_listener(const uint8_t *buf, size_t len, struct km_m_listener *out,
		    struct km_xds_skipped *skipped, struct km_err *err);

/* RouteConfiguration (RDS). */
int km_xds_route_config(const uint8_t *buf, size_t len,
			struct km_m_route_config *out, struct km_err *err);

/* Where the next decodes count what they accept without enforcing it
 * (struct km_notenf, notenf.h), and whether they refuse it instead
 * (kmeshd --strict). NULL: counted nowhere. See xds_audit.h. */
struct km_notenf;
void km_xds_audit_set(struct km_notenf *sink, bool strict);

/* The resource's name without decoding the rest (for NACK messages about a
 * resource that does not decode). NULL if there is none. malloc'd. */
char *km_xds_resource_name(const char *type_url, const uint8_t *buf, size_t len);

#endif
