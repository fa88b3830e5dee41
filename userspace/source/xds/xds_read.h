/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The xDS decoder's own parts, shared by its files: the generated types'
 * short names, the context, messages (util/diag.h; the object path names
 * the resource), and the readers each resource file exports to the others.
 * Every semantic and limit rule is model/check.c's; here only what is
 * protobuf's: oneofs, unknown fields, type URLs.
 *
 *   xds_decode.c      messages, scalars, addresses, localities
 *   xds_route.c       cluster actions, routes, virtual hosts, route configs
 *   xds_listener.c    listeners, filter chains, tcp_proxy, HTTP manager
 *   xds_cluster.c     clusters, ClusterLoadAssignments, circuit breakers
 *   xds_lb.c          LB configs, hash policies, what is not enforced
 *   resources.c       the entry points, names without a full decode
 */
#ifndef KM_XDS_READ_H
#define KM_XDS_READ_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb-c.h"
#include "check.h"
#include "resources.h"
#include "dup.h"

#define TYPE_URL "type.googleapis.com/"
#define URL_TCP_PROXY \
	TYPE_URL "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
#define URL_HCM \
	TYPE_URL "envoy.extensions.filters.network.http_connection_manager" \
	".v3.HttpConnectionManager"
#define URL_ROUTER TYPE_URL "envoy.extensions.filters.http.router.v3.Router"
#define URL_RAW_BUFFER \
	TYPE_URL "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"
#define FILTER_ROUTER "envoy.filters.http.router"
#define SOCKET_RAW_BUFFER "envoy.transport_sockets.raw_buffer"

/* Envoy's priorities are 0..127 (the max_priority of its LB), as in
 * config_yaml.c. */
#define MAX_PRIORITY 127

#define WHAT_LEN KM_WHAT_LEN

/* The generated names are long; these read like the Envoy messages. */
typedef Envoy__Config__Cluster__V3__Cluster pb_cluster;
typedef Envoy__Config__Cluster__V3__CircuitBreakers pb_breakers;
typedef Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds pb_thresholds;
typedef Envoy__Config__Endpoint__V3__ClusterLoadAssignment pb_cla;
typedef Envoy__Config__Endpoint__V3__LocalityLbEndpoints pb_locality_eps;
typedef Envoy__Config__Endpoint__V3__LbEndpoint pb_lb_endpoint;
typedef Envoy__Config__Core__V3__Address pb_address;
typedef Envoy__Config__Core__V3__SocketAddress pb_socket_address;
typedef Envoy__Config__Core__V3__Locality pb_locality;
typedef Envoy__Config__Core__V3__TransportSocket pb_transport_socket;
typedef Envoy__Config__Listener__V3__Listener pb_listener;
typedef Envoy__Config__Listener__V3__FilterChain pb_chain;
typedef Envoy__Config__Listener__V3__FilterChainMatch pb_chain_match;
typedef Envoy__Config__Listener__V3__Filter pb_filter;
typedef Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy pb_tcp;
typedef Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy__WeightedCluster pb_tcp_weighted;
typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager pb_hcm;
typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpFilter pb_http_filter;
typedef Envoy__Config__Route__V3__RouteConfiguration pb_route_config;
typedef Envoy__Config__Route__V3__VirtualHost pb_vhost;
typedef Envoy__Config__Route__V3__Route pb_route;
typedef Envoy__Config__Route__V3__RouteMatch pb_match;
typedef Envoy__Config__Route__V3__RouteAction pb_action;
typedef Envoy__Config__Route__V3__WeightedCluster pb_weighted;
typedef Envoy__Config__Route__V3__HeaderMatcher pb_header;
typedef Envoy__Config__Route__V3__QueryParameterMatcher pb_query_param;
typedef Envoy__Type__Matcher__V3__StringMatcher pb_string_matcher;
typedef Envoy__Type__Matcher__V3__RegexMatcher pb_regex;
typedef Google__Protobuf__UInt32Value pb_u32;

/* xDS objects have no line: the object path names the resource */
static const struct km_src xds_src = { .file = "xds", .line = 0 };

