/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The pinned maps, opened by path: kmeshd writes them, kmeshctl reads them. */
#ifndef KM_MAPS_H
#define KM_MAPS_H

#include <stdint.h>

#include "compiler.h"

struct km_maps {
	int gen;
	int frontend;
	int cluster;
	int endpoint;
	int names;
	int enroll;
	int rr;
	int counters;
	int route;
	/* authorization (authz_maps.c) */
	int authz;
	int authz_ops;
	int ident;
	int authz_atom;
	int authz_stats;
};

/* Map names as pinned under the pin root (the BPF object's names). */
#define KM_MAP_NAMES { "km_gen", "km_frontend", "km_cluster", "km_endpoint", \
		       "km_names", "km_enroll", "km_rr", "km_counters", "km_route", \
		       "km_authz", "km_authz_ops", "km_ident", "km_authz_atom", \
		       "km_authz_stats" }

/* -ENOENT when kmeshd has never run (nothing pinned). */
int km_maps_open(const char *pin_root, struct km_maps *mp, struct km_err *err);
void km_maps_close(struct km_maps *mp);

int km_maps_read_gen(const struct km_maps *mp, struct km_gen *g);
/* Sum of the per-CPU values of every counter. */
int km_maps_read_counters(const struct km_maps *mp, uint64_t out[KM_CNT_MAX]);
extern const char *const km_counter_names[KM_CNT_MAX];

/* Deletes every key of the hash map @fd whose slot byte (at @slot_off of
 * its @key_size-byte key) is @slot. */
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
