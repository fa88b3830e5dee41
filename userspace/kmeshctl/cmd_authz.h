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

struct ctl;

/* One connect judged by the kernel's evaluator on the live maps (kmeshctl
 * authz check and kmeshctl explain --source/--identity). */
struct km_ctl_authz_query {
	const char *dest;	/* IP:PORT dialed */
	const char *source;	/* IP[:PORT]; NULL: unknown (not bound) */
	const char *identity;	/* NS/SA; NULL: no proven identity */
};

/* Prints the answer (text, or JSON with -o json): 0 allowed, 1 denied, 2
 * a bad argument or the maps (said on stderr). */
int km_ctl_authz_answer(struct ctl *c, const struct km_ctl_authz_query *q);

/* kmeshctl dump's part: the policies of each destination of the live
 * generation, text or into @j (an open object: adds "authorization"). */
struct km_json;
void km_ctl_authz_dump(struct ctl *c, struct km_json *j);

#endif
