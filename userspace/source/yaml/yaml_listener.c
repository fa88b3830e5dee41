// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Listeners and their filter chains from YAML. */
#include "yaml_read.h"
#include "authz.h"
#include "yaml_rbac.h"

/* ---- listeners --------------------------------------------------------- */

static int read_tcp_proxy(struct ctx *c, yaml_node_t *tc, const char *what,
			  struct km_m_chain *ch)
{
	static const char *const used[] = {
		"@type", "cluster", "weighted_clusters", "hash_policy",
		"idle_timeout", NULL
	};
	static const char *const ignored[] = {
		"stat_prefix", "access_log", NULL
	};
	int ret;

	ch->kind = KM_CHAIN_TCP_PROXY;
	ret = y_mapping_at(c, tc, what, "typed_config", what, used, ignored);
	if (!ret)
		ret = y_check_type_url(c, tc, what, URL_TCP_PROXY);
	if (!ret)
		ret = y_read_action_target(c, tc, what, false, &ch->tcp);
	if (!ret)
		ret = km_check_action(&ch->tcp, false, what, c->d.err);
	return ret;
}

/* A filter kmesh does not implement that is access control
 * (model/authz.h) is read (RBAC: 0) or refused (-EINVAL) by yaml_rbac.c;
 * 1 when it is not access control. f is the filter's mapping, name its
 * name node. */
static int authz_filter(struct ctx *c, yaml_node_t *f, yaml_node_t *name,
			const char *what, bool http, struct km_m_chain *ch)
{
	yaml_node_t *tc = y_field(c, f, "typed_config"), *t = NULL;

	if (tc && tc->type == YAML_MAPPING_NODE)
		t = y_field(c, tc, "@type");
	if (!km_authz_filter(y_sval(name), t && t->type == YAML_SCALAR_NODE ?
						y_sval(t) : NULL))
		return 1;
	return km_yaml_authz_filter(c->doc, c->file, f, what, http, ch,
				    c->d.err);
}

/* http_filters[idx] of an http_connection_manager (arg, the chain): the
 * router and the filters that do not decide access (fault, stats, ...)
 * change nothing kmesh enforces and are ignored; access control is not. */
static int read_http_filter(struct ctx *c, yaml_node_t *f, const char *hwhat,
			    size_t idx, void *elem, void *arg)
{
	char fwhat[WHAT_LEN];
	yaml_node_t *name;
	int ret;

	what_index(fwhat, hwhat, "http_filters", idx);
	ret = y_req_field(c, f, fwhat, "name", &name);
	if (!ret)
		ret = y_want(c, name, YAML_SCALAR_NODE, fwhat, "name");
	if (!ret)
		ret = authz_filter(c, f, name, hwhat, true, arg);
	return ret > 0 ? 0 : ret;
}

static int read_hcm(struct ctx *c, yaml_node_t *tc, const char *what,
		    struct km_m_chain *ch)
{
	static const char *const used[] = {
		"@type", "rds", "route_config", "http_filters", NULL
	};
	static const struct list_rules http_filters = {
		.name = "http_filters", .maps = true,
		.read_item = read_http_filter,
	};
	static const char *const ignored[] = {
		"stat_prefix", "codec_type",
		"use_remote_address", "access_log",
		"common_http_protocol_options", "stream_idle_timeout",
		"request_timeout", NULL
	};
	static const char *const sources[] = { "rds", "route_config", NULL };
	static const char *const rds_used[] = { "route_config_name", NULL };
	static const char *const rds_ignored[] = { "config_source", NULL };
	char rwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	ch->kind = KM_CHAIN_HTTP;
	ret = y_mapping_at(c, tc, what, "typed_config", what, used, ignored);
	if (!ret)
		ret = y_check_type_url(c, tc, what, URL_HCM);
	if (!ret)
		ret = y_read_list(c, tc, what, &http_filters, NULL, NULL, 0, ch);
	if (ret)
		return ret;
	ret = y_note_fault_filter(c, tc, what, ch);
	if (ret)
		return ret;
	ret = y_one_of(c, tc, what, sources, true, &v, &which);
	if (ret < 0)
		return ret;
	if (which == 1)
		return y_read_route_config(c, v, what, &ch->routes);

