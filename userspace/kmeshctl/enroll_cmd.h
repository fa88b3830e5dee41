/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshctl enroll, unenroll and enrollments: through kmeshd's control
 * socket when kmeshd runs (it keeps who each enrollment is for), else on
 * the pinned map directly; the same code (dataplane/enroll.c) either way.
 */
#ifndef KM_CTL_ENROLL_H
#define KM_CTL_ENROLL_H

#include <stdbool.h>

/* argv: PATH [--namespace NS] [--workload NAME] [--service-account SA].
 * Returns the exit code. */
int km_ctl_enroll(const char *pin_root, const char *state_file, bool json,
		  bool add, int argc, char **argv);
int km_ctl_enrollments(const char *pin_root, const char *state_file, bool json);

#endif
