// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Accepted but not enforced, by kind (notenf.h). */
#include <stdlib.h>
#include <string.h>

#include "notenf.h"

#define KM_NK_NAME(e, name, text) name,
#define KM_NK_TEXT(e, name, text) text,
static const char *const names[] = { KM_NOTENF_KINDS(KM_NK_NAME) };
static const char *const texts[] = { KM_NOTENF_KINDS(KM_NK_TEXT) };

const char *km_notenf_name(int kind)
{
	return kind >= 0 && kind < KM_NK_N ? names[kind] : "?";
}

const char *km_notenf_text(int kind)
{
	return kind >= 0 && kind < KM_NK_N ? texts[kind] : "?";
}

int km_notenf_kind(const char *name)
{
	for (int k = 0; k < KM_NK_N; k++)
		if (!strcmp(name, names[k]))
			return k;
	return -1;
}

/* what grants or denies access, or protects traffic: never quiet */
bool km_notenf_security(int kind)
{
	return kind == KM_NK_MTLS || kind == KM_NK_REGISTRY_ONLY ||
	       kind == KM_NK_INBOUND;
}

void km_notenf_add(struct km_notenf *ne, int kind, const char *example)
{
	if (!ne || kind < 0 || kind >= KM_NK_N)
		return;
	/* a sink is one resource: it counts once */
	ne->count[kind] = 1;
	if (!ne->example[kind] && example)
		ne->example[kind] = strdup(example);
}

void km_notenf_sum(struct km_notenf *dst, const struct km_notenf *src)
{
	for (int k = 0; k < KM_NK_N; k++) {
		dst->count[k] += src->count[k];
		if (!dst->example[k] && src->example[k])
			dst->example[k] = strdup(src->example[k]);
	}
}

void km_notenf_free(struct km_notenf *ne)
{
	for (int k = 0; k < KM_NK_N; k++)
		free(ne->example[k]);
	memset(ne, 0, sizeof(*ne));
}

enum km_upstream_ts km_upstream_ts_class(bool (*holds)(const void *arg, const char *s),
					 const void *arg)
{
	static const char *const istio[] = {
		"spiffe://", "ROOTCA", "/etc/certs/", "tlsMode",
	};

	if (!holds(arg, "UpstreamTlsContext") &&
	    !holds(arg, "envoy.transport_sockets.tls"))
		return holds(arg, "internal_upstream") ? KM_TS_INTERNAL : KM_TS_PLAIN;
	for (size_t i = 0; i < sizeof(istio) / sizeof(istio[0]); i++)
		if (holds(arg, istio[i]))
			return KM_TS_ISTIO_MTLS;
	return KM_TS_TLS;
}
