/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The configuration model: Envoy's resources cut to what kmesh enforces.
 * Filled by a config source (config_yaml.c today, xDS later), checked, then
 * turned into map records by compiler.c. Every object remembers where it
 * came from (file and line) so errors can name it.
 */
#ifndef KM_MODEL_H
#define KM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmesh/abi.h"
#include "diag.h"

struct km_ip {
	uint8_t family;		/* enum km_family */
	struct km_addr addr;	/* IPv4 stored IPv4-mapped, network order */
};

struct km_locality {
	char *region;		/* NULL = unset */
	char *zone;
	char *sub_zone;
};

struct km_circuit_breakers {
	/* DEFAULT priority thresholds; 0 = unset. max_connections is
	 * enforced at connect; the per-request ones are listed as not
	 * enforced (not_enforced.c). */
	uint32_t max_connections;
	uint32_t max_pending_requests;
	uint32_t max_requests;
	uint32_t max_retries;
};

struct km_m_endpoint {
	struct km_src src;
	/* STRICT_DNS / LOGICAL_DNS: the socket_address is a name kmeshd
	 * resolves (kmeshd/dns.c); ip stays unset (family 0) in the model
	 * and such an endpoint is never compiled as it is. NULL: ip is it. */
	char *hostname;
	struct km_ip ip;
	uint16_t port;		/* host order, 1..65535 */
	uint32_t weight;	/* load_balancing_weight, default 1 */
	uint32_t priority;	/* of its locality group */
	uint32_t group;		/* index of its locality group */
	uint32_t locality_weight;	/* its group's load_balancing_weight,
					 * 0 = unset */
	uint8_t health;		/* enum km_health */
	struct km_locality locality;	/* borrowed from its group */
};

/* LB settings beyond lb_policy, as the config gives them: model/check.c
 * holds their rules (km_check_cluster_lb), lb_compile.c compiles them. */
enum km_lb_config_kind {
	KM_LBC_NONE = 0,
	KM_LBC_LEAST_REQUEST,	/* least_request_lb_config */
	KM_LBC_RING_HASH,	/* ring_hash_lb_config */
	KM_LBC_MAGLEV,		/* maglev_lb_config */
};

struct km_lb_config {
	struct km_src src;	/* of the lb config */
	uint8_t kind;		/* enum km_lb_config_kind */
	bool ring_hash;		/* lb_policy RING_HASH: served by a Maglev
				 * table like MAGLEV */
	bool bias_set;
	double bias;		/* active_request_bias.default_value */
	uint64_t choice_count;	/* as given; 0 = unset (Envoy's 2) */
	uint64_t maglev_size;	/* table_size as given; 0 = unset (65537) */
	/* common_lb_config.locality_weighted_lb_config: the localities of
	 * the serving priority share it by their weights (lb_compile.c) */
	bool locality_weighted;
};

/* One hash_policy entry, as given: a route's RouteAction.HashPolicy or a
 * tcp_proxy's type.v3.HashPolicy. check.c refuses what kmesh cannot hash
 * on when it picks at connect time. */
enum km_hash_kind {
	KM_HK_SOURCE_IP = 1,	/* connection_properties.source_ip true;
				 * tcp_proxy source_ip */
	KM_HK_NOTHING,		/* connection_properties, source_ip false */
	KM_HK_HEADER,
	KM_HK_COOKIE,
	KM_HK_QUERY_PARAMETER,
	KM_HK_FILTER_STATE,
};

struct km_m_hash {
	struct km_src src;
	uint8_t kind;		/* enum km_hash_kind */
};


/* Accepted but not enforced: Envoy settings kmesh cannot honour and may
 * degrade safely (none grants or denies access). Each is listed with a
 * count and an example (not_enforced.c), never dropped silently. */
enum km_not_enforced {
	KM_NE_OUTLIER_DETECTION = 1 << 0,	/* cluster */
	KM_NE_CONNECT_TIMEOUT = 1 << 1,		/* cluster */
	KM_NE_MAX_PENDING_REQUESTS = 1 << 2,	/* cluster circuit_breakers */
	KM_NE_MAX_REQUESTS = 1 << 3,
	KM_NE_MAX_RETRIES = 1 << 4,
	KM_NE_RING_HASH_CONFIG = 1 << 5,	/* ring sizes, hash_function */
	KM_NE_RETRY_POLICY = 1 << 6,		/* route action */
	KM_NE_ROUTE_TIMEOUT = 1 << 7,		/* timeout, idle_timeout */
	KM_NE_MIRROR = 1 << 8,			/* request_mirror_policies */
	KM_NE_FAULT = 1 << 9,			/* HTTP filter (listener) */
	KM_NE_ZONE_AWARE = 1 << 10,		/* common_lb_config */
	KM_NE_HEADER_REWRITE = 1 << 11,		/* headers to add or remove,
						 * path and host rewrites */
	KM_NE_HEDGE_POLICY = 1 << 12,		/* virtual host */
	KM_NE_MTLS = 1 << 13,			/* cluster: Istio mutual TLS
						 * (security: a warning) */
	KM_NE_COUNT = 14
};

