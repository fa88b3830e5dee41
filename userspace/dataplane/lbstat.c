// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The live connection counts. The data path makes a record on a cluster's
 * or endpoint's first connection and never removes one; kmeshd prunes the
 * idle records of what the config no longer has, after each apply. A
 * connect that races the prune (it read the generation before the flip)
 * can find its record gone when it closes: the count it took back is lost,
 * never made negative (km_uncount finds no record).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "lbstat.h"
#include "strmap.h"
#include "kmesh/lb_hash.h"

void km_lbstat_cluster(const struct km_maps *mp, __u64 stat_key,
		       struct km_cl_stat *out)
{
	if (bpf_map_lookup_elem(mp->cl_stat, &stat_key, out))
		memset(out, 0, sizeof(*out));
}

void km_lbstat_ep(const struct km_maps *mp, __u64 stat_key,
		  const struct km_endpoint *ep, struct km_ep_stat *out)
{
	struct km_ep_stat_key k = {};

	km_ep_stat_key_set(&k, stat_key, &ep->addr, ep->port);
	if (bpf_map_lookup_elem(mp->ep_stat, &k, out))
		memset(out, 0, sizeof(*out));
}

__u64 km_lbstat_endpoint(const struct km_maps *mp, __u64 stat_key,
			 const struct km_endpoint *ep)
{
	struct km_ep_stat v;

	km_lbstat_ep(mp, stat_key, ep, &v);
	return v.cx_active;
}

__u64 km_lbstat_ejected_ms(const struct km_ep_stat *v)
{
	struct timespec ts;
	__u64 now;

	if (!v->od_ejected || clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC */
	now = (__u64)ts.tv_sec * 1000000000 + (__u64)ts.tv_nsec;
	return v->od_until_ns > now ? (v->od_until_ns - now + 999999) / 1000000 : 0;
}

/* A key as a string of its bytes, for the sets below. */
static const char *hex_of(const void *key, size_t len, char *buf)
{
	for (size_t b = 0; b < len; b++)
		snprintf(buf + 2 * b, 3, "%02x", ((const unsigned char *)key)[b]);
	return buf;
}

/* The stat keys of @r's clusters and endpoints. */
static int known_keys(const struct km_records *r, struct km_strmap *set)
{
	char hex[2 * sizeof(struct km_ep_stat_key) + 1];
	struct km_ep_stat_key k;
	int ret = 0;

	for (size_t i = 0; i < r->n_clusters && !ret; i++)
		km_strmap_put(set, hex_of(&r->clusters[i].stat_key, 8, hex),
			      (void *)1, &ret);
	for (size_t i = 0; i < r->n_endpoints && !ret; i++) {
		const struct km_endpoint *ep = &r->ep_vals[i];

		memset(&k, 0, sizeof(k));
		km_ep_stat_key_set(&k, r->clusters[r->ep_keys[i].cluster_id].stat_key,
				   &ep->addr, ep->port);
		km_strmap_put(set, hex_of(&k, sizeof(k), hex), (void *)1, &ret);
	}
	return ret;
}

/* Deletes the records of @fd (keys of @ksz bytes, a __u64 count of active
 * connections first in the value) that @known lacks and that are idle.
 * Collected first: deleting while walking restarts get_next_key. */
static int prune_map(int fd, size_t ksz, const struct km_strmap *known)
{
	char hex[2 * sizeof(struct km_ep_stat_key) + 1];
	unsigned char cur[sizeof(struct km_ep_stat_key)], *prev = NULL;
	unsigned char last[sizeof(cur)], *keys = NULL, *nk;
	size_t n = 0, cap = 0;
	union {			/* both start with cx_active */
		struct km_cl_stat cl;
		struct km_ep_stat ep;
	} v;
	int removed = 0;

	while (bpf_map_get_next_key(fd, prev, cur) == 0) {
		memcpy(last, cur, ksz);
		prev = last;
		if (km_strmap_get(known, hex_of(cur, ksz, hex)) ||
		    bpf_map_lookup_elem(fd, cur, &v) || v.cl.cx_active)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nk = realloc(keys, cap * ksz);
			if (!nk) {
				free(keys);
				return -ENOMEM;
			}
			keys = nk;
		}
		memcpy(keys + n++ * ksz, cur, ksz);
	}
	for (size_t i = 0; i < n; i++)
		if (!bpf_map_delete_elem(fd, keys + i * ksz))
			removed++;
	free(keys);
	return removed;
}

int km_lbstat_prune(const struct km_maps *mp, const struct km_records *r)
{
	struct km_strmap known = {};
	int ret, a = 0, b = 0;

	ret = known_keys(r, &known);
	if (!ret)
		ret = a = prune_map(mp->ep_stat, sizeof(struct km_ep_stat_key),
				    &known);
	if (ret >= 0)
		ret = b = prune_map(mp->cl_stat, sizeof(__u64), &known);
	km_strmap_free(&known);
	return ret < 0 ? ret : a + b;
}
