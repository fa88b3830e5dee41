/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The pinned maps, opened by path: kmeshd writes them, kmeshctl reads them. */
#ifndef KM_MAPS_H
#define KM_MAPS_H

#include <stdint.h>

#include "compiler.h"

/*
 * The maps kmeshd pins and kmeshctl opens, one list: each is "km_<name>" in
 * the BPF object (bpf/lib/maps.h, bpf/lib/authz.h), pinned under the pin
 * root by that name. test_maps checks the list against the object's maps.
 */
#define KM_MAPS(X) X(gen) X(frontend) X(cluster) X(endpoint) X(names) \
	X(enroll) X(rr) X(counters) X(route) X(route_big) X(cl_stat) \
	X(ep_stat) X(maglev) X(authz) X(authz_ops) X(ident) X(authz_atom) \
	X(authz_stats) X(cl_view)

#define KM_MAP_FD(name) int name;
struct km_maps {
	KM_MAPS(KM_MAP_FD)
};
#undef KM_MAP_FD

#define KM_MAP_NAME(name) "km_" #name,
#define KM_MAP_NAMES { KM_MAPS(KM_MAP_NAME) }

/* -ENOENT when kmeshd has never run (nothing pinned). */
int km_maps_open(const char *pin_root, struct km_maps *mp, struct km_err *err);
void km_maps_close(struct km_maps *mp);

int km_maps_read_gen(const struct km_maps *mp, struct km_gen *g);
/* Sum of the per-CPU values of every counter. */
int km_maps_read_counters(const struct km_maps *mp, uint64_t out[KM_CNT_MAX]);
extern const char *const km_counter_names[KM_CNT_MAX];

/* The slot byte of cluster @id's live records in generation @slot (its
 * endpoint view, abi.h). */
__u8 km_maps_view_slot(const struct km_maps *mp, __u8 slot, __u32 id);
/* The clusters of generation @slot, each in its live view, and the
 * endpoints they serve. */
int km_maps_count_live(const struct km_maps *mp, __u8 slot, size_t *clusters,
		       size_t *endpoints);

/* Deletes every key of the hash map @fd whose slot byte (at @slot_off of
 * its @key_size-byte key) is of generation slot @slot, in either endpoint
 * view (abi.h, km_view_slot). */
int km_maps_clear_slot(int fd, size_t key_size, size_t slot_off, __u8 slot);

/* authz_maps.c: the idle slot's policy programs, atoms, counter rows and
 * their names (before the flip); the kind of names in km_names. */
#define KM_NAME_AUTHZ 3
int km_authz_maps_write(const struct km_maps *mp,
			const struct km_authz_records *r, __u8 slot,
			const char **what);

/*
 * Writes @r into the slot the data path is not using, then switches km_gen
 * to it with one map write. On error the live slot is untouched and keeps
 * serving. Returns the new generation in @generation.
 */
int km_maps_apply(const struct km_maps *mp, const struct km_records *r,
		  uint64_t *generation, struct km_err *err);

#endif
