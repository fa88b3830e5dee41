/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The authorization decision: one evaluator of a policy program
 * (authz_abi.h), compiled into the BPF connect programs and into userspace
 * (kmeshctl explain, unit tests), so what explain answers is what the
 * kernel does.
 *
 * The includer defines, before including this file:
 *   static __always_inline void km_az_count(void *cctx, __u32 row, int what);
 * with what one of enum km_az_count_what (authz_abi.h); BPF adds to
 * km_authz_stats.
 *
 * Semantics are Envoy's RBAC filter's, one engine per filter, in order:
 *   DENY engine:  a policy that matches denies;
 *   ALLOW engine: a policy must match, else the connection is denied
 *                 (an engine with no policy denies everything);
 *   shadow:       evaluated and counted, never enforced.
 * A connection passes when every engine lets it through, so a DENY policy
 * wins over an ALLOW one wherever each sits. Results are three-valued
 * (Kleene logic): a condition kmesh cannot evaluate is unknown, an unknown
 * DENY result denies and an unknown ALLOW result does not allow (fail
 * closed). A malformed program denies.
 */
#ifndef KMESH_AUTHZ_EVAL_H
#define KMESH_AUTHZ_EVAL_H

#include "abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* The connection as the connect hook sees it. Addresses IPv4-mapped. */
struct km_az_env {
	struct km_addr dst;
	struct km_addr src;
	__u16 dport;		/* host order */
	__u8 src_known;		/* 0: the socket is not bound yet */
	__u8 has_ident;		/* an enrolled identity */
	__u32 ns_atom;		/* 0: its namespace is named by no policy */
	__u32 sa_atom;		/* 0: its principal is named by no policy */
};

enum km_az_verdict {
	KM_AZV_ALLOW = 0,
	KM_AZV_DENY = 1,
};

enum km_az_why {
	KM_AZW_NONE = 0,
	KM_AZW_DENY_POLICY = 1,	/* a DENY policy matched: row */
	KM_AZW_NO_ALLOW = 2,	/* no policy of an ALLOW engine: row */
	KM_AZW_MALFORMED = 3,	/* a bad program (op index in row) */
	KM_AZW_PREEMPTED = 4,	/* BPF: another connect on this CPU took the
				 * evaluation state mid-way (fail closed) */
};

struct km_az_state {
	struct km_az_env env;
	__u64 v, k;		/* value and known bits; top of stack = bit 0 */
	__u32 depth;
	__u32 skip_to;		/* ops below this index are skipped */
	__u32 engine_end;
	__u32 engine_row;
	__u8 engine_flags;	/* enum km_authz_engine_flags */
	__u8 in_engine;
	__u8 matched;		/* the ALLOW engine had a policy match */
	__u8 maybe;		/* ... or one whose result was unknown */
	__u8 verdict;		/* enum km_az_verdict */
	__u8 why;		/* enum km_az_why */
	__u8 unknown;		/* the deny rests on an unknown result */
	__u8 done;		/* decided: END reached, or denied */
	__u32 row;		/* the counter row that decided */
};

static __always_inline void km_az_init(struct km_az_state *st)
{
	st->v = 0;
	st->k = 0;
	st->depth = 0;
	st->skip_to = 0;
	st->engine_end = 0;
	st->engine_row = 0;
	st->engine_flags = 0;
	st->in_engine = 0;
	st->matched = 0;
	st->maybe = 0;
	st->verdict = KM_AZV_ALLOW;
	st->why = KM_AZW_NONE;
	st->unknown = 0;
	st->done = 0;
	st->row = 0;
}

static __always_inline int km_az_deny(struct km_az_state *st, void *cctx,
				      __u8 why, __u32 row, __u8 unknown)
{
	st->verdict = KM_AZV_DENY;
	st->done = 1;
	st->why = why;
	st->row = row;
	st->unknown = unknown;
	if (why != KM_AZW_MALFORMED) {
		km_az_count(cctx, row, KM_AZC_DENIED);
		if (unknown)
			km_az_count(cctx, row, KM_AZC_FAIL_CLOSED);
	}
	return 1;
}

/* Push a result: known and value. 0, or 1 on overflow. */
static __always_inline int km_az_push(struct km_az_state *st, __u64 known,
				      __u64 value)
{
	if (st->depth >= KM_AUTHZ_STACK)
		return 1;
	st->v = (st->v << 1) | (value & known & 1);
	st->k = (st->k << 1) | (known & 1);
	st->depth++;
	return 0;
}

/* The top result; 0, or 1 on underflow. */
static __always_inline int km_az_pop(struct km_az_state *st, __u64 *known,
				     __u64 *value)
{
	if (st->depth == 0)
		return 1;
	*known = st->k & 1;
	*value = st->v & 1;
	st->v >>= 1;
	st->k >>= 1;
	st->depth--;
	return 0;
}

/* AND (or OR) of the top n results. 0, or 1 on a bad n. */
static __always_inline int km_az_combine(struct km_az_state *st, __u32 n,
					 int is_or)
{
	__u64 m, V, K, known, value;

	if (n == 0 || n > KM_AUTHZ_STACK || n > st->depth)
		return 1;
	m = (1ull << n) - 1;
	V = st->v & m;
	K = st->k & m;
	if (!is_or) {
		/* false if one is false, true if all are true */
		known = (K & ~V & m) != 0 || (K & V) == m;
		value = (K & V) == m;
	} else {
		/* true if one is true, false if all are false */
		known = (K & V) != 0 || (K & ~V & m) == m;
		value = (K & V) != 0;
	}
	st->v >>= n;
	st->k >>= n;
	st->depth -= n;
	return km_az_push(st, known, value);
}

