/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* EDS changes in place: compile the changed clusters, check, write
 * (incr_apply.c). */
#ifndef KM_INCR_APPLY_H
#define KM_INCR_APPLY_H

#include "compiler.h"
#include "incr.h"

/* The whole model must be applied instead. */
#define KM_INCR_FULL 1

/* After a full apply of @r (compiled from @m) into generation @slot. */
int km_incr_reset_from(struct km_incr *w, __u8 slot, const struct km_model *m,
		       const struct km_records *r);
/* Replaces the endpoints of the @n clusters @cl (each with its new
 * endpoints). 0, KM_INCR_FULL, or negative errno with @err set when the
 * change is refused (nothing was written). */
int km_incr_apply(struct km_incr *w, const struct km_m_cluster *cl, size_t n,
		  struct km_err *err);

#endif
