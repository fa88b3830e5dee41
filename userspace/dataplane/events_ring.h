/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The telemetry ring (km_events) at load time: its size. */
#ifndef KM_EVENTS_RING_H
#define KM_EVENTS_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

struct bpf_map;

/* Sizes km_events before load: @bytes (0: KM_EV_RING_DEFAULT) must be a
 * power of two and a multiple of the page size. A ring pinned with another
 * size is unpinned first (its unread events are lost, and said so). */
int km_events_ring_prepare(struct bpf_map *ring, const char *pin_root,
			   uint32_t bytes, struct km_err *err);

#endif
