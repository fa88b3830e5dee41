/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Istio's ambient API (docs/authz.md): istio.security.Authorization and
 * istio.workload.Address resources -> model/authz_workload.h.
 *
 * Malformed input (bytes that do not decode, an address that is not 4 or
 * 16 bytes, a prefix too long, a port out of range, a string match
 * without a kind, a workload without a uid) is an error naming the
 * resource and the field: the resource is NACKed. A valid policy that
 * says something kmesh cannot enforce (a field, action or scope this
 * build does not know, an extension) fails closed on the workloads it
 * may select (km_wl_policy.fail_closed); conditions kmesh cannot evaluate
 * at connect (an identity pattern it cannot resolve, an extension on a
 * match) become unknown conditions, which fail closed in the kernel.
 */
#ifndef KM_XDS_XDS_WORKLOAD_H
#define KM_XDS_XDS_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "authz_workload.h"

#define KM_TYPE_AUTHORIZATION "type.googleapis.com/istio.security.Authorization"
#define KM_TYPE_ADDRESS "type.googleapis.com/istio.workload.Address"

/* 0, or -EINVAL/-ENOMEM with err set; *out is zeroed on error. */
int km_xds_authorization(const uint8_t *buf, size_t len,
			 struct km_wl_policy *out, struct km_err *err);

/* A Workload -> *out, 0; a Service: KM_XDS_SKIP (nothing to enforce);
 * else -EINVAL/-ENOMEM with err set. */
int km_xds_address(const uint8_t *buf, size_t len,
		   struct km_wl_workload *out, struct km_err *err);

#endif
