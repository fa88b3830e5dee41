// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A cluster's outlier_detection from xDS, as given over Envoy's defaults
 * (model/outlier_cfg.c says what is enforced); model/check.c holds its
 * rules.
 */
#include "xds_read.h"
#include "outlier_cfg.h"

typedef Envoy__Config__Cluster__V3__OutlierDetection pb_outlier;

static void u32_of(const Google__Protobuf__UInt32Value *w, uint64_t *out)
{
	if (w)
		*out = w->value;
}

/* A Duration into ns; a negative or unnormalized one is refused. */
static int ns_of(struct ctx *c, const char *owhat, const char *name,
		 const Google__Protobuf__Duration *d, uint64_t *out)
{
	if (!d)
		return 0;
	if (d->seconds < 0 || d->nanos < 0 || d->nanos > 999999999 ||
	    (uint64_t)d->seconds > UINT64_MAX / 2 / 1000000000)
		return x_fail(c, owhat, "%s is out of range", name);
	*out = (uint64_t)d->seconds * 1000000000 + (uint64_t)d->nanos;
	return 0;
}

int x_read_outlier(struct ctx *c, const pb_cluster *pc, const char *cwhat,
		   struct km_m_cluster *cl)
{
	const pb_outlier *p = pc->outlier_detection;
	struct km_outlier *o = &cl->od;
	char owhat[WHAT_LEN];
	int ret;

	if (!p)
		return 0;
	what_fmt(owhat, "%s: outlier_detection", cwhat);
	km_outlier_init(o);
	o->set = true;
	o->src = xds_src;
	o->split = p->split_external_local_origin_errors;
	o->has_5xx = p->consecutive_5xx != NULL;
	u32_of(p->consecutive_5xx, &o->consecutive_5xx);
	u32_of(p->enforcing_consecutive_5xx, &o->enforcing_5xx);
	u32_of(p->consecutive_gateway_failure, &o->consecutive_gateway);
	u32_of(p->enforcing_consecutive_gateway_failure, &o->enforcing_gateway);
	u32_of(p->consecutive_local_origin_failure, &o->consecutive_local);
	u32_of(p->enforcing_consecutive_local_origin_failure, &o->enforcing_local);
	u32_of(p->enforcing_success_rate, &o->enforcing_success_rate);
	u32_of(p->enforcing_local_origin_success_rate,
	       &o->enforcing_local_success_rate);
	u32_of(p->enforcing_failure_percentage, &o->enforcing_failure_pct);
	u32_of(p->enforcing_failure_percentage_local_origin,
	       &o->enforcing_failure_pct_local);
	u32_of(p->max_ejection_percent, &o->max_ejection_percent);
	if (p->always_eject_one_host)
		o->always_eject_one = p->always_eject_one_host->value;
	ret = ns_of(c, owhat, "interval", p->interval, &o->interval_ns);
	if (!ret)
		ret = ns_of(c, owhat, "base_ejection_time", p->base_ejection_time,
			    &o->base_ns);
	if (!ret)
		ret = ns_of(c, owhat, "max_ejection_time", p->max_ejection_time,
			    &o->max_ns);
	if (ret)
		return ret;
	if (km_outlier_not_enforced(o))
		cl->not_enforced |= KM_NE_OUTLIER_DETECTION;
	return 0;
}
