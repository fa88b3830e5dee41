// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The kernel's authorization evaluator (include/kmesh/authz_eval.h), run
 * in userspace by kmeshctl explain and the unit tests. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "authz.h"

/* cctx: struct km_az_rows, or NULL to count nothing */
static inline void km_az_count(void *cctx, __u32 row, int what)
{
	struct km_az_rows *r = cctx;
	__u64 *f;

	if (!r || row >= r->n)
		return;
	f = &r->rows[row].allowed;
	f[what]++;
}

#include "kmesh/authz_eval.h"

void km_authz_eval(const struct km_authz_op *ops, size_t n,
		   struct km_az_state *st, struct km_az_rows *rows)
{
	size_t i;

	for (i = 0; i < n && i < KM_MAX_AUTHZ_PROG_OPS; i++)
		if (km_az_step(st, &ops[i], i, rows))
			break;
	if (!st->done) {	/* ran off the end: malformed, as in BPF */
		st->verdict = KM_AZV_DENY;
		st->why = KM_AZW_MALFORMED;
		st->row = i;
		st->done = 1;
	}
}

const char *km_authz_why_str(unsigned int why)
{
	switch (why) {
	case KM_AZW_DENY_POLICY:
		return "a DENY policy matched";
	case KM_AZW_NO_ALLOW:
		return "no ALLOW policy matched";
	case KM_AZW_PREEMPTED:
		return "the evaluation was preempted by another connect on its CPU (fail closed)";
	default:
		return "the policy program is malformed";
	}
}

bool km_authz_why_has_row(unsigned int why)
{
	return why == KM_AZW_DENY_POLICY || why == KM_AZW_NO_ALLOW;
}

bool km_az_ip_in(const struct km_addr *a, const struct km_addr *net,
		 unsigned int len)
{
	return km_az_in_cidr(a, net, len);
}

const struct km_authz_prog *km_authz_lookup(const struct km_authz_records *r,
					    const struct km_addr *addr,
					    uint16_t port)
{
	static const struct km_addr any;
	const struct km_addr *try[3] = { addr, addr, &any };
	const uint16_t ports[3] = { htons(port), 0, htons(port) };

	/* the exact address and port, else the address on every port (a
	 * workload's, Istio's ambient API), else the wildcard: as
	 * bpf/lib/authz.h */
	for (int t = 0; t < 3; t++)
		for (size_t i = 0; i < r->n_targets; i++)
			if (r->keys[i].port == ports[t] &&
			    !memcmp(&r->keys[i].addr, try[t], sizeof(*addr)))
				return &r->progs[i];
	return NULL;
}

uint32_t km_authz_atom(const struct km_authz_records *r, uint8_t kind,
		       const char *ns, const char *sa)
{
	struct km_authz_atom_key k = { .kind = kind };

	snprintf(k.ident.ns, sizeof(k.ident.ns), "%s", ns);
	if (kind == KM_ATOM_SA)
		snprintf(k.ident.sa, sizeof(k.ident.sa), "%s", sa);
	for (size_t i = 0; i < r->n_atoms; i++)
		if (!memcmp(&r->atoms[i], &k, sizeof(k)))
			return r->atom_ids[i];
	return 0;
}

bool km_authz_decide(const struct km_authz_records *r,
		     const struct km_az_env *env, const char *ns,
		     const char *sa, struct km_az_state *st,
		     struct km_az_rows *rows)
{
	const struct km_authz_prog *p = km_authz_lookup(r, &env->dst,
							 env->dport);

	km_az_init(st);
	st->env = *env;
	if (!p)
		return false;
	st->env.has_ident = ns && sa;
	if (st->env.has_ident) {
		st->env.ns_atom = km_authz_atom(r, KM_ATOM_NS, ns, NULL);
		st->env.sa_atom = km_authz_atom(r, KM_ATOM_SA, ns, sa);
	}
	km_authz_eval(r->ops + p->first, p->n_ops, st, rows);
	return true;
}
