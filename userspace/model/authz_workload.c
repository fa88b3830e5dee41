// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's ambient policies -> authorization-only listeners (authz_workload.h).
 *
 * A workload this node protects gets one listener on its addresses, port
 * 0 (every port), with one chain of engines. A connection must pass every
 * engine, so DENY-then-ALLOW is Istio's order whatever the engines'
 * order: a DENY engine denies what one of its policies matches; an ALLOW
 * engine, present only when some ALLOW policy selects the workload,
 * denies what none matches (no ALLOW policy: allowed). Dry-run policies
 * are shadow engines: counted, never enforced.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authz_workload.h"

void km_wl_policy_free(struct km_wl_policy *p)
{
	free(p->key);
	free(p->ns);
	free(p->fail_closed);
	free(p->pol.name);
	km_az_node_free(&p->pol.permissions);
	km_az_node_free(&p->pol.principals);
	memset(p, 0, sizeof(*p));
}

void km_wl_workload_free(struct km_wl_workload *w)
{
	free(w->uid);
	free(w->name);
	free(w->ns);
	free(w->sa);
	free(w->node);
	free(w->addrs);
	for (size_t i = 0; i < w->n_policies; i++)
		free(w->policies[i]);
	free(w->policies);
	memset(w, 0, sizeof(*w));
}

bool km_wl_selects(const struct km_wl_policy *p,
		   const struct km_wl_workload *w)
{
	switch (p->scope) {
	case KM_WL_NAMESPACE:
		return p->ns && w->ns && !strcmp(p->ns, w->ns);
	case KM_WL_WORKLOAD_SELECTOR:
		for (size_t i = 0; i < w->n_policies; i++)
			if (!strcmp(w->policies[i], p->key))
				return true;
		return false;
	default:	/* GLOBAL, and a scope kmesh does not know (it then
			 * fails closed on every workload) */
		return true;
	}
}

/* The engines' policies are shallow copies: free the arrays only. */
static void chain_free(struct km_m_chain *ch)
{
	for (size_t k = 0; k < ch->n_authz; k++) {
		free(ch->authz[k].policies);
		free(ch->authz[k].name);
	}
	free(ch->authz);
	free(ch);
}

/* The engine kinds of a workload's chain, in their order. */
enum { E_DENY, E_ALLOW, E_SHADOW_DENY, E_SHADOW_ALLOW, E_KINDS };

static const char *const engine_names[E_KINDS] = {
	[E_DENY] = "DENY", [E_ALLOW] = "ALLOW",
	[E_SHADOW_DENY] = "dry-run DENY", [E_SHADOW_ALLOW] = "dry-run ALLOW",
};

static int engine_kind(const struct km_wl_policy *p)
{
	if (p->dry_run)
		return p->deny ? E_SHADOW_DENY : E_SHADOW_ALLOW;
	return p->deny ? E_DENY : E_ALLOW;
}

/* Appends a shallow copy of @p's policy (the trees stay the policy's). */
static int engine_push(struct km_az_engine *e, const struct km_az_policy *p)
{
	struct km_az_policy *q = realloc(e->policies, (e->n_policies + 1) *
						      sizeof(*q));

	if (!q)
		return -ENOMEM;
	e->policies = q;
	q[e->n_policies++] = *p;
	return 0;
}

static struct km_az_engine *engine_new(struct km_m_chain *ch,
				       const char *name, bool deny,
				       bool shadow, bool custom)
{
	struct km_az_engine *e = km_az_engine_add(ch);

	if (!e)
		return NULL;
	e->name = strdup(name);
	e->deny = deny;
	e->shadow = shadow;
	e->custom = custom;
	return e->name ? e : NULL;
}

/* The chain of workload @w: NULL engines when no policy selects it. */
static int build_chain(struct km_wl_policy *const *pols, size_t n_pols,
		       const struct km_wl_workload *w, struct km_m_chain *ch,
		       struct km_err *err)
{
	struct km_az_engine *e;
	const char *dup;

	for (int k = 0; k < E_KINDS; k++) {
		e = NULL;
		for (size_t i = 0; i < n_pols; i++) {
			const struct km_wl_policy *p = pols[i];

			if (p->fail_closed || engine_kind(p) != k ||
			    !km_wl_selects(p, w))
				continue;
			if (!e && !(e = engine_new(ch, engine_names[k],
						   k == E_DENY || k == E_SHADOW_DENY,
						   k >= E_SHADOW_DENY, false)))
				return -ENOMEM;
			if (engine_push(e, &p->pol))
				return -ENOMEM;
		}
		if (e && km_az_engine_sort(e, &dup)) {
			km_err_set(err, "workload '%.64s': policy '%.64s' appears twice",
				   w->uid, dup);
			return -EINVAL;
		}
	}
	/* what kmesh cannot enforce denies every connection, one engine
	 * (and counter row) per such policy, named after it */
	for (size_t i = 0; i < n_pols; i++) {
		const struct km_wl_policy *p = pols[i];

		if (!p->fail_closed || !km_wl_selects(p, w))
			continue;
		e = engine_new(ch, p->key, false, false, true);
		if (!e || engine_push(e, &p->pol))
			return -ENOMEM;
	}
	return 0;
}

static int add_listener(struct km_m_listener **out, size_t *n,
			const struct km_wl_workload *w, struct km_m_chain *ch)
{
	struct km_m_listener *l = realloc(*out, (*n + 1) * sizeof(*l));

	if (!l) {
		chain_free(ch);
		return -ENOMEM;
	}
	*out = l;
	l = &l[*n];
	memset(l, 0, sizeof(*l));
	l->direction = KM_DIR_INBOUND;
	l->name = strdup(w->uid && *w->uid ? w->uid : "");
	l->addrs = calloc(w->n_addrs, sizeof(*l->addrs));
	l->n_chains = 1;
	l->chains = ch;
	(*n)++;
	if (!l->name || !l->addrs)
		return -ENOMEM;
	memcpy(l->addrs, w->addrs, w->n_addrs * sizeof(*l->addrs));
	l->n_addrs = w->n_addrs;
	return 0;
}

int km_wl_build(struct km_wl_policy *const *pols, size_t n_pols,
		struct km_wl_workload *const *wls, size_t n_wls,
		const char *node, struct km_m_listener **out, size_t *n_out,
		struct km_err *err)
{
	int ret = 0;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n_wls && !ret; i++) {
		const struct km_wl_workload *w = wls[i];
		struct km_m_chain *ch;

		if (!w->n_addrs ||
		    (node && *node && (!w->node || strcmp(w->node, node))))
			continue;
		ch = calloc(1, sizeof(*ch));
		if (!ch) {
			ret = -ENOMEM;
			break;
		}
		ret = build_chain(pols, n_pols, w, ch, err);
		if (ret || !ch->n_authz) {
			chain_free(ch);
			continue;
		}
		ret = add_listener(out, n_out, w, ch);
	}
	if (ret == -ENOMEM)
		km_err_set(err, "authorization: out of memory");
	if (ret) {
		km_wl_listeners_free(*out, *n_out);
		*out = NULL;
		*n_out = 0;
	}
	return ret;
}

void km_wl_listeners_free(struct km_m_listener *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		chain_free(l[i].chains);
		free(l[i].name);
		free(l[i].addrs);
	}
	free(l);
}