	what_fmt(rwhat, "%s: rds", what);
	ret = y_mapping_at(c, v, what, "rds", rwhat, rds_used, rds_ignored);
	if (!ret)
		ret = y_req_str(c, v, rwhat, "route_config_name", KM_NAME_MAX,
			      &ch->rds_name);
	return ret;
}

/* One filter of a chain (arg): the two terminal filters kmesh implements,
 * and access control (yaml_rbac.c). */
static int read_filter(struct ctx *c, yaml_node_t *f, const char *cwhat,
		       size_t idx, void *elem, void *arg)
{
	static const char *const used[] = { "name", "typed_config", NULL };
	struct km_m_chain *ch = arg;
	char fwhat[WHAT_LEN];
	yaml_node_t *name, *tc;
	bool tcp;
	int ret;

	what_index(fwhat, cwhat, "filters", idx);
	ret = y_req_field(c, f, fwhat, "name", &name);
	if (!ret)
		ret = y_want(c, name, YAML_SCALAR_NODE, fwhat, "name");
	if (ret)
		return ret;
	if (y_scalar_is(name, FILTER_TCP_PROXY))
		tcp = true;
	else if (y_scalar_is(name, FILTER_HCM))
		tcp = false;
	else if ((ret = authz_filter(c, f, name, cwhat, false, ch)) <= 0)
		return ret;
	else
		return y_fail(c, name, cwhat, "unknown filter '%s'",
			    quote(c, y_sval(name)));
	if (ch->kind)
		return y_fail(c, f, cwhat,
			    "more than one tcp_proxy or http_connection_manager filter");
	what_fmt(fwhat, "%s: %s", cwhat,
		 tcp ? "tcp_proxy" : "http_connection_manager");
	ret = y_check_fields(c, f, fwhat, used, NULL);
	if (!ret)
		ret = y_req_field(c, f, fwhat, "typed_config", &tc);
	if (ret)
		return ret;
	return tcp ? read_tcp_proxy(c, tc, fwhat, ch) :
		     read_hcm(c, tc, fwhat, ch);
}

/* The listener whose chains are read, and the destination ports of those
 * read so far, to spot two chains matching the same traffic. */
struct chain_ports {
	const struct km_m_listener *l;
	uint8_t seen[65536 / 8];
};

static int check_chain_port(struct ctx *c, yaml_node_t *n, const char *cwhat,
			    const struct km_m_chain *ch,
			    struct chain_ports *ports)
{
	uint16_t p = ch->dest_port;
	size_t j = 0;

	if (!(ports->seen[p / 8] & (1u << (p % 8)))) {
		ports->seen[p / 8] |= 1u << (p % 8);
		return 0;
	}
	while (ports->l->chains[j].dest_port != p)
		j++;
	return y_fail(c, n, cwhat,
		    "same filter_chain_match as filter_chains[%zu] (line %d)",
		    j, ports->l->chains[j].src.line);
}

static int read_chain(struct ctx *c, yaml_node_t *n, const char *lwhat,
		      size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"filter_chain_match", "filters", NULL
	};
	static const char *const ignored[] = { "name", NULL };
	static const char *const match_used[] = { "destination_port", NULL };
	static const struct list_rules filters = {
		.name = "filters", .required = true,
		.if_empty = "filters is empty, needs a tcp_proxy or http_connection_manager filter",
		.maps = true, .read_item = read_filter,
	};
	struct km_m_chain *ch = elem;
	char cwhat[WHAT_LEN];
	yaml_node_t *fcm;
	uint64_t port = 0;
	int ret;

	what_index(cwhat, lwhat, "filter_chains", idx);
	ret = y_check_fields(c, n, cwhat, used, ignored);
	if (ret)
		return ret;
	ch->src = y_src_of(c, n);
	fcm = y_field(c, n, "filter_chain_match");
	if (fcm) {
		ret = y_mapping_at(c, fcm, cwhat, "filter_chain_match", cwhat,
				 match_used, NULL);
		if (!ret)
			ret = y_opt_uint(c, fcm, cwhat, "destination_port", 1,
				       65535, &port);
		if (ret)
			return ret;
		ch->dest_port = (uint16_t)port;
	}
	ret = y_read_list(c, n, cwhat, &filters, NULL, NULL, 0, ch);
	if (!ret)
		ret = check_chain_port(c, n, cwhat, ch, arg);
	return ret;
}

