// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Authorization (authz.h): which filters grant or deny access, and the
 * model of the RBAC rules kmesh enforces. The compiler is authz_compile.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "diag.h"

#define TYPE_URL_PREFIX "type.googleapis.com/"

static const struct {
	enum km_authz_filter f;
	const char *name;	/* Envoy's well-known filter name */
	const char *type;	/* typed_config message */
	const char *label;
	const char *refusal;
} filters[] = {
	{ KM_AF_NET_RBAC, "envoy.filters.network.rbac",
	  "envoy.extensions.filters.network.rbac.v3.RBAC", "network RBAC",
	  "network RBAC (envoy.filters.network.rbac) belongs in a filter "
	  "chain's filters, not here: refused" },
	{ KM_AF_HTTP_RBAC, "envoy.filters.http.rbac",
	  "envoy.extensions.filters.http.rbac.v3.RBAC", "HTTP RBAC",
	  "HTTP RBAC (envoy.filters.http.rbac) belongs in an "
	  "http_connection_manager's http_filters, not here: refused" },
	{ KM_AF_NET_EXT_AUTHZ, "envoy.filters.network.ext_authz",
	  "envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
	  "network ext_authz",
	  "ext_authz (CUSTOM authorization) belongs in a filter chain's "
	  "filters, not here: refused" },
	{ KM_AF_HTTP_EXT_AUTHZ, "envoy.filters.http.ext_authz",
	  "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
	  "HTTP ext_authz",
	  "ext_authz (CUSTOM authorization) belongs in an "
	  "http_connection_manager's http_filters, not here: refused" },
	{ KM_AF_JWT_AUTHN, "envoy.filters.http.jwt_authn",
	  "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
	  "JWT authentication",
	  "jwt_authn rejects requests and kmesh does not verify tokens: "
	  "refused" },
	{ KM_AF_BASIC_AUTH, "envoy.filters.http.basic_auth",
	  "envoy.extensions.filters.http.basic_auth.v3.BasicAuth",
	  "basic_auth", "basic_auth rejects requests and kmesh does not check "
	  "credentials: refused" },
	{ KM_AF_OAUTH2, "envoy.filters.http.oauth2",
	  "envoy.extensions.filters.http.oauth2.v3.OAuth2", "oauth2",
	  "oauth2 rejects requests and kmesh does not run it: refused" },
	{ KM_AF_CLIENT_SSL_AUTH, "envoy.filters.network.client_ssl_auth",
	  "envoy.extensions.filters.network.client_ssl_auth.v3.ClientSSLAuth",
	  "client_ssl_auth",
	  "client_ssl_auth needs TLS, which kmesh does not terminate: "
	  "refused" },
};

#define N_FILTERS (sizeof(filters) / sizeof(filters[0]))

enum km_authz_filter km_authz_filter(const char *name, const char *type_url)
{
	size_t n = strlen(TYPE_URL_PREFIX);

	if (type_url && !strncmp(type_url, TYPE_URL_PREFIX, n))
		type_url += n;
	for (size_t i = 0; type_url && i < N_FILTERS; i++)
		if (!strcmp(type_url, filters[i].type))
			return filters[i].f;
	for (size_t i = 0; name && i < N_FILTERS; i++)
		if (!strcmp(name, filters[i].name))
			return filters[i].f;
	return KM_AF_NONE;
}

static size_t find(enum km_authz_filter f)
{
	size_t i;

	for (i = 0; i < N_FILTERS - 1; i++)
		if (filters[i].f == f)
			break;
	return i;
}

const char *km_authz_filter_label(enum km_authz_filter f)
{
	return filters[find(f)].label;
}

const char *km_authz_refusal(enum km_authz_filter f)
{
	return filters[find(f)].refusal;
}

/* ---- the model ---------------------------------------------------------- */

void km_az_node_free(struct km_az_node *n)
{
	for (size_t i = 0; i < n->n_kids; i++)
		km_az_node_free(&n->kids[i]);
	free(n->kids);
	free(n->ns);
	free(n->sa);
	free(n->what);
	memset(n, 0, sizeof(*n));
}

void km_az_engines_free(struct km_az_engine *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < e[i].n_policies; j++) {
			struct km_az_policy *p = &e[i].policies[j];

			free(p->name);
			km_az_node_free(&p->permissions);
			km_az_node_free(&p->principals);
		}
		free(e[i].policies);
		free(e[i].name);
	}
	free(e);
}

struct km_az_engine *km_az_engine_add(struct km_m_chain *ch)
{
	struct km_az_engine *e;

