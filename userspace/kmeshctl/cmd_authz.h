/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* kmeshctl authz (policies and their counters) and the identity part of
 * kmeshctl enroll --namespace NS --service-account SA (docs/authz.md). */
#ifndef KM_CTL_AUTHZ_H
#define KM_CTL_AUTHZ_H

#include <stdbool.h>

#include "maps.h"

struct km_ctl_ident {
	const char *ns;		/* NULL: none given */
	const char *sa;
};

/* enroll's options before the path: --namespace NS --service-account SA
 * (both or neither); argc and argv are moved past them. -1 on a bad line
 * (said on stderr). */
int km_ctl_ident_args(int *argc, char ***argv, struct km_ctl_ident *id);

/* After (un)enrolling @k: its identity set (both names given), or
 * removed (unenroll, or enroll without names). Returns the exit code. */
int km_ctl_ident_apply(const struct km_maps *mp, const struct km_enroll_key *k,
		       const struct km_ctl_ident *id, bool add);


#endif