/* additional_addresses[i]: the listener (arg)'s port at another address. */
static int read_extra_address(struct ctx *c, yaml_node_t *e, const char *lwhat,
			      size_t i, void *elem, void *arg)
{
	static const char *const used[] = { "address", NULL };
	const struct km_m_listener *l = arg;
	char awhat[WHAT_LEN];
	yaml_node_t *a;
	uint16_t port = 0;
	int ret;

	what_index(awhat, lwhat, "additional_addresses", i);
	ret = y_check_fields(c, e, awhat, used, NULL);
	if (!ret)
		ret = y_req_field(c, e, awhat, "address", &a);
	if (!ret)
		ret = y_read_address(c, a, awhat, "address", elem, &port);
	if (ret)
		return ret;
	if (port != l->port)
		return y_fail(c, a, awhat,
			    "port_value %u differs from the listener's port %u",
			    port, l->port);
	return 0;
}

/* traffic_direction: an INBOUND listener is no frontend; its RBAC
 * filters protect its address (docs/authz.md). */
static int read_direction(struct ctx *c, yaml_node_t *n, const char *lwhat,
			  struct km_m_listener *l)
{
	static const char *const names[] = { "UNSPECIFIED", "INBOUND",
					     "OUTBOUND" };
	yaml_node_t *v;
	int ret = y_opt_scalar(c, n, lwhat, "traffic_direction", &v);

	if (ret || !v)
		return ret;
	for (size_t i = 0; i < 3; i++) {
		if (y_scalar_is(v, names[i])) {
			l->direction = (uint8_t)i;
			return 0;
		}
	}
	return y_fail(c, v, lwhat,
		      "traffic_direction '%s' is not UNSPECIFIED, INBOUND or OUTBOUND",
		      quote(c, y_sval(v)));
}

int y_read_listener(struct ctx *c, yaml_node_t *n, const char *what,
			 size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"@type", "name", "address", "additional_addresses",
		"filter_chains", "traffic_direction", NULL
	};
	static const char *const ignored[] = {
		"stat_prefix", "access_log",
		"per_connection_buffer_limit_bytes", NULL
	};
	static const struct list_rules extra_addrs = {
		.name = "additional_addresses", .maps = true,
		.read_item = read_extra_address,
	};
	static const struct list_rules chains = {
		.name = "filter_chains", .required = true,
		.if_empty = "filter_chains is empty", .maps = true,
		.read_item = read_chain,
	};
	struct km_m_listener *l = elem;
	struct chain_ports ports = { .l = l };
	char lwhat[WHAT_LEN];
	yaml_node_t *v, *extra;
	int ret;

	l->src = y_src_of(c, n);
	ret = y_item_name(c, n, NULL, "listeners", idx, "listener", KM_NAME_MAX,
			lwhat, &l->name);
	if (!ret)
		ret = y_check_fields(c, n, lwhat, used, ignored);
	if (!ret)
		ret = y_check_type_url(c, n, lwhat, URL_LISTENER);
	if (!ret)
		ret = y_req_field(c, n, lwhat, "address", &v);
	if (!ret)
		ret = y_list_field(c, n, lwhat, &extra_addrs, &extra);
	if (!ret)
		ret = y_alloc_array(c, 1 + (extra ? y_seq_len(extra) : 0),
				  sizeof(*l->addrs), (void **)&l->addrs,
				  &l->n_addrs);
	if (!ret)
		ret = y_read_address(c, v, lwhat, "address", &l->addrs[0],
				   &l->port);
	if (!ret)
		ret = y_each_item(c, extra, lwhat, &extra_addrs, &l->addrs[1],
				sizeof(*l->addrs), l);
	if (!ret)
		ret = y_read_list(c, n, lwhat, &chains, (void **)&l->chains,
				&l->n_chains, sizeof(*l->chains), &ports);
	if (!ret)
		ret = read_direction(c, n, lwhat, l);
	return ret;
}
