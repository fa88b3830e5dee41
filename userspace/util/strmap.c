// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

static char tomb_mark;
#define KM_STRMAP_TOMB (&tomb_mark)

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/* Slot holding @key, or -1. */
static long find(const struct km_strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return -1;
	for (i = fnv1a(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] != KM_STRMAP_TOMB && strcmp(m->keys[i], key) == 0)
			return i;
	return -1;
}

static int grow(struct km_strmap *m)
{
	struct km_strmap n = { .cap = m->cap ? m->cap * 2 : 16 };

	/* rehash in place of tombstones when they, not entries, fill it */
	if (m->cap && m->len * 4 < m->cap)
		n.cap = m->cap;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i] || m->keys[i] == KM_STRMAP_TOMB)
			continue;
		for (j = fnv1a(m->keys[i]) & (n.cap - 1); n.keys[j]; j = (j + 1) & (n.cap - 1))
			;
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
		n.len++;
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

void *km_strmap_get(const struct km_strmap *m, const char *key)
{
	long i = find(m, key);

	return i < 0 ? NULL : m->vals[i];
}

void *km_strmap_put(struct km_strmap *m, const char *key, void *val, int *err)
{
	long i = find(m, key);
	void *old;
	size_t j;

	*err = 0;
	if (i >= 0) {
		old = m->vals[i];
		m->vals[i] = val;
		return old;
	}
	if ((m->len + m->tombs + 1) * 2 > m->cap && (*err = grow(m)))
		return NULL;
	for (j = fnv1a(key) & (m->cap - 1);
	     m->keys[j] && m->keys[j] != KM_STRMAP_TOMB; j = (j + 1) & (m->cap - 1))
		;
	if (m->keys[j] == KM_STRMAP_TOMB)
		m->tombs--;
	m->keys[j] = strdup(key);
	if (!m->keys[j]) {
		*err = -ENOMEM;
		return NULL;
	}
	m->vals[j] = val;
	m->len++;
	return NULL;
}

void *km_strmap_del(struct km_strmap *m, const char *key)
{
	long i = find(m, key);
	void *old;

	if (i < 0)
		return NULL;
	old = m->vals[i];
	free(m->keys[i]);
	m->keys[i] = KM_STRMAP_TOMB;
	m->vals[i] = NULL;
	m->len--;
	m->tombs++;
	return old;
}

int km_strmap_next(const struct km_strmap *m, size_t *i, const char **key,
		   void **val)
{
	for (; *i < m->cap; (*i)++) {
		if (m->keys[*i] && m->keys[*i] != KM_STRMAP_TOMB) {
			*key = m->keys[*i];
			*val = m->vals[*i];
			(*i)++;
			return 1;
		}
	}
	return 0;
}

void km_strmap_free(struct km_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] != KM_STRMAP_TOMB)
			free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
