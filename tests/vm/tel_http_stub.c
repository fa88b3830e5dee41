// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The VM's statically linked kmeshd serves no /metrics: Debian's
 * libmicrohttpd.a needs GnuTLS's static chain, and p11-kit ships no static
 * archive. Linked before libkmesh.a, this keeps userspace/telemetry/http.c
 * (and libmicrohttpd) out; everything else of telemetry is there.
 */
#include <errno.h>

#include "tel.h"

int km_tel_http_start(const char *addr, km_tel_render_fn render,
		      km_tel_ready_fn ready, struct km_err *err)
{
	km_err_set(err, "metrics on %s: this static kmeshd (the VM build) has no HTTP server",
		   addr);
	return -EOPNOTSUPP;
}

void km_tel_http_stop(void)
{
}
