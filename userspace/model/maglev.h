/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maglev lookup tables, built by kmeshd for MAGLEV and RING_HASH clusters
 * and read by the connect path (kmesh/lb_policy.h, km_pick_maglev). */
#ifndef KM_MAGLEV_H
#define KM_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmesh/abi.h"

/*
 * Fills @table (@size entries, @size prime) with indexes into @eps (@n
 * endpoints, 1..65535). 0, or -EINVAL for a size that is not a prime
 * above 1, -ENOMEM.
 */
int km_maglev_build(const struct km_endpoint *eps, size_t n, uint32_t size,
		    uint16_t *table);
bool km_is_prime(uint64_t x);

#endif
