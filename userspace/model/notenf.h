/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What kmesh accepts but does not enforce (issue 12, "no silent drops"),
 * beyond what the readers list themselves (enum km_not_enforced,
 * not_enforced.c): every other xDS field and filter is enforced, refused,
 * or counted here by kind (xds_audit.c), once per resource, with one
 * example. Only what is safe to degrade goes here; the
 * security kinds (km_notenf_security) are shown as warnings, and kmeshd
 * --strict refuses every kind instead. Per resource, summed for kmeshctl.
 */
#ifndef KM_NOTENF_H
#define KM_NOTENF_H

#include <stdbool.h>
#include <stdint.h>

/* the order of scripts/gen-xds-fields.py's KINDS */
#define KM_NOTENF_KINDS(X)						\
	X(TIMEOUTS, "timeouts", "timeouts")				\
	X(RETRIES, "retries", "retries, hedging, connect attempts")	\
	X(TELEMETRY, "telemetry", "stats, tracing, access logs, metadata exchange") \
	X(CONNECTION, "connection", "connection pools, protocol options, socket options") \
	X(HEALTH, "health", "health checks, outlier detection")	\
	X(LB_OPTIONS, "lb_options", "load balancer options")		\
	X(HEADERS, "headers", "header additions and removals, XFF, client cert headers") \
	X(REWRITES, "rewrites", "path and host rewrites, path normalization, internal redirects") \
	X(CORS, "cors", "CORS policies")					\
	X(FAULT_INJECTION, "fault_injection", "fault injection (delays, aborts)") \
	X(MIRRORING, "mirroring", "request mirroring")			\
	X(METADATA, "metadata", "metadata (informational)")		\
	X(DNS, "dns", "DNS resolution options")				\
	X(INBOUND, "inbound", "authentication and authorization filters of inbound listeners") \
	X(MTLS, "mtls", "Istio mutual TLS: traffic goes out plaintext")	\
	X(REGISTRY_ONLY, "registry_only", "REGISTRY_ONLY: destinations outside the mesh are not blocked")

#define KM_NK_ENUM(e, name, text) KM_NK_##e,
enum km_notenf_kind { KM_NOTENF_KINDS(KM_NK_ENUM) KM_NK_N };
#undef KM_NK_ENUM

struct km_notenf {
	uint32_t count[KM_NK_N];
	char *example[KM_NK_N];		/* the first one seen, malloc'd */
};

const char *km_notenf_name(int kind);
const char *km_notenf_text(int kind);
int km_notenf_kind(const char *name);		/* -1: no such kind */
/* Security-relevant: shown as a warning line by kmeshctl status. */
bool km_notenf_security(int kind);
void km_notenf_add(struct km_notenf *ne, int kind, const char *example);
/* dst += src (examples: dst's first, else src's) */
void km_notenf_sum(struct km_notenf *dst, const struct km_notenf *src);
void km_notenf_free(struct km_notenf *ne);

/*
 * An upstream transport socket, by what its config holds: @holds(arg, s)
 * says whether the string s occurs in it (the xDS bytes, the YAML tree).
 * Istio's mutual TLS is told by its SPIFFE certificates (SDS "default" and
 * "ROOTCA", or /etc/certs/ before SDS) or its tlsMode match; any other TLS
 * is origination kmesh cannot do.
 */
enum km_upstream_ts {
	KM_TS_PLAIN,		/* raw_buffer or nothing: what kmesh sends */
	KM_TS_ISTIO_MTLS,	/* accepted, not enforced (KM_NK_MTLS) */
	KM_TS_TLS,		/* refused */
	KM_TS_INTERNAL,		/* internal_upstream (ambient HBONE): refused */
};
enum km_upstream_ts km_upstream_ts_class(bool (*holds)(const void *arg, const char *s),
					 const void *arg);

#endif
