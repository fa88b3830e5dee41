/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outlier detection on connect outcomes: one state machine for the BPF
 * programs (bpf/lib/outlier.h: the sockops program reports, the connect
 * programs skip ejected endpoints) and for userspace (unit tests). The
 * records are km_ep_stat and km_cl_stat (abi.h), keyed by the cluster's
 * name hash and the endpoint's address, so the state holds across a
 * generation flip and a kmeshd restart.
 *
 * Envoy's consecutive detectors, as kmesh can observe them: a connect that
 * fails (RST, SYN timeout, ICMP error in SYN_SENT) is a failure, a connect
 * that completes resets the count. The failure that brings the count to
 * the threshold resets it and tries an ejection (km_od_eject). Envoy's
 * interval timer un-ejects at its next tick; here an ejection ends when
 * its time has run out, at the next look at the endpoint (a connect's
 * pick, a count of the cluster's ejected endpoints).
 */
#ifndef KMESH_OUTLIER_H
#define KMESH_OUTLIER_H

#include "abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define KM_OD_NS_PER_MS 1000000ULL

/* Is the endpoint of @es ejected at @now? An ejection whose time ran out
 * ends here, by whoever sees it first. */
static __always_inline int km_od_ejected(struct km_ep_stat *es, __u64 now)
{
	if (!es || !es->od_ejected)
		return 0;
	if (now < es->od_until_ns)
		return 1;
	if (__sync_val_compare_and_swap(&es->od_ejected, 1, 0) == 1) {
		/* Envoy starts the count over at un-ejection */
		es->od_consec = 0;
		es->od_uneject_ns = now;
	}
	return 0;
}

/*
 * How long the next ejection of @es lasts: base_ejection_time x its
 * back-off, at most max_ejection_time. As Envoy's ejectTimeBackoff: one
 * step up per ejection while base x steps < max + base, one step down per
 * interval the endpoint stays in (counted here from the end of the last
 * ejection, where Envoy's timer counts its ticks).
 */
static __always_inline __u64 km_od_eject_ns(const struct km_cluster *c,
					    struct km_ep_stat *es, __u64 now)
{
	__u64 iv = (__u64)c->od_interval_ms * KM_OD_NS_PER_MS, t, kept;
	__u64 base = c->od_base_ms, max = c->od_max_ms;
	__u32 n = es->od_ejections;

	if (n && iv && es->od_uneject_ns && now > es->od_uneject_ns) {
		kept = (now - es->od_uneject_ns) / iv;
		n = kept >= n ? 0 : n - (__u32)kept;
	}
	if ((__u64)n * base < max + base)
		n++;
	es->od_ejections = n;
	t = base * n;
	if (t > max)
		t = max;
	return t * KM_OD_NS_PER_MS;
}

/* A connect to the endpoint of @es in cluster @c failed. Returns 1 when
 * this failure brings the count to the threshold: the caller then counts
 * the cluster's ejected endpoints and calls km_od_eject(). Envoy resets
 * the count at the crossing, ejected or not. */
static __always_inline int km_od_failure(const struct km_cluster *c,
					 struct km_ep_stat *es)
{
	if (!c->od_consecutive)
		return 0;
	if (__sync_fetch_and_add(&es->od_consec, 1) + 1 != c->od_consecutive)
		return 0;
	es->od_consec = 0;
	return 1;
}

/*
 * The ejection Envoy's ejectHost makes: not of an endpoint already out;
 * not past max_ejection_percent of the cluster's endpoints with @ejected
 * of them out now (counted in @cs's od_overflow), unless always_eject_one
 * and none is; then in od_enforce percent of the cases (@roll, a random
 * number). Returns 1 when @es was ejected at @now, -1 when
 * max_ejection_percent refused it, else 0.
 */
static __always_inline int km_od_eject(const struct km_cluster *c,
				       struct km_ep_stat *es,
				       struct km_cl_stat *cs, __u64 now,
				       __u32 ejected, __u32 roll)
{
	if (km_od_ejected(es, now))
		return 0;
	if ((__u64)(ejected + 1) * 100 > (__u64)c->od_max_pct * c->n_endpoints &&
	    !(c->od_one && ejected == 0)) {
		if (cs)
			__sync_fetch_and_add(&cs->od_overflow, 1);
		return -1;
	}
	if (roll % 100 >= c->od_enforce)
		return 0;
	/* the end first: a pick that sees od_ejected set reads a time of
	 * this ejection, not of the last one */
	es->od_until_ns = now + km_od_eject_ns(c, es, now);
	if (__sync_val_compare_and_swap(&es->od_ejected, 0, 1) != 0)
		return 0;
	if (cs)
		__sync_fetch_and_add(&cs->od_ejections, 1);
	return 1;
}

/* A connect to the endpoint of @es completed: the count starts over. */
static __always_inline void km_od_success(struct km_ep_stat *es)
{
	if (es->od_consec)
		es->od_consec = 0;
}

#endif /* KMESH_OUTLIER_H */
