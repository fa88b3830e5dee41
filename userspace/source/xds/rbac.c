// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Access-control filters from LDS (rbac.h). Every one is refused with its
 * reason (model/authz.c) until kmesh enforces it.
 */
#include <errno.h>

#include "rbac.h"
#include "authz.h"

static int refuse(const char *name, const Google__Protobuf__Any *tc,
		  const char *what, struct km_err *err)
{
	enum km_authz_filter f = km_authz_filter(name, tc ? tc->type_url : NULL);

	km_err_set(err, "%s: filter '%.64s': %s", what,
		   name && *name ? name : km_authz_filter_label(f),
		   km_authz_refusal(f));
	return -EINVAL;
}

int km_xds_authz_filter(const char *name, const Google__Protobuf__Any *tc,
			const char *cwhat, struct km_m_chain *ch,
			struct km_err *err)
{
	return refuse(name, tc, cwhat, err);
}

int km_xds_authz_http_filter(const char *name, const Google__Protobuf__Any *tc,
			     const char *hwhat, struct km_m_chain *ch,
			     struct km_err *err)
{
	return refuse(name, tc, hwhat, err);
}
