// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshd's TLS flags for the xDS client: see xds_tls.h. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xds_tls.h"

enum { CA, SAN, TOKEN, CERT, KEY };

const char *const xds_tls_long_opts[KMD_XDS_TLS_NOPTS] = {
	[CA] = "xds-ca", [SAN] = "xds-san", [TOKEN] = "xds-token",
	[CERT] = "xds-cert", [KEY] = "xds-key",
};

void xds_tls_flag(struct xds_tls *x, int code, const char *arg)
{
	if (code >= KMD_XDS_TLS_OPT && code < KMD_XDS_TLS_OPT + KMD_XDS_TLS_NOPTS)
		x->flag[code - KMD_XDS_TLS_OPT] = arg;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int xds_tls_setup(struct xds_tls *x, struct km_ads_opts *o, int xds)
{
	const char *ca = x->flag[CA] ? x->flag[CA] : env("XDS_ROOT_CA");
	const char *san = x->flag[SAN] ? x->flag[SAN] : env("ISTIOD_SAN");

	for (int i = 0; i < KMD_XDS_TLS_NOPTS; i++) {
		if (!x->flag[i])
			continue;
		if (!xds) {
			fprintf(stderr, "kmeshd: --%s needs --xds HOST:PORT\n", xds_tls_long_opts[i]);
			return 2;
		}
		if (!*x->flag[i]) {
			fprintf(stderr, "kmeshd: --%s: empty\n", xds_tls_long_opts[i]);
			return 2;
		}
		if (i != CA && !ca) {
			fprintf(stderr, "kmeshd: --%s needs --xds-ca FILE (istio's root certificate): %s\n",
				xds_tls_long_opts[i], i == TOKEN ?
				"a token is only sent over TLS" : "it is a TLS setting");
			return 2;
		}
	}
	if (x->flag[KEY] && !x->flag[CERT]) {
		fprintf(stderr, "kmeshd: --xds-key needs --xds-cert\n");
		return 2;
	}
	if (!xds || !ca)
		return 0;
	if (!san)
		san = is_ip(o->host) ? KMD_XDS_TLS_DEFAULT_SAN : o->host;
	/* SNI carries a DNS name only: the identity when it is one, else
	 * the host when it is one */
	if (!strstr(san, "://") && !is_ip(san))
		snprintf(x->sni, sizeof(x->sni), "%s", san);
	else if (!is_ip(o->host))
		snprintf(x->sni, sizeof(x->sni), "%s", o->host);
	x->tls = (struct km_tls_opts){
		.ca_file = ca,
		.san = san,
		.sni = x->sni[0] ? x->sni : NULL,
		.cert_file = x->flag[CERT],
		.key_file = x->flag[KEY],
	};
	o->tls = &x->tls;
	o->token_file = x->flag[TOKEN];
	return 0;
}

int xds_tls_summary(const struct km_ads_opts *o, char *out, size_t size)
{
	const struct km_tls_opts *t = o->tls;

	if (!t) {
		snprintf(out, size, "plaintext (h2c: no TLS, no token; for istiod's port 15010 on a trusted network)");
		return o->port == 15012;
	}
	snprintf(out, size, "TLS (root CA %s, server identity '%s'%s%s%s%s)", t->ca_file, t->san,
		 o->token_file ? ", bearer token from " : ", no token",
		 o->token_file ? o->token_file : "",
		 t->cert_file ? ", client certificate " : "", t->cert_file ? t->cert_file : "");
	return 0;
}

void xds_tls_usage(FILE *f)
{
	fprintf(f,
		"      --xds-ca FILE    TLS to the xDS server, trusting this root CA (istiod:15012 with\n"
		"                       istio's istio-ca-root-cert); default $XDS_ROOT_CA; without it, h2c\n"
		"      --xds-san NAME   identity the server's certificate must carry: DNS name, IP or URI\n"
		"                       (default $ISTIOD_SAN, else the --xds host if a name, else\n"
		"                       " KMD_XDS_TLS_DEFAULT_SAN ")\n"
		"      --xds-token FILE bearer token sent as 'authorization', re-read at every connect\n"
		"                       (istio: /var/run/secrets/tokens/istio-token)\n"
		"      --xds-cert FILE --xds-key FILE   client certificate and key (optional)\n");
}