/* @a in @net/@len (bits of the 128-bit, IPv4-mapped address). */
static __always_inline int km_az_in_cidr(const struct km_addr *a,
					 const struct km_addr *net, __u32 len)
{
	__u32 i, bits, mask;

	if (len > 128)
		return 0;
	for (i = 0; i < 4; i++) {
		bits = len > 32 * i ? len - 32 * i : 0;
		if (bits == 0)
			break;
		/* network order in memory: compare in host order */
		mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		if ((__builtin_bswap32(a->w[i]) & mask) !=
		    (__builtin_bswap32(net->w[i]) & mask))
			return 0;
	}
	return 1;
}

/* The engine that just ended: an ALLOW engine with no match denies. */
static __always_inline int km_az_end_engine(struct km_az_state *st,
					    void *cctx)
{
	if (!st->in_engine)
		return 0;
	st->in_engine = 0;
	if ((st->engine_flags & KM_AZE_DENY) || st->matched)
		return 0;
	if (st->engine_flags & KM_AZE_SHADOW) {
		km_az_count(cctx, st->engine_row, KM_AZC_SHADOW_DENIED);
		return 0;
	}
	return km_az_deny(st, cctx, KM_AZW_NO_ALLOW, st->engine_row,
			  st->maybe);
}

static __always_inline int km_az_policy(struct km_az_state *st, void *cctx,
					__u32 row, __u64 known, __u64 value)
{
	if (st->engine_flags & KM_AZE_DENY) {
		if (known && !value)
			return 0;
		if (st->engine_flags & KM_AZE_SHADOW) {
			km_az_count(cctx, row, KM_AZC_SHADOW_DENIED);
			return 0;
		}
		return km_az_deny(st, cctx, KM_AZW_DENY_POLICY, row, !known);
	}
	if (!known) {
		st->maybe = 1;
		return 0;
	}
	if (!value)
		return 0;
	st->matched = 1;
	st->skip_to = st->engine_end;
	if (!(st->engine_flags & KM_AZE_SHADOW))
		km_az_count(cctx, row, KM_AZC_ALLOWED);
	return 0;
}

/*
 * One op, index @i of the program. Returns 0 to go on, 1 when decided
 * (st->verdict, st->done). A caller that runs off the end without
 * st->done has a malformed program: deny.
 */
static __always_inline int km_az_step(struct km_az_state *st,
				      const struct km_authz_op *op, __u32 i,
				      void *cctx)
{
	const struct km_az_env *e = &st->env;
	__u64 known = 1, value = 0;

	if (i < st->skip_to)
		return 0;
	switch (op->code) {
	case KM_AZ_END:
		km_az_end_engine(st, cctx);
		st->done = 1;
		return 1;
	case KM_AZ_ENGINE:
		if (km_az_end_engine(st, cctx))
			return 1;
		if (st->depth)
			break;
		st->in_engine = 1;
		st->engine_flags = op->arg;
		st->engine_row = op->id;
		st->engine_end = i + op->lo;
		st->matched = 0;
		st->maybe = 0;
		return 0;
	case KM_AZ_POLICY:
		if (!st->in_engine || km_az_pop(st, &known, &value) ||
		    st->depth)
			break;
		return km_az_policy(st, cctx, op->id, known, value);
	case KM_AZ_SKIP_UNLESS:
		if (km_az_pop(st, &known, &value))
			break;
		if (known && !value)
			st->skip_to = i + 1 + op->lo;
		return 0;
	case KM_AZ_AND:
	case KM_AZ_OR:
		if (km_az_combine(st, op->arg, op->code == KM_AZ_OR))
			break;
		return 0;
	case KM_AZ_NOT:
		if (!st->depth)
			break;
		st->v ^= st->k & 1;
		return 0;
	case KM_AZ_ANY:
		value = 1;
		goto push;
	case KM_AZ_UNKNOWN:
		known = 0;
		goto push;
	case KM_AZ_DPORT:
		value = e->dport >= op->lo && e->dport <= op->hi;
		goto push;
	case KM_AZ_DIP:
		value = km_az_in_cidr(&e->dst, &op->addr, op->arg);
		goto push;
	case KM_AZ_SIP:
		known = e->src_known;
		value = known && km_az_in_cidr(&e->src, &op->addr, op->arg);
		goto push;
	case KM_AZ_IDENT:
		value = e->has_ident;
		goto push;
	case KM_AZ_IDENT_NS:
		value = e->has_ident && e->ns_atom && e->ns_atom == op->id;
		goto push;
	case KM_AZ_IDENT_SA:
		value = e->has_ident && e->sa_atom && e->sa_atom == op->id;
		goto push;
	default:
		break;
	}
	return km_az_deny(st, cctx, KM_AZW_MALFORMED, i, 0);
push:
	if (km_az_push(st, known, value))
		return km_az_deny(st, cctx, KM_AZW_MALFORMED, i, 0);
	return 0;
}

#endif /* KMESH_AUTHZ_EVAL_H */
