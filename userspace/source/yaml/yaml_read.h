/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The YAML reader's own parts, shared by its files: the context, the node
 * and scalar readers, lists with their rules, unknown-key checks with
 * near-miss hints (yaml_nodes.c), and the readers each resource file
 * exports to the others. Messages: util/diag.h at the node's line. Every
 * semantic and limit rule is model/check.c's.
 *
 *   yaml_nodes.c      nodes, scalars, lists, addresses, localities
 *   yaml_route.c      cluster actions, routes, virtual hosts, route configs
 *   yaml_listener.c   listeners, filter chains, tcp_proxy, HTTP manager
 *   yaml_cluster.c    clusters, endpoints, LB policy, circuit breakers
 *   yaml_lb.c         LB configs, hash policies, what is not enforced
 *   config_yaml.c     node, static_resources, the document, the file
 */
#ifndef KM_YAML_READ_H
#define KM_YAML_READ_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "check.h"
#include "config_yaml.h"
#include "dup.h"

#define TYPE_URL "type.googleapis.com/"
#define URL_LISTENER TYPE_URL "envoy.config.listener.v3.Listener"
#define URL_CLUSTER TYPE_URL "envoy.config.cluster.v3.Cluster"
#define URL_ROUTE_CONFIG TYPE_URL "envoy.config.route.v3.RouteConfiguration"
#define URL_CLA TYPE_URL "envoy.config.endpoint.v3.ClusterLoadAssignment"
#define URL_TCP_PROXY \
	TYPE_URL "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
#define URL_HCM \
	TYPE_URL "envoy.extensions.filters.network.http_connection_manager" \
	".v3.HttpConnectionManager"

#define FILTER_TCP_PROXY "envoy.filters.network.tcp_proxy"
#define FILTER_HCM "envoy.filters.network.http_connection_manager"

/* Envoy's priorities are 0..127 (the max_priority of its LB). */
#define MAX_PRIORITY 127

struct ctx {
	const char *file;	/* m->source */
	yaml_document_t *doc;
	struct km_diag d;	/* messages: util/diag.h */
	bool node_only;		/* --xds: static_resources may be absent */
	bool strict;		/* --strict: refuse what is not enforced */
};

#define WHAT_LEN KM_WHAT_LEN
#define QUOTE_MAX KM_QUOTE_MAX
#define QUOTE_URL_MAX KM_QUOTE_URL_MAX

#define oom(c) km_diag_oom(&(c)->d)
#define shorten(c, s, max) km_diag_shorten(&(c)->d, s, max)
#define quote(c, s) km_diag_quote(&(c)->d, s)
#define what_fmt km_what_fmt
#define what_named(c, ...) km_what_named(&(c)->d, __VA_ARGS__)
#define what_index km_what_index
#define one_line km_one_line

/*
 * Reads item i of a list into elem, its element of the array the list
 * fills (NULL when it fills none). what names the list's owner; arg is the
 * caller's.
 */
typedef int item_reader(struct ctx *c, yaml_node_t *item, const char *what,
			size_t i, void *elem, void *arg);

/* A sequence field: the rules checked before any item is read, and the
 * reader of each item. */
struct list_rules {
	const char *name;	/* the field */
	bool required;		/* absent is an error */
	const char *if_empty;	/* the error for no items; NULL: allowed */
	size_t limit;		/* most items; 0: no limit */
	const char *noun;	/* in "N noun, limit is L"; NULL: name */
	bool maps;		/* every item must be a mapping */
	item_reader *read_item;
};

/* yaml_nodes.c */
int y_check_type_url(struct ctx *c, const yaml_node_t *map,
			  const char *what, const char *url);
int y_read_locality(struct ctx *c, yaml_node_t *map, const char *what,
			 struct km_locality *loc);
int y_check_fields(struct ctx *c, const yaml_node_t *map,
			const char *what, const char *const *used,
			const char *const *ignored);
int y_read_address(struct ctx *c, yaml_node_t *v, const char *what,
			const char *name, struct km_ip *ip, uint16_t *port);
int y_read_host_address(struct ctx *c, yaml_node_t *v, const char *what,
			const char *name, char **host, struct km_ip *ip,
			uint16_t *port);
int y_opt_duration(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name, uint64_t max, bool *set, uint64_t *ns);
int y_alloc_array(struct ctx *c, size_t n, size_t size, void **items,
		       size_t *count);
int y_mapping_at(struct ctx *c, const yaml_node_t *v, const char *what,
		      const char *name, const char *fwhat,
		      const char *const *used, const char *const *ignored);
int y_opt_scalar(struct ctx *c, const yaml_node_t *map, const char *what,
		      const char *name, yaml_node_t **v);
int y_list_field(struct ctx *c, const yaml_node_t *map, const char *what,
		      const struct list_rules *r, yaml_node_t **seq);
