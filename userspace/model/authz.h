/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Authorization (docs/authz.md): the filters that grant or deny access.
 *
 * Such a filter is never skipped: a policy that is dropped in silence lets
 * through the traffic it was written to block. Both config sources ask
 * km_authz_filter() about every network and HTTP filter they meet; what it
 * names is either enforced (network RBAC, compiled into the kernel's policy
 * tables) or refused with km_authz_refusal()'s reason.
 */
#ifndef KM_AUTHZ_H
#define KM_AUTHZ_H

#include <stdbool.h>

enum km_authz_filter {
	KM_AF_NONE = 0,		/* not an access-control filter */
	KM_AF_NET_RBAC,		/* envoy.filters.network.rbac */
	KM_AF_HTTP_RBAC,	/* envoy.filters.http.rbac */
	KM_AF_NET_EXT_AUTHZ,	/* envoy.filters.network.ext_authz (CUSTOM) */
	KM_AF_HTTP_EXT_AUTHZ,	/* envoy.filters.http.ext_authz (CUSTOM) */
	KM_AF_JWT_AUTHN,	/* envoy.filters.http.jwt_authn */
	KM_AF_BASIC_AUTH,	/* envoy.filters.http.basic_auth */
	KM_AF_OAUTH2,		/* envoy.filters.http.oauth2 */
	KM_AF_CLIENT_SSL_AUTH,	/* envoy.filters.network.client_ssl_auth */
};

/* Which access-control filter a filter is, by its typed_config type URL
 * (with or without "type.googleapis.com/"; NULL when it has none) or by
 * its name. The caller has already taken the filters it implements by type
 * URL (tcp_proxy, http_connection_manager, router); of the rest, one that
 * is named like an access-control filter is taken for one whatever its
 * type URL says (a TypedStruct, say): failing closed costs a NACK, the
 * other way costs a hole. */
enum km_authz_filter km_authz_filter(const char *name, const char *type_url);

/* What the filter is ("network RBAC", ...). */
const char *km_authz_filter_label(enum km_authz_filter f);

/* Why kmesh refuses the filter, one line without the object path: "network
 * RBAC (envoy.filters.network.rbac) is not enforced by kmesh: ...". */
const char *km_authz_refusal(enum km_authz_filter f);

#endif
