/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshd.state: the agent's report to kmeshctl, one "key=value" per line
 * (values are single lines; a key may repeat: l7). kmeshd (kmeshd/main.c)
 * and its xDS client (source/xds/ads.c) write it atomically after every
 * config attempt; kmeshctl reads it for status and config. Every key is
 * named here, once.
 */
#ifndef KM_STATE_H
#define KM_STATE_H

#include <stdio.h>

#define KM_STATE_DIR "/run/kmesh"
#define KM_STATE_NAME "kmeshd.state"
#define KM_STATE_FILE KM_STATE_DIR "/" KM_STATE_NAME

/* kmeshd */
#define KM_ST_PID "pid"
#define KM_ST_RUN_ID "run_id"		/* new for every kmeshd run */
#define KM_ST_RUNNING "running"		/* 0: kmeshd exited */
#define KM_ST_CONFIG "config"		/* the file, or the xDS server */
#define KM_ST_CGROUP "cgroup"
#define KM_ST_GENERATION "generation"
#define KM_ST_LAST_OK "last_ok"
#define KM_ST_LAST_ERROR "last_error"	/* only when last_ok=0 */
#define KM_ST_LAST_ATTEMPT "last_attempt"
#define KM_ST_APPLIED_AT "applied_at"
#define KM_ST_LISTENERS "listeners"
#define KM_ST_CLUSTERS "clusters"
#define KM_ST_FRONTENDS "frontends"
#define KM_ST_ENDPOINTS "endpoints"
/* EDS changes applied in place (dataplane/incr.h): clusters replaced,
 * and the last change's compile plus map write in microseconds */
#define KM_ST_INCR_UPDATES "incr_updates"
/* per generation limits (--max-services, --max-endpoints) */
#define KM_ST_MAX_SERVICES "max_services"
#define KM_ST_MAX_ENDPOINTS "max_endpoints"
#define KM_ST_INCR_LAST_US "incr_last_us"
#define KM_ST_L7_ROUTER "l7_router"	/* programs loaded with kmesh.ko */
#define KM_ST_L7_WHY "l7_why"		/* only when l7_router=0 */
#define KM_ST_L7 "l7"			/* repeated: an HTTP listener */
/* repeated: "KIND COUNT EXAMPLE" of what the applied config asks for and
 * kmesh accepts without enforcing (model/not_enforced.c) */
#define KM_ST_NOT_ENFORCED "not_enforced"
#define KM_ST_STRICT "strict"		/* 1: kmeshd --strict refuses those */

/* The xDS client's keys: KM_ST_XDS then a general key, or then
 * "<type>_<field>" for each of KM_STATE_XDS_TYPES. kmeshctl config prints
 * them in this order. */
#define KM_ST_XDS "xds_"
#define KM_STATE_XDS_GENERAL(X) X(server) X(mode) X(transport) X(connected) X(node_id) \
	X(reconnects) X(last_error) X(skipped_filters)			  \
	X(skipped_typed_configs) X(skipped_chains) X(skipped_listeners)	  \
	X(last_response_bytes) X(last_response_ms) X(last_response_us)
#define KM_STATE_XDS_TYPES(X) X(cds) X(eds) X(lds) X(rds) X(authorization) \
	X(address)
/* per type; last_us: its last response, arrival to applied; "nacked" (1:
 * the last response was NACKed) ends the list */
#define KM_STATE_XDS_FIELDS(X) X(version) X(nonce) X(resources) X(acks) \
	X(nacks) X(last_nack) X(last_us) X(nacked)

/* The resolver of DNS clusters (dataplane/dns.c): dns_servers once, then a
 * record per (cluster, name), its fields in this order, "dns_cluster"
 * first. status: ok, failing (the last try failed; addresses are the last
 * good ones, if any), pending (no answer yet). last_ok: unix time, 0 =
 * never. */
#define KM_ST_DNS "dns_"
#define KM_ST_DNS_SERVERS "dns_servers"
#define KM_STATE_DNS_FIELDS(X) X(cluster) X(host) X(type) X(family)	\
	X(status) X(addresses) X(failures) X(last_ok) X(refresh_ms) X(error)

/* "key=value\n", the value cut to one line (control bytes become '?');
 * NULL writes an empty value. */
void km_state_put(FILE *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Calls fn for every "key=value" line of the file at path, in order.
 * 0, or -errno when it cannot be opened. */
typedef void (*km_state_fn)(const char *key, const char *value, void *arg);
int km_state_read(const char *path, km_state_fn fn, void *arg);

#endif
