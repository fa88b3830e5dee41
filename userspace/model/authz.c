// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Authorization filters: which filters grant or deny access (authz.h). */
#include <string.h>

#include "authz.h"

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
	  "network RBAC (envoy.filters.network.rbac) is not enforced by this "
	  "kmesh: refused, since skipping it would let denied connections "
	  "through" },
	{ KM_AF_HTTP_RBAC, "envoy.filters.http.rbac",
	  "envoy.extensions.filters.http.rbac.v3.RBAC", "HTTP RBAC",
	  "HTTP RBAC (envoy.filters.http.rbac) is not enforced: kmesh sees "
	  "at most the first request of a connection, so request conditions "
	  "could be bypassed on keep-alive; refused (use network RBAC for "
	  "L4 conditions)" },
	{ KM_AF_NET_EXT_AUTHZ, "envoy.filters.network.ext_authz",
	  "envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
	  "network ext_authz",
	  "ext_authz (CUSTOM authorization) cannot be called from the kernel: "
	  "refused" },
	{ KM_AF_HTTP_EXT_AUTHZ, "envoy.filters.http.ext_authz",
	  "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
	  "HTTP ext_authz",
	  "ext_authz (CUSTOM authorization) cannot be called from the kernel: "
	  "refused" },
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
