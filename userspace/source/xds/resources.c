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
 * refused by name. What is left out of the protos is ignored: timeouts,
 * retries, access logs, stats, header rewriting, TLS origination on
 * clusters. RouteMatch, HeaderMatcher and StringMatcher declare all their
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
 * Refused (the whole resource): STRICT_DNS / LOGICAL_DNS / custom cluster
 * types; RING_HASH, MAGLEV and other LB policies; an EDS service_name other
 * than the cluster name (the ClusterLoadAssignment would never be found);
 * pipe and internal addresses, UDP, named ports; filter_chain_match
 * criteria other than destination_port; TLS transport sockets; tcp_proxy
 * tunneling; scoped routes and VHDS; redirect, direct_response and other
 * non-forwarding route actions; cluster_header and cluster specifier
 * plugins; range, gRPC, runtime fraction, TLS context and metadata
 * matchers.
 */
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
#include "resources.h"
#include "dup.h"
#include "authz.h"
#include "xds_rbac.h"

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

/* Object path at the start of a message, and quoted names, as in
 * config_yaml.c. */
#define WHAT_LEN 384
#define QUOTE_MAX 64
#define N_QUOTES 4

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

static const struct km_src xds_src = { .file = "xds", .line = 0 };

struct ctx {
	struct km_err *err;
	struct km_err scratch;	/* when the caller passed no err */
	/* counted here, added to the caller's only on success */
	struct km_xds_skipped skipped;
	char quote[N_QUOTES][QUOTE_MAX + 4];
	unsigned int next_quote;
};

static void ctx_init(struct ctx *c, struct km_err *err)
{
	memset(c, 0, sizeof(*c));
	c->err = err ? err : &c->scratch;
	c->err->msg[0] = '\0';
}

/* ---- messages ---------------------------------------------------------- */

/* A message is one line whatever the resource held. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int __attribute__((format(printf, 3, 4)))
fail(struct ctx *c, const char *what, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (what && *what)
		km_err_set(c->err, "%s: %s", what, msg);
	else
		km_err_set(c->err, "%s", msg);
	one_line(c->err->msg);
	return -EINVAL;
}

static int oom(struct ctx *c)
{
	km_err_set(c->err, "xds: out of memory");
	return -ENOMEM;
}

/* s, or its first QUOTE_MAX bytes and "..." (not splitting a UTF-8
 * character); the result lives until N_QUOTES more calls. */
static const char *quote(struct ctx *c, const char *s)
{
	size_t n = strlen(s);
	char *q;

	if (n <= QUOTE_MAX)
		return s;
	n = QUOTE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	q = c->quote[c->next_quote++ % N_QUOTES];
	memcpy(q, s, n);
	memcpy(q + n, "...", 4);
	return q;
}

static void __attribute__((format(printf, 2, 3)))
what_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, WHAT_LEN, fmt, ap);
	va_end(ap);
}

static void what_named(struct ctx *c, char *buf, const char *parent,
		       const char *kind, const char *name)
{
	if (parent && *parent)
		what_fmt(buf, "%s: %s '%s'", parent, kind, quote(c, name));
	else
		what_fmt(buf, "%s '%s'", kind, quote(c, name));
}

static void what_index(char *buf, const char *parent, const char *field,
		       size_t i)
{
	if (parent && *parent)
		what_fmt(buf, "%s: %s[%zu]", parent, field, i);
	else
		what_fmt(buf, "%s[%zu]", field, i);
}

/* "kind 'name': cannot decode resource (N bytes)", the name found by the
 * shallow scan when there is one. */
static int decode_error(struct ctx *c, const char *kind, const char *type_url,
			const uint8_t *buf, size_t len)
{
	char *name = km_xds_resource_name(type_url, buf, len);

	if (name)
		fail(c, NULL, "%s '%s': cannot decode resource (%zu bytes)",
		     kind, quote(c, name), len);
	else
		fail(c, NULL, "%s: cannot decode resource (%zu bytes)", kind,
		     len);
	free(name);
	return -EINVAL;
}

/* An enum value's name from the generated descriptor, or NULL. */
static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);

	return ev ? ev->name : NULL;
}

/* A message the reader knows every field of: an unknown field is a newer
 * criterion this build cannot apply. */
static int no_unknown_fields(struct ctx *c, const ProtobufCMessage *m,
			     const char *what, const char *name)
{
	if (!m->n_unknown_fields)
		return 0;
	return fail(c, what, "%s: field %u is not supported", name,
		    (unsigned int)m->unknown_fields[0].tag);
}

/* ---- scalars ----------------------------------------------------------- */

/*
 * A string of 1..limit-1 bytes (0.. when empty_ok; limit counts the NUL as
 * the ABI's limits do). Protobuf has no absent string: empty is "missing".
 * *out is a new copy.
 */
static int str_at(struct ctx *c, const char *s, const char *what,
		  const char *name, size_t limit, bool empty_ok, char **out)
{
	size_t len;

	if (!s)
		s = "";
	len = strlen(s);
	if (!len && !empty_ok)
		return fail(c, what, "%s is missing", name);
	if (len >= limit)
		return fail(c, what, "%s is %zu bytes long, limit is %zu", name,
			    len, limit - 1);
	*out = strdup(s);
	return *out ? 0 : oom(c);
}

/* An optional string; empty leaves *out NULL. */
static int opt_str(struct ctx *c, const char *s, const char *what,
		   const char *name, size_t limit, char **out)
{
	if (!s || !*s)
		return 0;
	return str_at(c, s, what, name, limit, true, out);
}

static int u32_in(struct ctx *c, uint32_t v, const char *what,
		  const char *name, uint32_t min, uint32_t max)
{
	if (v < min || v > max)
		return fail(c, what, "%s %" PRIu32 " is out of range (%" PRIu32 "-%" PRIu32 ")",
			    name, v, min, max);
	return 0;
}

/* ---- duplicates: km_find_dup (dup.h) --------------------------------- */


/* ---- addresses, localities --------------------------------------------- */

/* An Envoy Address holding a TCP socket_address with an IP and a port. */
static int read_address(struct ctx *c, const pb_address *a, const char *what,
			const char *name, struct km_ip *ip, uint16_t *port)
{
	const pb_socket_address *sa;
	const char *proto;

	if (!a)
		return fail(c, what, "%s is missing", name);
	switch (a->address_case) {
	case ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS:
		break;
	case ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_PIPE:
		return fail(c, what, "%s: pipe is not supported (socket_address only)",
			    name);
	case ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_ENVOY_INTERNAL_ADDRESS:
		return fail(c, what,
			    "%s: envoy_internal_address is not supported (socket_address only)",
			    name);
	default:
		return fail(c, what, "%s: socket_address is missing", name);
	}
	sa = a->socket_address;
	if (sa->protocol != ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PROTOCOL__TCP) {
		proto = enum_name(&envoy__config__core__v3__socket_address__protocol__descriptor,
				  sa->protocol);
		if (proto)
			return fail(c, what,
				    "protocol %s is not supported (TCP only)",
				    proto);
		return fail(c, what, "unknown protocol %d", sa->protocol);
	}
	if (!sa->address || !*sa->address)
		return fail(c, what, "address is missing");
	if (km_ip_parse(sa->address, ip))
		return fail(c, what,
			    "address '%s' is not an IPv4 or IPv6 address",
			    quote(c, sa->address));
	switch (sa->port_specifier_case) {
	case ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE:
		break;
	case ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_NAMED_PORT:
		return fail(c, what,
			    "named_port '%s' is not supported (port_value only)",
			    quote(c, sa->named_port));
	default:
		return fail(c, what, "port_value is missing");
	}
	if (u32_in(c, sa->port_value, what, "port_value", 1, 65535))
		return -EINVAL;
	*port = (uint16_t)sa->port_value;
	return 0;
}