enum km_cluster_type {
	KM_CLUSTER_STATIC = 0,
	KM_CLUSTER_EDS = 1,
	KM_CLUSTER_STRICT_DNS = 2,	/* every address of every name */
	KM_CLUSTER_LOGICAL_DNS = 3,	/* the first address of its one name */
};

/* Cluster.DnsLookupFamily, value for value */
enum km_dns_family {
	KM_DNS_AUTO = 0,		/* IPv6, else IPv4 */
	KM_DNS_V4_ONLY = 1,
	KM_DNS_V6_ONLY = 2,
	KM_DNS_V4_PREFERRED = 3,	/* IPv4, else IPv6 */
	KM_DNS_ALL = 4,			/* both */
};

#define KM_DNS_REFRESH_DEFAULT_MS 5000	/* Envoy's dns_refresh_rate default */

/* The DNS settings of a STRICT_DNS or LOGICAL_DNS cluster. */
struct km_m_dns {
	uint8_t family;		/* enum km_dns_family */
	bool respect_ttl;	/* respect_dns_ttl: refresh at the answer's TTL */
	uint32_t refresh_ms;	/* dns_refresh_rate; 0 = unset (5000), 1 = at
				 * most 1 ms (refused by check.c) */
};

/* A dns_refresh_rate in ns as refresh_ms: whole ms rounded up, 1 for 1 ms
 * or less (Envoy wants more). The readers refuse more than UINT32_MAX ms. */
static inline uint32_t km_refresh_ms(uint64_t ns)
{
	return ns <= 1000000 ? 1 : (uint32_t)((ns + 999999) / 1000000);
}
#define KM_REFRESH_MAX_NS ((uint64_t)UINT32_MAX * 1000000)

struct km_m_cluster {
	struct km_src src;
	char *name;
	uint8_t type;		/* enum km_cluster_type */
	/* ORIGINAL_DST (Istio's PassthroughCluster, InboundPassthroughCluster):
	 * connects go to the address the application dialed, untouched. */
	bool original_dst;
	uint8_t lb_policy;	/* enum km_lb_policy */
	struct km_m_dns dns;	/* KM_CLUSTER_STRICT_DNS, _LOGICAL_DNS */
	bool has_load_assignment;
	struct km_circuit_breakers cb;
	struct km_lb_config lb;
	uint32_t not_enforced;	/* enum km_not_enforced */
	size_t n_endpoints;
	struct km_m_endpoint *endpoints;
	/* localities own their strings; endpoints point into them */
	size_t n_localities;
	struct km_locality *localities;
};

/* A cluster reference with a weight: tcp_proxy cluster (weight 1) or
 * weighted_clusters entries. */
struct km_m_weighted {
	struct km_src src;
	char *cluster;
	uint32_t weight;
};

/*
 * A route kmesh answers itself (kmeshd's responder, docs/l7.md "Local
 * responses"): Envoy's direct_response and redirect, and the abort of
 * envoy.filters.http.fault.
 */
enum km_reply_kind {
	KM_REPLY_DIRECT = 1,	/* direct_response: status, optional body */
	KM_REPLY_REDIRECT = 2,	/* redirect: status 301..308, location */
	KM_REPLY_ABORT = 3,	/* fault abort: status, "fault filter abort" */
};

struct km_m_reply {
	struct km_src src;
	uint8_t kind;		/* enum km_reply_kind */
	uint16_t status;
	/* DIRECT: body.inline_string / inline_bytes (NULL: no body) */
	char *body;
	size_t body_len;
	/* REDIRECT: each NULL (0) when unset, as Envoy's empty strings */
	char *scheme;		/* scheme_redirect; "https" for https_redirect */
	char *host;		/* host_redirect */
	uint32_t port;		/* port_redirect */
	char *path;		/* path_redirect (may carry a query) */
	char *prefix;		/* prefix_rewrite (set: may be "") */
	bool strip_query;
	/* REDIRECT with prefix_rewrite: the route's prefix or path match it
	 * replaces (the reader copies it from the route) */
	char *matched;
};