bool y_scalar_is(const yaml_node_t *n, const char *s);
const char *y_type_name(yaml_node_type_t t);
int y_req_field(struct ctx *c, const yaml_node_t *map, const char *what,
		     const char *name, yaml_node_t **v);
int y_each_item(struct ctx *c, yaml_node_t *seq, const char *what,
		     const struct list_rules *r, void *items, size_t size,
		     void *arg);
int y_read_list(struct ctx *c, const yaml_node_t *map, const char *what,
		     const struct list_rules *r, void **items, size_t *count,
		     size_t size, void *arg);
int y_item_name(struct ctx *c, const yaml_node_t *n, const char *parent,
		     const char *list, size_t i, const char *kind,
		     size_t limit, char *what, char **name);
yaml_node_t *y_seq_item(struct ctx *c, const yaml_node_t *n, size_t i);
int y_opt_bool(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, bool *out);
int y_req_uint(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, uint64_t min, uint64_t max,
		    uint64_t *out);
int y_opt_uint(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, uint64_t min, uint64_t max,
		    uint64_t *out);
int y_line_of(const yaml_node_t *n);
yaml_node_t *y_node_at(struct ctx *c, int id);
bool y_is_null(const yaml_node_t *n);
size_t y_seq_len(const yaml_node_t *n);
int y_missing(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name);
bool y_in_list(const yaml_node_t *key, const char *const *list);
int y_req_str(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name, size_t limit, char **out);
int y_opt_str(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name, size_t limit, char **out);
int y_uint_at(struct ctx *c, const yaml_node_t *v, const char *what,
		   const char *name, uint64_t min, uint64_t max, uint64_t *out);
int y_bool_at(struct ctx *c, const yaml_node_t *v, const char *what,
		   const char *name, bool *out);
struct km_src y_src_of(const struct ctx *c, const yaml_node_t *n);
int y_one_of(struct ctx *c, const yaml_node_t *map, const char *what,
		  const char *const *names, bool required, yaml_node_t **val,
		  size_t *which);
int y_str_at(struct ctx *c, const yaml_node_t *v, const char *what,
		  const char *name, size_t limit, bool empty_ok, char **out);
yaml_node_t *y_field(struct ctx *c, const yaml_node_t *map,
			  const char *name);
const char *y_sval(const yaml_node_t *n);
int y_want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t type,
		const char *what, const char *name);
int y_fail(struct ctx *c, const yaml_node_t *n, const char *what,
     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* yaml_route.c */
int y_read_action_target(struct ctx *c, yaml_node_t *map,
			      const char *what, bool route,
			      struct km_m_action *a);
int y_read_route_config(struct ctx *c, yaml_node_t *v, const char *what,
			     struct km_m_route_config *rc);

/* yaml_listener.c */
int y_read_listener(struct ctx *c, yaml_node_t *n, const char *what,
			 size_t idx, void *elem, void *arg);

/* yaml_lb.c */
int y_read_lb_config(struct ctx *c, yaml_node_t *n, const char *cwhat,
		     struct km_m_cluster *cl);
int y_read_action_lb(struct ctx *c, yaml_node_t *map, const char *what,
		     bool route, struct km_m_action *a);
/* yaml_reply.c */
int y_note_fault_filter(struct ctx *c, yaml_node_t *tc, const char *what,
			struct km_m_chain *ch);
int y_read_direct_response(struct ctx *c, yaml_node_t *v, const char *what,
			   struct km_m_reply **out);
int y_read_redirect(struct ctx *c, yaml_node_t *v, const char *what,
		    struct km_m_reply **out);
int y_read_route_filters(struct ctx *c, yaml_node_t *m, const char *what,
			 struct km_m_action *a);
/* Field @field (node @v) of @what is accepted but not enforced: @bit goes
 * into *bits, or under --strict it is refused, naming the line. */
int y_not_enforced(struct ctx *c, const yaml_node_t *v, const char *what,
		   const char *field, uint32_t bit, uint32_t *bits);
/* a cluster's transport_socket and transport_socket_matches */
int y_read_upstream_ts(struct ctx *c, yaml_node_t *n, const char *cwhat,
		       struct km_m_cluster *cl);
/* fields accepted and listed as not enforced, by where they appear (the
 * check_fields "ignored" list), and the kinds @map holds of them */
#define Y_HEADER_FIELDS "request_headers_to_add", "request_headers_to_remove", \
	"response_headers_to_add", "response_headers_to_remove"
extern const char *const y_ne_action[], *const y_ne_route[],
	*const y_ne_vhost[], *const y_ne_route_config[];
int y_ne_bits(struct ctx *c, yaml_node_t *map, const char *what,
	      const char *const *fields, uint32_t *bits);

/* yaml_cluster.c */
int y_read_cluster(struct ctx *c, yaml_node_t *n, const char *what,
			size_t idx, void *elem, void *arg);

#endif