static int read_locality(struct ctx *c, const pb_locality *l, const char *what,
			 struct km_locality *loc)
{
	int ret;

	ret = opt_str(c, l->region, what, "region", KM_NAME_MAX, &loc->region);
	if (!ret)
		ret = opt_str(c, l->zone, what, "zone", KM_NAME_MAX, &loc->zone);
	if (!ret)
		ret = opt_str(c, l->sub_zone, what, "sub_zone", KM_NAME_MAX,
			      &loc->sub_zone);
	return ret;
}

/* ---- cluster actions (tcp_proxy, route) -------------------------------- */

/* One weighted_clusters entry; has_weight is false for a route entry
 * without a weight (tcp_proxy's plain uint32 is always there). A route's
 * weight may be 0 (UInt32Value, no minimum: that cluster gets no traffic),
 * a tcp_proxy's may not (uint32, gte 1), as Envoy validates them. */
static int read_weight_entry(struct ctx *c, const char *wwhat, size_t i,
			     const char *name, bool has_weight,
			     uint32_t weight, uint32_t min_weight,
			     struct km_m_action *a, uint64_t *sum)
{
	struct km_m_weighted *w = &a->clusters[i];
	char ewhat[WHAT_LEN];
	int ret;

	what_index(ewhat, wwhat, "clusters", i);
	w->src = xds_src;
	ret = str_at(c, name, ewhat, "name", KM_NAME_MAX, false, &w->cluster);
	if (ret)
		return ret;
	if (!has_weight)
		return fail(c, ewhat, "weight is missing");
	if (u32_in(c, weight, ewhat, "weight", min_weight, KM_MAX_TOTAL_WEIGHT))
		return -EINVAL;
	w->weight = weight;
	*sum += weight;
	if (*sum > KM_MAX_TOTAL_WEIGHT)
		return fail(c, wwhat,
			    "sum of weights %" PRIu64 " is over the limit %u",
			    *sum, KM_MAX_TOTAL_WEIGHT);
	return 0;
}

static int alloc_weighted(struct ctx *c, const char *wwhat, size_t n,
			  struct km_m_action *a)
{
	if (!n)
		return fail(c, wwhat, "clusters is empty");
	if (n > KM_MAX_WEIGHTED)
		return fail(c, wwhat, "%zu clusters, limit is %d", n,
			    KM_MAX_WEIGHTED);
	a->clusters = calloc(n, sizeof(*a->clusters));
	if (!a->clusters)
		return oom(c);
	a->n_clusters = n;
	return 0;
}

/* tcp_proxy's form: plain uint32 weights, no total_weight. */
static int read_tcp_weighted(struct ctx *c, const pb_tcp_weighted *wc,
			     const char *what, struct km_m_action *a)
{
	char wwhat[WHAT_LEN];
	uint64_t sum = 0;
	int ret;

	what_fmt(wwhat, "%s: weighted_clusters", what);
	ret = alloc_weighted(c, wwhat, wc->n_clusters, a);
	for (size_t i = 0; !ret && i < wc->n_clusters; i++)
		ret = read_weight_entry(c, wwhat, i, wc->clusters[i]->name,
					true, wc->clusters[i]->weight, 1, a,
					&sum);
	return ret;
}

/* The route's form: UInt32Value weights, optional total_weight. */
static int read_route_weighted(struct ctx *c, const pb_weighted *wc,
			       const char *what, struct km_m_action *a)
{
	char wwhat[WHAT_LEN], ewhat[WHAT_LEN];
	uint64_t sum = 0;
	int ret;

	what_fmt(wwhat, "%s: weighted_clusters", what);
	ret = alloc_weighted(c, wwhat, wc->n_clusters, a);
	for (size_t i = 0; !ret && i < wc->n_clusters; i++) {
		const Envoy__Config__Route__V3__WeightedCluster__ClusterWeight *e =
			wc->clusters[i];

		if (e->cluster_header && *e->cluster_header) {
			what_index(ewhat, wwhat, "clusters", i);
			return fail(c, ewhat,
				    "cluster_header is not supported (name only)");
		}
		ret = read_weight_entry(c, wwhat, i, e->name, e->weight != NULL,
					e->weight ? e->weight->value : 0, 0,
					a, &sum);
	}
	if (ret)
		return ret;
	if (sum == 0)
		return fail(c, wwhat,
			    "the sum of weights is 0: no cluster would get traffic");
	if (!wc->total_weight)
		return 0;
	if (u32_in(c, wc->total_weight->value, wwhat, "total_weight", 1,
		   KM_MAX_TOTAL_WEIGHT))
		return -EINVAL;
	if (wc->total_weight->value != sum)
		return fail(c, wwhat,
			    "total_weight %" PRIu32 " differs from the sum of weights %" PRIu64,
			    wc->total_weight->value, sum);
	a->total_weight = wc->total_weight->value;
	return 0;
}

/* `cluster: x`, the same as one weighted cluster of weight 1. */
static int read_one_cluster(struct ctx *c, const char *name, const char *what,
			    struct km_m_action *a)
{
	a->clusters = calloc(1, sizeof(*a->clusters));
	if (!a->clusters)
		return oom(c);
	a->n_clusters = 1;
	a->clusters[0].src = xds_src;
	a->clusters[0].weight = 1;
	return str_at(c, name, what, "cluster", KM_NAME_MAX, false,
		      &a->clusters[0].cluster);
}

/* ---- http routes ------------------------------------------------------- */

static int read_regex(struct ctx *c, const pb_regex *re, const char *what,
		      char **out)
{
	return str_at(c, re ? re->regex : NULL, what, "regex",
		      KM_MAX_MATCH_STR, false, out);
}

/* Envoy's StringMatcher; ignore_case applies to it only. */
static int read_string_match(struct ctx *c, const pb_string_matcher *sm,
			     const char *what, struct km_m_header_match *h)
{
	char swhat[WHAT_LEN];
	int ret;

	what_fmt(swhat, "%s: string_match", what);
	ret = no_unknown_fields(c, &sm->base, swhat, "string_match");
	if (ret)
		return ret;
	h->ignore_case = sm->ignore_case;
	/* Envoy allows an empty exact value, not an empty prefix etc. */
	switch (sm->match_pattern_case) {
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_EXACT:
		h->kind = KM_STR_EXACT;
		return str_at(c, sm->exact, swhat, "exact", KM_MAX_MATCH_STR,
			      true, &h->value);
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_PREFIX:
		h->kind = KM_STR_PREFIX;
		return str_at(c, sm->prefix, swhat, "prefix", KM_MAX_MATCH_STR,
			      false, &h->value);
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SUFFIX:
		h->kind = KM_STR_SUFFIX;
		return str_at(c, sm->suffix, swhat, "suffix", KM_MAX_MATCH_STR,
			      false, &h->value);
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_CONTAINS:
		h->kind = KM_STR_CONTAINS;
		return str_at(c, sm->contains, swhat, "contains",
			      KM_MAX_MATCH_STR, false, &h->value);
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SAFE_REGEX:
		h->kind = KM_STR_REGEX;
		return read_regex(c, sm->safe_regex, swhat, &h->value);
	default:
		return fail(c, swhat,
			    "needs exact, prefix, suffix, contains or safe_regex");
	}
}

