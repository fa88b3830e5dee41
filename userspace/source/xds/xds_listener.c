// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Listeners and their filter chains from xDS. */
#include "xds_audit.h"
#include "authz.h"
#include "xds_rbac.h"

/* ---- listeners --------------------------------------------------------- */

static int read_tcp_proxy(struct ctx *c, const pb_tcp *t, const char *what,
			  struct km_m_chain *ch)
{
	ch->kind = KM_CHAIN_TCP_PROXY;
	ch->tcp.src = xds_src;
	if (t->tunneling_config)
		return x_fail(c, what, "tunneling_config is not supported");
	if (x_read_tcp_lb(c, t, what, &ch->tcp))
		return -EINVAL;
	switch (t->cluster_specifier_case) {
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__TCP_PROXY__V3__TCP_PROXY__CLUSTER_SPECIFIER_CLUSTER:
		if (x_read_one_cluster(c, t->cluster, what, &ch->tcp))
			return -EINVAL;
		return km_check_action(&ch->tcp, false, what, c->d.err);
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__TCP_PROXY__V3__TCP_PROXY__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS:
		if (x_read_tcp_weighted(c, t->weighted_clusters, what, &ch->tcp))
			return -EINVAL;
		return km_check_action(&ch->tcp, false, what, c->d.err);
	default:
		return x_fail(c, what, "needs cluster or weighted_clusters");
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
	/* fault injection, stats, ...: the data path routes, nothing more
	 * (listed as not enforced by kind, xds_audit.c); access control is
	 * enforced or refused, never skipped */
	for (size_t i = 0; i < h->n_http_filters; i++) {
		const pb_http_filter *hf = h->http_filters[i];
		const Google__Protobuf__Any *tc = hf->config_type_case ==
			ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_FILTER__CONFIG_TYPE_TYPED_CONFIG ?
			hf->typed_config : NULL;
		int ret;

		if (is_router(hf))
			continue;
		if (km_authz_filter(hf->name, tc ? tc->type_url : NULL)) {
			ret = km_xds_authz_http_filter(hf->name, tc, what, ch,
						       c->d.err);
			if (ret)
				return ret;
			continue;
		}
		if (x_is_fault_filter(hf)) {
			ret = x_read_fault_filter(c, hf, what, ch);
			if (ret)
				return ret;
			continue;
		}
		ret = x_audit_http_filter(c, hf, what);
		if (ret == 1)
			c->skipped.typed_configs++;
		else if (ret)
			return ret;
	}

	switch (h->route_specifier_case) {
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_RDS:
		what_fmt(rwhat, "%s: rds", what);
		return x_str_at(c, h->rds->route_config_name, rwhat,
			      "route_config_name", KM_NAME_MAX, false,
			      &ch->rds_name);
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_ROUTE_CONFIG:
		return x_read_route_config(c, h->route_config, what, false,
					 &ch->routes);
	case ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_SCOPED_ROUTES:
		return x_fail(c, what,
			    "scoped_routes is not supported (rds or route_config)");
	default:
		return x_fail(c, what, "needs rds or route_config");
	}
}

/* One network filter: tcp_proxy or http_connection_manager by typed_config
 * type URL, access control to xds_rbac.c, anything else counted by kind
 * or refused (xds_audit.c). */
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
		return km_xds_authz_filter(f->name, tc, cwhat, ch, c->d.err);
	} else {
		/* counted, refused, or (1) RBAC's own rule */
		ret = x_audit_net_filter(c, f, cwhat);
		if (ret == 1)
			c->skipped.filters++;
		return ret == 1 ? 0 : ret;
	}
	if (ch->kind)
		return x_fail(c, cwhat,
			    "more than one tcp_proxy or http_connection_manager filter");
	what_fmt(fwhat, "%s: %s", cwhat,
		 tcp ? "tcp_proxy" : "http_connection_manager");
	if (tcp) {
		pb_tcp *t = envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__unpack(
			NULL, tc->value.len, tc->value.data);

		if (!t)
			return x_fail(c, fwhat, "cannot decode typed_config (%zu bytes)",
				    tc->value.len);
		ret = read_tcp_proxy(c, t, fwhat, ch);
		if (!ret)
			ret = x_audit(c, &t->base, fwhat);
		envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__free_unpacked(
			t, NULL);
	} else {
		pb_hcm *h = envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__unpack(
			NULL, tc->value.len, tc->value.data);

		if (!h)
			return x_fail(c, fwhat, "cannot decode typed_config (%zu bytes)",
				    tc->value.len);
		ret = read_hcm(c, h, fwhat, ch);
		if (!ret)
			ret = x_audit(c, &h->base, fwhat);
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
		return x_fail(c, cwhat,
			    "prefix_ranges: address_prefix '%s' is not an IPv4 or IPv6 address",
			    quote(c, r->address_prefix ? r->address_prefix : ""));
	max = out->ip.family == KM_FAMILY_INET ? 32 : 128;
	if (r->prefix_len && x_u32_in(c, r->prefix_len->value, cwhat,
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
	if (x_u32_in(c, m->destination_port->value, cwhat, "destination_port", 1,
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

	if (idx == SIZE_MAX)	/* the default_filter_chain */
		what_fmt(cwhat, "%s: default_filter_chain", lwhat);
	else
		what_index(cwhat, lwhat, "filter_chains", idx);
	ch->src = xds_src;
	ch->fallback = idx == SIZE_MAX;
	if (!pc->n_filters)
		return x_fail(c, cwhat,
			    "filters is empty, needs a tcp_proxy or http_connection_manager filter");
	for (size_t i = 0; i < pc->n_filters; i++) {
		ret = read_filter(c, pc->filters[i], cwhat, ch);
		if (ret)
			return ret;
	}
	*served = ch->kind != 0;
	if (!*served) {
		km_chain_free(ch);	/* its RBAC engines, if any */
		return 0;
	}
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
	ret = x_read_address(c, pl->address, lwhat, "address", &l->addrs[0],
			   &l->port);
	for (size_t i = 0; !ret && i < n_extra; i++) {
		const Envoy__Config__Listener__V3__AdditionalAddress *e =
			pl->additional_addresses[i];
		uint16_t port;

		what_index(awhat, lwhat, "additional_addresses", i);
		ret = x_read_address(c, e->address, awhat, "address",
				   &l->addrs[1 + i], &port);
		if (!ret && port != l->port)
			ret = x_fail(c, awhat,
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
	return x_fail(c, lwhat, "unknown traffic_direction %d",
		    pl->traffic_direction);
}

int x_read_listener(struct ctx *c, const pb_listener *pl,
			 struct km_m_listener *l)
{
	char lwhat[WHAT_LEN], cwhat[WHAT_LEN];
	/* orig: the filter_chains index of each kept chain; the
	 * default_filter_chain, if any, is read last as index SIZE_MAX */
	size_t nc = pl->n_filter_chains + !!pl->default_filter_chain, kept = 0,
	       *orig = NULL;
	int ret;

	ret = x_str_at(c, pl->name, "listener", "name", KM_NAME_MAX, false,
		     &l->name);
	if (ret)
		return ret;
	l->src = xds_src;
	what_named(c, lwhat, NULL, "listener", l->name);
	ret = read_direction(c, pl, lwhat, l);
	/* istiod before traffic_direction named it: never served either */
	c->inbound = l->direction == KM_DIR_INBOUND ||
		     !strcmp(l->name, "virtualInbound");
	if (!ret)
		ret = read_listener_addrs(c, pl, lwhat, l);
	if (ret)
		return ret;

	if (!nc)
		return x_fail(c, lwhat, "filter_chains is empty");
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
		bool dflt = i == pl->n_filter_chains, served = false;

		ret = read_chain(c, dflt ? pl->default_filter_chain :
				 pl->filter_chains[i], lwhat, dflt ? SIZE_MAX : i,
				 ch, &served);
		if (ret)
			goto out;
		if (!served) {
			memset(ch, 0, sizeof(*ch));
			continue;
		}
		for (size_t j = 0; j < kept && !dflt; j++) {
			if (!same_match(&l->chains[j], ch))
				continue;
			what_index(cwhat, lwhat, "filter_chains", i);
			ret = x_fail(c, cwhat,
				   "same filter_chain_match as filter_chains[%zu]",
				   orig[j]);
			goto out;
		}
		orig[kept++] = i;
	}
	l->n_chains = kept;
	ret = x_audit_listener(c, l, lwhat);
	if (ret)
		goto out;
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
