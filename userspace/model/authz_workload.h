/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Istio's ambient authorization (docs/authz.md, "Istio's ambient API"):
 * istio.security.Authorization policies and the istio.workload.Workload
 * resources that say which workloads they select, as kmeshd's workload
 * mode receives them (source/xds/xds_workload.c decodes them).
 *
 * They become the same engines the Envoy RBAC filters become (authz.h),
 * on one policy program per workload address for all its ports, so the
 * same compiler, kernel tables and evaluator enforce them.
 */
#ifndef KM_AUTHZ_WORKLOAD_H
#define KM_AUTHZ_WORKLOAD_H

#include "authz.h"

enum km_wl_scope {		/* istio.security.Scope */
	KM_WL_GLOBAL = 0,
	KM_WL_NAMESPACE = 1,
	KM_WL_WORKLOAD_SELECTOR = 2,
};

/* One Authorization resource. */
struct km_wl_policy {
	char *key;		/* "ns/name", as Workload.authorization_policies
				 * names it */
	char *ns;
	uint8_t scope;		/* enum km_wl_scope */
	bool deny;		/* action DENY (else ALLOW) */
	bool dry_run;		/* counted as shadow, never enforced */
	/* Set when the policy says something kmesh cannot enforce at all
	 * (an action or scope this build does not know): it then fails
	 * closed on the workloads it may select, in an engine of its own
	 * that denies every connection, as a CUSTOM one does. */
	char *fail_closed;
	struct km_az_policy pol;	/* name = key; permissions: the rules;
					 * principals: any */
};

/* One Workload of an Address resource. */
struct km_wl_workload {
	char *uid;
	char *name, *ns, *sa;
	char *node;
	/* trust_domain set and not KM_TRUST_DOMAIN: kmesh vouches only for
	 * cluster.local identities, so this one is never vouched for */
	bool foreign_trust_domain;
	size_t n_addrs;
	struct km_ip *addrs;
	size_t n_policies;	/* authorization_policies: "ns/name" */
	char **policies;
};

void km_wl_policy_free(struct km_wl_policy *p);
void km_wl_workload_free(struct km_wl_workload *w);

/* Does policy @p apply to workload @w (Istio's scopes)? */
bool km_wl_selects(const struct km_wl_policy *p,
		   const struct km_wl_workload *w);

/*
 * The authorization-only listeners (km_model.authz_only) for the workloads
 * this node protects: those whose node is @node (every workload when
 * @node is NULL or empty), one listener per workload with a policy, its
 * addresses, port 0 (every port), one chain with the engines in Istio's
 * order: DENY, then ALLOW (only when some ALLOW policy applies), then the
 * dry-run ones as shadow rules, then one fail-closed engine per policy
 * kmesh cannot enforce. The engines borrow the policies' condition trees:
 * free them with km_wl_listeners_free() before the policies.
 */
int km_wl_build(struct km_wl_policy *const *pols, size_t n_pols,
		struct km_wl_workload *const *wls, size_t n_wls,
		const char *node, struct km_m_listener **out, size_t *n_out,
		struct km_err *err);
void km_wl_listeners_free(struct km_m_listener *l, size_t n);

#endif
