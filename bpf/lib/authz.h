/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Authorization at connect (docs/authz.md): the destination's policy
 * program (authz_abi.h) evaluated by include/kmesh/authz_eval.h, the code
 * kmeshctl explain runs. A denied connect fails with ECONNREFUSED.
 *
 * Every TCP connect of the cgroup the programs are attached to is checked,
 * enrolled or not: a policy protects its destination whoever dials it. A
 * generation without policies (km_gen.flags) costs nothing but that test.
 */
#ifndef KM_BPF_AUTHZ_H
#define KM_BPF_AUTHZ_H

#include "maps.h"
#include "enroll.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_AUTHZ_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_authz_key);
	__type(value, struct km_authz_prog);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_authz SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_AUTHZ_OPS);
	__type(key, __u32);
	__type(value, struct km_authz_op);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_authz_ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_MAX_ENROLL);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_enroll_key);
	__type(value, struct km_identity);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_ident SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_AUTHZ_ATOMS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_authz_atom_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_authz_atom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KM_AUTHZ_ROWS);
	__type(key, __u32);
	__type(value, struct km_authz_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_authz_stats SEC(".maps");

/* The atom key is too big for the stack next to the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct km_authz_atom_key);
} km_authz_scratch SEC(".maps");

/* @cctx: the first counter row of the generation's slot (program rows
 * are slot-relative). */
static __always_inline void km_az_count(void *cctx, __u32 row, int what)
{
	__u32 r = (__u32)(unsigned long)cctx + row;
	struct km_authz_count *c = bpf_map_lookup_elem(&km_authz_stats, &r);

	if (!c)
		return;
	if (what == KM_AZC_ALLOWED)
		c->allowed++;
	else if (what == KM_AZC_DENIED)
		c->denied++;
	else if (what == KM_AZC_SHADOW_DENIED)
		c->shadow_denied++;
	else
		c->fail_closed++;
}

#include "kmesh/authz_eval.h"

/*
 * The evaluation state lives in a per-CPU map value, not on the stack:
 * the verifier tracks stack contents exactly, and a loop body whose
 * state (stack depth, skip index, ...) changes every iteration would be
 * explored once per value; map contents are not tracked, so the callback
 * is verified once. A connect hook does not nest on a CPU, but on a
 * preemptible kernel (preempt=full) another task's connect can run on this
 * CPU while the hook is preempted (cgroup hooks run with migration, not
 * preemption, disabled) and take the state. @owner is a random token each
 * evaluation writes first and checks last: a state taken mid-way denies
 * (KM_AZW_PREEMPTED), never decides on another connect's data.
 */
struct km_az_loop {
	__u64 owner;
	struct km_az_state st;
	__u32 base;		/* km_authz_op_index(slot, first) */
	__u32 row0;		/* km_authz_row(slot, 0) */
};

/* One state for the connect hooks, one for sk_lookup: a softirq that
 * runs sk_lookup can interrupt a connect hook on its CPU. */
#define KM_AZ_LOOP_CONNECT 0
#define KM_AZ_LOOP_INBOUND 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct km_az_loop);
} km_authz_loop SEC(".maps");

/* What the connect hook allowed, for the SYN's sockops (km_authz_pass) */
struct km_sk_authz {
	struct km_addr dst;
	__be16 port;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct km_sk_authz);
} km_sk_authz SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KM_MAX_AUTHZ_PASS);
	__type(key, struct km_authz_pass_key);
	__type(value, __u8);
} km_authz_pass SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_MAX_AUTHZ_PEERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_addr);
	__type(value, struct km_identity);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_authz_peer SEC(".maps");

/* @ctx: the caller's __u32, which loop state (KM_AZ_LOOP_*) */
static long km_az_loop_step(__u32 i, void *ctx)
{
	struct km_authz_op *op;
	struct km_az_loop *l;
	__u32 which = *(__u32 *)ctx, idx;

	l = bpf_map_lookup_elem(&km_authz_loop, &which);
	if (!l)
		return 1;
	idx = l->base + i;
	op = bpf_map_lookup_elem(&km_authz_ops, &idx);
	if (!op) {
		l->st.verdict = KM_AZV_DENY;
		l->st.why = KM_AZW_MALFORMED;
		return 1;
	}
	/* counter rows are slot-relative in the program */
	return km_az_step(&l->st, op, i, (void *)(unsigned long)l->row0);
}

/* The atoms policies name identity @id by. */
static __always_inline void km_az_atoms(__u8 slot, const struct km_identity *id,
					struct km_az_env *e)
{
	struct km_authz_atom_key *ak;
	__u32 zero = 0, *atom;

	ak = bpf_map_lookup_elem(&km_authz_scratch, &zero);
	if (!ak || !id->ns[0] || !id->sa[0])
		return;
	e->has_ident = 1;
	__builtin_memset(ak, 0, sizeof(*ak));
	ak->slot = slot;
	ak->kind = KM_ATOM_NS;
	__builtin_memcpy(ak->ident.ns, id->ns, sizeof(ak->ident.ns));
	atom = bpf_map_lookup_elem(&km_authz_atom, ak);
	if (atom)
		e->ns_atom = *atom;
	ak->kind = KM_ATOM_SA;
	__builtin_memcpy(ak->ident.sa, id->sa, sizeof(ak->ident.sa));
	atom = bpf_map_lookup_elem(&km_authz_atom, ak);
	if (atom)
		e->sa_atom = *atom;
}

/* The client's enrolled identity. */
static __always_inline void km_az_ident(struct bpf_sock_addr *ctx, __u8 slot,
					struct km_az_env *e)
{
	struct km_enroll_key ek = {};
	struct km_identity *id;

