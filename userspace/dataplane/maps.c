// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Map writer and the generation flip.
 *
 * Config records carry a slot bit; km_gen names the live slot. Applying a
 * config: (1) delete whatever the idle slot still holds (the generation
 * before the live one), (2) write every record into the idle slot, (3) flip
 * km_gen with one update. A connect program reads km_gen once, so it sees
 * the old records or the new ones, never a mix. Step 1 of the next apply
 * deletes the records of a generation the data path stopped reading at the
 * previous flip; KM_MIN_FLIP_GAP_NS keeps that at least a few RCU grace
 * periods later than any program that could still hold the old slot (a
 * connect program runs for well under a microsecond).
 *
 * Cluster and endpoint records also carry an endpoint view (abi.h,
 * km_view_slot): an EDS change replaces one cluster's endpoints in the
 * live slot through its idle view (incr.c). Clearing a slot clears both
 * views; the new slot starts with every cluster in view 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "kmesh/route_table.h"

#define KM_MIN_FLIP_GAP_NS (50 * 1000 * 1000ull)

#define KM_CNT_NAME(id, name) [KM_CNT_##id] = name,
const char *const km_counter_names[KM_CNT_MAX] = { KM_COUNTERS(KM_CNT_NAME) };
#undef KM_CNT_NAME

int km_maps_open(const char *pin_root, struct km_maps *mp, struct km_err *err)
{
	static const char *const names[] = KM_MAP_NAMES;
	int *fds = &mp->gen;
	char path[512];

	_Static_assert(sizeof(names) / sizeof(names[0]) ==
		       sizeof(struct km_maps) / sizeof(int), "KM_MAP_NAMES");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fds[i] = -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_root, names[i]);
		fds[i] = bpf_obj_get(path);
		if (fds[i] < 0) {
			int ret = -errno;

			km_err_set(err, "%s: %s%s", path, strerror(-ret),
				   ret == -ENOENT ? " (has kmeshd run on this node?)" : "");
			km_maps_close(mp);
			return ret;
		}
	}
	return 0;
}

void km_maps_close(struct km_maps *mp)
{
	int *fds = &mp->gen;

	for (size_t i = 0; i < sizeof(*mp) / sizeof(int); i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int km_maps_read_gen(const struct km_maps *mp, struct km_gen *g)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(mp->gen, &zero, g) ? -errno : 0;
}

int km_maps_read_counters(const struct km_maps *mp, uint64_t out[KM_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < KM_CNT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(mp->counters, &k, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				out[k] += vals[c];
	}
	free(vals);
	return 0;
}

/* ---- endpoint views ---------------------------------------------------------- */

__u8 km_maps_view_slot(const struct km_maps *mp, __u8 slot, __u32 id)
{
	__u32 k = km_cl_view_index(slot, id), v = 0;

	if (bpf_map_lookup_elem(mp->cl_view, &k, &v))
		v = 0;
	return km_view_slot(slot, v);
}

int km_maps_count_live(const struct km_maps *mp, __u8 slot, size_t *clusters,
		       size_t *endpoints)
{
	struct km_cluster_key k, prev;
	struct km_cluster c;
	bool first = true;

	*clusters = *endpoints = 0;
	while (bpf_map_get_next_key(mp->cluster, first ? NULL : &prev, &k) == 0) {
		first = false;
		prev = k;
		if ((k.slot & 1) != (slot & 1) ||
		    k.slot != km_maps_view_slot(mp, slot, k.id) ||
		    bpf_map_lookup_elem(mp->cluster, &k, &c))
			continue;
		(*clusters)++;
		*endpoints += c.n_endpoints;
	}
	return 0;
}

/* ---- slot clearing ---------------------------------------------------------- */

/* Byte offset of the slot field in each config key type. */
#define FE_SLOT offsetof(struct km_frontend_key, slot)
#define CL_SLOT offsetof(struct km_cluster_key, slot)
#define EP_SLOT offsetof(struct km_endpoint_key, slot)
#define NM_SLOT offsetof(struct km_name_key, slot)
#define MG_SLOT offsetof(struct km_maglev_key, slot)

int km_maps_clear_slot(int fd, size_t key_size, size_t slot_off, __u8 slot)
{
	size_t cap = 1024, n = 0;
	char *keys = malloc(cap * key_size), *prev = NULL;
	char cur[256], last[256];	/* the largest key: km_authz_atom_key */
	int ret = 0;

	if (!keys)
		return -ENOMEM;
	/* Collect first: deleting while walking restarts get_next_key. */
	for (;;) {
		if (bpf_map_get_next_key(fd, prev, cur)) {
			if (errno != ENOENT)
				ret = -errno;
			break;
		}
		if (((__u8)cur[slot_off] & 1) == (slot & 1)) {
			if (n == cap) {
				char *nk = realloc(keys, 2 * cap * key_size);

				if (!nk) {
					ret = -ENOMEM;
					break;
				}
				keys = nk;
				cap *= 2;
			}
			memcpy(keys + n * key_size, cur, key_size);
			n++;
		}
		memcpy(last, cur, key_size);
		prev = last;
	}
	for (size_t i = 0; i < n && !ret; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) && errno != ENOENT)
			ret = -errno;
	free(keys);
	return ret;
}

/* ---- writing -------------------------------------------------------------------- */

/* Batch update when the kernel has it (5.6+), element by element otherwise. */
static int write_batch(int fd, const void *keys, const void *vals, size_t n,
		       size_t ksz, size_t vsz)
{
	__u32 count = n;

	if (n == 0)
		return 0;
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL) == 0 && count == n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * ksz,
					(const char *)vals + i * vsz, BPF_ANY))
			return -errno;
	return 0;
}

