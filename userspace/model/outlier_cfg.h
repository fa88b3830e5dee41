/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A cluster's outlier_detection: Envoy's defaults, what kmesh enforces of
 * it (the consecutive detectors, on connect outcomes: include/kmesh/
 * outlier.h) and what it only lists (docs/traffic-policy.md).
 */
#ifndef KM_OUTLIER_CFG_H
#define KM_OUTLIER_CFG_H

#include "model.h"

/* Envoy's defaults, for a reader to overwrite with what is given. */
void km_outlier_init(struct km_outlier *o);

/* The enforced detector: failed connects in a row that eject (0: none)
 * and the percentage of crossings that do. @field names the Envoy field
 * that decides, for messages. */
struct km_od_eff {
	uint32_t consecutive;
	uint8_t enforce;
	const char *field;
};
void km_outlier_effective(const struct km_outlier *o, struct km_od_eff *e);

/* Does @o enable a detector kmesh cannot run (it needs HTTP responses or
 * request statistics)? Then it is listed as not enforced. */
bool km_outlier_not_enforced(const struct km_outlier *o);

/* The km_cluster od_* fields of a checked @o (all 0 when unset). */
void km_outlier_compile(const struct km_outlier *o, struct km_cluster *c);

#endif
