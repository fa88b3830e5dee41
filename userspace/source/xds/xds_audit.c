// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* No silent drops: each field and filter enforced, refused or counted (xds_audit.h). */
#include "xds_audit.h"

#include "envoy/config/core/v3/base.pb-c.h"
#include "not_enforced.h"

static struct km_notenf *audit_sink;
static bool audit_strict;

void km_xds_audit_set(struct km_notenf *sink, bool strict)
{
	audit_sink = sink;
	audit_strict = strict;
}

void x_audit_ctx(struct ctx *c)
{
	c->ne = audit_sink;
	c->strict = audit_strict;
}

/* Accepted but not enforced: counted, or refused under --strict. */
static int not_enforced(struct ctx *c, int kind, const char *what,
			const char *field)
{
	char ex[WHAT_LEN];

	if (c->strict)
		return x_fail(c, what, "%s is not enforced by kmesh (%s), refused under --strict",
			      field, km_notenf_text(kind));
	what_fmt(ex, "%s: %s", what, field);
	km_notenf_add(c->ne, kind, ex);
	return 0;
}

/* --strict refuses the readers' own list too (model/not_enforced.c), for
 * the one resource @one holds. */
int x_audit_strict(struct ctx *c, const struct km_model *one, const char *what)
{
	struct km_ne_item it[KM_NE_COUNT];

	if (!c->strict || !km_not_enforced(one, it))
		return 0;
	return x_fail(c, what, "%s is not enforced by kmesh, refused under --strict",
		      it[0].kind);
}

/* ---- fields -------------------------------------------------------------- */

static const struct x_field_rule *rule_of(const char *msg, uint32_t tag)
{
	size_t lo = 0, hi = x_n_field_rules;

	while (lo < hi) {	/* sorted by message name, then tag */
		size_t mid = (lo + hi) / 2;
		const struct x_field_rule *r = &x_field_rules[mid];
		int d = strcmp(r->msg, msg);

		if (!d)
			d = r->tag < tag ? -1 : r->tag > tag;
		if (!d)
			return r;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Messages the table lists are walked; others are the readers' whole. */
static bool walked(const char *msg)
{
	size_t lo = 0, hi = x_n_field_rules;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(x_field_rules[mid].msg, msg) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x_n_field_rules && !strcmp(x_field_rules[lo].msg, msg);
}

/* A field the message holds (proto3: set means not the default). */
static size_t present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	const char *base = (const char *)m;
	const void *p = base + fd->offset;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + fd->quantifier_offset);
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + fd->quantifier_offset) == fd->id;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
	    fd->type != PROTOBUF_C_TYPE_MESSAGE && fd->type != PROTOBUF_C_TYPE_STRING)
		return *(const protobuf_c_boolean *)(base + fd->quantifier_offset);
	switch (fd->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)p != NULL;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)p;

		return s && *s && s != (const char *)fd->default_value;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len != 0;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return *(const uint64_t *)p != 0;
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)p != 0;
	default:
		return *(const uint32_t *)p != 0;
	}
}

static int apply_rule(struct ctx *c, const struct x_field_rule *r,
		      const char *msg, uint32_t tag, const char *what)
{
	if (!r)
		return x_fail(c, what, "field %u of %s is not supported", tag, msg);
	switch (r->cls) {
	case X_N:
		return not_enforced(c, r->kind, what, r->name);
	case X_R:
		return x_fail(c, what, "%s: %s", r->name, r->why);
	default:
		return 0;
	}
}

/* Byte-level: does this (unknown to kmesh's protos) field hold @s? */
static bool holds(const void *arg, const char *s)
{
	const ProtobufCMessageUnknownField *u = arg;

	return memmem(u->data, u->len, s, strlen(s)) != NULL;
}

/*
 * Upstream TLS: kmesh sends plaintext. Istio's mutual TLS is the one
 * exception Istio meshes cannot run without: accepted, loud (mtls). Any
 * other TLS origination is refused: that cluster would go out plaintext
 * where its config asks for TLS (km_upstream_ts_class).
 */
static int audit_upstream_tls(struct ctx *c, const ProtobufCMessageUnknownField *u,
			      const char *what, const char *field)
{
	switch (km_upstream_ts_class(holds, u)) {
	case KM_TS_INTERNAL:
		return x_fail(c, what, "%s: internal_upstream transport sockets (ambient HBONE) are not supported",
			      field);
	case KM_TS_ISTIO_MTLS:
		return not_enforced(c, KM_NK_MTLS, what, field);
	case KM_TS_TLS:
		return x_fail(c, what, "%s: TLS origination is not supported (kmesh would send it plaintext)",
			      field);
	default:
		return 0;
	}
}

