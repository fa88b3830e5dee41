/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a config asks for that kmesh accepts without enforcing (enum
 * km_not_enforced in model.h): by kind, with a count, an example and the
 * reason, for kmeshd's log and --check. Only settings that are safe to
 * degrade are in this class; the readers refuse the rest.
 */
#ifndef KM_NOT_ENFORCED_H
#define KM_NOT_ENFORCED_H

#include "model.h"

struct km_ne_item {
	const char *kind;	/* the Envoy field, "outlier_detection" */
	const char *why;
	size_t count;		/* resources (clusters, routes, listeners) */
	const char *example;	/* a resource's name, borrowed from the model */
};

/* Fills @out with the kinds @m holds, in enum order; returns how many. */
size_t km_not_enforced(const struct km_model *m,
		       struct km_ne_item out[KM_NE_COUNT]);

#endif
