// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maglev tables (Eisenbud et al., "Maglev: A Fast and Reliable Software
 * Network Load Balancer", NSDI 2016), weighted as Envoy's MaglevTable.
 *
 * Each endpoint has a permutation of the table's entries, offset + j *
 * skip (mod size): size is prime, so every skip visits every entry. The
 * endpoints take turns claiming their next free entry until the table is
 * full. The permutation depends only on the endpoint's address, so
 * removing one endpoint frees its entries and moves few others: the
 * figure is measured in tests/unit/test_lb.c.
 *
 * Weights, as Envoy: in round r = 1, 2, ... endpoint i claims an entry
 * when r * weight_i >= target_i, and target_i then grows by the largest
 * weight; an endpoint of the largest weight claims one entry per round,
 * one of a third of it every third round. The turns are taken in (round,
 * endpoint) order from a heap, so skewed weights cost O(size log n), not a
 * pass over every endpoint in every round.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "kmesh/lb_hash.h"

#define SEED_OFFSET 0x6b6d65736831ULL	/* "kmesh1" */
#define SEED_SKIP 0x6b6d65736832ULL	/* "kmesh2" */

bool km_is_prime(uint64_t x)
{
	if (x < 2)
		return false;
	for (uint64_t d = 2; d * d <= x; d++)
		if (x % d == 0)
			return false;
	return true;
}

struct turn {
	uint64_t round;		/* the next round this endpoint claims in */
	uint32_t ep;
};

struct perm {
	uint64_t offset, skip, next;
	uint64_t claims;	/* entries claimed so far */
};

static bool turn_before(const struct turn *a, const struct turn *b)
{
	return a->round < b->round || (a->round == b->round && a->ep < b->ep);
}

static void heap_down(struct turn *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct turn t;

		if (l < n && turn_before(&h[l], &h[m]))
			m = l;
		if (r < n && turn_before(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* The round endpoint @w claims its (@k+1)-th entry in: the first r >= 1
 * with r * w >= k * max_w. */
static uint64_t round_of(uint64_t k, uint64_t w, uint64_t max_w)
{
	uint64_t r = (k * max_w + w - 1) / w;

	return r ? r : 1;
}

static uint64_t ep_hash(const struct km_endpoint *ep, uint64_t seed)
{
	return km_mix64(km_hash_addr(&ep->addr, seed) ^ ep->port);
}

int km_maglev_build(const struct km_endpoint *eps, size_t n, uint32_t size,
		    uint16_t *table)
{
	struct perm *p;
	struct turn *h;
	uint64_t max_w = 0, filled = 0;

	if (!km_is_prime(size) || n == 0 || n > 0xffff)
		return -EINVAL;
	p = calloc(n, sizeof(*p));
	h = calloc(n, sizeof(*h));
	if (!p || !h) {
		free(p);
		free(h);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		p[i].offset = ep_hash(&eps[i], SEED_OFFSET) % size;
		p[i].skip = ep_hash(&eps[i], SEED_SKIP) % (size - 1) + 1;
		if (eps[i].weight > max_w)
			max_w = eps[i].weight;
		h[i] = (struct turn){ .round = 1, .ep = (uint32_t)i };
	}
	/* 0xffff is no endpoint (n <= 0xffff): "free" */
	memset(table, 0xff, (size_t)size * sizeof(*table));
	while (filled < size) {
		struct perm *e = &p[h[0].ep];
		uint64_t c = (e->offset + e->next * e->skip) % size;
		uint64_t w = eps[h[0].ep].weight ? eps[h[0].ep].weight : 1;

		while (table[c] != 0xffff) {
			e->next++;
			c = (e->offset + e->next * e->skip) % size;
		}
		table[c] = (uint16_t)h[0].ep;
		e->next++;
		e->claims++;
		filled++;
		h[0].round = round_of(e->claims, w, max_w);
		heap_down(h, n, 0);
	}
	free(p);
	free(h);
	return 0;
}