	e = realloc(ch->authz, (ch->n_authz + 1) * sizeof(*e));
	if (!e)
		return NULL;
	ch->authz = e;
	e = &ch->authz[ch->n_authz++];
	memset(e, 0, sizeof(*e));
	return e;
}

int km_az_cidr(const char *addr, bool has_len, unsigned int len,
	       struct km_cidr *out)
{
	unsigned int max;

	if (!addr || km_ip_parse(addr, &out->ip))
		return -EINVAL;
	max = out->ip.family == KM_FAMILY_INET ? 32 : 128;
	if (has_len && len > max)
		return -EINVAL;
	out->len = has_len ? len : max;
	return 0;
}

static int policy_cmp(const void *a, const void *b)
{
	return strcmp(((const struct km_az_policy *)a)->name,
		      ((const struct km_az_policy *)b)->name);
}

int km_az_engine_sort(struct km_az_engine *e, const char **dup)
{
	if (e->n_policies > 1)
		qsort(e->policies, e->n_policies, sizeof(*e->policies),
		      policy_cmp);
	for (size_t i = 1; i < e->n_policies; i++) {
		if (!strcmp(e->policies[i - 1].name, e->policies[i].name)) {
			*dup = e->policies[i].name;
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- principal names ------------------------------------------------------ */

/* "[spiffe://]TD/ns/" at the start of s: the rest, or NULL. */
static const char *after_td(const char *s)
{
	static const char spiffe[] = "spiffe://";
	size_t td = strlen(KM_TRUST_DOMAIN);

	if (!strncmp(s, spiffe, sizeof(spiffe) - 1))
		s += sizeof(spiffe) - 1;
	if (strncmp(s, KM_TRUST_DOMAIN, td) || strncmp(s + td, "/ns/", 4))
		return NULL;
	return s + td + 4;
}

/* A Kubernetes name: no '/', no NUL, 1..max-1 bytes. */
static bool name_ok(const char *s, size_t len, size_t max)
{
	return len > 0 && len < max && !memchr(s, '/', len);
}

static int set_ns(struct km_az_node *out, uint8_t kind, const char *ns,
		  size_t ns_len, const char *sa, size_t sa_len)
{
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->ns = strndup(ns, ns_len);
	if (sa)
		out->sa = strndup(sa, sa_len);
	if (!out->ns || (sa && !out->sa)) {
		km_az_node_free(out);
		return -ENOMEM;
	}
	return 0;
}

int km_az_principal_exact(const char *s, struct km_az_node *out)
{
	const char *ns = after_td(s), *slash, *sa;

	memset(out, 0, sizeof(*out));
	out->kind = KM_AZN_NONE;
	if (!ns || !(slash = strchr(ns, '/')) || strncmp(slash, "/sa/", 4))
		return 0;
	sa = slash + 4;
	if (!name_ok(ns, slash - ns, KM_IDENT_NS_MAX) ||
	    !name_ok(sa, strlen(sa), KM_IDENT_SA_MAX))
		return 0;
	return set_ns(out, KM_AZN_IDENT_SA, ns, slash - ns, sa, strlen(sa));
}

int km_az_principal_prefix(const char *s, struct km_az_node *out)
{
	const char *ns = after_td(s);
	size_t len;

	if (!ns)
		return 1;
	len = strlen(ns);
	if (len < 2 || ns[len - 1] != '/' ||
	    !name_ok(ns, len - 1, KM_IDENT_NS_MAX))
		return 1;
	return set_ns(out, KM_AZN_IDENT_NS, ns, len - 1, NULL, 0);
}

int km_az_principal_regex(const char *s, struct km_az_node *out)
{
	static const char head[] = ".*/ns/", tail[] = "/.*";
	size_t len = strlen(s), h = sizeof(head) - 1, t = sizeof(tail) - 1;

	memset(out, 0, sizeof(*out));
	if (!strcmp(s, ".*") || !strcmp(s, ".+")) {
		out->kind = KM_AZN_IDENT;
		return 0;
	}
	/* Istio's namespaces: ".*\/ns/NS/.*" */
	if (len <= h + t || strncmp(s, head, h) || strcmp(s + len - t, tail))
		return 1;
	for (size_t i = h; i < len - t; i++)	/* a plain name, no regex */
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 1;
	if (len - t - h >= KM_IDENT_NS_MAX)
		return 1;
	return set_ns(out, KM_AZN_IDENT_NS, s + h, len - t - h, NULL, 0);
}

int km_az_node_unknown(struct km_az_node *n, const char *fmt, va_list ap)
{
	n->kind = KM_AZN_UNKNOWN;
	if (vasprintf(&n->what, fmt, ap) < 0) {
		n->what = NULL;
		return -ENOMEM;
	}
	km_one_line(n->what);
	return 0;
}
