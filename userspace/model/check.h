/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every semantic and limit rule of the model, in one place, applied to
 * finished model objects whatever filled them: the YAML reader and the xDS
 * decoder call these once an object is read, and route_build.c again before
 * it writes the blob the kernel trusts. The readers keep only what belongs
 * to their format (types, unknown keys and fields, oneofs).
 */
#ifndef KM_CHECK_H
#define KM_CHECK_H

#include "model.h"

/*
 * A route config: vhost, domain, route and matcher limits (abi.h), string
 * lengths, unique virtual host names, unique domains (compared as
 * lowercase, across virtual hosts too), supported match kinds, each
 * route's action (km_check_action). @prefix is the object path above the
 * route config ("listener 'l': filter_chains[0]: http_connection_manager";
 * NULL for an RDS resource). @kernel adds what the in-kernel matcher can
 * do (no safe_regex, three pseudo-headers): route_build.c asks for it, the
 * readers do not (kmeshctl explain evaluates a model with regex). 0,
 * -EINVAL or -ENOMEM with err set.
 */
int km_check_route_config(const struct km_m_route_config *rc,
			  const char *prefix, bool kernel, struct km_err *err);

/*
 * A route action or a tcp_proxy's cluster list (@route false): 1 to
 * KM_MAX_WEIGHTED named clusters, weights that add up to 1 ..
 * KM_MAX_TOTAL_WEIGHT and to total_weight when it is set. A route's weight
 * may be 0 (that cluster gets no traffic), a tcp_proxy's may not (Envoy's
 * uint32 gte 1). @what names the action ("listener 'l': filter_chains[0]:
 * tcp_proxy").
 */
int km_check_action(const struct km_m_action *a, bool route, const char *what,
		    struct km_err *err);

/*
 * A cluster's DNS rules (STRICT_DNS, LOGICAL_DNS), Envoy's: a LOGICAL_DNS
 * cluster has one locality group with one endpoint; every name is a DNS
 * name (letters, digits, '-', '_', dot-separated labels of 1 to 63 bytes,
 * 253 in all); dns_refresh_rate, when set, is more than 1 ms. @what names
 * the cluster ("cluster 'c'"). 0 or -EINVAL with err set.
 */
int km_check_cluster(const struct km_m_cluster *cl, const char *what,
		     struct km_err *err);

/*
 * A cluster's LB settings (struct km_lb_config): the config given is the
 * one of its lb_policy; least_request_lb_config's choice_count is 2 ..
 * KM_LR_CHOICE_MAX and active_request_bias 0 or 1.0 (what the kernel can
 * compare); maglev_lb_config's table_size a prime up to
 * KM_MAGLEV_SIZE_MAX. @what names the cluster ("cluster 'x'").
 */
int km_check_cluster_lb(const struct km_m_cluster *cl, const char *what,
			struct km_err *err);

/* The message format of route config errors, for route_build.c's own
 * (a cluster it cannot resolve): "SRC: PREFIX: route_config 'rc':
 * virtual_host 'vh': route 'r': msg"; vi/ri < 0 leave those out. Returns
 * @ret. */
int km_rc_fail(struct km_err *err, const char *prefix,
	       const struct km_m_route_config *rc, const struct km_src *src,
	       long vi, long ri, int ret, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

#endif
