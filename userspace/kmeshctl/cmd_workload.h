/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* kmeshctl enroll's workload names (telemetry's source labels). */
#ifndef KM_CTL_WORKLOAD_H
#define KM_CTL_WORKLOAD_H

#include <stdbool.h>

#include "kmesh/abi.h"

/*
 * The arguments after "enroll": PATH and, in any order, --namespace NS,
 * --workload NAME, --service-account SA (telemetry's source labels).
 * Returns PATH, or NULL after a message.
 */
const char *km_ctl_enroll_args(int argc, char **argv, struct km_workload *w);

/* Records @w for the enrollment at @path (NULL or all empty: forgets
 * them), and drops names of enrollments that are gone. Exit code. */
int km_ctl_workload_names(const char *pin_root, const char *path,
			  const struct km_workload *w);

#endif