static int write_names(int fd, const char **names, size_t n, __u8 kind, __u8 slot)
{
	struct km_name_key k = { .kind = kind, .slot = slot };
	struct km_name v;

	for (size_t i = 0; i < n; i++) {
		k.id = i;
		memset(&v, 0, sizeof(v));
		snprintf(v.s, sizeof(v.s), "%s", names[i]);
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

/*
 * Route tables go to the idle slot's entries: a small one into km_route
 * (an array: stale entries past the ones written are never read), a big
 * one into km_route_big, whose entries the slot no longer uses are
 * deleted so their memory comes back.
 */
static int write_routes(const struct km_maps *mp, const struct km_records *r,
			__u8 slot)
{
	unsigned char *v = NULL;
	size_t vlen;
	int ret = 0;

	for (size_t i = 0; i < r->n_routes && !ret; i++) {
		bool big = r->route_big[i];
		size_t max = big ? KM_ROUTE_TABLE_BIG : KM_ROUTE_TABLE_MAX;
		__u32 k = big ? km_route_big_index(slot, r->route_ids[i]) :
				km_route_index(slot, r->route_ids[i]);

		if (r->route_lens[i] > max)
			return -E2BIG;
		vlen = max;
		v = v ? v : malloc(KM_ROUTE_TABLE_BIG);
		if (!v)
			return -ENOMEM;
		memcpy(v, r->route_blobs[i], r->route_lens[i]);
		memset(v + r->route_lens[i], 0, vlen - r->route_lens[i]);
		if (bpf_map_update_elem(big ? mp->route_big : mp->route, &k, v,
					BPF_ANY))
			ret = -errno;
	}
	free(v);
	for (__u32 id = r->n_big_routes; !ret && id < KM_MAX_BIG_ROUTE_CONFIGS;
	     id++) {
		__u32 k = km_route_big_index(slot, id);

		if (bpf_map_delete_elem(mp->route_big, &k) && errno != ENOENT)
			ret = -errno;
	}
	return ret;
}

/* Maglev tables: chunk i of the records is chunk i of the slot. */
static int write_maglev(int fd, const struct km_records *r, __u8 slot)
{
	struct km_maglev_key k = { .slot = slot };

	for (size_t i = 0; i < r->n_maglev_chunks; i++) {
		k.chunk = i;
		if (bpf_map_update_elem(fd, &k, &r->maglev[i], BPF_ANY))
			return -errno;
	}
	return 0;
}

static int write_slot(const struct km_maps *mp, const struct km_records *r,
		      __u8 slot, const char **what)
{
	struct km_cluster_key *ck = calloc(r->n_clusters + 1, sizeof(*ck));
	int ret;

	if (!ck)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_clusters; i++) {
		ck[i].id = i;
		ck[i].slot = slot;
	}
	for (size_t i = 0; i < r->n_endpoints; i++)
		r->ep_keys[i].slot = slot;
	for (size_t i = 0; i < r->n_frontends; i++)
		r->fe_keys[i].slot = slot;

	*what = "km_endpoint";
	ret = write_batch(mp->endpoint, r->ep_keys, r->ep_vals, r->n_endpoints,
			  sizeof(*r->ep_keys), sizeof(*r->ep_vals));
	if (!ret) {
		*what = "km_cluster";
		ret = write_batch(mp->cluster, ck, r->clusters, r->n_clusters,
				  sizeof(*ck), sizeof(*r->clusters));
	}
	if (!ret) {
		*what = "km_names";
		ret = write_names(mp->names, r->listener_names, r->n_listener_names,
				  KM_NAME_LISTENER, slot);
	}
	if (!ret)
		ret = write_names(mp->names, r->cluster_names, r->n_clusters,
				  KM_NAME_CLUSTER, slot);
	if (!ret) {
		*what = "km_route";
		ret = write_routes(mp, r, slot);
	}
	if (!ret) {
		*what = "km_maglev";
		ret = write_maglev(mp->maglev, r, slot);
	}
	if (!ret) {
		*what = "km_frontend";
		ret = write_batch(mp->frontend, r->fe_keys, r->fe_vals, r->n_frontends,
				  sizeof(*r->fe_keys), sizeof(*r->fe_vals));
	}
	free(ck);
	return ret;
}

/* Every cluster of the new generation starts in view 0 (the records
 * write_slot() wrote): the words of the idle slot, before its flip. */
static int reset_views(int fd, size_t n, __u8 slot)
{
	__u32 *keys = calloc(n + 1, sizeof(*keys));
	__u32 *vals = calloc(n + 1, sizeof(*vals));
	int ret = -ENOMEM;

	if (keys && vals) {
		for (size_t i = 0; i < n; i++)
			keys[i] = km_cl_view_index(slot, i);
		ret = write_batch(fd, keys, vals, n, sizeof(*keys), sizeof(*vals));
	}
	free(keys);
	free(vals);
	return ret;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int km_maps_apply(const struct km_maps *mp, const struct km_records *r,
		  uint64_t *generation, struct km_err *err)
{
	static uint64_t last_flip_ns;
	const char *what = "km_gen";
	struct km_gen g;
	__u32 zero = 0;
	__u8 idle;
	int ret;

	ret = km_maps_read_gen(mp, &g);
	if (ret)
		goto fail;
	idle = (g.slot & 1) ^ 1;

	if (last_flip_ns && now_ns() - last_flip_ns < KM_MIN_FLIP_GAP_NS) {
		uint64_t wait = KM_MIN_FLIP_GAP_NS - (now_ns() - last_flip_ns);

		nanosleep(&(struct timespec){ .tv_nsec = wait }, NULL);
	}
	what = "clearing the idle generation";
	ret = km_maps_clear_slot(mp->frontend, sizeof(struct km_frontend_key), FE_SLOT, idle);
	if (!ret)
		ret = km_maps_clear_slot(mp->cluster, sizeof(struct km_cluster_key), CL_SLOT, idle);
	if (!ret)
		ret = km_maps_clear_slot(mp->endpoint, sizeof(struct km_endpoint_key), EP_SLOT, idle);
	if (!ret)
		ret = km_maps_clear_slot(mp->names, sizeof(struct km_name_key), NM_SLOT, idle);
	if (!ret)
		ret = km_maps_clear_slot(mp->maglev, sizeof(struct km_maglev_key), MG_SLOT, idle);
	if (!ret)
		ret = write_slot(mp, r, idle, &what);
	if (!ret)
		ret = km_authz_maps_write(mp, &r->authz, idle, &what);
	if (!ret) {
		what = "km_cl_view";
		ret = reset_views(mp->cl_view, r->n_clusters, idle);
	}
	if (ret)
		goto fail;

	g.generation++;
	g.slot = idle;
	/* the flip and the switch of authorization on or off are one write */
	g.flags = r->authz.n_targets ? g.flags | KM_GEN_AUTHZ :
				       g.flags & ~KM_GEN_AUTHZ;
	what = "km_gen";
	if (bpf_map_update_elem(mp->gen, &zero, &g, BPF_ANY)) {
		ret = -errno;
		goto fail;
	}
	last_flip_ns = now_ns();
	*generation = g.generation;
	return 0;
fail:
	km_err_set(err, "writing %s: %s; the previous config keeps serving", what,
		   strerror(-ret));
	return ret;
}
