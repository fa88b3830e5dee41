// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Access-control filters from LDS (rbac.h).
 *
 * Network and HTTP RBAC (envoy.extensions.filters.{network,http}.rbac.v3)
 * are decoded into the chain's engines (model/authz.h): rules and
 * shadow_rules, policies of permissions and principals with and/or/not,
 * any, destination_port(_range), destination_ip, source_ip /
 * direct_remote_ip / remote_ip and authenticated principal_name. What a
 * connect cannot be judged by (headers, url_path, metadata, SNI, CEL
 * conditions, filter_state, principal patterns kmesh cannot resolve)
 * becomes an unknown condition, which fails closed in the kernel. Matcher
 * trees are refused, and so is every other access-control filter, with
 * the reason (model/authz.c), but ext_authz (Istio's CUSTOM), which fails
 * closed (custom() below).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envoy/extensions/filters/http/rbac/v3/rbac.pb-c.h"
#include "envoy/extensions/filters/network/rbac/v3/rbac.pb-c.h"
#include "envoy/config/route/v3/route_components.pb-c.h"
#include "xds_rbac.h"
#include "authz.h"
#include "diag.h"

/* and/or/not nesting a policy may have (Istio writes about 4) */
#define MAX_DEPTH 32
#define WHAT_LEN 384

typedef Envoy__Config__Rbac__V3__RBAC pb_rules;
typedef Envoy__Config__Rbac__V3__Policy pb_policy;
typedef Envoy__Config__Rbac__V3__Permission pb_perm;
typedef Envoy__Config__Rbac__V3__Principal pb_prin;
typedef Envoy__Type__Matcher__V3__StringMatcher pb_string_matcher;
typedef Envoy__Extensions__Filters__Network__Rbac__V3__RBAC pb_net_rbac;
typedef Envoy__Extensions__Filters__Http__Rbac__V3__RBAC pb_http_rbac;

struct rc {
	struct km_err *err;
	const char *what;	/* "listener 'l': filter_chains[0]: ..." */
};

static int __attribute__((format(printf, 2, 3)))
fail(struct rc *c, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	km_err_set(c->err, "%s: %s", c->what, msg);
	km_one_line(c->err->msg);	/* names from the wire may hold anything */
	return -EINVAL;
}

static int oom(struct rc *c)
{
	km_err_set(c->err, "xds: out of memory");
	return -ENOMEM;
}

static int refuse(const char *name, const Google__Protobuf__Any *tc,
		  const char *what, const char *why, struct km_err *err)
{
	enum km_authz_filter f = km_authz_filter(name, tc ? tc->type_url : NULL);

	km_err_set(err, "%s: filter '%.64s': %s", what,
		   name && *name ? name : km_authz_filter_label(f),
		   why ? why : km_authz_refusal(f));
	km_one_line(err->msg);
	return -EINVAL;
}

/* A message of ours with fields this build does not know: a newer
 * condition, refused by number. */
static int unknown_fields(struct rc *c, const ProtobufCMessage *m,
			  const char *name)
{
	if (!m->n_unknown_fields)
		return 0;
	return fail(c, "%s: field %u is not supported", name,
		    (unsigned int)m->unknown_fields[0].tag);
}

/* ---- conditions ------------------------------------------------------------ */

static int unknown(struct rc *c, struct km_az_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int unknown(struct rc *c, struct km_az_node *n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = km_az_node_unknown(n, fmt, ap);
	va_end(ap);
	if (ret)
		return oom(c);
	return 0;
}

static int cidr(struct rc *c, const Envoy__Config__Core__V3__CidrRange *r,
		const char *name, uint8_t kind, struct km_az_node *n)
{
	n->kind = kind;
	if (km_az_cidr(r->address_prefix, r->prefix_len != NULL,
		       r->prefix_len ? r->prefix_len->value : 0, &n->cidr))
		return fail(c, "%s '%.64s/%u' is not an IPv4 or IPv6 prefix",
			    name, r->address_prefix ? r->address_prefix : "",
			    r->prefix_len ? r->prefix_len->value : 0);
	return 0;
}

typedef int reader(struct rc *c, const void *m, int depth,
		   struct km_az_node *n);

/* An and/or set of @k sub-messages, each read by @read. */
static int set_of(struct rc *c, void *const *items, size_t k, uint8_t kind,
		  const char *name, reader *read, int depth,
		  struct km_az_node *n)
{
	int ret;

	n->kind = kind;
	if (!k)
		return fail(c, "%s is empty", name);
	n->kids = calloc(k, sizeof(*n->kids));
	if (!n->kids)
		return oom(c);
	n->n_kids = k;
	for (size_t i = 0; i < k; i++) {
		ret = read(c, items[i], depth + 1, &n->kids[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int not_of(struct rc *c, const void *m, reader *read, int depth,
		  struct km_az_node *n)
{
	n->kind = KM_AZN_NOT;
	n->kids = calloc(1, sizeof(*n->kids));
	if (!n->kids)
		return oom(c);
	n->n_kids = 1;
	return read(c, m, depth + 1, &n->kids[0]);
}

static int read_perm(struct rc *c, const void *m, int depth,
		     struct km_az_node *n);
static int read_prin(struct rc *c, const void *m, int depth,
		     struct km_az_node *n);

static int port_range(struct rc *c, const Envoy__Type__V3__Int32Range *r,
		      struct km_az_node *n)
{
	/* [start, end), as Envoy; what no port can be in matches nothing */
	int64_t lo = r->start < 0 ? 0 : r->start;
	int64_t hi = (int64_t)r->end - 1 > 65535 ? 65535 : (int64_t)r->end - 1;

	if (lo > hi) {
		n->kind = KM_AZN_NONE;
		return 0;
	}
	n->kind = KM_AZN_DPORT;
	n->lo = (uint16_t)lo;
	n->hi = (uint16_t)hi;
	return 0;
}

static int read_perm(struct rc *c, const void *m, int depth,
		     struct km_az_node *n)
{
	const pb_perm *p = m;

	if (depth > MAX_DEPTH)
		return fail(c, "permission nested deeper than %d", MAX_DEPTH);
	switch (p->rule_case) {
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_AND_RULES:
		return set_of(c, (void *const *)p->and_rules->rules,
			      p->and_rules->n_rules, KM_AZN_AND, "and_rules",
			      read_perm, depth, n);
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_OR_RULES:
		return set_of(c, (void *const *)p->or_rules->rules,
			      p->or_rules->n_rules, KM_AZN_OR, "or_rules",
			      read_perm, depth, n);
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_ANY:
		n->kind = KM_AZN_ANY;
		return 0;
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_HEADER:
		return unknown(c, n, "header '%.64s'", p->header->name);
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_URL_PATH:
		return unknown(c, n, "url_path");
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_DESTINATION_IP:
		return cidr(c, p->destination_ip, "destination_ip",
			    KM_AZN_DIP, n);
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_DESTINATION_PORT:
		if (p->destination_port > 65535)
			return fail(c, "destination_port %" PRIu32 " is out of range (0-65535)",
				    p->destination_port);
		n->kind = KM_AZN_DPORT;
		n->lo = n->hi = (uint16_t)p->destination_port;
		return 0;
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_DESTINATION_PORT_RANGE:
		return port_range(c, p->destination_port_range, n);
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_METADATA:
		return unknown(c, n, "metadata");
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_NOT_RULE:
		return not_of(c, p->not_rule, read_perm, depth, n);
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_REQUESTED_SERVER_NAME:
		return unknown(c, n, "requested_server_name");
	case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_MATCHER:
		return unknown(c, n, "an extension matcher");
	default:
		if (unknown_fields(c, &p->base, "permission"))
			return -EINVAL;
		return fail(c, "a permission has no rule");
	}
}

/* authenticated.principal_name: what kmesh proves about a peer is its
 * enrolled namespace and service account (authz.h). */
static int principal_name(struct rc *c, const pb_string_matcher *sm,
			  struct km_az_node *n)
{
	const char *s;
	int ret;

	if (!sm || sm->match_pattern_case ==
		   ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN__NOT_SET) {
		n->kind = KM_AZN_IDENT;	/* any authenticated peer */
		return 0;
	}
	if (sm->ignore_case)
		return unknown(c, n, "principal_name with ignore_case");
	switch (sm->match_pattern_case) {
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_EXACT:
		ret = km_az_principal_exact(sm->exact, n);
		return ret ? oom(c) : 0;
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_PREFIX:
		s = sm->prefix;
		ret = km_az_principal_prefix(s, n);
		break;
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SAFE_REGEX:
		s = sm->safe_regex ? sm->safe_regex->regex : "";
		ret = km_az_principal_regex(s, n);
		break;
	case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SUFFIX:
		s = sm->suffix;
		ret = 1;
		break;
	default:
		s = sm->contains;
		ret = 1;
		break;
	}
	if (ret < 0)
		return oom(c);
	return ret ? unknown(c, n, "principal_name '%.64s'", s) : 0;
}

static int read_prin(struct rc *c, const void *m, int depth,
		     struct km_az_node *n)
{
	const pb_prin *p = m;

	if (depth > MAX_DEPTH)
		return fail(c, "principal nested deeper than %d", MAX_DEPTH);
	switch (p->identifier_case) {
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_AND_IDS:
		return set_of(c, (void *const *)p->and_ids->ids,
			      p->and_ids->n_ids, KM_AZN_AND, "and_ids",
			      read_prin, depth, n);
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_OR_IDS:
		return set_of(c, (void *const *)p->or_ids->ids,
			      p->or_ids->n_ids, KM_AZN_OR, "or_ids",
			      read_prin, depth, n);
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_ANY:
		n->kind = KM_AZN_ANY;
		return 0;
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_AUTHENTICATED:
		return principal_name(c, p->authenticated->principal_name, n);
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_SOURCE_IP:
		return cidr(c, p->source_ip, "source_ip", KM_AZN_SIP, n);
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_DIRECT_REMOTE_IP:
		return cidr(c, p->direct_remote_ip, "direct_remote_ip",
			    KM_AZN_SIP, n);
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_REMOTE_IP:
		/* no proxy protocol, no XFF at connect: the peer itself */
		return cidr(c, p->remote_ip, "remote_ip", KM_AZN_SIP, n);
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_HEADER:
		return unknown(c, n, "header '%.64s'", p->header->name);
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_URL_PATH:
		return unknown(c, n, "url_path");
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_METADATA:
		return unknown(c, n, "metadata");
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_FILTER_STATE:
		return unknown(c, n, "filter_state");
	case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_NOT_ID:
		return not_of(c, p->not_id, read_prin, depth, n);
	default:
		if (unknown_fields(c, &p->base, "principal"))
			return -EINVAL;
		return fail(c, "a principal has no identifier");
	}
}

/* ---- rules --------------------------------------------------------------------- */

static int read_policy(struct rc *c, const char *name, const pb_policy *p,
		       struct km_az_policy *out)
{
	char what[WHAT_LEN];
	const char *parent = c->what;
	int ret;

	snprintf(what, sizeof(what), "%s: policy '%.64s'", parent, name);
	c->what = what;
	out->name = strdup(name);
	if (!out->name) {
		ret = oom(c);
		goto out;
	}
	ret = unknown_fields(c, &p->base, "policy");
	if (!ret)
		ret = set_of(c, (void *const *)p->permissions, p->n_permissions,
			     KM_AZN_OR, "permissions", read_perm, 0,
			     &out->permissions);
	if (!ret)
		ret = set_of(c, (void *const *)p->principals, p->n_principals,
			     KM_AZN_OR, "principals", read_prin, 0,
			     &out->principals);
	out->condition = p->condition || p->checked_condition;
out:
	c->what = parent;
	return ret;
}

/* rules or shadow_rules of a filter named @name: an engine, none for the
 * LOG action (which allows everything). */
static int read_rules(struct rc *c, const pb_rules *r, const char *name,
		      bool shadow, bool http, struct km_m_chain *ch)
{
	struct km_az_engine *e;
	const char *dup;
	int ret;

	ret = unknown_fields(c, &r->base, shadow ? "shadow_rules" : "rules");
	if (ret)
		return ret;
	if (r->action == ENVOY__CONFIG__RBAC__V3__RBAC__ACTION__LOG)
		return 0;
	if (r->action != ENVOY__CONFIG__RBAC__V3__RBAC__ACTION__ALLOW &&
	    r->action != ENVOY__CONFIG__RBAC__V3__RBAC__ACTION__DENY)
		return fail(c, "unknown action %d", r->action);
	e = km_az_engine_add(ch);
	if (!e)
		return oom(c);
	e->src = (struct km_src){ .file = "xds" };
	e->deny = r->action == ENVOY__CONFIG__RBAC__V3__RBAC__ACTION__DENY;
	e->shadow = shadow;
	e->http = http;
	e->name = strdup(name);
	e->policies = calloc(r->n_policies ? r->n_policies : 1,
			     sizeof(*e->policies));
	if (!e->name || !e->policies)
		return oom(c);
	for (size_t i = 0; i < r->n_policies; i++) {
		const Envoy__Config__Rbac__V3__RBAC__PoliciesEntry *pe =
			r->policies[i];

		e->n_policies++;
		if (!pe->value)
			return fail(c, "policy '%.64s' is empty", pe->key);
		ret = read_policy(c, pe->key, pe->value, &e->policies[i]);
		if (ret)
			return ret;
	}
	if (km_az_engine_sort(e, &dup))
		return fail(c, "policy '%.64s' appears twice", dup);
	return 0;
}

/* The filter's name in counters and logs: its stat_prefix, else its
 * name. */
static const char *engine_name(const char *stat_prefix, const char *name)
{
	if (stat_prefix && *stat_prefix)
		return stat_prefix;
	return name && *name ? name : "rbac";
}

static int read_both(struct rc *c, const pb_rules *rules,
		     const pb_rules *shadow, const char *name, bool http,
		     struct km_m_chain *ch)
{
	int ret = 0;

	if (rules)
		ret = read_rules(c, rules, name, false, http, ch);
	if (!ret && shadow)
		ret = read_rules(c, shadow, name, true, http, ch);
	return ret;
}

static int decode_net(struct rc *c, const Google__Protobuf__Any *tc,
		      const char *name, struct km_m_chain *ch)
{
	pb_net_rbac *r = envoy__extensions__filters__network__rbac__v3__rbac__unpack(
		NULL, tc->value.len, tc->value.data);
	int ret;

	if (!r)
		return fail(c, "cannot decode typed_config (%zu bytes)",
			    tc->value.len);
	if (r->matcher || r->shadow_matcher)
		ret = fail(c, "%s is not supported (rules and shadow_rules only): refused",
			   r->matcher ? "matcher" : "shadow_matcher");
	else
		ret = read_both(c, r->rules, r->shadow_rules,
				engine_name(r->stat_prefix, name), false, ch);
	envoy__extensions__filters__network__rbac__v3__rbac__free_unpacked(r,
									   NULL);
	return ret;
}

static int decode_http(struct rc *c, const Google__Protobuf__Any *tc,
		       const char *name, struct km_m_chain *ch)
{
	pb_http_rbac *r = envoy__extensions__filters__http__rbac__v3__rbac__unpack(
		NULL, tc->value.len, tc->value.data);
	int ret;

	if (!r)
		return fail(c, "cannot decode typed_config (%zu bytes)",
			    tc->value.len);
	if (r->matcher || r->shadow_matcher)
		ret = fail(c, "%s is not supported (rules and shadow_rules only): refused",
			   r->matcher ? "matcher" : "shadow_matcher");
	else
		ret = read_both(c, r->rules, r->shadow_rules,
				engine_name(NULL, name), true, ch);
	envoy__extensions__filters__http__rbac__v3__rbac__free_unpacked(r,
									NULL);
	return ret;
}

/* An RBAC filter whose typed_config is the RBAC message (a TypedStruct or
 * no typed_config at all cannot be read: refused). */
static int rbac_filter(const char *name, const Google__Protobuf__Any *tc,
		       const char *what, bool http, struct km_m_chain *ch,
		       struct km_err *err)
{
	enum km_authz_filter want = http ? KM_AF_HTTP_RBAC : KM_AF_NET_RBAC;
	char fwhat[WHAT_LEN];
	struct rc c = { .err = err, .what = fwhat };

	if (!tc || km_authz_filter(NULL, tc->type_url) != want)
		return refuse(name, tc, what,
			      "an RBAC filter without its RBAC typed_config cannot be read, and is never skipped: refused",
			      err);
	snprintf(fwhat, sizeof(fwhat), "%s: filter '%.64s'", what,
		 name && *name ? name : km_authz_filter_label(want));
	return http ? decode_http(&c, tc, name, ch) :
		      decode_net(&c, tc, name, ch);
}

/*
 * CUSTOM authorization (ext_authz) cannot be called from the kernel, and
 * refusing the listener would freeze every other policy on it at its last
 * version: the chain gets an ALLOW engine whose one policy kmesh cannot
 * evaluate, so every connection there is denied (fail closed), counted and
 * said at every load (authz_compile.c's fail-closed lines).
 */
static int custom(const char *name, struct km_m_chain *ch, bool http,
		  struct km_err *err)
{
	struct km_az_engine *e = km_az_engine_add(ch);
	struct km_az_policy *p;

	if (!e)
		goto oom;
	e->src = (struct km_src){ .file = "xds" };
	e->http = http;
	e->custom = true;
	e->name = strdup(name && *name ? name : "ext_authz");
	p = e->policies = calloc(1, sizeof(*e->policies));
	if (!e->name || !p)
		goto oom;
	e->n_policies = 1;
	p->name = strdup("CUSTOM");
	p->permissions.kind = KM_AZN_OR;
	p->permissions.kids = calloc(1, sizeof(*p->permissions.kids));
	p->principals.kind = KM_AZN_OR;
	p->principals.kids = calloc(1, sizeof(*p->principals.kids));
	if (!p->name || !p->permissions.kids || !p->principals.kids)
		goto oom;
	p->permissions.n_kids = p->principals.n_kids = 1;
	p->permissions.kids[0].kind = KM_AZN_UNKNOWN;
	p->permissions.kids[0].what = strdup("CUSTOM authorization (ext_authz, not callable from the kernel)");
	p->principals.kids[0].kind = KM_AZN_ANY;
	if (!p->permissions.kids[0].what)
		goto oom;
	return 0;
oom:
	km_err_set(err, "xds: out of memory");
	return -ENOMEM;
}

int km_xds_authz_filter(const char *name, const Google__Protobuf__Any *tc,
			const char *cwhat, struct km_m_chain *ch,
			struct km_err *err)
{
	enum km_authz_filter f = km_authz_filter(name, tc ? tc->type_url : NULL);

	if (f == KM_AF_NET_RBAC)
		return rbac_filter(name, tc, cwhat, false, ch, err);
	if (f == KM_AF_NET_EXT_AUTHZ)
		return custom(name, ch, false, err);
	return refuse(name, tc, cwhat, NULL, err);
}

int km_xds_authz_http_filter(const char *name, const Google__Protobuf__Any *tc,
			     const char *hwhat, struct km_m_chain *ch,
			     struct km_err *err)
{
	enum km_authz_filter f = km_authz_filter(name, tc ? tc->type_url : NULL);

	if (f == KM_AF_HTTP_RBAC)
		return rbac_filter(name, tc, hwhat, true, ch, err);
	if (f == KM_AF_HTTP_EXT_AUTHZ)
		return custom(name, ch, true, err);
	return refuse(name, tc, hwhat, NULL, err);
}

/* ---- per-route configs ------------------------------------------------------ */

#define URL_FILTER_CONFIG "type.googleapis.com/envoy.config.route.v3.FilterConfig"

/* The type URL of an entry's config, looking into a FilterConfig. */
static bool per_route_authz(const char *key, const Google__Protobuf__Any *v)
{
	static const char *const per_route[] = {
		".rbac.v3.RBACPerRoute", ".ext_authz.v3.ExtAuthzPerRoute",
		".jwt_authn.v3.PerRouteConfig", ".basic_auth.v3.BasicAuthPerRoute",
	};
	Envoy__Config__Route__V3__FilterConfig *fc;
	const char *url = v && v->type_url ? v->type_url : "";
	bool inner = false;

	if (km_authz_filter(key, NULL) || km_authz_filter(NULL, url))
		return true;
	for (size_t i = 0; i < sizeof(per_route) / sizeof(per_route[0]); i++) {
		size_t n = strlen(url), m = strlen(per_route[i]);

		if (n >= m && !strcmp(url + n - m, per_route[i]))
			return true;
	}
	if (strcmp(url, URL_FILTER_CONFIG))
		return false;
	fc = envoy__config__route__v3__filter_config__unpack(NULL, v->value.len,
							     v->value.data);
	if (!fc)
		return true;	/* unreadable: fail closed */
	inner = fc->config && per_route_authz(NULL, fc->config);
	envoy__config__route__v3__filter_config__free_unpacked(fc, NULL);
	return inner;
}

/* Walks every message field of @m (its descriptor says which), depth
 * bounded by the message's own nesting. */
static int walk_per_route(const ProtobufCMessage *m, const char *what,
			  struct km_err *err, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (depth > 16)
		return 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		ProtobufCMessage *const *arr;
		size_t n;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			arr = *(ProtobufCMessage *const **)(base + f->offset);
		} else {
			n = 1;
			arr = (ProtobufCMessage *const *)(base + f->offset);
		}
		for (size_t j = 0; j < n; j++) {
			const ProtobufCMessage *sub = arr[j];

			if (!sub)
				continue;
			if (!strcmp(f->name, "typed_per_filter_config")) {
				const char *key = *(char *const *)((const char *)sub +
					sub->descriptor->fields[0].offset);
				const Google__Protobuf__Any *v =
					*(Google__Protobuf__Any *const *)((const char *)sub +
					sub->descriptor->fields[1].offset);

				if (per_route_authz(key, v)) {
					km_err_set(err, "%s: typed_per_filter_config '%.64s': per-route access control is not supported (kmesh enforces one policy per connection): refused",
						   what, key ? key : "");
					km_one_line(err->msg);
					return -EINVAL;
				}
				continue;
			}
			if (walk_per_route(sub, what, err, depth + 1))
				return -EINVAL;
		}
	}
	return 0;
}

int km_xds_authz_per_route(const ProtobufCMessage *rc, const char *what,
			   struct km_err *err)
{
	return walk_per_route(rc, what, err, 0);
}
