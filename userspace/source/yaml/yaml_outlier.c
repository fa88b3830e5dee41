// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A cluster's outlier_detection from the YAML file, as given over Envoy's
 * defaults (model/outlier_cfg.c says what is enforced); model/check.c
 * holds its rules.
 */
#include "yaml_read.h"
#include "outlier_cfg.h"

/* the duration fields, bounded by check.c (32-bit milliseconds) */
#define DUR_MAX (UINT64_MAX / 2)

int y_read_outlier(struct ctx *c, yaml_node_t *n, const char *cwhat,
		   struct km_m_cluster *cl)
{
	static const char *const used[] = {
		"consecutive_5xx", "interval", "base_ejection_time",
		"max_ejection_percent", "enforcing_consecutive_5xx",
		"enforcing_success_rate", "success_rate_minimum_hosts",
		"success_rate_request_volume", "success_rate_stdev_factor",
		"consecutive_gateway_failure",
		"enforcing_consecutive_gateway_failure",
		"split_external_local_origin_errors",
		"consecutive_local_origin_failure",
		"enforcing_consecutive_local_origin_failure",
		"enforcing_local_origin_success_rate",
		"failure_percentage_threshold", "enforcing_failure_percentage",
		"enforcing_failure_percentage_local_origin",
		"failure_percentage_minimum_hosts",
		"failure_percentage_request_volume", "max_ejection_time",
		"max_ejection_time_jitter",
		"successful_active_health_check_uneject_host",
		"always_eject_one_host", NULL
	};
	struct km_outlier *o = &cl->od;
	const struct {
		const char *name;
		uint64_t *v;
	} u[] = {
		{ "consecutive_5xx", &o->consecutive_5xx },
		{ "enforcing_consecutive_5xx", &o->enforcing_5xx },
		{ "consecutive_gateway_failure", &o->consecutive_gateway },
		{ "enforcing_consecutive_gateway_failure", &o->enforcing_gateway },
		{ "consecutive_local_origin_failure", &o->consecutive_local },
		{ "enforcing_consecutive_local_origin_failure", &o->enforcing_local },
		{ "enforcing_success_rate", &o->enforcing_success_rate },
		{ "enforcing_local_origin_success_rate", &o->enforcing_local_success_rate },
		{ "enforcing_failure_percentage", &o->enforcing_failure_pct },
		{ "enforcing_failure_percentage_local_origin", &o->enforcing_failure_pct_local },
		{ "max_ejection_percent", &o->max_ejection_percent },
	}, d[] = {
		{ "interval", &o->interval_ns },
		{ "base_ejection_time", &o->base_ns },
		{ "max_ejection_time", &o->max_ns },
	};
	yaml_node_t *v = y_field(c, n, "outlier_detection");
	char owhat[WHAT_LEN];
	bool set;
	int ret;

	if (!v)
		return 0;
	what_fmt(owhat, "%s: outlier_detection", cwhat);
	km_outlier_init(o);
	o->set = true;
	o->src = y_src_of(c, v);
	if (y_is_null(v))	/* "outlier_detection:" alone: the defaults */
		goto done;
	ret = y_mapping_at(c, v, cwhat, "outlier_detection", owhat, used, NULL);
	for (size_t i = 0; !ret && i < sizeof(u) / sizeof(u[0]); i++)
		ret = y_opt_uint(c, v, owhat, u[i].name, 0, UINT32_MAX, u[i].v);
	for (size_t i = 0; !ret && i < sizeof(d) / sizeof(d[0]); i++)
		ret = y_opt_duration(c, v, owhat, d[i].name, DUR_MAX, &set,
				     d[i].v);
	if (!ret)
		ret = y_opt_bool(c, v, owhat, "split_external_local_origin_errors",
				 &o->split);
	if (!ret)
		ret = y_opt_bool(c, v, owhat, "always_eject_one_host",
				 &o->always_eject_one);
	if (ret)
		return ret;
	o->has_5xx = y_field(c, v, "consecutive_5xx") != NULL;
done:
	/* the detectors that need requests (outlier_cfg.c) */
	if (km_outlier_not_enforced(o))
		return y_not_enforced(c, v, cwhat, "outlier_detection",
				      KM_NE_OUTLIER_DETECTION, &cl->not_enforced);
	return 0;
}
