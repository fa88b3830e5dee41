/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Authorization records (docs/authz.md), part of the kmesh ABI (abi.h
 * includes this file; the rules there apply).
 *
 * A connect is checked against the policy program of its destination:
 * km_authz maps (address, port, slot) to a range of km_authz_op records,
 * a small stack program (authz_eval.h) compiled from Envoy RBAC filters.
 * The dialed address is checked first, then, when the connect is sent to
 * a service endpoint, the endpoint's address. Address zero is the wildcard
 * (a listener on 0.0.0.0 or ::), looked up when no exact key exists.
 *
 * Identities: km_ident holds the namespace and service account of an
 * enrolled cgroup or network namespace (kmeshctl enroll --namespace NS
 * --service-account SA); km_authz_atom maps an identity (or a namespace
 * alone) to the atom id the program's identity conditions compare with.
 */
#ifndef KMESH_AUTHZ_ABI_H
#define KMESH_AUTHZ_ABI_H

/* Destinations with a policy program, per generation. */
#define KM_MAX_AUTHZ_TARGETS 8192
/* Ops of all programs of one generation. */
#define KM_MAX_AUTHZ_OPS 65536
/* Ops of one program: the bound of the evaluation loop (bpf_loop). */
#define KM_MAX_AUTHZ_PROG_OPS 16384
/* Counter rows (a policy, or an engine's "no ALLOW policy matched"), per
 * generation. */
#define KM_MAX_AUTHZ_COUNTERS 16384
/* Identity atoms (distinct namespaces and principals named by policies),
 * per generation. */
#define KM_MAX_AUTHZ_ATOMS 16384
/* Operands of one and/or, and the depth of the evaluation stack: one bit
 * per entry of a 64-bit word. */
#define KM_AUTHZ_STACK 63
/* Kubernetes namespace (<= 63) and service account names, NUL included. */
#define KM_IDENT_NS_MAX 64
#define KM_IDENT_SA_MAX 128

struct km_authz_key {
	struct km_addr addr;	/* all zero: any address (wildcard) */
	__be16 port;
	__u8 slot;
	__u8 pad;
};
_Static_assert(sizeof(struct km_authz_key) == 20, "km_authz_key ABI");

enum km_authz_prog_flags {
	KM_AZP_IDENT = 1 << 0,	/* has identity conditions: look the
				 * client's identity up first */
};

struct km_authz_prog {
	__u32 first;		/* index of its first op in the slot */
	__u32 n_ops;		/* 1..KM_MAX_AUTHZ_PROG_OPS */
	__u32 flags;		/* enum km_authz_prog_flags */
	__u32 pad;
};
_Static_assert(sizeof(struct km_authz_prog) == 16, "km_authz_prog ABI");

/*
 * Ops. Conditions push a three-valued result (true, false, unknown) on the
 * stack; AND/OR pop @arg results and push one (Kleene logic); POLICY pops a
 * policy's result. Unknown is what kmesh cannot evaluate at connect time
 * (an HTTP condition, a source address not yet chosen): it fails closed, a
 * DENY policy that might match denies, an ALLOW policy that might match
 * does not allow.
 */
enum km_authz_opcode {
	KM_AZ_END = 0,		/* ends the program (and its last engine) */
	KM_AZ_ENGINE = 1,	/* one RBAC filter's rules: arg = enum
				 * km_authz_engine_flags, id = its counter
				 * row ("no ALLOW policy matched"), lo = ops
				 * up to the next ENGINE or END */
	KM_AZ_POLICY = 2,	/* id = the policy's counter row */
	KM_AZ_SKIP_UNLESS = 3,	/* pops; false: skip the next lo ops (a
				 * chain whose prefix_ranges miss) */
	KM_AZ_AND = 4,		/* arg operands */
	KM_AZ_OR = 5,
	KM_AZ_NOT = 6,
	KM_AZ_ANY = 7,		/* true */
	KM_AZ_UNKNOWN = 8,	/* a condition kmesh cannot evaluate */
	KM_AZ_DPORT = 9,	/* lo <= destination port <= hi */
	KM_AZ_DIP = 10,		/* destination in addr/arg (IPv4 mapped:
				 * arg counts from the 128-bit address) */
	KM_AZ_SIP = 11,		/* source in addr/arg; unknown if unbound */
	KM_AZ_IDENT = 12,	/* the client has a proven identity */
	KM_AZ_IDENT_NS = 13,	/* its namespace is atom id */
	KM_AZ_IDENT_SA = 14,	/* its namespace/service account is atom id */
	KM_AZ_OPCODE_MAX,
};