/* A HeaderMatcher: string_match, or the legacy *_match fields istiod still
 * sends to older proxies. */
static int read_header(struct ctx *c, const pb_header *ph, const char *rwhat,
		       size_t idx, struct km_m_header_match *h)
{
	char hwhat[WHAT_LEN];
	int ret;

	what_index(hwhat, rwhat, "headers", idx);
	ret = str_at(c, ph->name, hwhat, "name", KM_MAX_MATCH_STR, false,
		     &h->name);
	if (ret)
		return ret;
	h->src = xds_src;
	what_named(c, hwhat, rwhat, "header", h->name);
	ret = no_unknown_fields(c, &ph->base, hwhat, "header matcher");
	if (ret)
		return ret;
	/* changes what a missing header matches; the data path has no such
	 * mode */
	if (ph->treat_missing_header_as_empty)
		return fail(c, hwhat,
			    "treat_missing_header_as_empty is not supported");
	h->invert = ph->invert_match;
	switch (ph->header_match_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_EXACT_MATCH:
		h->kind = KM_STR_EXACT;
		return str_at(c, ph->exact_match, hwhat, "exact_match",
			      KM_MAX_MATCH_STR, true, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_PREFIX_MATCH:
		h->kind = KM_STR_PREFIX;
		return str_at(c, ph->prefix_match, hwhat, "prefix_match",
			      KM_MAX_MATCH_STR, false, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_SUFFIX_MATCH:
		h->kind = KM_STR_SUFFIX;
		return str_at(c, ph->suffix_match, hwhat, "suffix_match",
			      KM_MAX_MATCH_STR, false, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_CONTAINS_MATCH:
		h->kind = KM_STR_CONTAINS;
		return str_at(c, ph->contains_match, hwhat, "contains_match",
			      KM_MAX_MATCH_STR, false, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_PRESENT_MATCH:
		h->kind = KM_STR_PRESENT;
		h->present = ph->present_match;
		return 0;
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_SAFE_REGEX_MATCH:
		h->kind = KM_STR_REGEX;
		return read_regex(c, ph->safe_regex_match, hwhat, &h->value);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_STRING_MATCH:
		return read_string_match(c, ph->string_match, hwhat, h);
	case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_RANGE_MATCH:
		return fail(c, hwhat, "range_match is not supported");
	default:
		/* Envoy: a matcher with no value checks presence */
		h->kind = KM_STR_PRESENT;
		h->present = true;
		return 0;
	}
}

/* A QueryParameterMatcher: string_match or present_match; neither checks
 * presence, as in Envoy. */
static int read_query_param(struct ctx *c, const pb_query_param *pq,
			    const char *rwhat, size_t idx,
			    struct km_m_header_match *h)
{
	char qwhat[WHAT_LEN];
	int ret;

	what_index(qwhat, rwhat, "query_parameters", idx);
	ret = str_at(c, pq->name, qwhat, "name", KM_MAX_MATCH_STR, false,
		     &h->name);
	if (ret)
		return ret;
	h->src = xds_src;
	what_named(c, qwhat, rwhat, "query parameter", h->name);
	ret = no_unknown_fields(c, &pq->base, qwhat,
				"query parameter matcher");
	if (ret)
		return ret;
	switch (pq->query_parameter_match_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__QUERY_PARAMETER_MATCHER__QUERY_PARAMETER_MATCH_SPECIFIER_STRING_MATCH:
		return read_string_match(c, pq->string_match, qwhat, h);
	case ENVOY__CONFIG__ROUTE__V3__QUERY_PARAMETER_MATCHER__QUERY_PARAMETER_MATCH_SPECIFIER_PRESENT_MATCH:
		h->kind = KM_STR_PRESENT;
		h->present = pq->present_match;
		return 0;
	default:
		h->kind = KM_STR_PRESENT;
		h->present = true;
		return 0;
	}
}

/* Match criteria the data path cannot evaluate: refused by name rather
 * than dropped, which would widen the route. */
static int check_match_extras(struct ctx *c, const pb_match *m,
			      const char *rwhat)
{
	if (m->grpc)
		return fail(c, rwhat, "match: grpc is not supported");
	if (m->runtime_fraction)
		return fail(c, rwhat, "match: runtime_fraction is not supported");
	if (m->tls_context)
		return fail(c, rwhat, "match: tls_context is not supported");
	if (m->n_dynamic_metadata)
		return fail(c, rwhat, "match: dynamic_metadata is not supported");
	return no_unknown_fields(c, &m->base, rwhat, "match");
}

static int read_path(struct ctx *c, const pb_match *m, const char *rwhat,
		     struct km_m_route *r)
{
	int ret;

	switch (m->path_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PREFIX:
		/* an empty prefix matches every path, as in Envoy */
		r->path_kind = KM_PATH_PREFIX;
		return str_at(c, m->prefix, rwhat, "prefix", KM_MAX_MATCH_STR,
			      true, &r->path);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH:
		r->path_kind = KM_PATH_EXACT;
		return str_at(c, m->path, rwhat, "path", KM_MAX_MATCH_STR,
			      false, &r->path);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH_SEPARATED_PREFIX:
		r->path_kind = KM_PATH_SEPARATED_PREFIX;
		ret = str_at(c, m->path_separated_prefix, rwhat,
			     "path_separated_prefix", KM_MAX_MATCH_STR, false,
			     &r->path);
		/* Envoy's rule: ^[^?#]+[^?#/]$ */
		if (!ret && (strpbrk(r->path, "?#") ||
			     r->path[strlen(r->path) - 1] == '/'))
			ret = fail(c, rwhat,
				   "path_separated_prefix '%s' must not contain '?' or '#' or end with '/'",
				   quote(c, r->path));
		return ret;
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_SAFE_REGEX:
		/* stored; whether the L7 data path can run it is its call */
		r->path_kind = KM_PATH_REGEX;
		return read_regex(c, m->safe_regex, rwhat, &r->path);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_CONNECT_MATCHER:
		return fail(c, rwhat, "connect_matcher is not supported");
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH_MATCH_POLICY:
		return fail(c, rwhat, "path_match_policy is not supported");
	default:
		return fail(c, rwhat,
			    "needs prefix, path, path_separated_prefix or safe_regex");
	}
}

static int read_match(struct ctx *c, const pb_match *m, const char *rwhat,
		      struct km_m_route *r)
{
	int ret;

	if (!m)
		return fail(c, rwhat, "match is missing");
	ret = check_match_extras(c, m, rwhat);
	if (!ret)
		ret = read_path(c, m, rwhat, r);
	if (ret)
		return ret;
	if (m->case_sensitive)
		r->case_sensitive = m->case_sensitive->value;
	/* they share the route's matcher records in the compiled table */
	if (m->n_headers > KM_MAX_HEADER_MATCHES)
		return fail(c, rwhat, "%zu header matchers, limit is %d",
			    m->n_headers, KM_MAX_HEADER_MATCHES);
	if (m->n_query_parameters > KM_MAX_HEADER_MATCHES)
		return fail(c, rwhat, "%zu query parameter matchers, limit is %d",
			    m->n_query_parameters, KM_MAX_HEADER_MATCHES);
	if (m->n_headers + m->n_query_parameters > KM_MAX_HEADER_MATCHES)
		return fail(c, rwhat,
			    "%zu header and %zu query parameter matchers, limit is %d in all",
			    m->n_headers, m->n_query_parameters,
			    KM_MAX_HEADER_MATCHES);
	if (m->n_headers) {
		r->headers = calloc(m->n_headers, sizeof(*r->headers));
		if (!r->headers)
			return oom(c);
		r->n_headers = m->n_headers;
	}
	for (size_t i = 0; i < m->n_headers; i++) {
		ret = read_header(c, m->headers[i], rwhat, i, &r->headers[i]);
		if (ret)
			return ret;
	}
	if (m->n_query_parameters) {
		r->query_params = calloc(m->n_query_parameters,
					 sizeof(*r->query_params));
		if (!r->query_params)
			return oom(c);
		r->n_query_params = m->n_query_parameters;
	}
	for (size_t i = 0; i < m->n_query_parameters; i++) {
		ret = read_query_param(c, m->query_parameters[i], rwhat, i,
				       &r->query_params[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_route_action(struct ctx *c, const pb_action *pa,
			     const char *rwhat, struct km_m_action *a)
{
	a->src = xds_src;
	switch (pa->cluster_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER:
		return read_one_cluster(c, pa->cluster, rwhat, a);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS:
		return read_route_weighted(c, pa->weighted_clusters, rwhat, a);
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER_HEADER:
		return fail(c, rwhat,
			    "cluster_header is not supported (cluster or weighted_clusters)");
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER_SPECIFIER_PLUGIN:
	case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_INLINE_CLUSTER_SPECIFIER_PLUGIN:
		return fail(c, rwhat,
			    "cluster specifier plugins are not supported (cluster or weighted_clusters)");
	default:
		return fail(c, rwhat, "needs cluster or weighted_clusters");
	}
}

/* Messages name a route "route 'x' in virtual host 'y'", or by index when
 * it has no name. */
static int read_route(struct ctx *c, const pb_route *pr, const char *rcwhat,
		      const char *vhost, size_t idx, struct km_m_route *r)
{
	char rwhat[WHAT_LEN];
	int ret;

	what_fmt(rwhat, "%s: routes[%zu] in virtual host '%s'", rcwhat, idx,
		 quote(c, vhost));
	ret = opt_str(c, pr->name, rwhat, "name", KM_NAME_MAX, &r->name);
	if (ret)
		return ret;
	if (r->name)
		what_fmt(rwhat, "%s: route '%s' in virtual host '%s'", rcwhat,
			 quote(c, r->name), quote(c, vhost));
	r->src = xds_src;
	r->case_sensitive = true;

	switch (pr->action_case) {
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_ROUTE:
		break;
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_REDIRECT:
		return fail(c, rwhat, "redirect is not supported");
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_DIRECT_RESPONSE:
		return fail(c, rwhat, "direct_response is not supported");
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_FILTER_ACTION:
		return fail(c, rwhat, "filter_action is not supported");
	case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_NON_FORWARDING_ACTION:
		return fail(c, rwhat, "non_forwarding_action is not supported");
	default:
		return fail(c, rwhat, "route is missing");
	}
	ret = read_match(c, pr->match, rwhat, r);
	if (!ret)
		ret = read_route_action(c, pr->route, rwhat, &r->action);
	return ret;
}

static int read_vhost(struct ctx *c, const pb_vhost *pv, const char *rcwhat,
		      size_t idx, struct km_m_vhost *vh)
{
	char vwhat[WHAT_LEN], dname[32];
	int ret;

	what_index(vwhat, rcwhat, "virtual_hosts", idx);
	ret = str_at(c, pv->name, vwhat, "name", KM_NAME_MAX, false, &vh->name);
	if (ret)
		return ret;
	vh->src = xds_src;
	what_named(c, vwhat, rcwhat, "virtual_host", vh->name);

	if (!pv->n_domains)
		return fail(c, vwhat, "domains is empty");
	if (pv->n_domains > KM_MAX_DOMAINS)
		return fail(c, vwhat, "%zu domains, limit is %d", pv->n_domains,
			    KM_MAX_DOMAINS);
	vh->domains = calloc(pv->n_domains, sizeof(*vh->domains));
	if (!vh->domains)
		return oom(c);
	vh->n_domains = pv->n_domains;
	for (size_t i = 0; i < pv->n_domains; i++) {
		snprintf(dname, sizeof(dname), "domains[%zu]", i);
		ret = str_at(c, pv->domains[i], vwhat, dname, KM_MAX_MATCH_STR,
			     false, &vh->domains[i]);
		if (ret)
			return ret;
	}

	if (pv->n_routes > KM_MAX_ROUTES)
		return fail(c, vwhat, "%zu routes, limit is %d", pv->n_routes,
			    KM_MAX_ROUTES);
	if (!pv->n_routes)
		return 0;
	vh->routes = calloc(pv->n_routes, sizeof(*vh->routes));
	if (!vh->routes)
		return oom(c);
	vh->n_routes = pv->n_routes;
	for (size_t i = 0; i < pv->n_routes; i++) {
		ret = read_route(c, pv->routes[i], rcwhat, vh->name, i,
				 &vh->routes[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Virtual host names, and domains across all virtual hosts, are unique in a
 * route config (Envoy's rule; Host matching ignores case). */
static int check_vhost_dups(struct ctx *c, const char *rcwhat,
			    const struct km_m_route_config *rc)
{
	struct km_dup_ref *refs;
	size_t nrefs = 0, first, dup, vi, di;
	char vwhat[WHAT_LEN];
	int ret = 0;

	for (vi = 0; vi < rc->n_vhosts; vi++)
		nrefs += rc->vhosts[vi].n_domains;
	if (nrefs < rc->n_vhosts)
		nrefs = rc->n_vhosts;
	if (!nrefs)
		return 0;
	refs = calloc(nrefs, sizeof(*refs));
	if (!refs)
		return oom(c);

	for (vi = 0; vi < rc->n_vhosts; vi++)
		refs[vi] = (struct km_dup_ref){ rc->vhosts[vi].name, vi };
	if (km_find_dup(refs, rc->n_vhosts, false, &first, &dup)) {
		ret = fail(c, rcwhat,
			   "virtual_host '%s' appears twice (virtual_hosts[%zu] and [%zu])",
			   quote(c, rc->vhosts[dup].name), first, dup);
		goto out;
	}

	/* pos = vhost index * KM_MAX_DOMAINS + domain index */
	nrefs = 0;
	for (vi = 0; vi < rc->n_vhosts; vi++)
		for (di = 0; di < rc->vhosts[vi].n_domains; di++)
			refs[nrefs++] = (struct km_dup_ref){
				rc->vhosts[vi].domains[di],
				vi * KM_MAX_DOMAINS + di
			};
	if (km_find_dup(refs, nrefs, true, &first, &dup)) {
		const struct km_m_vhost *v1 = &rc->vhosts[first / KM_MAX_DOMAINS];
		const struct km_m_vhost *v2 = &rc->vhosts[dup / KM_MAX_DOMAINS];

		what_named(c, vwhat, rcwhat, "virtual_host", v2->name);
		ret = fail(c, vwhat, "domain '%s' is also in virtual_host '%s'",
			   quote(c, v2->domains[dup % KM_MAX_DOMAINS]),
			   quote(c, v1->name));
	}
out:
	free(refs);
	return ret;
}

/* A RouteConfiguration: an RDS resource (named) or inline in an
 * http_connection_manager (name optional, as in YAML). */
static int read_route_config(struct ctx *c, const pb_route_config *prc,
			     const char *parent, bool named,
			     struct km_m_route_config *rc)
{
	char rcwhat[WHAT_LEN];
	int ret;

	if (parent && *parent)
		what_fmt(rcwhat, "%s: route_config", parent);
	else
		what_fmt(rcwhat, "route_config");
	if (named)
		ret = str_at(c, prc->name, rcwhat, "name", KM_NAME_MAX, false,
			     &rc->name);
	else
		ret = opt_str(c, prc->name, rcwhat, "name", KM_NAME_MAX,
			      &rc->name);
	if (ret)
		return ret;
	rc->src = xds_src;
	if (rc->name)
		what_named(c, rcwhat, parent, "route_config", rc->name);
	if (prc->vhds)
		return fail(c, rcwhat, "vhds is not supported");
	/* per-route access control (RBACPerRoute, ...): refused (xds_rbac.c) */
	if (km_xds_authz_per_route(&prc->base, rcwhat, c->err))
		return -EINVAL;

	if (prc->n_virtual_hosts > KM_MAX_VHOSTS)
		return fail(c, rcwhat, "%zu virtual_hosts, limit is %d",
			    prc->n_virtual_hosts, KM_MAX_VHOSTS);
	if (!prc->n_virtual_hosts)
		return 0;
	rc->vhosts = calloc(prc->n_virtual_hosts, sizeof(*rc->vhosts));
	if (!rc->vhosts)
		return oom(c);
	rc->n_vhosts = prc->n_virtual_hosts;
	for (size_t i = 0; i < prc->n_virtual_hosts; i++) {
		ret = read_vhost(c, prc->virtual_hosts[i], rcwhat, i,
				 &rc->vhosts[i]);
		if (ret)
			return ret;
	}
	return check_vhost_dups(c, rcwhat, rc);
}

/* ---- listeners --------------------------------------------------------- */

static int read_tcp_proxy(struct ctx *c, const pb_tcp *t, const char *what,
			  struct km_m_chain *ch)
{
	ch->kind = KM_CHAIN_TCP_PROXY;
	ch->tcp.src = xds_src;
	if (t->tunneling_config)
		return fail(c, what, "tunneling_config is not supported");
	switch (t->cluster_specifier_case) {
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__TCP_PROXY__V3__TCP_PROXY__CLUSTER_SPECIFIER_CLUSTER:
		return read_one_cluster(c, t->cluster, what, &ch->tcp);
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__TCP_PROXY__V3__TCP_PROXY__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS:
		return read_tcp_weighted(c, t->weighted_clusters, what,
					 &ch->tcp);
	default:
		return fail(c, what, "needs cluster or weighted_clusters");
	}
}

static bool is_router(const pb_http_filter *f)
{
	if (f->config_type_case ==
	    ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_FILTER__CONFIG_TYPE_TYPED_CONFIG)
		return f->typed_config &&
		       !strcmp(f->typed_config->type_url, URL_ROUTER);
	return !strcmp(f->name, FILTER_ROUTER);
}

static int read_hcm(struct ctx *c, const pb_hcm *h, const char *what,
		    struct km_m_chain *ch)
{
	char rwhat[WHAT_LEN];

	ch->kind = KM_CHAIN_HTTP;
	/* fault injection, RBAC, stats, ...: the data path routes, nothing
	 * more */
	for (size_t i = 0; i < h->n_http_filters; i++) {
		const pb_http_filter *hf = h->http_filters[i];
		const Google__Protobuf__Any *tc = hf->config_type_case ==
			ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_FILTER__CONFIG_TYPE_TYPED_CONFIG ?
			hf->typed_config : NULL;

		if (is_router(hf))
			continue;
		/* access control is enforced or refused, never skipped */
		if (km_authz_filter(hf->name, tc ? tc->type_url : NULL))
			return km_xds_authz_http_filter(hf->name, tc, what, ch,
							c->err);
		c->skipped.typed_configs++;
	}

	switch (h->route_specifier_case) {
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_RDS:
		what_fmt(rwhat, "%s: rds", what);
		return str_at(c, h->rds->route_config_name, rwhat,
			      "route_config_name", KM_NAME_MAX, false,
			      &ch->rds_name);
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_ROUTE_CONFIG:
		return read_route_config(c, h->route_config, what, false,
					 &ch->routes);
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_SCOPED_ROUTES:
		return fail(c, what,
			    "scoped_routes is not supported (rds or route_config)");
	default:
		return fail(c, what, "needs rds or route_config");
	}
}

/* One network filter: tcp_proxy or http_connection_manager by typed_config
 * type URL, anything else skipped. */
static int read_filter(struct ctx *c, const pb_filter *f, const char *cwhat,
		       struct km_m_chain *ch)
{
	const Google__Protobuf__Any *tc = NULL;
	char fwhat[WHAT_LEN];
	bool tcp;
	int ret;

	if (f->config_type_case ==
	    ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG)
		tc = f->typed_config;
	if (tc && !strcmp(tc->type_url, URL_TCP_PROXY)) {
		tcp = true;
	} else if (tc && !strcmp(tc->type_url, URL_HCM)) {
		tcp = false;
	} else if (km_authz_filter(f->name, tc ? tc->type_url : NULL)) {
		/* access control is enforced or refused, never skipped */
		return km_xds_authz_filter(f->name, tc, cwhat, ch, c->err);
	} else {
		c->skipped.filters++;
		return 0;
	}
	if (ch->kind)
		return fail(c, cwhat,
			    "more than one tcp_proxy or http_connection_manager filter");
	what_fmt(fwhat, "%s: %s", cwhat,
		 tcp ? "tcp_proxy" : "http_connection_manager");
	if (tcp) {
		pb_tcp *t = envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__unpack(
			NULL, tc->value.len, tc->value.data);

		if (!t)
			return fail(c, fwhat, "cannot decode typed_config (%zu bytes)",
				    tc->value.len);
		ret = read_tcp_proxy(c, t, fwhat, ch);
		envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__free_unpacked(
			t, NULL);
	} else {
		pb_hcm *h = envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__unpack(
			NULL, tc->value.len, tc->value.data);

		if (!h)
			return fail(c, fwhat, "cannot decode typed_config (%zu bytes)",
				    tc->value.len);
		ret = read_hcm(c, h, fwhat, ch);
		envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__free_unpacked(
			h, NULL);
	}
	return ret;
}

/* One prefix_ranges entry: an address and its prefix_len (absent = the
 * whole address, as Envoy reads it). */
static int read_cidr(struct ctx *c, const Envoy__Config__Core__V3__CidrRange *r,
		     const char *cwhat, struct km_cidr *out)
{
	unsigned int max;

	if (!r->address_prefix || km_ip_parse(r->address_prefix, &out->ip))
		return fail(c, cwhat,
			    "prefix_ranges: address_prefix '%s' is not an IPv4 or IPv6 address",
			    quote(c, r->address_prefix ? r->address_prefix : ""));
	max = out->ip.family == KM_FAMILY_INET ? 32 : 128;
	if (r->prefix_len && u32_in(c, r->prefix_len->value, cwhat,
				    "prefix_ranges.prefix_len", 0, max))
		return -EINVAL;
	out->len = r->prefix_len ? (uint8_t)r->prefix_len->value : max;
	return 0;
}

/* application_protocols: the chain takes plaintext only if it lists what
 * Envoy's http_inspector sniffs from it (istiod: [http/1.1, h2c]). */
static bool alpn_plain_http(const pb_chain_match *m)
{
	for (size_t i = 0; i < m->n_application_protocols; i++)
		if (!strcmp(m->application_protocols[i], "http/1.1") ||
		    !strcmp(m->application_protocols[i], "h2c"))
			return true;
	return false;
}

/*
 * filter_chain_match, for the traffic kmesh sees: plaintext (transport
 * raw_buffer, no SNI) from a local client (not loopback, source address
 * unknown until the connect), its application protocol http/1.1 or h2c when
 * it is HTTP. A chain that traffic can never take (server_names, "tls", any
 * other ALPN, SAME_IP_OR_LOOPBACK) or that depends on the source address
 * or port is skipped (KM_XDS_SKIP, counted): serving it would hand it
 * traffic it was never meant for. The rest is kept for km_chain_pick.
 */
static int read_chain_match(struct ctx *c, const pb_chain_match *m,
			    const char *cwhat, struct km_m_chain *ch)
{
	const char *tp = m->transport_protocol;
	struct km_m_chain_match *cm = &ch->match;

	if (m->n_server_names || (tp && *tp && strcmp(tp, "raw_buffer")) ||
	    (m->n_application_protocols && !alpn_plain_http(m)) ||
	    m->source_type == ENVOY__CONFIG__LISTENER__V3__FILTER_CHAIN_MATCH__CONNECTION_SOURCE_TYPE__SAME_IP_OR_LOOPBACK ||
	    m->n_source_prefix_ranges || m->n_source_ports ||
	    (m->address_suffix && *m->address_suffix) || m->suffix_len)
		return KM_XDS_SKIP;
	cm->raw_buffer = tp && *tp;
	cm->http = m->n_application_protocols != 0;
	cm->external = m->source_type ==
		ENVOY__CONFIG__LISTENER__V3__FILTER_CHAIN_MATCH__CONNECTION_SOURCE_TYPE__EXTERNAL;
	if (m->n_prefix_ranges) {
		cm->prefixes = calloc(m->n_prefix_ranges, sizeof(*cm->prefixes));
		if (!cm->prefixes)
			return oom(c);
		cm->n_prefixes = m->n_prefix_ranges;
		for (size_t i = 0; i < m->n_prefix_ranges; i++)
			if (read_cidr(c, m->prefix_ranges[i], cwhat,
				      &cm->prefixes[i]))
				return -EINVAL;
	}
	if (!m->destination_port)
		return 0;
	if (u32_in(c, m->destination_port->value, cwhat, "destination_port", 1,
		   65535))
		return -EINVAL;
	ch->dest_port = (uint16_t)m->destination_port->value;
	return 0;
}

/* Plaintext only: kmesh never terminates TLS; a TLS chain is skipped. */
static int check_transport_socket(struct ctx *c, const pb_transport_socket *ts,
				  const char *cwhat)
{
	if (!ts)
		return 0;
	if (ts->config_type_case ==
	    ENVOY__CONFIG__CORE__V3__TRANSPORT_SOCKET__CONFIG_TYPE_TYPED_CONFIG &&
	    ts->typed_config) {
		if (!strcmp(ts->typed_config->type_url, URL_RAW_BUFFER))
			return 0;
	} else if (!strcmp(ts->name, SOCKET_RAW_BUFFER)) {
		return 0;
	}
	return KM_XDS_SKIP;
}

/* One chain; *served is false when it has neither tcp_proxy nor
 * http_connection_manager: it is then dropped (nothing allocated), and how
 * it would have matched does not matter. */
static int read_chain(struct ctx *c, const pb_chain *pc, const char *lwhat,
		      size_t idx, struct km_m_chain *ch, bool *served)
{
	char cwhat[WHAT_LEN];
	int ret;

	what_index(cwhat, lwhat, "filter_chains", idx);
	ch->src = xds_src;
	if (!pc->n_filters)
		return fail(c, cwhat,
			    "filters is empty, needs a tcp_proxy or http_connection_manager filter");
	for (size_t i = 0; i < pc->n_filters; i++) {
		ret = read_filter(c, pc->filters[i], cwhat, ch);
		if (ret)
			return ret;
	}
	*served = ch->kind != 0;
	if (!*served)
		return 0;
	ret = pc->filter_chain_match ?
	      read_chain_match(c, pc->filter_chain_match, cwhat, ch) : 0;
	if (!ret)
		ret = check_transport_socket(c, pc->transport_socket, cwhat);
	if (ret == KM_XDS_SKIP) {
		km_chain_free(ch);
		*served = false;
		c->skipped.chains++;
		return 0;
	}
	return ret;
}

static int read_listener_addrs(struct ctx *c, const pb_listener *pl,
			       const char *lwhat, struct km_m_listener *l)
{
	char awhat[WHAT_LEN];
	size_t n_extra = pl->n_additional_addresses;
	int ret;

	l->addrs = calloc(1 + n_extra, sizeof(*l->addrs));
	if (!l->addrs)
		return oom(c);
	l->n_addrs = 1 + n_extra;
	ret = read_address(c, pl->address, lwhat, "address", &l->addrs[0],
			   &l->port);
	for (size_t i = 0; !ret && i < n_extra; i++) {
		const Envoy__Config__Listener__V3__AdditionalAddress *e =
			pl->additional_addresses[i];
		uint16_t port;

		what_index(awhat, lwhat, "additional_addresses", i);
		ret = read_address(c, e->address, awhat, "address",
				   &l->addrs[1 + i], &port);
		if (!ret && port != l->port)
			ret = fail(c, awhat,
				   "port_value %u differs from the listener's port %u",
				   port, l->port);
	}
	return ret;
}

static bool cidr_in(const struct km_cidr *c, const struct km_cidr *set,
		    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].len == c->len && set[i].ip.family == c->ip.family &&
		    !memcmp(&set[i].ip.addr, &c->ip.addr, sizeof(c->ip.addr)))
			return true;
	return false;
}

/* Envoy refuses a listener with two chains of the same match (prefix
 * ranges compared as sets). */
static bool same_match(const struct km_m_chain *a, const struct km_m_chain *b)
{
	const struct km_m_chain_match *x = &a->match, *y = &b->match;

	if (a->dest_port != b->dest_port || x->raw_buffer != y->raw_buffer ||
	    x->http != y->http || x->external != y->external ||
	    x->n_prefixes != y->n_prefixes)
		return false;
	for (size_t i = 0; i < x->n_prefixes; i++)
		if (!cidr_in(&x->prefixes[i], y->prefixes, y->n_prefixes))
			return false;
	return true;
}

static int read_direction(struct ctx *c, const pb_listener *pl,
			  const char *lwhat, struct km_m_listener *l)
{
	if (pl->traffic_direction >= ENVOY__CONFIG__CORE__V3__TRAFFIC_DIRECTION__UNSPECIFIED &&
	    pl->traffic_direction <= ENVOY__CONFIG__CORE__V3__TRAFFIC_DIRECTION__OUTBOUND) {
		l->direction = (uint8_t)pl->traffic_direction;
		return 0;
	}
	return fail(c, lwhat, "unknown traffic_direction %d",
		    pl->traffic_direction);
}

static int read_listener(struct ctx *c, const pb_listener *pl,
			 struct km_m_listener *l)
{
	char lwhat[WHAT_LEN], cwhat[WHAT_LEN];
	/* orig: the filter_chains index of each kept chain */
	size_t nc = pl->n_filter_chains, kept = 0, *orig = NULL;
	int ret;

	ret = str_at(c, pl->name, "listener", "name", KM_NAME_MAX, false,
		     &l->name);
	if (ret)
		return ret;
	l->src = xds_src;
	what_named(c, lwhat, NULL, "listener", l->name);
	ret = read_direction(c, pl, lwhat, l);
	if (!ret)
		ret = read_listener_addrs(c, pl, lwhat, l);
	if (ret)
		return ret;

	if (!nc)
		return fail(c, lwhat, "filter_chains is empty");
	l->chains = calloc(nc, sizeof(*l->chains));
	orig = calloc(nc, sizeof(*orig));
	if (!l->chains || !orig) {
		ret = oom(c);
		goto out;
	}
	/* every slot is zeroed, so a failure anywhere frees cleanly */
	l->n_chains = nc;
	for (size_t i = 0; i < nc; i++) {
		struct km_m_chain *ch = &l->chains[kept];
		bool served = false;

		ret = read_chain(c, pl->filter_chains[i], lwhat, i, ch,
				 &served);
		if (ret)
			goto out;
		if (!served) {
			memset(ch, 0, sizeof(*ch));
			continue;
		}
		for (size_t j = 0; j < kept; j++) {
			if (!same_match(&l->chains[j], ch))
				continue;
			what_index(cwhat, lwhat, "filter_chains", i);
			ret = fail(c, cwhat,
				   "same filter_chain_match as filter_chains[%zu]",
				   orig[j]);
			goto out;
		}
		orig[kept++] = i;
	}
	l->n_chains = kept;
	/* an inbound listener is kept whatever its chains: it serves nothing
	 * (no frontend) but is listed, and authorization will read it */
	if (!kept && l->direction != KM_DIR_INBOUND) {
		/* nothing kmesh can serve (e.g. istiod's 0.0.0.0 TLS chains) */
		c->skipped.listeners++;
		ret = KM_XDS_SKIP;
	}
out:
	free(orig);
	return ret;
}

/* ---- clusters ---------------------------------------------------------- */

static int read_circuit_breakers(struct ctx *c, const pb_breakers *b,
				 const char *cwhat,
				 struct km_circuit_breakers *cb)
{
	char bwhat[WHAT_LEN], twhat[WHAT_LEN];
	/* thresholds index + 1 of the DEFAULT and HIGH entries */
	size_t seen[2] = { 0, 0 };

	what_fmt(bwhat, "%s: circuit_breakers", cwhat);
	for (size_t i = 0; i < b->n_thresholds; i++) {
		const pb_thresholds *t = b->thresholds[i];
		const struct {
			const char *name;
			const pb_u32 *v;
			uint32_t *out;
		} limits[] = {
			{ "max_connections", t->max_connections,
			  &cb->max_connections },
			{ "max_pending_requests", t->max_pending_requests,
			  &cb->max_pending_requests },
			{ "max_requests", t->max_requests, &cb->max_requests },
			{ "max_retries", t->max_retries, &cb->max_retries },
		};
		int prio;

		what_index(twhat, bwhat, "thresholds", i);
		if (t->priority == ENVOY__CONFIG__CORE__V3__ROUTING_PRIORITY__DEFAULT)
			prio = 0;
		else if (t->priority == ENVOY__CONFIG__CORE__V3__ROUTING_PRIORITY__HIGH)
			prio = 1;
		else
			return fail(c, twhat,
				    "unknown priority %d (DEFAULT or HIGH)",
				    t->priority);
		if (seen[prio])
			return fail(c, twhat,
				    "a second %s entry (first is thresholds[%zu])",
				    prio ? "HIGH" : "DEFAULT", seen[prio] - 1);
		seen[prio] = i + 1;
		/* 0 would read as "unset" in the model, not Envoy's "none
		 * allowed", so it is refused rather than misread. */
		for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
			if (!limits[k].v)
				continue;
			if (u32_in(c, limits[k].v->value, twhat, limits[k].name,
				   1, UINT32_MAX))
				return -EINVAL;
			/* HIGH is for requests Envoy routes at high priority,
			 * which kmesh never sees. */
			if (prio == 0)
				*limits[k].out = limits[k].v->value;
		}
	}
	return 0;
}

/* enum km_health is core.v3.HealthStatus, value for value */
_Static_assert((int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNKNOWN == KM_HEALTH_UNKNOWN &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__HEALTHY == KM_HEALTH_HEALTHY &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNHEALTHY == KM_HEALTH_UNHEALTHY &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__DRAINING == KM_HEALTH_DRAINING &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__TIMEOUT == KM_HEALTH_TIMEOUT &&
	       (int)ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__DEGRADED == KM_HEALTH_DEGRADED,
	       "HealthStatus values");

static int read_lb_endpoint(struct ctx *c, const pb_lb_endpoint *pe,
			    const char *cwhat, size_t pos,
			    struct km_m_endpoint *ep)
{
	char ewhat[WHAT_LEN];
	int ret, health;

	what_fmt(ewhat, "%s: endpoint %zu", cwhat, pos + 1);
	ep->src = xds_src;
	ep->weight = 1;
	if (pe->host_identifier_case !=
	    ENVOY__CONFIG__ENDPOINT__V3__LB_ENDPOINT__HOST_IDENTIFIER_ENDPOINT ||
	    !pe->endpoint)
		return fail(c, ewhat, "endpoint is missing");
	ret = read_address(c, pe->endpoint->address, ewhat, "address", &ep->ip,
			   &ep->port);
	if (ret)
		return ret;
	health = (int)pe->health_status;
	if (health < KM_HEALTH_UNKNOWN || health > KM_HEALTH_DEGRADED)
		return fail(c, ewhat, "unknown health_status %d", health);
	ep->health = (uint8_t)health;
	if (pe->load_balancing_weight) {
		if (u32_in(c, pe->load_balancing_weight->value, ewhat,
			   "load_balancing_weight", 1, UINT32_MAX))
			return -EINVAL;
		ep->weight = pe->load_balancing_weight->value;
	}
	return 0;
}

/* A ClusterLoadAssignment's groups, into cl as config_yaml.c fills them:
 * the cluster owns one locality per group, endpoints borrow their group's
 * strings and carry its priority. */
static int read_load_assignment(struct ctx *c, const pb_cla *la,
				const char *cwhat, struct km_m_cluster *cl)
{
	char gwhat[WHAT_LEN];
	size_t ng = la->n_endpoints, total = 0, pos = 0;
	int ret;

	cl->has_load_assignment = true;
	for (size_t i = 0; i < ng; i++)
		total += la->endpoints[i]->n_lb_endpoints;
	if (total > KM_MAX_CLUSTER_ENDPOINTS)
		return fail(c, cwhat, "%zu endpoints, limit is %d", total,
			    KM_MAX_CLUSTER_ENDPOINTS);
	if (!ng)
		return 0;
	cl->localities = calloc(ng, sizeof(*cl->localities));
	if (!cl->localities)
		return oom(c);
	cl->n_localities = ng;
	if (total) {
		cl->endpoints = calloc(total, sizeof(*cl->endpoints));
		if (!cl->endpoints)
			return oom(c);
		cl->n_endpoints = total;
	}

	for (size_t i = 0; i < ng; i++) {
		const pb_locality_eps *g = la->endpoints[i];

		what_index(gwhat, cwhat, "endpoints", i);
		if (g->locality) {
			ret = read_locality(c, g->locality, gwhat,
					    &cl->localities[i]);
			if (ret)
				return ret;
		}
		if (u32_in(c, g->priority, gwhat, "priority", 0, MAX_PRIORITY))
			return -EINVAL;
		/* checked, then unused: the compiler serves one locality
		 * level at a time, so locality weights never apply */
		if (g->load_balancing_weight &&
		    u32_in(c, g->load_balancing_weight->value, gwhat,
			   "load_balancing_weight", 1, UINT32_MAX))
			return -EINVAL;
		for (size_t j = 0; j < g->n_lb_endpoints; j++, pos++) {
			struct km_m_endpoint *ep = &cl->endpoints[pos];

			ret = read_lb_endpoint(c, g->lb_endpoints[j], cwhat, pos,
					       ep);
			if (ret)
				return ret;
			ep->priority = g->priority;
			ep->locality = cl->localities[i];
		}
	}
	return 0;
}

static int read_cluster_type(struct ctx *c, const pb_cluster *pc,
			     const char *cwhat, struct km_m_cluster *cl)
{
	const char *name;

	if (pc->cluster_discovery_type_case ==
	    ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_CLUSTER_TYPE)
		return fail(c, cwhat,
			    "cluster_type '%s' not supported (type STATIC, EDS or ORIGINAL_DST)",
			    quote(c, pc->cluster_type ? pc->cluster_type->name : ""));
	/* unset is proto3's default, STATIC */
	switch (pc->type) {
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STATIC:
		cl->type = KM_CLUSTER_STATIC;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__EDS:
		cl->type = KM_CLUSTER_EDS;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__ORIGINAL_DST:
		cl->type = KM_CLUSTER_STATIC;
		cl->original_dst = true;
		return 0;
	default:
		break;
	}
	name = enum_name(&envoy__config__cluster__v3__cluster__discovery_type__descriptor,
			 pc->type);
	if (name)
		return fail(c, cwhat,
			    "type %s not supported (STATIC, EDS or ORIGINAL_DST)",
			    name);
	return fail(c, cwhat, "unknown type %d", pc->type);
}

static int read_lb_policy(struct ctx *c, const pb_cluster *pc,
			  const char *cwhat, struct km_m_cluster *cl)
{
	const char *name;

	switch (pc->lb_policy) {
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__ROUND_ROBIN:
	/* LEAST_REQUEST picks by active requests per endpoint, which the
	 * kernel does not count yet; round robin is its closest stand-in
	 * (and what it degrades to in Envoy when all counts are equal).
	 * istiod's default for every service cluster. */
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__LEAST_REQUEST:
		cl->lb_policy = KM_LB_ROUND_ROBIN;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__RANDOM:
		cl->lb_policy = KM_LB_RANDOM;
		return 0;
	case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__CLUSTER_PROVIDED:
		/* Envoy requires it on ORIGINAL_DST clusters: the cluster
		 * "picks" the address the application dialed. */
		if (cl->original_dst) {
			cl->lb_policy = KM_LB_ROUND_ROBIN;
			return 0;
		}
		break;
	default:
		break;
	}
	name = enum_name(&envoy__config__cluster__v3__cluster__lb_policy__descriptor,
			 pc->lb_policy);
	if (name)
		return fail(c, cwhat,
			    "lb_policy %s not supported (ROUND_ROBIN, LEAST_REQUEST or RANDOM)",
			    name);
	return fail(c, cwhat, "unknown lb_policy %d", pc->lb_policy);
}

static size_t cla_endpoint_count(const pb_cla *la)
{
	size_t n = 0;

	for (size_t i = 0; i < la->n_endpoints; i++)
		n += la->endpoints[i]->n_lb_endpoints;
	return n;
}

static int read_cluster(struct ctx *c, const pb_cluster *pc,
			struct km_m_cluster *cl)
{
	char cwhat[WHAT_LEN], lwhat[WHAT_LEN];
	const char *svc;
	int ret;

	ret = str_at(c, pc->name, "cluster", "name", KM_NAME_MAX, false,
		     &cl->name);
	if (ret)
		return ret;
	cl->src = xds_src;
	what_named(c, cwhat, NULL, "cluster", cl->name);
	ret = read_cluster_type(c, pc, cwhat, cl);
	if (!ret)
		ret = read_lb_policy(c, pc, cwhat, cl);
	if (ret)
		return ret;

	/* the ClusterLoadAssignment comes named by service_name; kmesh
	 * looks it up by cluster name */
	svc = pc->eds_cluster_config ? pc->eds_cluster_config->service_name : NULL;
	if (cl->type == KM_CLUSTER_EDS && svc && *svc && strcmp(svc, cl->name))
		return fail(c, cwhat,
			    "eds_cluster_config.service_name '%s' differs from the cluster name (not supported)",
			    quote(c, svc));

	if (pc->circuit_breakers) {
		ret = read_circuit_breakers(c, pc->circuit_breakers, cwhat,
					    &cl->cb);
		if (ret)
			return ret;
	}
	if (!pc->load_assignment)
		return 0;	/* EDS: filled by its ClusterLoadAssignment */
	if (cl->original_dst) {
		/* Envoy refuses these too: the destination is the dialed one */
		if (!cla_endpoint_count(pc->load_assignment))
			return 0;
		what_fmt(lwhat, "%s: load_assignment", cwhat);
		return fail(c, lwhat, "an ORIGINAL_DST cluster has no endpoints");
	}
	return read_load_assignment(c, pc->load_assignment, cwhat, cl);
}

/* ---- entry points ------------------------------------------------------ */

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

	ctx_init(&c, err);
	memset(out, 0, sizeof(*out));
	pc = envoy__config__cluster__v3__cluster__unpack(NULL, len, buf);
	if (!pc)
		return decode_error(&c, "cluster", KM_TYPE_CLUSTER, buf, len);
	ret = read_cluster(&c, pc, out);
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

	ctx_init(&c, err);
	memset(out, 0, sizeof(*out));
	*cluster_name = NULL;
	la = envoy__config__endpoint__v3__cluster_load_assignment__unpack(NULL,
									  len, buf);
	if (!la)
		return decode_error(&c, "cluster_load_assignment", KM_TYPE_CLA,
				    buf, len);
	ret = str_at(&c, la->cluster_name, "cluster_load_assignment",
		     "cluster_name", KM_NAME_MAX, false, &name);
	if (!ret) {
		out->src = xds_src;
		what_named(&c, cwhat, NULL, "cluster_load_assignment", name);
		ret = read_load_assignment(&c, la, cwhat, out);
	}
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

	ctx_init(&c, err);
	memset(out, 0, sizeof(*out));
	pl = envoy__config__listener__v3__listener__unpack(NULL, len, buf);
	if (!pl)
		return decode_error(&c, "listener", KM_TYPE_LISTENER, buf, len);
	ret = read_listener(&c, pl, out);
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

	ctx_init(&c, err);
	memset(out, 0, sizeof(*out));
	prc = envoy__config__route__v3__route_configuration__unpack(NULL, len,
								     buf);
	if (!prc)
		return decode_error(&c, "route_config", KM_TYPE_ROUTE, buf, len);
	ret = read_route_config(&c, prc, NULL, true, out);
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