/* Fields by content rather than by name alone. 1: not one of them. */
static int audit_special(struct ctx *c, const char *msg,
			 const ProtobufCMessageUnknownField *u, const char *what)
{
	if (!strcmp(msg, "envoy.config.cluster.v3.Cluster") && u->tag == 24)
		return audit_upstream_tls(c, u, what, "transport_socket");
	if (!strcmp(msg, "envoy.config.cluster.v3.Cluster") && u->tag == 43)
		return audit_upstream_tls(c, u, what, "transport_socket_matches");
	if (!strcmp(msg, "envoy.config.listener.v3.Listener") && u->tag == 32)
		return c->inbound ? not_enforced(c, KM_NK_INBOUND, what, "filter_chain_matcher") :
		       x_fail(c, what, "filter_chain_matcher is not supported (filter_chains only)");
	return 1;
}

int x_audit(struct ctx *c, const ProtobufCMessage *m, const char *what)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	uint32_t last = 0;
	int ret;

	for (unsigned i = 0; i < m->n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];

		ret = audit_special(c, d->name, u, what);
		if (ret <= 0) {
			if (ret)
				return ret;
			continue;
		}
		if (u->tag == last)	/* a repeated field: counted once */
			continue;
		last = u->tag;
		ret = apply_rule(c, rule_of(d->name, u->tag), d->name, u->tag, what);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const struct x_field_rule *r = rule_of(d->name, fd->id);
		const ProtobufCMessageDescriptor *sub;
		char fwhat[WHAT_LEN];
		size_t n = present(m, fd);

		if (!n)
			continue;
		if (r && r->cls != X_E) {
			ret = apply_rule(c, r, d->name, fd->id, what);
			if (ret)
				return ret;
			continue;
		}
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		sub = fd->descriptor;
		if (!walked(sub->name))
			continue;
		what_fmt(fwhat, "%s: %s", what, fd->name);
		for (size_t k = 0; k < n; k++) {
			const char *p = (const char *)m + fd->offset;
			const ProtobufCMessage *s = fd->label == PROTOBUF_C_LABEL_REPEATED ?
				(*(ProtobufCMessage *const *const *)p)[k] :
				*(ProtobufCMessage *const *)p;

			ret = x_audit(c, s, fwhat);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* ---- filters --------------------------------------------------------------- */

enum f_class { F_NE, F_DENY, F_OWN, F_ROUTER };

/* By the last component of the type URL, else by name: what each filter
 * istiod (1.1 to 1.24) sends is. F_DENY: it can refuse requests, which
 * kmesh cannot evaluate: refused on outbound listeners; on inbound ones
 * (never served) counted as "inbound" and shown as a warning. */
static const struct {
	const char *id;
	uint8_t cls;
	uint8_t kind;
} filters[] = {
	/* the router by its v2 names (no typed_config): enforced */
	{ "envoy.router", F_ROUTER, 0 },
	{ "envoy.filters.http.router", F_ROUTER, 0 },
	{ "envoy.extensions.filters.http.fault.v3.HTTPFault", F_NE, KM_NK_FAULT_INJECTION },
	{ "envoy.fault", F_NE, KM_NK_FAULT_INJECTION },
	{ "envoy.extensions.filters.http.cors.v3.Cors", F_NE, KM_NK_CORS },
	{ "envoy.cors", F_NE, KM_NK_CORS },
	{ "envoy.extensions.filters.http.grpc_stats.v3.FilterConfig", F_NE, KM_NK_TELEMETRY },
	{ "stats.PluginConfig", F_NE, KM_NK_TELEMETRY },		/* istio.stats */
	{ "istio.stats", F_NE, KM_NK_TELEMETRY },
	{ "istio.metadata_exchange", F_NE, KM_NK_TELEMETRY },
	{ "envoy.tcp.metadataexchange.config.MetadataExchange", F_NE, KM_NK_TELEMETRY },
	{ "io.istio.http.peer_metadata.Config", F_NE, KM_NK_TELEMETRY },
	{ "istio.mixer.v1.config.client.HttpClientConfig", F_NE, KM_NK_TELEMETRY },
	{ "istio.mixer.v1.config.client.TcpClientConfig", F_NE, KM_NK_TELEMETRY },
	{ "mixer", F_NE, KM_NK_TELEMETRY },
	{ "envoy.filters.network.mongo_proxy", F_NE, KM_NK_TELEMETRY },
	{ "envoy.extensions.filters.network.mongo_proxy.v3.MongoProxy", F_NE, KM_NK_TELEMETRY },
	/* upstream ALPN for Istio's mTLS */
	{ "istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig", F_NE, KM_NK_CONNECTION },
	{ "istio.alpn", F_NE, KM_NK_CONNECTION },
	/* peer identity from mTLS, for RBAC: denies nothing itself */
	{ "io.istio.network.authn.Config", F_NE, KM_NK_INBOUND },
	{ "istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig", F_DENY, 0 },
	{ "istio_authn", F_DENY, 0 },
	{ "istio.envoy.config.filter.http.jwt_auth.v2alpha1.JwtAuthentication", F_DENY, 0 },
	{ "jwt-auth", F_DENY, 0 },
	{ "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication", F_DENY, 0 },
	{ "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz", F_DENY, 0 },
	{ "envoy.extensions.filters.network.ext_authz.v3.ExtAuthz", F_DENY, 0 },
	/* RBAC: the authorization work's own (fails closed there) */
	{ "envoy.extensions.filters.http.rbac.v3.RBAC", F_OWN, 0 },
	{ "envoy.extensions.filters.network.rbac.v3.RBAC", F_OWN, 0 },
	{ "envoy.filters.http.rbac", F_OWN, 0 },
	{ "envoy.filters.network.rbac", F_OWN, 0 },
};

static const char *type_of_any(const Google__Protobuf__Any *a)
{
	const char *s;

	if (!a || !a->type_url)
		return NULL;
	s = strrchr(a->type_url, '/');
	return s ? s + 1 : a->type_url;
}

/* Istio's Wasm filters are named for what they do: stats, metadata
 * exchange. Any other Wasm module may deny requests. */
static int classify(const char *type, const char *name)
{
	bool wasm = type && strstr(type, ".wasm.v3.Wasm");

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if ((type && !wasm && !strcmp(type, filters[i].id)) ||
		    (name && (wasm || !type || !strncmp(type, "udpa.", 5) ||
			      !strncmp(type, "xds.", 4)) &&
		     !strcmp(name, filters[i].id)))
			return (int)i;
	return -1;
}

static int audit_filter(struct ctx *c, const char *type, const char *name,
			const char *what, const char *kind)
{
	int i = classify(type, name);
	char fwhat[WHAT_LEN];

	what_fmt(fwhat, "%s: %s", what, name && *name ? name : "(unnamed)");
	if (i < 0)
		return x_fail(c, fwhat, "%s filter %s is not supported (kmesh cannot tell whether ignoring it is safe)",
			      kind, type ? type : "without typed_config");
	switch (filters[i].cls) {
	case F_ROUTER:
		return 0;
	case F_OWN:
		return 1;
	case F_DENY:
		if (c->inbound)
			return not_enforced(c, KM_NK_INBOUND, what, name);
		return x_fail(c, fwhat, "%s can refuse requests, which kmesh cannot evaluate",
			      type ? type : name);
	default:
		return not_enforced(c, filters[i].kind, what, name);
	}
}

int x_audit_net_filter(struct ctx *c, const pb_filter *f, const char *what)
{
	const Google__Protobuf__Any *tc =
		f->config_type_case == ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG ?
		f->typed_config : NULL;

	return audit_filter(c, type_of_any(tc), f->name, what, "network");
}

int x_audit_http_filter(struct ctx *c, const pb_http_filter *f,
			const char *what)
{
	const Google__Protobuf__Any *tc =
		f->config_type_case ==
		ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_FILTER__CONFIG_TYPE_TYPED_CONFIG ?
		f->typed_config : NULL;

	/* an optional filter Envoy may skip when it does not know it */
	if (f->disabled)
		return 0;
	return audit_filter(c, type_of_any(tc), f->name, what, "HTTP");
}

/* ---- listener-wide --------------------------------------------------------- */

#define ISTIO_BLACKHOLE "BlackHoleCluster"

int x_audit_listener(struct ctx *c, const struct km_m_listener *l,
		     const char *what)
{
	if (strcmp(l->name, "virtualOutbound") && strcmp(l->name, "virtual"))
		return 0;
	for (size_t i = 0; i < l->n_chains; i++) {
		const struct km_m_chain *ch = &l->chains[i];

		if (ch->kind == KM_CHAIN_TCP_PROXY && !ch->match.n_prefixes &&
		    ch->tcp.n_clusters == 1 &&
		    !strcmp(ch->tcp.clusters[0].cluster, ISTIO_BLACKHOLE))
			return not_enforced(c, KM_NK_REGISTRY_ONLY, what,
					    "catch-all chain to BlackHoleCluster");
	}
	return 0;
}
