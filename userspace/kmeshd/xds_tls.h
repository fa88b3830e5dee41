/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshd's flags for istiod's TLS port, named as istio-agent and ztunnel
 * name them where they have a name:
 *   --xds-ca FILE      the mesh root CA ($XDS_ROOT_CA); turns TLS on
 *   --xds-san NAME     the identity istiod's certificate must carry
 *                      ($ISTIOD_SAN; default the --xds host when it is a
 *                      name, else istiod.istio-system.svc)
 *   --xds-token FILE   the bearer token (the pod's projected token)
 *   --xds-cert FILE, --xds-key FILE   an optional client certificate
 */
#ifndef KMESHD_XDS_TLS_H
#define KMESHD_XDS_TLS_H

#include <stdio.h>

#include "ads.h"

/* getopt_long codes: KMD_XDS_TLS_OPT + index of xds_tls_long_opts */
#define KMD_XDS_TLS_OPT 1100
#define KMD_XDS_TLS_NOPTS 5
#define KMD_XDS_TLS_DEFAULT_SAN "istiod.istio-system.svc"

struct xds_tls {
	const char *flag[KMD_XDS_TLS_NOPTS];	/* as given, by index */
	struct km_tls_opts tls;
	char sni[256];
};

/* The option names, in getopt code order ("xds-ca", ...). */
extern const char *const xds_tls_long_opts[KMD_XDS_TLS_NOPTS];
void xds_tls_flag(struct xds_tls *x, int code, const char *arg);
/* Checks the flags against each other and fills @o (tls, token_file).
 * @xds: whether --xds was given. 0, or 2 with a message on stderr. */
int xds_tls_setup(struct xds_tls *x, struct km_ads_opts *o, int xds);
/* The log line's words for the transport; returns 1 when it is plaintext
 * to istiod's TLS port (worth a warning), else 0. */
int xds_tls_summary(const struct km_ads_opts *o, char *out, size_t size);
void xds_tls_usage(FILE *f);

#endif
