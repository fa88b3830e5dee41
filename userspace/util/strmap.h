/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A string-keyed hash map (open addressing, FNV-1a): resource names to
 * objects. Keys are copied; values are the caller's. */
#ifndef KM_STRMAP_H
#define KM_STRMAP_H

#include <stddef.h>

struct km_strmap {
	size_t cap;		/* power of two, or 0 */
	size_t len;
	size_t tombs;
	char **keys;		/* NULL empty, KM_STRMAP_TOMB deleted */
	void **vals;
};

void *km_strmap_get(const struct km_strmap *m, const char *key);
/* Inserts or replaces; returns the previous value (or NULL), and -ENOMEM
 * through @err. */
void *km_strmap_put(struct km_strmap *m, const char *key, void *val, int *err);
/* Removes; returns the value it had, or NULL. */
void *km_strmap_del(struct km_strmap *m, const char *key);
/* Iteration: for (i = 0; km_strmap_next(m, &i, &k, &v);) */
int km_strmap_next(const struct km_strmap *m, size_t *i, const char **key,
		   void **val);
void km_strmap_free(struct km_strmap *m);

#endif
