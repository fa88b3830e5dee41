// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xDS resources (protobuf) -> model objects, checked with the rules and
 * limits config_yaml.c applies to the same Envoy fields, with the same
 * messages minus the file:line ("cluster 'x': endpoint 2: port_value 0 is
 * out of range (1-65535)").
 *
 * A protobuf reader cannot refuse unknown fields the way the YAML reader
 * refuses unknown keys: a newer control plane sends fields this build has
 * never heard of. So the protos in proto/ declare what kmesh uses plus every
 * field that would change where traffic goes if it were ignored; those are
 * refused by name. What is left out of the protos is ignored: access
 * logs, stats, header rewriting, TLS origination on clusters. RouteMatch, HeaderMatcher and StringMatcher declare all their
 * upstream fields, so an unknown field there is a new match criterion and is
 * refused by number.
 *
 * Accepted beyond the YAML reader, because istiod emits them:
 *   - cluster type ORIGINAL_DST (PassthroughCluster,
 *     InboundPassthroughCluster): original_dst, no endpoints, and its
 *     lb_policy CLUSTER_PROVIDED (the only one Envoy allows there);
 *   - filter_chain_match.transport_protocol "raw_buffer" (plaintext, which
 *     is all kmesh sees) and a raw_buffer transport_socket;
 *   - network filters other than tcp_proxy and http_connection_manager
 *     (istio.stats, metadata exchange, ...) and HTTP filters other than
 *     the router: skipped and counted (struct km_xds_skipped, filters and
 *     typed_configs). A filter is recognised by its typed_config type URL;
 *     its name is advisory. Not access-control filters (RBAC, ext_authz,
 *     jwt_authn, ...: model/authz.h): xds_rbac.c enforces or refuses them.
 * A filter chain left with neither tcp_proxy nor http_connection_manager
 * is dropped (its filters are counted); a listener left with no chain at
 * all is an error. Dropping is safe where approximating is not: a
 * connection no chain takes is left alone and goes where it was dialed.
 *
 * Accepted and listed as not enforced (enum km_not_enforced, xds_lb.c):
 * cluster connect_timeout, outlier_detection, common_lb_config's
 * zone-aware routing (its locality weighted LB is served), ring_hash_lb_config's ring sizes, the
 * per-request circuit_breakers thresholds; a route's timeout, idle_timeout,
 * retry_policy, request_mirror_policies, path and host rewrites; headers to
 * add or remove (route, virtual host, route config); a virtual host's
 * retry_policy and hedge_policy; tcp_proxy's idle_timeout; the HTTP fault
 * filter.
 *
 * Refused (the whole resource): STRICT_DNS / LOGICAL_DNS / custom cluster
 * types; CLUSTER_PROVIDED (but on ORIGINAL_DST) and
 * LOAD_BALANCING_POLICY_CONFIG LB policies; hash policies on request
 * headers, cookies, query parameters or filter state (model/check.c); an EDS service_name other
 * than the cluster name (the ClusterLoadAssignment would never be found);
 * pipe and internal addresses, UDP, named ports; filter_chain_match
 * criteria other than destination_port; TLS transport sockets; tcp_proxy
 * tunneling; scoped routes and VHDS; redirect, direct_response and other
 * non-forwarding route actions; cluster_header and cluster specifier
 * plugins; range, gRPC, runtime fraction, TLS context and metadata
 * matchers.
 */
#include "xds_audit.h"

/* ---- entry points ------------------------------------------------------ */

/* Every field of the resource: enforced, refused or counted
 * (xds_audit.h); @one: the decoded resource, for --strict. */
static int audit_named(struct ctx *c, const ProtobufCMessage *m,
		       const struct km_model *one, const char *kind,
		       const char *name)
{
	char what[WHAT_LEN];
	int ret;

	what_named(c, what, NULL, kind, name);
	ret = x_audit(c, m, what);
	return ret ? ret : x_audit_strict(c, one, what);
}

static void add_skipped(const struct ctx *c, struct km_xds_skipped *skipped)
{
	if (!skipped)
		return;
	skipped->filters += c->skipped.filters;
	skipped->typed_configs += c->skipped.typed_configs;
	skipped->chains += c->skipped.chains;
	skipped->listeners += c->skipped.listeners;
}

int km_xds_cluster(const uint8_t *buf, size_t len, struct km_m_cluster *out,
		   struct km_xds_skipped *skipped, struct km_err *err)
{
	pb_cluster *pc;
	struct ctx c;
	int ret;

	x_ctx_init(&c, err);
	memset(out, 0, sizeof(*out));
	pc = envoy__config__cluster__v3__cluster__unpack(NULL, len, buf);
	if (!pc)
		return x_decode_error(&c, "cluster", KM_TYPE_CLUSTER, buf, len);
	ret = x_read_cluster(&c, pc, out);
	if (!ret)
		ret = audit_named(&c, &pc->base, &(struct km_model){
			.clusters = out, .n_clusters = 1 }, "cluster", out->name);
	envoy__config__cluster__v3__cluster__free_unpacked(pc, NULL);
	if (ret) {
		km_cluster_free(out);
		memset(out, 0, sizeof(*out));
		return ret;
	}
	add_skipped(&c, skipped);
	return 0;
}

int km_xds_cla(const uint8_t *buf, size_t len, char **cluster_name,
	       struct km_m_cluster *out, struct km_err *err)
{
	char cwhat[WHAT_LEN];
	char *name = NULL;
	pb_cla *la;
	struct ctx c;
	int ret;

	x_ctx_init(&c, err);
	memset(out, 0, sizeof(*out));
	*cluster_name = NULL;
	la = envoy__config__endpoint__v3__cluster_load_assignment__unpack(NULL,
									  len, buf);
	if (!la)
		return x_decode_error(&c, "cluster_load_assignment", KM_TYPE_CLA,
				    buf, len);
	ret = x_str_at(&c, la->cluster_name, "cluster_load_assignment",
		     "cluster_name", KM_NAME_MAX, false, &name);
	if (!ret) {
		out->src = xds_src;
		what_named(&c, cwhat, NULL, "cluster_load_assignment", name);
		ret = x_read_load_assignment(&c, la, cwhat, out);
	}
	if (!ret)
		ret = x_audit(&c, &la->base, cwhat);
	envoy__config__endpoint__v3__cluster_load_assignment__free_unpacked(la,
									    NULL);
	if (ret) {
		free(name);
		km_cluster_free(out);
		memset(out, 0, sizeof(*out));
		return ret;
	}
	*cluster_name = name;
	return 0;
}

int km_xds_listener(const uint8_t *buf, size_t len, struct km_m_listener *out,
		    struct km_xds_skipped *skipped, struct km_err *err)
{
	pb_listener *pl;
	struct ctx c;
	int ret;

	x_ctx_init(&c, err);
	memset(out, 0, sizeof(*out));
	pl = envoy__config__listener__v3__listener__unpack(NULL, len, buf);
	if (!pl)
		return x_decode_error(&c, "listener", KM_TYPE_LISTENER, buf, len);
	ret = x_read_listener(&c, pl, out);
	if (!ret)
		ret = audit_named(&c, &pl->base, &(struct km_model){
			.listeners = out, .n_listeners = 1 }, "listener", out->name);
	envoy__config__listener__v3__listener__free_unpacked(pl, NULL);
	if (ret) {
		km_listener_free(out);
		memset(out, 0, sizeof(*out));
		if (ret == KM_XDS_SKIP)
			add_skipped(&c, skipped);
		return ret;
	}
	add_skipped(&c, skipped);
	return 0;
}

int km_xds_route_config(const uint8_t *buf, size_t len,
			struct km_m_route_config *out, struct km_err *err)
{
	pb_route_config *prc;
	struct ctx c;
	int ret;

	x_ctx_init(&c, err);
	memset(out, 0, sizeof(*out));
	prc = envoy__config__route__v3__route_configuration__unpack(NULL, len,
								     buf);
	if (!prc)
		return x_decode_error(&c, "route_config", KM_TYPE_ROUTE, buf, len);
	ret = x_read_route_config(&c, prc, NULL, true, out);
	if (!ret)
		ret = audit_named(&c, &prc->base, &(struct km_model){
			.route_configs = out, .n_route_configs = 1 },
			"route_config", out->name);
	envoy__config__route__v3__route_configuration__free_unpacked(prc, NULL);
	if (ret) {
		km_route_config_free(out);
		memset(out, 0, sizeof(*out));
	}
	return ret;
}

/* ---- names without a full decode --------------------------------------- */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return false;
		x |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/*
 * All four resources carry their name in field 1 (Cluster.name,
 * ClusterLoadAssignment.cluster_name, Listener.name,
 * RouteConfiguration.name). Only the top level is walked, so a resource
 * whose nested messages do not decode still gets named; the last
 * occurrence wins, as in protobuf.
 */
char *km_xds_resource_name(const char *type_url, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len, *name = NULL;
	size_t name_len = 0;
	uint64_t key, n;

	if (!type_url || !buf ||
	    (strcmp(type_url, KM_TYPE_CLUSTER) && strcmp(type_url, KM_TYPE_CLA) &&
	     strcmp(type_url, KM_TYPE_LISTENER) && strcmp(type_url, KM_TYPE_ROUTE)))
		return NULL;
	while (p < end && read_varint(&p, end, &key)) {
		if (key >> 3 == 0)
			break;
		switch (key & 7) {
		case 0:	/* varint */
			if (!read_varint(&p, end, &n))
				goto done;
			break;
		case 1:	/* 64-bit */
			if ((size_t)(end - p) < 8)
				goto done;
			p += 8;
			break;
		case 2:	/* length-delimited */
			if (!read_varint(&p, end, &n) || n > (uint64_t)(end - p))
				goto done;
			if (key >> 3 == 1) {
				name = p;
				name_len = (size_t)n;
			}
			p += n;
			break;
		case 5:	/* 32-bit */
			if ((size_t)(end - p) < 4)
				goto done;
			p += 4;
			break;
		default:	/* groups: not in these messages */
			goto done;
		}
	}
done:
	if (!name || !name_len || memchr(name, '\0', name_len))
		return NULL;
	return strndup((const char *)name, name_len);
}
