/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Authorization (docs/authz.md): the filters that grant or deny access.
 *
 * Such a filter is never skipped: a policy that is dropped in silence lets
 * through the traffic it was written to block. Both config sources ask
 * km_authz_filter() about every network and HTTP filter they meet; what it
 * names is either enforced (network RBAC, compiled into the kernel's policy
 * tables) or refused with km_authz_refusal()'s reason.
 */
#ifndef KM_AUTHZ_H
#define KM_AUTHZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum km_authz_filter {
	KM_AF_NONE = 0,		/* not an access-control filter */
	KM_AF_NET_RBAC,		/* envoy.filters.network.rbac */
	KM_AF_HTTP_RBAC,	/* envoy.filters.http.rbac */
	KM_AF_NET_EXT_AUTHZ,	/* envoy.filters.network.ext_authz (CUSTOM) */
	KM_AF_HTTP_EXT_AUTHZ,	/* envoy.filters.http.ext_authz (CUSTOM) */
	KM_AF_JWT_AUTHN,	/* envoy.filters.http.jwt_authn */
	KM_AF_BASIC_AUTH,	/* envoy.filters.http.basic_auth */
	KM_AF_OAUTH2,		/* envoy.filters.http.oauth2 */
	KM_AF_CLIENT_SSL_AUTH,	/* envoy.filters.network.client_ssl_auth */
};

/* Which access-control filter a filter is, by its typed_config type URL
 * (with or without "type.googleapis.com/"; NULL when it has none) or by
 * its name. The caller has already taken the filters it implements by type
 * URL (tcp_proxy, http_connection_manager, router); of the rest, one that
 * is named like an access-control filter is taken for one whatever its
 * type URL says (a TypedStruct, say): failing closed costs a NACK, the
 * other way costs a hole. */
enum km_authz_filter km_authz_filter(const char *name, const char *type_url);

/* What the filter is ("network RBAC", ...). */
const char *km_authz_filter_label(enum km_authz_filter f);

/* Why kmesh refuses the filter, one line without the object path: "network
 * RBAC (envoy.filters.network.rbac) is not enforced by kmesh: ...". */
const char *km_authz_refusal(enum km_authz_filter f);

/* ---- the model: Envoy RBAC cut to what a connect can be judged by ---- */

/* A condition (a Permission or Principal, flattened into one tree). */
enum km_az_kind {
	KM_AZN_ANY = 1,		/* any: true */
	KM_AZN_NONE,		/* can never match (a principal outside the
				 * trust domain, an empty port range) */
	KM_AZN_AND,
	KM_AZN_OR,
	KM_AZN_NOT,
	KM_AZN_DPORT,		/* destination_port(_range): lo..hi */
	KM_AZN_DIP,		/* destination_ip */
	KM_AZN_SIP,		/* source_ip, direct_remote_ip, remote_ip */
	KM_AZN_IDENT,		/* authenticated, any principal */
	KM_AZN_IDENT_NS,	/* authenticated in namespace ns */
	KM_AZN_IDENT_SA,	/* authenticated as ns/sa */
	KM_AZN_UNKNOWN,		/* what kmesh cannot evaluate at connect
				 * time (HTTP, metadata, CEL, SNI): fails
				 * closed; what says which */
};

struct km_az_node {
	uint8_t kind;		/* enum km_az_kind */
	uint16_t lo, hi;	/* KM_AZN_DPORT */
	struct km_cidr cidr;	/* KM_AZN_DIP, KM_AZN_SIP */
	char *ns, *sa;		/* KM_AZN_IDENT_NS, KM_AZN_IDENT_SA */
	char *what;		/* KM_AZN_UNKNOWN */
	size_t n_kids;		/* AND, OR (>= 1), NOT (1) */
	struct km_az_node *kids;
};

/* Makes @n an UNKNOWN condition (fails closed) saying why, on one line.
 * 0, or -ENOMEM. */
int km_az_node_unknown(struct km_az_node *n, const char *fmt, va_list ap);


/* A policy: any of its permissions and any of its principals. */
struct km_az_policy {
	char *name;
	struct km_az_node permissions;	/* an OR */
	struct km_az_node principals;	/* an OR */
	bool condition;		/* a CEL condition: ANDed, unknown */
};

/* One RBAC filter's rules (or its shadow_rules). */
struct km_az_engine {
	struct km_src src;
	char *name;		/* stat_prefix, else the filter's name */
	bool deny;		/* action DENY (else ALLOW) */
	bool shadow;		/* shadow_rules: counted, never enforced */
	bool http;		/* from an HTTP filter */
	bool custom;		/* ext_authz (CUSTOM): fails closed */
	size_t n_policies;	/* sorted by name, as Envoy evaluates them */
	struct km_az_policy *policies;
};