/* envoy.filters.http.fault abort: @num / @den of the connections get
 * @status (0: no abort). @set: a fault config is here (a route's
 * typed_per_filter_config replaces the filter's, abort or not). */
struct km_m_abort {
	struct km_src src;
	bool set;
	uint16_t status;
	uint32_t num, den;
};

/* A chain's envoy.filters.http.fault: whether the filter is there, and its
 * own abort. */
struct km_m_fault {
	bool filter;
	struct km_m_abort abort;
};

struct km_m_action {
	struct km_src src;
	/* answered by kmeshd (no clusters), or NULL */
	struct km_m_reply *reply;
	/* fault abort on this route (typed_per_filter_config, or the
	 * listener's fault filter copied in by the reader) */
	struct km_m_abort abort;
	size_t n_clusters;
	struct km_m_weighted *clusters;
	uint32_t total_weight;	/* 0 = sum of the weights */
	size_t n_hash;		/* hash_policy */
	struct km_m_hash *hash;
	uint32_t not_enforced;	/* enum km_not_enforced */
};

enum km_path_match {
	KM_PATH_PREFIX = 1,
	KM_PATH_EXACT = 2,
	KM_PATH_SEPARATED_PREFIX = 3,
	KM_PATH_REGEX = 4,
};

enum km_str_match {
	KM_STR_EXACT = 1,
	KM_STR_PREFIX = 2,
	KM_STR_SUFFIX = 3,
	KM_STR_CONTAINS = 4,
	KM_STR_PRESENT = 5,
	KM_STR_REGEX = 6,
};

/* A header matcher, or a query parameter matcher (Envoy's
 * QueryParameterMatcher: the same string kinds and present_match, its name
 * compared exactly, no invert_match). */
struct km_m_header_match {
	struct km_src src;
	char *name;
	uint8_t kind;		/* enum km_str_match */
	char *value;		/* NULL for PRESENT */
	bool present;		/* present_match value */
	bool invert;
	bool ignore_case;
};

struct km_m_route {
	struct km_src src;
	char *name;
	uint8_t path_kind;	/* enum km_path_match */
	char *path;
	bool case_sensitive;	/* default true */
	size_t n_headers;
	struct km_m_header_match *headers;
	/* match.query_parameters; with the headers at most
	 * KM_MAX_HEADER_MATCHES matchers in all (they share the blob's
	 * header matcher records) */
	size_t n_query_params;
	struct km_m_header_match *query_params;
	struct km_m_action action;
};

struct km_m_vhost {
	struct km_src src;
	char *name;
	uint32_t not_enforced;	/* enum km_not_enforced */
	size_t n_domains;
	char **domains;
	/* the place of domains[i < n_domain_srcs]; the reader may keep none */
	size_t n_domain_srcs;
	struct km_src *domain_srcs;
	size_t n_routes;
	struct km_m_route *routes;
};

struct km_m_route_config {
	struct km_src src;
	char *name;
	uint32_t not_enforced;	/* enum km_not_enforced */
	size_t n_vhosts;
	struct km_m_vhost *vhosts;
};

enum km_chain_kind {
	KM_CHAIN_TCP_PROXY = 1,
	KM_CHAIN_HTTP = 2,	/* http_connection_manager */
};

/* filter_chain_match.prefix_ranges entry: @len bits of @ip's own family. */
struct km_cidr {
	struct km_ip ip;
	uint8_t len;
};

/* What of a chain's filter_chain_match plaintext from a local client can
 * meet (resources.c skips chains it never can: SNI, TLS, other ALPN,
 * loopback or listed sources). The compiler picks the chain per address
 * as Envoy does (km_chain_pick). */
struct km_m_chain_match {
	size_t n_prefixes;	/* prefix_ranges; 0 = any destination */
	struct km_cidr *prefixes;
	bool raw_buffer;	/* transport_protocol "raw_buffer" */
	bool http;		/* application_protocols holds http/1.1 or
				 * h2c: only sniffed HTTP takes the chain */
	bool external;		/* source_type EXTERNAL */
};

