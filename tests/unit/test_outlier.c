// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Outlier detection: the state machine the BPF programs run
 * (include/kmesh/outlier.h) and what kmeshd enforces of an
 * outlier_detection (model/outlier_cfg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kmesh/outlier.h"
#include "config_yaml.h"
#include "outlier_cfg.h"

#define MS 1000000ULL

/* Two endpoints, 2 failures in a row eject for 1 s x ejections (at most
 * 10 s), one forgiven per 5 s in, at most 50%. */
static struct km_cluster cluster(void)
{
	return (struct km_cluster){
		.n_endpoints = 2, .od_consecutive = 2, .od_enforce = 100,
		.od_base_ms = 1000, .od_max_ms = 10000, .od_interval_ms = 5000,
		.od_max_pct = 50,
	};
}

/* Fails a connect to @es; ejects at the crossing with @ejected out. */
static int connect_failed(const struct km_cluster *c, struct km_ep_stat *es,
		struct km_cl_stat *cs, __u64 now, __u32 ejected)
{
	return km_od_failure(c, es) && km_od_eject(c, es, cs, now, ejected, 0) > 0;
}

static void test_consecutive(void **state)
{
	struct km_cluster c = cluster();
	struct km_ep_stat es = { 0 };

	(void)state;
	assert_int_equal(km_od_failure(&c, &es), 0);
	assert_int_equal(es.od_consec, 1);
	km_od_success(&es);	/* a completed connect starts the count over */
	assert_int_equal(es.od_consec, 0);
	assert_int_equal(km_od_failure(&c, &es), 0);
	assert_int_equal(km_od_failure(&c, &es), 1);
	assert_int_equal(es.od_consec, 0);	/* reset at the crossing */
	c.od_consecutive = 0;			/* off */
	assert_int_equal(km_od_failure(&c, &es), 0);
	assert_int_equal(es.od_consec, 0);
}

static void test_eject_and_back(void **state)
{
	struct km_cluster c = cluster();
	struct km_ep_stat es = { 0 };
	struct km_cl_stat cs = { 0 };
	__u64 t = 1000 * MS;

	(void)state;
	assert_int_equal(connect_failed(&c, &es, &cs, t, 0), 0);
	assert_int_equal(connect_failed(&c, &es, &cs, t, 0), 1);
	assert_int_equal(cs.od_ejections, 1);
	assert_int_equal(es.od_ejections, 1);
	assert_true(es.od_until_ns == t + 1000 * MS);
	assert_int_equal(km_od_ejected(&es, t + 999 * MS), 1);
	/* an ejected endpoint is not ejected again */
	assert_int_equal(km_od_eject(&c, &es, &cs, t, 0, 0), 0);
	/* back when the time runs out, its count started over */
	es.od_consec = 1;
	assert_int_equal(km_od_ejected(&es, t + 1000 * MS), 0);
	assert_int_equal(es.od_ejected, 0);
	assert_int_equal(es.od_consec, 0);
	assert_true(es.od_uneject_ns == t + 1000 * MS);
	assert_int_equal(cs.od_ejections, 1);
}

static void test_backoff(void **state)
{
	struct km_cluster c = cluster();
	struct km_ep_stat es = { 0 };
	struct km_cl_stat cs = { 0 };
	__u64 t = 1000 * MS;
	int i;

	(void)state;
	/* ejected again at once: 2 s, 3 s, ... up to max_ejection_time */
	for (i = 1; i <= 12; i++) {
		assert_int_equal(km_od_eject(&c, &es, &cs, t, 0, 0), 1);
		assert_true(es.od_until_ns - t == (i < 10 ? i : 10) * 1000 * MS);
		t = es.od_until_ns;
		assert_int_equal(km_od_ejected(&es, t), 0);
	}
	/* Envoy's back-off stops one step past max / base */
	assert_int_equal(es.od_ejections, 11);
	/* 3 intervals in: 3 steps forgiven, then this one's */
	t += 3 * 5000 * MS;
	assert_int_equal(km_od_eject(&c, &es, &cs, t, 0, 0), 1);
	assert_int_equal(es.od_ejections, 9);
	assert_true(es.od_until_ns - t == 9000 * MS);
	t = es.od_until_ns + 100 * 5000 * MS;	/* long in: from the base */
	assert_int_equal(km_od_ejected(&es, es.od_until_ns), 0);
	assert_int_equal(km_od_eject(&c, &es, &cs, t, 0, 0), 1);
	assert_true(es.od_until_ns - t == 1000 * MS);
	assert_int_equal(cs.od_ejections, 14);
}

static void test_max_percent(void **state)
{
	struct km_cluster c = cluster();
	struct km_ep_stat a = { 0 }, b = { 0 };
	struct km_cl_stat cs = { 0 };

	(void)state;
	/* 1 of 2 is 50%: the second stays in, counted as overflow */
	assert_int_equal(km_od_eject(&c, &a, &cs, MS, 0, 0), 1);
	assert_int_equal(km_od_eject(&c, &b, &cs, MS, 1, 0), -1);
	assert_int_equal(cs.od_overflow, 1);
	assert_int_equal(b.od_ejected, 0);
	c.od_max_pct = 100;
	assert_int_equal(km_od_eject(&c, &b, &cs, MS, 1, 0), 1);
	/* max 0 ejects nothing, unless always_eject_one_host and none is */
	c.od_max_pct = 0;
	memset(&a, 0, sizeof(a));
	assert_int_equal(km_od_eject(&c, &a, &cs, MS, 0, 0), -1);
	c.od_one = 1;
	assert_int_equal(km_od_eject(&c, &a, &cs, MS, 1, 0), -1);
	assert_int_equal(km_od_eject(&c, &a, &cs, MS, 0, 0), 1);
	assert_int_equal(cs.od_overflow, 3);
}

static void test_enforcing(void **state)
{
	struct km_cluster c = cluster();
	struct km_ep_stat es = { 0 };
	struct km_cl_stat cs = { 0 };

	(void)state;
	c.od_enforce = 30;
	assert_int_equal(km_od_eject(&c, &es, &cs, MS, 0, 130), 0);
	assert_int_equal(km_od_eject(&c, &es, &cs, MS, 0, 129), 1);
	c.od_enforce = 0;
	memset(&es, 0, sizeof(es));
	assert_int_equal(km_od_eject(&c, &es, &cs, MS, 0, 0), 0);
	assert_int_equal(cs.od_overflow, 0);
}

/* outlier_detection as istiod sends it (applyOutlierDetection) */
static struct km_outlier istio(void)
{
	struct km_outlier o;

	km_outlier_init(&o);
	o.set = true;
	o.enforcing_success_rate = 0;
	return o;
}

static void test_config(void **state)
{
	struct km_outlier o = istio();
	struct km_od_eff e;

	(void)state;
	/* consecutiveGatewayErrors 3; Envoy's consecutive_5xx default 5 runs
	 * too and counts a failed connect as a 503: the lower one ejects */
	o.consecutive_gateway = 3;
	o.enforcing_gateway = 100;
	km_outlier_effective(&o, &e);
	assert_int_equal(e.consecutive, 3);
	assert_int_equal(e.enforce, 100);
	assert_string_equal(e.field, "consecutive_gateway_failure");
	assert_false(km_outlier_not_enforced(&o));
	/* consecutive5xxErrors 7: enforced on connects, listed for responses */
	o.has_5xx = true;
	o.consecutive_5xx = 7;
	km_outlier_effective(&o, &e);
	assert_int_equal(e.consecutive, 3);
	assert_true(km_outlier_not_enforced(&o));
	/* consecutive5xxErrors 0 turns it off (enforcing 0 too) */
	o.consecutive_5xx = 0;
	o.enforcing_5xx = 0;
	o.enforcing_gateway = 0;
	km_outlier_effective(&o, &e);
	assert_int_equal(e.consecutive, 0);
	assert_false(km_outlier_not_enforced(&o));
	/* Envoy's gateway enforcement defaults to 0: the 5xx default ejects */
	o = istio();
	o.consecutive_gateway = 2;
	km_outlier_effective(&o, &e);
	assert_int_equal(e.consecutive, 5);
	assert_string_equal(e.field, "consecutive_5xx");
	/* split: only local-origin failures count connects */
	o = istio();
	o.split = true;
	o.enforcing_local_success_rate = 0;
	o.consecutive_local = 2;
	km_outlier_effective(&o, &e);
	assert_int_equal(e.consecutive, 2);
	assert_string_equal(e.field, "consecutive_local_origin_failure");
	assert_false(km_outlier_not_enforced(&o));
	o.enforcing_gateway = 100;	/* then only responses: listed */
	assert_true(km_outlier_not_enforced(&o));
	/* Envoy's own defaults include success-rate detection: listed */
	km_outlier_init(&o);
	o.set = true;
	assert_true(km_outlier_not_enforced(&o));
	o.set = false;
	km_outlier_effective(&o, &e);
	assert_int_equal(e.consecutive, 0);
}

static void test_compile(void **state)
{
	struct km_outlier o = istio();
	struct km_cluster c = { 0 };

	(void)state;
	o.base_ns = 1500000;	/* 1.5 ms: whole ms, rounded up */
	o.interval_ns = 2 * MS;
	o.max_ejection_percent = 100;
	km_outlier_compile(&o, &c);
	assert_int_equal(c.od_consecutive, 5);
	assert_int_equal(c.od_base_ms, 2);
	assert_int_equal(c.od_interval_ms, 2);
	assert_int_equal(c.od_max_ms, 300000);	/* Envoy's default */
	assert_int_equal(c.od_max_pct, 100);
	o.base_ns = 400000 * MS;	/* above the default: base */
	km_outlier_compile(&o, &c);
	assert_int_equal(c.od_max_ms, 400000);
	o.max_ns = 500000 * MS;
	km_outlier_compile(&o, &c);
	assert_int_equal(c.od_max_ms, 500000);
}

#define CL "static_resources:\n  clusters:\n  - name: c\n"

/* @od as a cluster's outlier_detection: loaded under --strict (@err NULL)
 * or refused with @err. */
static void yaml_case(const char *od, const char *err_want,
		      struct km_outlier *out)
{
	char yaml[1024];
	struct km_model m;
	struct km_err err = { 0 };
	int ret;

	snprintf(yaml, sizeof(yaml), CL "    outlier_detection: %s\n", od);
	ret = km_config_load_string_flags("t.yaml", yaml, strlen(yaml),
					  KM_CONFIG_STRICT, &m, &err);
	if (err_want) {
		if (!ret || !strstr(err.msg, err_want))
			fail_msg("%s: got '%s', want '%s'", od, ret ? err.msg : "loaded", err_want);
		return;
	}
	if (ret)
		fail_msg("%s: %s", od, err.msg);
	assert_int_equal(m.clusters[0].not_enforced, 0);
	*out = m.clusters[0].od;
	km_model_free(&m);
}

static void test_yaml(void **state)
{
	struct km_outlier o;

	(void)state;
	/* istiod's consecutiveGatewayErrors shape: enforced, so --strict
	 * takes it */
	yaml_case("{ consecutive_5xx: 0, enforcing_consecutive_5xx: 0, consecutive_gateway_failure: 3, "
		  "enforcing_consecutive_gateway_failure: 100, enforcing_success_rate: 0, "
		  "interval: 1s, base_ejection_time: 2s, max_ejection_percent: 50 }", NULL, &o);
	assert_true(o.set && o.has_5xx);
	assert_int_equal(o.consecutive_gateway, 3);
	assert_int_equal(o.max_ejection_percent, 50);
	assert_true(o.interval_ns == 1000 * MS && o.base_ns == 2000 * MS);
	yaml_case("{ split_external_local_origin_errors: true, consecutive_local_origin_failure: 2, "
		  "enforcing_success_rate: 0, enforcing_local_origin_success_rate: 0 }", NULL, &o);
	assert_true(o.split);
	assert_int_equal(o.consecutive_local, 2);
	/* what needs responses is refused under --strict */
	yaml_case("{ consecutive_5xx: 3 }", "t.yaml:4: cluster 'c': outlier_detection is not enforced by kmesh, refused under --strict", &o);
	/* Envoy's rules (enforcing_success_rate 0: taken under --strict) */
	yaml_case("{ enforcing_success_rate: 0, max_ejection_percent: 101 }",
		  "t.yaml:4: cluster 'c': outlier_detection: max_ejection_percent 101 is over 100", &o);
	yaml_case("{ enforcing_success_rate: 0, base_ejection_time: 10s, max_ejection_time: 5s }",
		  "t.yaml:4: cluster 'c': outlier_detection: max_ejection_time is below base_ejection_time", &o);
	yaml_case("{ enforcing_success_rate: 0, interval: 0s }", "t.yaml:4: cluster 'c': outlier_detection: interval must be above 0", &o);
	yaml_case("{ consecutive_5xxx: 3 }", "consecutive_5xxx", &o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consecutive),
		cmocka_unit_test(test_eject_and_back),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_max_percent),
		cmocka_unit_test(test_enforcing),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_yaml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
