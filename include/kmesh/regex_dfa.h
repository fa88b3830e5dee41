/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A compiled safe_regex: a DFA table kmeshd builds
 * (userspace/model/regex_dfa.c) and the route matcher runs
 * (kmod/route_match.c, in kmesh.ko and in kmeshctl explain alike).
 *
 * Layout, 4-aligned, little-endian like every map value:
 *
 *   struct km_dfa                                 16 bytes
 *   __u8  class_map[256]                          byte -> byte class
 *   __u32 accept[(n_states + 31) / 32]            bit s: state s accepts
 *   __u16 trans[n_states * n_classes]             next state, padded to 4
 *
 * State 0 is the dead state (no transition leaves it, it never accepts):
 * the runner stops there. Matching is RE2's FullMatch, what Envoy's
 * safe_regex does for paths, headers and query parameters: the DFA starts
 * at `start` before the first byte, takes one transition per byte and the
 * value matches if the state after the last byte accepts.
 *
 * km_dfa_match() trusts nothing in the table: the header is copied once
 * and checked against the limits below and the bytes available, every
 * class and every next state read is checked against n_classes and
 * n_states before it is used. One pass over the input, a constant amount
 * of work per byte, no recursion, no allocation.
 */
#ifndef KMESH_REGEX_DFA_H
#define KMESH_REGEX_DFA_H

#if defined(__KERNEL__)
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <linux/types.h>
#include <errno.h>
#endif

/* The compiler refuses a regex whose DFA needs more. */
#define KM_DFA_MAX_STATES 1024
/* n_states * n_classes transitions, 2 bytes each: 32 KiB per regex */
#define KM_DFA_MAX_TRANS 16384

struct km_dfa {
	__u16 n_states;		/* 1..KM_DFA_MAX_STATES, state 0 dead */
	__u16 n_classes;	/* 1..256 */
	__u16 start;		/* < n_states */
	__u16 pad;
	__u32 size;		/* bytes, this header included: km_dfa_size() */
	__u32 pad2;
};
_Static_assert(sizeof(struct km_dfa) == 16, "km_dfa ABI");

static inline __u32 km_dfa_accept_off(void)
{
	return sizeof(struct km_dfa) + 256;
}

static inline __u32 km_dfa_trans_off(__u32 n_states)
{
	return km_dfa_accept_off() + (n_states + 31) / 32 * 4;
}

/* The size a table of these dimensions has, 0 if they are out of limits. */
static inline __u32 km_dfa_size(__u32 n_states, __u32 n_classes)
{
	if (n_states < 1 || n_states > KM_DFA_MAX_STATES || n_classes < 1 ||
	    n_classes > 256 || n_states * n_classes > KM_DFA_MAX_TRANS)
		return 0;
	return km_dfa_trans_off(n_states) +
	       ((n_states * n_classes * 2 + 3) & ~3u);
}

/*
 * Does s[0..len) match the DFA at dfa (avail bytes readable there, 4-byte
 * aligned)? 1 yes, 0 no, -EINVAL a malformed table. The table may be a
 * map value rewritten while we run: each word is loaded once (volatile) and
 * checked before use, so a racing writer gives a wrong answer, never an
 * out-of-bounds read. len is the caller's bound (the request head's).
 */
static inline int km_dfa_match(const void *dfa, __u32 avail, const char *s,
			       __u32 len)
{
	const volatile __u32 *w = (const volatile __u32 *)dfa;
	const volatile __u8 *cls;
	const volatile __u32 *acc;
	const volatile __u16 *trans;
	__u32 hw[4], ns, nc, st, i, c;

	if (avail < sizeof(struct km_dfa) || ((unsigned long)dfa & 3))
		return -EINVAL;
	for (i = 0; i < 4; i++)
		hw[i] = w[i];
	ns = hw[0] & 0xffff;
	nc = hw[0] >> 16;
	st = hw[1] & 0xffff;
	/* the size it claims must be the size its dimensions give */
	if (!km_dfa_size(ns, nc) || hw[2] != km_dfa_size(ns, nc) ||
	    hw[2] > avail || st >= ns)
		return -EINVAL;
	cls = (const volatile __u8 *)dfa + sizeof(struct km_dfa);
	acc = (const volatile __u32 *)((const char *)dfa + km_dfa_accept_off());
	trans = (const volatile __u16 *)((const char *)dfa +
					 km_dfa_trans_off(ns));
	for (i = 0; i < len && st; i++) {
		c = cls[(unsigned char)s[i]];
		if (c >= nc)
			return -EINVAL;
		st = trans[st * nc + c];
		if (st >= ns)
			return -EINVAL;
	}
	return (acc[st / 32] >> (st % 32)) & 1;
}

#endif /* KMESH_REGEX_DFA_H */
