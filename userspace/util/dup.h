/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Duplicate names in a list, for both config sources (YAML and xDS). */
#ifndef KM_DUP_H
#define KM_DUP_H

#include <stdbool.h>
#include <stddef.h>

struct km_dup_ref {
	const char *s;
	size_t pos;		/* position in the caller's list */
};

/*
 * The earliest position (*dup) whose string occurred before, at *first;
 * false when all differ. Sorts, so thousands of names stay cheap; refs is
 * reordered. @nocase compares ASCII case-insensitively (domains).
 */
bool km_find_dup(struct km_dup_ref *refs, size_t n, bool nocase, size_t *first,
		 size_t *dup);

#endif
