/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map sizes from kmeshd --max-services and --max-endpoints (capacity.c). */
#ifndef KM_CAPACITY_H
#define KM_CAPACITY_H

#include <stdint.h>

#include <bpf/libbpf.h>

#include "diag.h"

struct km_cap_row {
	const char *map;	/* "km_<name>" */
	uint64_t per_service, per_endpoint;	/* entries per unit */
};

/* Each sized map: max_entries = per_service * services + per_endpoint *
 * endpoints. NULL-terminated. */
extern const struct km_cap_row km_cap_rows[];

/*
 * Sizes @obj's maps for @services (clusters, and service addresses) and
 * @endpoints per generation. A map already pinned under @pin_root with
 * another size cannot be reused (it holds the running config): refused,
 * naming both sizes.
 */
int km_capacity_prepare(struct bpf_object *obj, const char *pin_root,
			uint32_t services, uint32_t endpoints, struct km_err *err);

/* Per generation capacity of pinned map @map (open as @fd): its size over
 * its km_cap_rows multiplier. 0 when unknown. */
uint64_t km_capacity_of(int fd, const char *map);

#endif
