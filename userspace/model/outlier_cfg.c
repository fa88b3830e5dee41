// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* outlier_detection: defaults, the enforced part, the listed part. */
#include "outlier_cfg.h"

#define NS_PER_MS 1000000ULL
#define ENVOY_MAX_EJECTION_MS 300000ULL	/* max_ejection_time's default */

void km_outlier_init(struct km_outlier *o)
{
	*o = (struct km_outlier){
		.consecutive_5xx = 5, .enforcing_5xx = 100,
		.consecutive_gateway = 5, .enforcing_gateway = 0,
		.consecutive_local = 5, .enforcing_local = 100,
		.enforcing_success_rate = 100,
		.enforcing_local_success_rate = 100,
		.max_ejection_percent = 10,
		.interval_ns = 10000 * NS_PER_MS,
		.base_ns = 30000 * NS_PER_MS,
	};
}

static void consider(struct km_od_eff *e, uint64_t n, uint64_t pct,
		     const char *field)
{
	if (!n || !pct)
		return;
	/* the lower threshold ejects first; on a tie both roll, so the
	 * surer one is taken */
	if (!e->consecutive || n < e->consecutive ||
	    (n == e->consecutive && pct > e->enforce)) {
		e->consecutive = (uint32_t)n;
		e->enforce = (uint8_t)pct;
		e->field = field;
	}
}

/*
 * Envoy reports a failed connect as a local-origin error. Without
 * split_external_local_origin_errors it counts as a 503: it feeds
 * consecutive_5xx and consecutive_gateway_failure alike, and a completed
 * connect resets both. With the split it feeds only
 * consecutive_local_origin_failure.
 */
void km_outlier_effective(const struct km_outlier *o, struct km_od_eff *e)
{
	*e = (struct km_od_eff){ 0 };
	if (!o->set)
		return;
	if (o->split) {
		consider(e, o->consecutive_local, o->enforcing_local,
			 "consecutive_local_origin_failure");
		return;
	}
	consider(e, o->consecutive_5xx, o->enforcing_5xx, "consecutive_5xx");
	consider(e, o->consecutive_gateway, o->enforcing_gateway,
		 "consecutive_gateway_failure");
}

bool km_outlier_not_enforced(const struct km_outlier *o)
{
	if (!o->set)
		return false;
	/* HTTP 5xx responses (a connect failure's 503 is enforced) */
	if (o->has_5xx && o->consecutive_5xx && o->enforcing_5xx)
		return true;
	/* split: gateway failures are then only responses */
	if (o->split && o->consecutive_gateway && o->enforcing_gateway)
		return true;
	/* request statistics */
	return o->enforcing_success_rate || o->enforcing_failure_pct ||
	       (o->split && (o->enforcing_local_success_rate ||
			     o->enforcing_failure_pct_local));
}

static uint32_t ms_up(uint64_t ns)
{
	return (uint32_t)((ns + NS_PER_MS - 1) / NS_PER_MS);
}

void km_outlier_compile(const struct km_outlier *o, struct km_cluster *c)
{
	struct km_od_eff e;
	uint64_t max;

	km_outlier_effective(o, &e);
	if (!e.consecutive)
		return;
	c->od_consecutive = e.consecutive;
	c->od_enforce = e.enforce;
	c->od_base_ms = ms_up(o->base_ns);
	c->od_interval_ms = ms_up(o->interval_ns);
	/* Envoy: max_ejection_time, else 300 s or base if larger */
	max = o->max_ns ? ms_up(o->max_ns) : ENVOY_MAX_EJECTION_MS;
	c->od_max_ms = (uint32_t)(max > c->od_base_ms ? max : c->od_base_ms);
	c->od_max_pct = (uint8_t)o->max_ejection_percent;
	c->od_one = o->always_eject_one;
}