struct km_m_chain {
	struct km_src src;
	uint16_t dest_port;	/* filter_chain_match.destination_port; 0 = the
				 * listener's port */
	struct km_m_chain_match match;
	uint8_t kind;		/* enum km_chain_kind */
	struct km_m_action tcp;	/* KM_CHAIN_TCP_PROXY */
	struct km_m_route_config routes;	/* KM_CHAIN_HTTP, inline */
	char *rds_name;		/* KM_CHAIN_HTTP via rds (xDS) */
	/* Listener.default_filter_chain: taken when no chain's match does */
	bool fallback;
	uint32_t not_enforced;	/* enum km_not_enforced: HTTP filters */
	struct km_m_fault fault;	/* envoy.filters.http.fault */
	/* RBAC filters, in filter order (authz.h) */
	size_t n_authz;
	struct km_az_engine *authz;
};

/* Listener.traffic_direction (core.v3.TrafficDirection). */
enum km_direction {
	KM_DIR_UNSPECIFIED = 0,
	KM_DIR_INBOUND = 1,	/* kept for authorization, never a frontend */
	KM_DIR_OUTBOUND = 2,
};

struct km_m_listener {
	struct km_src src;
	char *name;
	uint8_t direction;	/* enum km_direction */
	size_t n_addrs;		/* address + additional_addresses */
	struct km_ip *addrs;
	uint16_t port;		/* host order */
	size_t n_chains;
	struct km_m_chain *chains;
};

/* Envoy's bootstrap node: who this agent is to an xDS server. Metadata
 * keys istiod reads; LABELS kept as "k=v,k=v". All optional. */
struct km_node {
	char *id;
	char *cluster;
	char *istio_version;	/* metadata.ISTIO_VERSION */
	char *cluster_id;	/* metadata.CLUSTER_ID */
	char *namespace_;	/* metadata.NAMESPACE */
	char *instance_ips;	/* metadata.INSTANCE_IPS */
	char *node_name;	/* metadata.NODE_NAME */
	char *labels;		/* metadata.LABELS */
};

struct km_model {
	char *source;		/* file name, or "xds" */
	struct km_node node;
	struct km_locality node_locality;
	size_t n_listeners;
	struct km_m_listener *listeners;
	size_t n_clusters;
	struct km_m_cluster *clusters;
	/* RDS: route configs by name, for chains with rds_name */
	size_t n_route_configs;
	struct km_m_route_config *route_configs;
	/* xDS: a chain whose route config has not arrived yet waits (not
	 * served, like Envoy's listener warming) instead of failing the
	 * whole config. A static file leaves it false. */
	bool rds_may_wait;
	/* kmeshd: which of its two reply tables this config's local replies
	 * go to (local_reply.h); flips per applied config */
	uint8_t reply_tag;
	/* kmeshd's workload mode (authz_workload.h): listeners that only
	 * carry Istio's ambient policies for a workload's addresses, port 0
	 * meaning every port; never frontends. Not freed by
	 * km_model_free(): their owner frees them. */
	size_t n_authz_only;
	struct km_m_listener *authz_only;
};

void km_model_free(struct km_model *m);
void km_route_config_free(struct km_m_route_config *rc);
void km_reply_free(struct km_m_reply *r);
void km_cluster_free(struct km_m_cluster *c);
void km_listener_free(struct km_m_listener *l);
void km_chain_free(struct km_m_chain *ch);
const struct km_m_cluster *km_model_cluster(const struct km_model *m,
					    const char *name);
const struct km_m_route_config *km_model_route_config(const struct km_model *m,
						      const char *name);
/* "10.0.0.1" or "fd00::1" -> km_ip; -EINVAL if neither. */
int km_ip_parse(const char *s, struct km_ip *ip);
/* A Host header or virtual host domain that is an IP: "10.0.0.1",
 * "10.0.0.1:80", "[fd00::1]", "[fd00::1]:80", "fd00::1"; *port 0 when it
 * has none. -EINVAL if it is not an IP (a name, "*", a bad port). */
int km_host_ip(const char *host, struct km_ip *ip, uint16_t *port);
/* 0.0.0.0 or :: (a listener bound to every address). */
bool km_ip_unspecified(const struct km_ip *ip);
/* km_ip -> text, buf of at least 46 bytes; returns buf. */
const char *km_ip_str(const struct km_ip *ip, char *buf, size_t len);
const char *km_lb_policy_name(unsigned int p);
/* "STRICT_DNS", "V4_ONLY", ...; NULL when out of range */
const char *km_cluster_type_name(unsigned int t);
const char *km_dns_family_name(unsigned int f);
static inline bool km_cluster_is_dns(const struct km_m_cluster *c)
{
	return c->type == KM_CLUSTER_STRICT_DNS ||
	       c->type == KM_CLUSTER_LOGICAL_DNS;
}
const char *km_health_name(unsigned int h);
const char *km_hash_kind_name(unsigned int k);

#endif