/* Adds a zeroed engine to the chain's list; NULL when out of memory. */
struct km_az_engine *km_az_engine_add(struct km_m_chain *ch);
void km_az_engines_free(struct km_az_engine *e, size_t n);
void km_az_node_free(struct km_az_node *n);
/* An address and optional prefix length (absent: the whole address) ->
 * *out; -EINVAL if the address is not IPv4 or IPv6 or the length too
 * long. */
int km_az_cidr(const char *addr, bool has_len, unsigned int len,
	       struct km_cidr *out);
/* Sorts the policies by name; -EINVAL with *dup set when two share one. */
int km_az_engine_sort(struct km_az_engine *e, const char **dup);

/*
 * "spiffe://TD/ns/NS/sa/SA" or "TD/ns/NS/sa/SA" -> the node a principal
 * name's matcher becomes: IDENT_SA for the trust domain kmesh vouches for
 * (KM_TRUST_DOMAIN), NONE for any other name (no identity kmesh proves
 * can match it). Returns -ENOMEM or 0.
 */
#define KM_TRUST_DOMAIN "cluster.local"
int km_az_principal_exact(const char *s, struct km_az_node *out);
/* A prefix "[spiffe://]TD/ns/NS/" -> IDENT_NS; 1 when s is not one. */
int km_az_principal_prefix(const char *s, struct km_az_node *out);
/* A regex Istio writes: ".*" or ".+" -> IDENT, ".*<TD-less>/ns/NS/.*" ->
 * IDENT_NS; 1 when s is not one of those. */
int km_az_principal_regex(const char *s, struct km_az_node *out);

/* ---- compiled: records for the kernel (authz_abi.h) ---- */

struct km_authz_records {
	size_t n_targets;
	struct km_authz_key *keys;	/* slot left 0 for the writer */
	struct km_authz_prog *progs;
	size_t n_ops;
	struct km_authz_op *ops;
	size_t n_atoms;
	struct km_authz_atom_key *atoms;	/* slot left 0 */
	uint32_t *atom_ids;
	size_t n_rows;			/* counter rows */
	char **row_names;		/* "listener 'l' chain 0 rbac 'x'
					 * policy 'p'" */
	/* policies with conditions kmesh cannot evaluate (fail closed),
	 * one line each for the log and status */
	size_t n_fail_closed;
	char **fail_closed;
};

/*
 * Compiles @m's RBAC filters into policy programs. The workload's own
 * addresses are @m->node.instance_ips (node metadata INSTANCE_IPS: a YAML
 * file's node, or what kmeshd knows of its own node for an xDS model,
 * including the IP field of an Istio node id "sidecar~IP~..."): what an
 * INBOUND listener on 0.0.0.0 or :: (Istio's virtualInbound) protects.
 * Without them such a listener's policies apply to every address on its
 * port, which also holds back this node's connects to other workloads on
 * that port. A comma-separated list.
 */
int km_authz_compile(const struct km_model *m, struct km_authz_records *r,
		     struct km_err *err);
void km_authz_records_free(struct km_authz_records *r);

/* Counter rows of a userspace evaluation (km_authz_count per row). */
struct km_az_rows {
	struct km_authz_count *rows;
	size_t n;
};

/* Evaluates a program (ops of one km_authz_prog) with the kernel's
 * evaluator (include/kmesh/authz_eval.h); st is set up by km_az_init()
 * and its env filled by the caller. rows may be NULL. */
struct km_az_state;
void km_authz_eval(const struct km_authz_op *ops, size_t n,
		   struct km_az_state *st, struct km_az_rows *rows);
/* The program for a destination (exact address, else the wildcard), as
 * the kernel looks it up; NULL: no policy. */
const struct km_authz_prog *km_authz_lookup(const struct km_authz_records *r,
					    const struct km_addr *addr,
					    uint16_t port);
/* The atom a namespace (KM_ATOM_NS) or ns/sa (KM_ATOM_SA) has; 0: none. */
uint32_t km_authz_atom(const struct km_authz_records *r, uint8_t kind,
		       const char *ns, const char *sa);
/* A connect to env->dst:dport (source env->src if src_known) from a client
 * with identity ns/sa (NULL: none) judged by the compiled records as the
 * kernel judges it. false: no policy there (allowed). */
struct km_az_env;
bool km_authz_decide(const struct km_authz_records *r,
		     const struct km_az_env *env, const char *ns,
		     const char *sa, struct km_az_state *st,
		     struct km_az_rows *rows);
/* Why a connect was denied (enum km_az_why), as kmeshctl and kmeshd's log
 * say it; and whether st->row then names a counter row (else it is the
 * op index of a malformed program). */
const char *km_authz_why_str(unsigned int why);
bool km_authz_why_has_row(unsigned int why);
#define KM_AUTHZ_FAIL_CLOSED_STR \
	", on a condition kmesh cannot evaluate at connect (fail closed)"
/* @a in @net/@len, len in bits of the 128-bit IPv4-mapped address. */
bool km_az_ip_in(const struct km_addr *a, const struct km_addr *net,
		 unsigned int len);

#endif
