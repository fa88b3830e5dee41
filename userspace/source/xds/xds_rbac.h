/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Access-control filters in LDS (model/authz.h): resources.c hands every
 * network or HTTP filter km_authz_filter() recognises to these, which
 * decode what kmesh enforces into the chain and refuse the rest with the
 * reason. Never skipped. Errors are "WHAT: filter 'NAME': reason", WHAT
 * naming the listener and chain.
 */
#ifndef KM_XDS_XDS_RBAC_H
#define KM_XDS_XDS_RBAC_H

#include "google/protobuf/any.pb-c.h"
#include "model.h"

/* A network filter of a chain; tc is its typed_config (NULL if none). */
int km_xds_authz_filter(const char *name, const Google__Protobuf__Any *tc,
			const char *cwhat, struct km_m_chain *ch,
			struct km_err *err);

/* An HTTP filter of an http_connection_manager. */
int km_xds_authz_http_filter(const char *name, const Google__Protobuf__Any *tc,
			     const char *hwhat, struct km_m_chain *ch,
			     struct km_err *err);

/* Any typed_per_filter_config in a RouteConfiguration (at any level) that
 * configures access control per route (RBACPerRoute, ExtAuthzPerRoute,
 * ..., or an entry keyed by such a filter's name): refused, since kmesh
 * enforces one policy per connection. 0, or -EINVAL with err set. */
int km_xds_authz_per_route(const ProtobufCMessage *rc, const char *what,
			   struct km_err *err);

#endif