	if (!km_enroll_find(ctx, &ek))
		return;
	id = bpf_map_lookup_elem(&km_ident, &ek);
	if (id)
		km_az_atoms(slot, id, e);
}

/* The socket's own address when it is bound (else the kernel picks it
 * after this hook: unknown). */
static __always_inline void km_az_source(struct bpf_sock_addr *ctx, bool v6,
					 struct km_az_env *e)
{
	struct bpf_sock *sk = ctx->sk;

	if (!sk)
		return;
	if (!v6) {
		if (!sk->src_ip4)
			return;
		e->src.w[2] = bpf_htonl(0xffff);
		e->src.w[3] = sk->src_ip4;
		e->src_known = 1;
		return;
	}
	e->src.w[0] = sk->src_ip6[0];
	e->src.w[1] = sk->src_ip6[1];
	e->src.w[2] = sk->src_ip6[2];
	e->src.w[3] = sk->src_ip6[3];
	e->src_known = e->src.w[0] | e->src.w[1] | e->src.w[2] | e->src.w[3];
}

/* The policy program of @addr:@port (network order): the exact address
 * and port, else the address on every port, else the wildcard address on
 * the port. */
static __always_inline struct km_authz_prog *
km_authz_prog_find(__u8 slot, const struct km_addr *addr, __be16 port)
{
	struct km_authz_key key = {};
	struct km_authz_prog *p;

	key.addr = *addr;
	key.port = port;
	key.slot = slot;
	p = bpf_map_lookup_elem(&km_authz, &key);
	if (p)
		return p;
	/* port 0: every port of a workload (Istio's ambient API) */
	key.port = 0;
	p = bpf_map_lookup_elem(&km_authz, &key);
	if (p)
		return p;
	__builtin_memset(&key.addr, 0, sizeof(key.addr));
	key.port = port;
	return bpf_map_lookup_elem(&km_authz, &key);
}

/* Claims loop state @which for one evaluation of a connection to
 * @addr:@port: the caller fills the rest of l->st.env, then km_az_run(). */
static __always_inline struct km_az_loop *
km_az_begin(__u32 which, __u64 *tok, const struct km_addr *addr, __be16 port)
{
	struct km_az_loop *l = bpf_map_lookup_elem(&km_authz_loop, &which);

	if (!l)
		return NULL;
	*tok = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();
	l->owner = *tok;
	km_az_init(&l->st);
	__builtin_memset(&l->st.env, 0, sizeof(l->st.env));
	l->st.env.dst = *addr;
	l->st.env.dport = bpf_ntohs(port);
	return l;
}

/*
 * Runs program @p on the state km_az_begin() claimed; whether it denies.
 * A missing op, a malformed program or a program longer than the bound
 * denies.
 */
static __always_inline bool km_az_run(struct km_az_loop *l, __u32 which,
				      __u64 tok, const struct km_authz_prog *p,
				      __u8 slot)
{
	bool deny;

	l->base = km_authz_op_index(slot, p->first);
	l->row0 = km_authz_row(slot, 0);
	if (p->n_ops == 0 || p->n_ops > KM_MAX_AUTHZ_PROG_OPS ||
	    p->first >= KM_MAX_AUTHZ_OPS ||
	    bpf_loop(p->n_ops, km_az_loop_step, &which, 0) < 0 ||
	    !l->st.done) {
		l->st.verdict = KM_AZV_DENY;
		l->st.why = KM_AZW_MALFORMED;
	}
	/* the verdict first, then the owner: a state taken before this read
	 * shows in the owner, one taken after it no longer matters */
	deny = l->st.verdict == KM_AZV_DENY;
	if (l->owner != tok) {
		/* written by another evaluation: what is there is not this
		 * connect's answer */
		l->owner = tok;
		l->st.why = KM_AZW_PREEMPTED;
		l->st.unknown = 1;
		deny = true;
	}
	km_az_count(0, KM_AUTHZ_ROW_TOTAL, deny ? KM_AZC_DENIED : KM_AZC_ALLOWED);
	return deny;
}

/* The connect to @addr:@port was allowed by its program: the SYN's
 * sockops tells the server's sk_lookup (km_authz_pass), which would
 * otherwise judge a same-node client by its address only. */
static __always_inline void km_az_mark(struct bpf_sock_addr *ctx,
				       const struct km_addr *addr, __be16 port)
{
	struct km_sk_authz *m;

	if (!ctx->sk)
		return;
	m = bpf_sk_storage_get(&km_sk_authz, ctx->sk, 0,
			       BPF_SK_STORAGE_GET_F_CREATE);
	if (!m)
		return;
	m->dst = *addr;
	m->port = port;
}

/*
 * Whether the connect to @addr:@port (network order) is denied by the
 * policy program of that destination (km_authz_prog_find()).
 */
static __always_inline bool km_authz_denied(struct bpf_sock_addr *ctx,
					    __u8 slot,
					    const struct km_addr *addr,
					    __be16 port, bool v6)
{
	struct km_authz_prog *p;
	struct km_az_loop *l;
	__u64 tok;

	p = km_authz_prog_find(slot, addr, port);
	if (!p)
		return false;
	l = km_az_begin(KM_AZ_LOOP_CONNECT, &tok, addr, port);
	if (!l)
		return true;
	km_az_source(ctx, v6, &l->st.env);
	if (p->flags & KM_AZP_IDENT)
		km_az_ident(ctx, slot, &l->st.env);
	if (km_az_run(l, KM_AZ_LOOP_CONNECT, tok, p, slot))
		return true;
	km_az_mark(ctx, addr, port);
	return false;
}

#endif
