// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * RBAC engines of the model -> policy programs for the kernel (authz.h,
 * include/kmesh/authz_abi.h).
 *
 * A destination (listener address, or the wildcard for 0.0.0.0 and ::, and
 * the chain's destination_port or the listener's port) gets one program:
 * every chain that serves it, in listener order, each chain's RBAC filters
 * in filter order. A connect passes when every engine lets it through, as
 * a connection through Envoy's filter chain must pass every RBAC filter.
 * Two chains of one destination (Istio's HTTP and TCP chains of a port,
 * told apart by sniffing kmesh does not do at connect) both apply: the
 * stricter answer. A chain with prefix_ranges applies where they hold: on
 * an exact address that is decided here, on the wildcard by a guard
 * (KM_AZ_SKIP_UNLESS). A chain for EXTERNAL sources never sees a connect
 * from this node and is left out.
 *
 * Policies become: permissions (or-ed), principals (or-ed), AND, POLICY;
 * and/or of n operands are folded pairwise, so the stack only grows with
 * the nesting. Conditions on the destination's own port (and address) are
 * constants and folded away (fold()). Counter rows: one per policy and one per engine ("no policy
 * matched"), named for kmeshctl.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"

/* A chain with RBAC filters, and the counter row of its first engine. */
struct chain_ref {
	const struct km_m_listener *l;
	bool workload;		/* km_model.authz_only: Istio's ambient API */
	size_t ci;
	const struct km_m_chain *ch;
	uint32_t row;
};

struct target {
	struct km_authz_key key;
	size_t n_refs;
	size_t *refs;		/* indexes into the chain refs */
};

#define KM_MAX_INSTANCE_IPS 16

struct cc {
	struct km_authz_records *r;
	struct km_err *err;
	size_t n_chains;
	struct chain_ref *chains;
	size_t n_targets;
	struct target *targets;
	size_t cap_ops;
	uint32_t depth, max_depth;
	uint32_t prog_flags;
	struct km_ip inst[KM_MAX_INSTANCE_IPS];	/* parse_instance_ips() */
	size_t n_inst;
	/* the destination being emitted: its port and, unless wildcard, its
	 * address are constants there (fold()) */
	uint16_t port;
	const struct km_addr *addr;
};

static int oom(struct cc *c)
{
	km_err_set(c->err, "authorization: out of memory");
	return -ENOMEM;
}

static int grow(void **p, size_t n, size_t size)
{
	void *q = realloc(*p, (n + 1) * size);

	if (!q)
		return -ENOMEM;
	*p = q;
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
add_string(char ***list, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -ENOMEM;
	if (grow((void **)list, *n, sizeof(**list))) {
		free(s);
		return -ENOMEM;
	}
	(*list)[(*n)++] = s;
	return 0;
}

/* ---- counter rows -------------------------------------------------------- */

/* What kmesh cannot evaluate in a node, for the fail-closed line. */
static const char *unknown_what(const struct km_az_node *n)
{
	const char *w;

	if (n->kind == KM_AZN_UNKNOWN)
		return n->what ? n->what : "a condition";
	for (size_t i = 0; i < n->n_kids; i++)
		if ((w = unknown_what(&n->kids[i])))
			return w;
	return NULL;
}

/* One line per enforced policy with a condition kmesh cannot evaluate. */
static int fail_closed_line(struct cc *c, const struct km_az_engine *e,
			    const struct km_az_policy *p, uint32_t row)
{
	struct km_authz_records *r = c->r;
	const char *w = unknown_what(&p->permissions);

	if (!w)
		w = unknown_what(&p->principals);
	if (e->shadow || (!w && !p->condition))
		return 0;
	if (add_string(&r->fail_closed, &r->n_fail_closed,
		       "%s: %s cannot be evaluated at connect: connections it could decide are %s (fail closed)",
		       r->row_names[row], w ? w : "a CEL condition",
		       e->deny ? "denied" : "not allowed by it"))
		return oom(c);
	return 0;
}

/* A workload's engine (authz_workload.c): its policies are named
 * "ns/name" already; a fail-closed engine is named after its policy. */
static int workload_rows(struct cc *c, const struct chain_ref *ref,
			 const struct km_az_engine *e)
{
	struct km_authz_records *r = c->r;
	char base[KM_NAME_MAX];

	snprintf(base, sizeof(base), "workload '%.128s': %s%s%s", ref->l->name,
		 e->custom ? "fail-closed '" : "", e->name,
		 e->custom ? "'" : "");
	if (add_string(&r->row_names, &r->n_rows, "%s: no %s policy matched",
		       base, e->deny ? "DENY" : "ALLOW"))
		return oom(c);
	for (size_t p = 0; p < e->n_policies; p++) {
		if (add_string(&r->row_names, &r->n_rows, "%s policy '%.128s'",
			       base, e->policies[p].name))
			return oom(c);
		if (fail_closed_line(c, e, &e->policies[p], r->n_rows - 1))
			return -ENOMEM;
	}
	return 0;
}

static int name_rows(struct cc *c, struct chain_ref *ref)
{
	struct km_authz_records *r = c->r;

	ref->row = r->n_rows;
	for (size_t k = 0; k < ref->ch->n_authz; k++) {
		const struct km_az_engine *e = &ref->ch->authz[k];
		char base[KM_NAME_MAX];

		if (ref->workload) {
			if (workload_rows(c, ref, e))
				return -ENOMEM;
			continue;
		}
		snprintf(base, sizeof(base), "listener '%.64s': chain %zu: %s%s%s '%.64s'",
			 ref->l->name, ref->ci, e->http ? "http " : "",
			 e->custom ? "ext_authz" : "rbac",
			 e->shadow ? " shadow_rules" : "", e->name);
		if (add_string(&r->row_names, &r->n_rows,
			       "%s: no %s policy matched", base,
			       e->deny ? "DENY" : "ALLOW"))
			return oom(c);
		for (size_t p = 0; p < e->n_policies; p++) {
			if (add_string(&r->row_names, &r->n_rows,
				       "%s: policy '%.64s'", base,
				       e->policies[p].name))
				return oom(c);
			if (fail_closed_line(c, e, &e->policies[p],
					     r->n_rows - 1))
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- targets ---------------------------------------------------------------- */

/* The workload's own addresses (its node's INSTANCE_IPS), which an
 * inbound wildcard listener stands for. */
static void parse_instance_ips(struct cc *c, const char *csv)
{
	char buf[1024], *tok, *save = NULL;

	c->n_inst = 0;
	if (!csv)
		return;
	snprintf(buf, sizeof(buf), "%s", csv);
	for (tok = strtok_r(buf, ", ", &save);
	     tok && c->n_inst < KM_MAX_INSTANCE_IPS;
	     tok = strtok_r(NULL, ", ", &save))
		if (!km_ip_parse(tok, &c->inst[c->n_inst]))
			c->n_inst++;
}

static void key_of(const struct km_ip *ip, uint16_t port,
		   struct km_authz_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!km_ip_unspecified(ip))
		k->addr = ip->addr;
	k->port = htons(port);
}

static bool ip_in(const struct km_ip *ip, const struct km_cidr *p)
{
	uint32_t len = p->len + (p->ip.family == KM_FAMILY_INET ? 96 : 0);

	return ip->family == p->ip.family &&
	       km_az_ip_in(&ip->addr, &p->ip.addr, len);
}

static bool chain_holds(const struct km_m_chain *ch, const struct km_ip *ip)
{
	if (!ch->match.n_prefixes || km_ip_unspecified(ip))
		return true;
	for (size_t i = 0; i < ch->match.n_prefixes; i++)
		if (ip_in(ip, &ch->match.prefixes[i]))
			return true;
	return false;
}

static int add_to_target(struct cc *c, const struct km_authz_key *k,
			 size_t ref)
{
	struct target *t = NULL;

	for (size_t i = 0; i < c->n_targets && !t; i++)
		if (!memcmp(&c->targets[i].key, k, sizeof(*k)))
			t = &c->targets[i];
	if (!t) {
		if (c->n_targets == KM_MAX_AUTHZ_TARGETS) {
			km_err_set(c->err, "authorization: more than %d destinations with a policy",
				   KM_MAX_AUTHZ_TARGETS);
			return -E2BIG;
		}
		if (grow((void **)&c->targets, c->n_targets, sizeof(*t)))
			return oom(c);
		t = &c->targets[c->n_targets++];
		memset(t, 0, sizeof(*t));
		t->key = *k;
	}
	if (grow((void **)&t->refs, t->n_refs, sizeof(*t->refs)))
		return oom(c);
	t->refs[t->n_refs++] = ref;
	return 0;
}

static int collect(struct cc *c, const struct km_model *m)
{
	size_t n_all = m->n_listeners + m->n_authz_only;

	for (size_t i = 0; i < n_all; i++) {
		bool wl = i >= m->n_listeners;
		const struct km_m_listener *l = wl ?
			&m->authz_only[i - m->n_listeners] : &m->listeners[i];

		for (size_t j = 0; j < l->n_chains; j++) {
			const struct km_m_chain *ch = &l->chains[j];
			uint16_t port = ch->dest_port ? ch->dest_port : l->port;
			struct chain_ref *ref;
			int ret;

			if (!ch->n_authz || ch->match.external)
				continue;
			if (grow((void **)&c->chains, c->n_chains,
				 sizeof(*c->chains)))
				return oom(c);
			ref = &c->chains[c->n_chains];
			*ref = (struct chain_ref){ .l = l, .ci = j, .ch = ch,
						   .workload = wl };
			ret = name_rows(c, ref);
			if (ret)
				return ret;
			for (size_t a = 0; a < l->n_addrs; a++) {
				const struct km_ip *ip = &l->addrs[a];
				bool own = l->direction == KM_DIR_INBOUND &&
					   km_ip_unspecified(ip) && c->n_inst;

				/* an inbound wildcard protects this workload's
				 * own addresses of its family, not every one */
				for (size_t w = 0; own && w < c->n_inst; w++) {
					const struct km_ip *own_ip = &c->inst[w];
					struct km_authz_key k;

					if (own_ip->family != ip->family ||
					    !chain_holds(ch, own_ip))
						continue;
					key_of(own_ip, port, &k);
					ret = add_to_target(c, &k, c->n_chains);
					if (ret)
						return ret;
				}
				if (own || !chain_holds(ch, ip))
					continue;
				{
					struct km_authz_key k;

					key_of(ip, port, &k);
					ret = add_to_target(c, &k, c->n_chains);
					if (ret)
						return ret;
				}
			}
			c->n_chains++;
		}
	}
	if (c->r->n_rows > KM_MAX_AUTHZ_COUNTERS) {
		km_err_set(c->err, "authorization: %zu policies and RBAC filters, limit is %d",
			   c->r->n_rows, KM_MAX_AUTHZ_COUNTERS);
		return -E2BIG;
	}
	return 0;
}

/* ---- atoms -------------------------------------------------------------------- */

static int atom_of(struct cc *c, uint8_t kind, const char *ns, const char *sa,
		   uint32_t *id)
{
	struct km_authz_records *r = c->r;
	struct km_authz_atom_key k = { .kind = kind };

	snprintf(k.ident.ns, sizeof(k.ident.ns), "%s", ns);
	if (sa)
		snprintf(k.ident.sa, sizeof(k.ident.sa), "%s", sa);
	for (size_t i = 0; i < r->n_atoms; i++) {
		if (!memcmp(&r->atoms[i], &k, sizeof(k))) {
			*id = r->atom_ids[i];
			return 0;
		}
	}
	if (r->n_atoms == KM_MAX_AUTHZ_ATOMS) {
		km_err_set(c->err, "authorization: more than %d namespaces and principals named",
			   KM_MAX_AUTHZ_ATOMS);
		return -E2BIG;
	}
	if (grow((void **)&r->atoms, r->n_atoms, sizeof(*r->atoms)) ||
	    grow((void **)&r->atom_ids, r->n_atoms, sizeof(*r->atom_ids)))
		return oom(c);
	r->atoms[r->n_atoms] = k;
	*id = r->atom_ids[r->n_atoms] = r->n_atoms + 1;
	r->n_atoms++;
	return 0;
}

/* ---- ops ------------------------------------------------------------------------ */

/* Appends an op; @push: its effect on the stack depth. */
static struct km_authz_op *emit(struct cc *c, uint8_t code, int push)
{
	struct km_authz_records *r = c->r;
	struct km_authz_op *op;

	if (r->n_ops == c->cap_ops) {
		size_t cap = c->cap_ops ? 2 * c->cap_ops : 256;
		void *q = realloc(r->ops, cap * sizeof(*r->ops));

		if (!q)
			return NULL;
		r->ops = q;
		c->cap_ops = cap;
	}
	op = &r->ops[r->n_ops++];
	memset(op, 0, sizeof(*op));
	op->code = code;
	c->depth += push;
	if (c->depth > c->max_depth)
		c->max_depth = c->depth;
	return op;
}

static int emit_cidr(struct cc *c, uint8_t code, const struct km_cidr *p)
{
	struct km_authz_op *op = emit(c, code, 1);

	if (!op)
		return oom(c);
	op->addr = p->ip.addr;
	op->arg = p->len + (p->ip.family == KM_FAMILY_INET ? 96 : 0);
	return 0;
}

/*
 * A program serves one destination port, and one address unless it is the
 * wildcard's: destination_port and (then) destination_ip conditions are
 * constants there. fold() says what a node is before any connect: true,
 * false, or decided at connect (DYN). Only the DYN parts are emitted, and
 * a policy that cannot match here is left out, so a thousand policies on
 * other ports cost nothing.
 */
enum { F_FALSE = 0, F_TRUE = 1, F_DYN = 2 };

static int fold(const struct cc *c, const struct km_az_node *n)
{
	int r, dyn;

	switch (n->kind) {
	case KM_AZN_ANY:
		return F_TRUE;
	case KM_AZN_NONE:
		return F_FALSE;
	case KM_AZN_DPORT:
		/* port 0: every port of a workload (Istio's ambient API) */
		if (!c->port)
			return F_DYN;
		return c->port >= n->lo && c->port <= n->hi;
	case KM_AZN_DIP:
		if (!c->addr)
			return F_DYN;
		return n->cidr.ip.family ==
			       (c->addr->w[0] || c->addr->w[1] ||
				c->addr->w[2] != htonl(0xffff) ?
				KM_FAMILY_INET6 : KM_FAMILY_INET) &&
		       km_az_ip_in(c->addr, &n->cidr.ip.addr,
				   n->cidr.len + (n->cidr.ip.family ==
						  KM_FAMILY_INET ? 96 : 0));
	case KM_AZN_NOT:
		r = n->n_kids == 1 ? fold(c, &n->kids[0]) : F_DYN;
		return r == F_DYN ? F_DYN : !r;
	case KM_AZN_AND:
	case KM_AZN_OR:
		/* and: false if one is, true if all are; or: the dual */
		dyn = 0;
		for (size_t i = 0; i < n->n_kids; i++) {
			r = fold(c, &n->kids[i]);
			if (r == (n->kind == KM_AZN_OR))
				return r;
			dyn |= r == F_DYN;
		}
		return dyn ? F_DYN : n->kind == KM_AZN_AND;
	default:
		return F_DYN;
	}
}

static int emit_node(struct cc *c, const struct km_az_node *n);

/* The DYN kids (the constant ones decide nothing left), folded pairwise:
 * k0 k1 OP k2 OP ... The caller made sure there is one. */
static int emit_fold(struct cc *c, const struct km_az_node *n, uint8_t code)
{
	bool first = true;
	int ret;

	for (size_t i = 0; i < n->n_kids; i++) {
		struct km_authz_op *op;

		if (fold(c, &n->kids[i]) != F_DYN)
			continue;
		ret = emit_node(c, &n->kids[i]);
		if (ret)
			return ret;
		if (first) {
			first = false;
			continue;
		}
		op = emit(c, code, -1);
		if (!op)
			return oom(c);
		op->arg = 2;
	}
	return 0;
}

static int emit_node(struct cc *c, const struct km_az_node *n)
{
	struct km_authz_op *op;
	int ret;

	switch (fold(c, n)) {
	case F_TRUE:
		return emit(c, KM_AZ_ANY, 1) ? 0 : oom(c);
	case F_FALSE:
		if (!emit(c, KM_AZ_ANY, 1) || !emit(c, KM_AZ_NOT, 0))
			return oom(c);
		return 0;
	}
	switch (n->kind) {
	case KM_AZN_AND:
		return emit_fold(c, n, KM_AZ_AND);
	case KM_AZN_OR:
		return emit_fold(c, n, KM_AZ_OR);
	case KM_AZN_NOT:
		ret = n->n_kids == 1 ? emit_node(c, &n->kids[0]) : -EINVAL;
		if (!ret && !emit(c, KM_AZ_NOT, 0))
			ret = oom(c);
		return ret;
	case KM_AZN_ANY:
		return emit(c, KM_AZ_ANY, 1) ? 0 : oom(c);
	case KM_AZN_NONE:
		if (!emit(c, KM_AZ_ANY, 1) || !emit(c, KM_AZ_NOT, 0))
			return oom(c);
		return 0;
	case KM_AZN_DPORT:
		op = emit(c, KM_AZ_DPORT, 1);
		if (!op)
			return oom(c);
		op->lo = n->lo;
		op->hi = n->hi;
		return 0;
	case KM_AZN_DIP:
		return emit_cidr(c, KM_AZ_DIP, &n->cidr);
	case KM_AZN_SIP:
		return emit_cidr(c, KM_AZ_SIP, &n->cidr);
	case KM_AZN_IDENT:
		c->prog_flags |= KM_AZP_IDENT;
		return emit(c, KM_AZ_IDENT, 1) ? 0 : oom(c);
	case KM_AZN_IDENT_NS:
	case KM_AZN_IDENT_SA:
		c->prog_flags |= KM_AZP_IDENT;
		op = emit(c, n->kind == KM_AZN_IDENT_NS ? KM_AZ_IDENT_NS :
							  KM_AZ_IDENT_SA, 1);
		if (!op)
			return oom(c);
		return atom_of(c, n->kind == KM_AZN_IDENT_NS ? KM_ATOM_NS :
							       KM_ATOM_SA,
			       n->ns, n->sa, &op->id);
	case KM_AZN_UNKNOWN:
		return emit(c, KM_AZ_UNKNOWN, 1) ? 0 : oom(c);
	default:
		return -EINVAL;
	}
}

/* A policy that cannot match at this destination is not emitted: it can
 * neither deny nor allow here. */
static int emit_policy(struct cc *c, const struct km_az_policy *p,
		       uint32_t row)
{
	struct km_authz_op *op;
	int ret;

	if (fold(c, &p->permissions) == F_FALSE ||
	    fold(c, &p->principals) == F_FALSE)
		return 0;
	ret = emit_node(c, &p->permissions);
	if (!ret)
		ret = emit_node(c, &p->principals);
	if (ret)
		return ret;
	if (!(op = emit(c, KM_AZ_AND, -1)))
		return oom(c);
	op->arg = 2;
	if (p->condition) {
		if (!emit(c, KM_AZ_UNKNOWN, 1) || !(op = emit(c, KM_AZ_AND, -1)))
			return oom(c);
		op->arg = 2;
	}
	if (!(op = emit(c, KM_AZ_POLICY, -1)))
		return oom(c);
	op->id = row;
	return 0;
}

static int emit_chain(struct cc *c, const struct chain_ref *ref)
{
	uint32_t row = ref->row;
	int ret;

	for (size_t k = 0; k < ref->ch->n_authz; k++) {
		const struct km_az_engine *e = &ref->ch->authz[k];
		size_t at = c->r->n_ops;
		struct km_authz_op *op = emit(c, KM_AZ_ENGINE, 0);

		if (!op)
			return oom(c);
		op->arg = (e->deny ? KM_AZE_DENY : 0) |
			  (e->shadow ? KM_AZE_SHADOW : 0);
		op->id = row++;
		for (size_t p = 0; p < e->n_policies; p++) {
			ret = emit_policy(c, &e->policies[p], row++);
			if (ret)
				return ret;
		}
		c->r->ops[at].lo = c->r->n_ops - at;
	}
	return 0;
}

/* The guard of a chain with prefix_ranges on the wildcard address. */
static int emit_guard(struct cc *c, const struct km_m_chain *ch, size_t *at)
{
	const struct km_m_chain_match *m = &ch->match;
	struct km_authz_op *op;
	int ret;

	for (size_t i = 0; i < m->n_prefixes; i++) {
		ret = emit_cidr(c, KM_AZ_DIP, &m->prefixes[i]);
		if (ret)
			return ret;
		if (i && !(op = emit(c, KM_AZ_OR, -1)))
			return oom(c);
		if (i)
			op->arg = 2;
	}
	*at = c->r->n_ops;
	return emit(c, KM_AZ_SKIP_UNLESS, -1) ? 0 : oom(c);
}

static int emit_target(struct cc *c, size_t ti)
{
	struct target *t = &c->targets[ti];
	struct km_authz_records *r = c->r;
	size_t first = r->n_ops;
	bool wildcard = !memcmp(&t->key.addr, &(struct km_addr){ 0 },
				sizeof(t->key.addr));
	int ret;

	c->prog_flags = 0;
	c->depth = c->max_depth = 0;
	c->port = ntohs(t->key.port);
	c->addr = wildcard ? NULL : &t->key.addr;
	for (size_t i = 0; i < t->n_refs; i++) {
		const struct chain_ref *ref = &c->chains[t->refs[i]];
		size_t guard = 0;

		if (wildcard && ref->ch->match.n_prefixes) {
			ret = emit_guard(c, ref->ch, &guard);
			if (ret)
				return ret;
		}
		ret = emit_chain(c, ref);
		if (ret)
			return ret;
		if (guard)
			r->ops[guard].lo = r->n_ops - guard - 1;
	}
	if (!emit(c, KM_AZ_END, 0))
		return oom(c);
	r->keys[ti] = t->key;
	r->progs[ti] = (struct km_authz_prog){
		.first = first, .n_ops = r->n_ops - first,
		.flags = c->prog_flags,
	};
	if (r->n_ops - first > KM_MAX_AUTHZ_PROG_OPS) {
		km_err_set(c->err, "authorization: the policies of port %u compile to %zu operations, limit is %d",
			   ntohs(t->key.port), r->n_ops - first,
			   KM_MAX_AUTHZ_PROG_OPS);
		return -E2BIG;
	}
	if (c->max_depth > KM_AUTHZ_STACK) {
		km_err_set(c->err, "authorization: the policies of port %u nest deeper than %d",
			   ntohs(t->key.port), KM_AUTHZ_STACK);
		return -E2BIG;
	}
	return 0;
}

int km_authz_compile(const struct km_model *m, struct km_authz_records *r,
		     struct km_err *err)
{
	struct cc c = { .r = r, .err = err };
	int ret;

	memset(r, 0, sizeof(*r));
	/* a config file's own node (YAML) names the workload's addresses;
	 * for an xDS model kmeshd puts its own node's there */
	parse_instance_ips(&c, m->node.instance_ips);
	ret = collect(&c, m);
	if (ret || !c.n_targets)
		goto out;
	r->keys = calloc(c.n_targets, sizeof(*r->keys));
	r->progs = calloc(c.n_targets, sizeof(*r->progs));
	if (!r->keys || !r->progs) {
		ret = oom(&c);
		goto out;
	}
	r->n_targets = c.n_targets;
	for (size_t i = 0; i < c.n_targets && !ret; i++)
		ret = emit_target(&c, i);
	if (!ret && r->n_ops > KM_MAX_AUTHZ_OPS) {
		km_err_set(err, "authorization: the policies compile to %zu operations, limit is %d",
			   r->n_ops, KM_MAX_AUTHZ_OPS);
		ret = -E2BIG;
	}
out:
	for (size_t i = 0; i < c.n_targets; i++)
		free(c.targets[i].refs);
	free(c.targets);
	free(c.chains);
	if (ret)
		km_authz_records_free(r);
	return ret;
}

void km_authz_records_free(struct km_authz_records *r)
{
	for (size_t i = 0; i < r->n_rows; i++)
		free(r->row_names[i]);
	for (size_t i = 0; i < r->n_fail_closed; i++)
		free(r->fail_closed[i]);
	free(r->row_names);
	free(r->fail_closed);
	free(r->keys);
	free(r->progs);
	free(r->ops);
	free(r->atoms);
	free(r->atom_ids);
	memset(r, 0, sizeof(*r));
}
