// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dup.h"

static int by_pos(const struct km_dup_ref *a, const struct km_dup_ref *b, int d)
{
	if (d)
		return d;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int cmp_case(const void *a, const void *b)
{
	const struct km_dup_ref *x = a, *y = b;

	return by_pos(x, y, strcmp(x->s, y->s));
}

static int cmp_nocase(const void *a, const void *b)
{
	const struct km_dup_ref *x = a, *y = b;

	return by_pos(x, y, strcasecmp(x->s, y->s));
}

bool km_find_dup(struct km_dup_ref *refs, size_t n, bool nocase, size_t *first,
		 size_t *dup)
{
	bool found = false;
	size_t head = 0;

	qsort(refs, n, sizeof(*refs), nocase ? cmp_nocase : cmp_case);
	for (size_t i = 1; i < n; i++) {
		bool same = nocase ? !strcasecmp(refs[i].s, refs[head].s) :
				     !strcmp(refs[i].s, refs[head].s);

		if (!same) {
			head = i;
			continue;
		}
		/* sorted by position within a group: the first later member
		 * is the earliest duplicate of that group */
		if (!found || refs[i].pos < *dup) {
			*first = refs[head].pos;
			*dup = refs[i].pos;
			found = true;
		}
	}
	return found;
}