enum km_authz_engine_flags {
	KM_AZE_DENY = 1 << 0,	/* action DENY (else ALLOW) */
	KM_AZE_SHADOW = 1 << 1,	/* shadow_rules: counted, never enforced */
};

struct km_authz_op {
	__u8 code;		/* enum km_authz_opcode */
	__u8 arg;
	__u16 lo;
	__u16 hi;
	__u16 pad;
	__u32 id;
	struct km_addr addr;
};
_Static_assert(sizeof(struct km_authz_op) == 28, "km_authz_op ABI");

/* km_authz_ops: ARRAY of KM_GEN_SLOTS * KM_MAX_AUTHZ_OPS; op @i of slot
 * @slot at km_authz_op_index(slot, i). */
static inline __u32 km_authz_op_index(__u32 slot, __u32 i)
{
	return (slot & 1) * KM_MAX_AUTHZ_OPS + i;
}

/* km_ident: HASH, km_enroll_key -> identity (zero padded strings). */
struct km_identity {
	char ns[KM_IDENT_NS_MAX];
	char sa[KM_IDENT_SA_MAX];
};
_Static_assert(sizeof(struct km_identity) == 192, "km_identity ABI");

enum km_atom_kind {
	KM_ATOM_NS = 1,		/* ident.sa all zero */
	KM_ATOM_SA = 2,
};

/* km_authz_atom: HASH, (slot, kind, identity) -> atom id. */
struct km_authz_atom_key {
	__u8 slot;
	__u8 kind;		/* enum km_atom_kind */
	__u16 pad;
	struct km_identity ident;
};
_Static_assert(sizeof(struct km_authz_atom_key) == 196, "km_authz_atom_key ABI");

/* km_authz_stats: PERCPU_ARRAY; row km_authz_row(slot, id) for the counter
 * rows of a generation (zeroed before the slot is written), and
 * KM_AUTHZ_ROW_TOTAL for every generation's totals. */
#define KM_AUTHZ_ROW_TOTAL (KM_GEN_SLOTS * KM_MAX_AUTHZ_COUNTERS)
#define KM_AUTHZ_ROWS (KM_AUTHZ_ROW_TOTAL + 1)

static inline __u32 km_authz_row(__u32 slot, __u32 id)
{
	return (slot & 1) * KM_MAX_AUTHZ_COUNTERS + id;
}

struct km_authz_count {
	__u64 allowed;		/* an ALLOW policy matched (total: every
				 * connect a program allowed) */
	__u64 denied;		/* a DENY policy matched, or no ALLOW policy
				 * did (on the engine's row) */
	__u64 shadow_denied;	/* shadow rules would have denied */
	__u64 fail_closed;	/* of denied: decided by a condition kmesh
				 * could not evaluate */
};
_Static_assert(sizeof(struct km_authz_count) == 32, "km_authz_count ABI");

/* Which field of km_authz_count an event adds to. */
enum km_az_count_what {
	KM_AZC_ALLOWED = 0,
	KM_AZC_DENIED = 1,
	KM_AZC_SHADOW_DENIED = 2,
	KM_AZC_FAIL_CLOSED = 3,
};

/*
 * Inbound (docs/authz.md, "Inbound"): an sk_lookup program on each
 * enrolled network namespace (and kmeshd's own) runs the program of the
 * local address and port a TCP SYN arrives for, with the peer's source
 * address, and drops (a reset) what it denies.
 *
 * km_authz_peer: HASH, peer address -> identity kmesh vouches for at that
 * address: an address of an enrolled netns of this node with an identity,
 * read from inside it (and, with --trust-workload-addresses, the Workload
 * resources' addresses). Not per generation: kmeshd keeps it current.
 */
#define KM_MAX_AUTHZ_PEERS 65536

/* km_authz_pass: LRU_HASH, one-shot. The connect hook allowed this
 * socket's connect to exactly this destination by its policy (with the
 * client's enrolled identity); the sockops program writes the 4-tuple at
 * the SYN, and the server's sk_lookup takes it instead of judging the
 * peer by its address. */
#define KM_MAX_AUTHZ_PASS 65536

struct km_authz_pass_key {
	struct km_addr src;	/* the client's address and port */
	struct km_addr dst;	/* the server's */
	__be16 sport;
	__be16 dport;
};
_Static_assert(sizeof(struct km_authz_pass_key) == 36, "km_authz_pass_key ABI");

/* km_gen.flags: the generation has policy programs (else the connect path
 * skips authorization altogether). */
#define KM_GEN_AUTHZ (1u << 0)

#endif /* KMESH_AUTHZ_ABI_H */