struct km_notenf;

struct ctx {
	struct km_diag d;	/* messages: util/diag.h */
	/* counted here, added to the caller's only on success */
	struct km_xds_skipped skipped;
	/* accepted but not enforced (xds_audit.h): where it is counted,
	 * whether it is refused instead (--strict); inbound: the listener
	 * being read is INBOUND (never served) */
	struct km_notenf *ne;
	bool strict, inbound;
};

#define oom(c) km_diag_oom(&(c)->d)
#define quote(c, s) km_diag_quote(&(c)->d, s)
#define what_fmt km_what_fmt
#define what_named(c, ...) km_what_named(&(c)->d, __VA_ARGS__)
#define what_index km_what_index

/* xds_audit.c: the audit's settings into a new context */
void x_audit_ctx(struct ctx *c);

/* xds_decode.c */
int x_no_unknown_fields(struct ctx *c, const ProtobufCMessage *m,
			     const char *what, const char *name);
int x_read_locality(struct ctx *c, const pb_locality *l, const char *what,
			 struct km_locality *loc);
int x_decode_error(struct ctx *c, const char *kind, const char *type_url,
			const uint8_t *buf, size_t len);
int x_read_address(struct ctx *c, const pb_address *a, const char *what,
			const char *name, struct km_ip *ip, uint16_t *port);
int x_read_host_address(struct ctx *c, const pb_address *a, const char *what,
			const char *name, char **host, struct km_ip *ip,
			uint16_t *port);
const char *x_enum_name(const ProtobufCEnumDescriptor *d, int v);
void x_ctx_init(struct ctx *c, struct km_err *err);
int x_opt_str(struct ctx *c, const char *s, const char *what,
		   const char *name, size_t limit, char **out);
int x_str_at(struct ctx *c, const char *s, const char *what,
		  const char *name, size_t limit, bool empty_ok, char **out);
int x_u32_in(struct ctx *c, uint32_t v, const char *what,
		  const char *name, uint32_t min, uint32_t max);
int __attribute__((format(printf, 3, 4)))
x_fail(struct ctx *c, const char *what, const char *fmt, ...);

/* xds_route.c */
int x_read_tcp_weighted(struct ctx *c, const pb_tcp_weighted *wc,
			     const char *what, struct km_m_action *a);
int x_read_route_config(struct ctx *c, const pb_route_config *prc,
			     const char *parent, bool named,
			     struct km_m_route_config *rc);
int x_read_one_cluster(struct ctx *c, const char *name, const char *what,
			    struct km_m_action *a);

/* xds_listener.c */
int x_read_listener(struct ctx *c, const pb_listener *pl,
			 struct km_m_listener *l);

/* xds_lb.c */
int x_read_lb_config(struct ctx *c, const pb_cluster *pc, const char *cwhat,
		     struct km_m_cluster *cl);
int x_read_route_lb(struct ctx *c, const pb_action *pa, const char *rwhat,
		    struct km_m_action *a);
int x_read_tcp_lb(struct ctx *c, const pb_tcp *t, const char *what,
		  struct km_m_action *a);
bool x_is_fault_filter(const pb_http_filter *f);

/* xds_reply.c */
int x_read_reply(struct ctx *c, const pb_route *pr, const char *rwhat,
		 struct km_m_route *r);
int x_read_route_fault(struct ctx *c, const pb_route *pr, const char *rwhat,
		       struct km_m_action *a);
int x_read_fault_filter(struct ctx *c, const pb_http_filter *hf,
			const char *what, struct km_m_chain *ch);
uint32_t x_route_not_enforced(const pb_route *pr);
uint32_t x_vhost_not_enforced(const pb_vhost *pv);
uint32_t x_rc_not_enforced(const pb_route_config *prc);

/* xds_cluster.c */
int x_read_load_assignment(struct ctx *c, const pb_cla *la,
				const char *cwhat, struct km_m_cluster *cl);
int x_read_cluster(struct ctx *c, const pb_cluster *pc,
			struct km_m_cluster *cl);

#endif
