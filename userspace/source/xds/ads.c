// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ADS client: see ads.h for the protocol rules it follows. */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "ads.h"
#include "state.h"
#include "grpc.h"
#include "notenf.h"
#include "grpc_frame.h"
#include "resources.h"
#include "xds_workload.h"
#include "strmap.h"
#include "check.h"

#include "envoy/service/discovery/v3/discovery.pb-c.h"

#define ADS_SOTW_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
#define ADS_DELTA_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define GRPC_INVALID_ARGUMENT 3
#define GRPC_UNAUTHENTICATED 16
/* error_detail stays readable: the first errors, then a count */
#define NACK_MSG_MAX 4096

/* AUTHZ and ADDR: Istio's ambient API, the only types of workload mode */
enum ads_type { CDS, EDS, LDS, RDS, AUTHZ, ADDR, NTYPES };

static const struct {
	const char *url;
	const char *tag;
} types[NTYPES] = {
	[CDS] = { KM_TYPE_CLUSTER, "cds" },
	[EDS] = { KM_TYPE_CLA, "eds" },
	[LDS] = { KM_TYPE_LISTENER, "lds" },
	[RDS] = { KM_TYPE_ROUTE, "rds" },
	[AUTHZ] = { KM_TYPE_AUTHORIZATION, "authorization" },
	[ADDR] = { KM_TYPE_ADDRESS, "address" },
};

/* One accepted (or candidate) resource. */
struct ads_res {
	char *version;			/* Delta: per-resource version */
	struct km_notenf ne;		/* accepted, not enforced */
	union {
		struct km_m_cluster cluster;	/* CDS, and EDS's endpoints */
		struct km_m_listener listener;
		struct km_m_route_config rc;
		struct km_wl_policy pol;	/* AUTHZ */
		struct km_wl_workload wl;	/* ADDR */
	};
};

struct ads_type_state {
	struct km_strmap res;		/* name -> struct ads_res *: accepted */
	char *version;			/* SotW: last accepted version_info */
	char *nonce;			/* last response nonce on this stream */
	bool requested;			/* a request went out on this stream */
	char **names;			/* EDS/RDS: the names asked for */
	size_t n_names;
	uint64_t acks, nacks;
	char *last_nack;
	bool nacked;			/* its last response was NACKed */
};

struct km_ads {
	struct km_ads_opts o;
	km_ads_apply_fn apply;
	void *arg;
	struct km_grpc *g;
	bool closed;			/* on_close ran; free g outside callbacks */
	bool node_sent;
	bool up_logged;			/* this stream's first response logged */
	uint64_t reconnect_at;		/* 0: connected or connecting */
	uint32_t backoff_ms;
	uint64_t reconnects;
	char last_error[sizeof(((struct km_err *)0)->msg)];
	struct km_xds_skipped skipped;
	uint64_t last_apply_ms;		/* last response: arrival to applied */
	uint64_t last_apply_size;	/* its size in bytes */
	struct ads_type_state t[NTYPES];
	/* the node message, built once */
	Envoy__Config__Core__V3__Node node;
	Google__Protobuf__Struct md;
	Google__Protobuf__Struct labels;
};

uint64_t km_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static int type_of(const char *url)
{
	for (int t = 0; t < NTYPES; t++)
		if (url && strcmp(url, types[t].url) == 0)
			return t;
	return -1;
}

/* ---- resources ------------------------------------------------------------- */

static void res_free(int t, struct ads_res *r)
{
	if (!r)
		return;
	if (t == LDS)
		km_listener_free(&r->listener);
	else if (t == AUTHZ)
		km_wl_policy_free(&r->pol);
	else if (t == ADDR)
		km_wl_workload_free(&r->wl);
	else if (t == RDS)
		km_route_config_free(&r->rc);
	else
		km_cluster_free(&r->cluster);
	free(r->version);
	km_notenf_free(&r->ne);
	free(r);
}

/* What kmesh.ko's matcher cannot take (safe_regex, ...) refuses the one
 * route config that holds it, as a decode error would, not the whole
 * state at compile time: the rest of the response is applied. */
static int kernel_routes(int t, const struct ads_res *r, struct km_err *err)
{
	char what[KM_WHAT_LEN];
	int ret = 0;

	if (t == RDS)
		return km_check_route_config(&r->rc, NULL, true, err);
	for (size_t i = 0; t == LDS && !ret && i < r->listener.n_chains; i++) {
		const struct km_m_chain *ch = &r->listener.chains[i];

		if (ch->kind != KM_CHAIN_HTTP || ch->rds_name)
			continue;
		snprintf(what, sizeof(what), "listener '%s': filter_chains[%zu]: http_connection_manager",
			 r->listener.name, i);
		ret = km_check_route_config(&ch->routes, what, true, err);
	}
	return ret;
}

/* Decodes one resource; its name in *name (owned by the resource's model
 * object, valid while it lives). */
static int res_decode(struct km_ads *a, int t, const uint8_t *buf, size_t len,
		      struct ads_res **out, const char **name, struct km_err *err)
{
	struct ads_res *r = calloc(1, sizeof(*r));
	char *cla_name = NULL;
	int ret;

	if (!r)
		return -ENOMEM;
	km_xds_audit_set(&r->ne, a->o.strict);
	switch (t) {
	case CDS:
		ret = km_xds_cluster(buf, len, &r->cluster, &a->skipped, err);
		*name = r->cluster.name;
		break;
	case EDS:
		ret = km_xds_cla(buf, len, &cla_name, &r->cluster, err);
		r->cluster.name = cla_name;	/* freed with the cluster */
		*name = cla_name;
		break;
	case LDS:
		ret = km_xds_listener(buf, len, &r->listener, &a->skipped, err);
		*name = r->listener.name;
		break;
	case AUTHZ:
		ret = km_xds_authorization(buf, len, &r->pol, err);
		*name = r->pol.key;	/* "ns/name", istiod's resource name */
		break;
	case ADDR:
		ret = km_xds_address(buf, len, &r->wl, err);
		*name = r->wl.uid;
		break;
	default:
		ret = km_xds_route_config(buf, len, &r->rc, err);
		*name = r->rc.name;
		break;
	}
	km_xds_audit_set(NULL, false);
	if (!ret)
		ret = kernel_routes(t, r, err);
	if (ret == KM_XDS_SKIP) {
		km_notenf_free(&r->ne);
		free(r);
		return ret;
	}
	if (!ret && (!*name || !**name)) {
		km_err_set(err, "%s resource without a name", types[t].tag);
		ret = -EINVAL;
	}
	if (ret) {
		res_free(t, r);
		return ret;
	}
	*out = r;
	return 0;
}

/* ---- model from the accepted state ---------------------------------------- */

/* An EDS cluster whose endpoints come from its ClusterLoadAssignment. */
static bool eds_wants(const struct km_m_cluster *c)
{
	return c->type == KM_CLUSTER_EDS && !c->has_load_assignment &&
	       !c->original_dst;
}

/* Workload mode: Istio's ambient policies on the workloads of this node
 * (NODE_NAME; every workload when it is not known). */
static int build_workload_model(struct km_ads *a, struct km_model *m,
				struct km_err *err)
{
	size_t np = a->t[AUTHZ].res.len, nw = a->t[ADDR].res.len, i, n;
	struct km_wl_policy **pols = calloc(np + 1, sizeof(*pols));
	struct km_wl_workload **wls = calloc(nw + 1, sizeof(*wls));
	const char *k;
	void *v;
	int ret = -ENOMEM;

	if (!pols || !wls) {
		km_err_set(err, "out of memory building the model");
		goto out;
	}
	for (i = 0, n = 0; km_strmap_next(&a->t[AUTHZ].res, &i, &k, &v);)
		pols[n++] = &((struct ads_res *)v)->pol;
	for (i = 0, n = 0; km_strmap_next(&a->t[ADDR].res, &i, &k, &v);)
		wls[n++] = &((struct ads_res *)v)->wl;
	ret = km_wl_build(pols, np, wls, nw, a->o.node.node_name,
			  &m->authz_only, &m->n_authz_only, err);
out:
	free(pols);
	free(wls);
	return ret;
}

/* Shallow: the arrays are new, their contents borrowed from the resources. */
static int build_model(struct km_ads *a, struct km_model *m)
{
	size_t i = 0, n;
	const char *k;
	void *v;

	memset(m, 0, sizeof(*m));
	m->source = (char *)"xds";
	m->rds_may_wait = true;
	m->clusters = calloc(a->t[CDS].res.len + 1, sizeof(*m->clusters));
	m->listeners = calloc(a->t[LDS].res.len + 1, sizeof(*m->listeners));
	m->route_configs = calloc(a->t[RDS].res.len + 1, sizeof(*m->route_configs));
	if (!m->clusters || !m->listeners || !m->route_configs)
		return -ENOMEM;
	for (i = 0, n = 0; km_strmap_next(&a->t[CDS].res, &i, &k, &v);) {
		struct km_m_cluster *c = &m->clusters[n++];
		struct ads_res *cla;

		*c = ((struct ads_res *)v)->cluster;
		/* only an EDS cluster takes a ClusterLoadAssignment: a STATIC
		 * one without load_assignment (Istio's BlackHoleCluster) has no
		 * endpoints, whatever EDS holds under its name */
		if (!eds_wants(c))
			continue;
		cla = km_strmap_get(&a->t[EDS].res, k);
		if (cla) {	/* until EDS arrives: no endpoints, refused */
			c->endpoints = cla->cluster.endpoints;
			c->n_endpoints = cla->cluster.n_endpoints;
			c->localities = cla->cluster.localities;
			c->n_localities = cla->cluster.n_localities;
		}
	}
	m->n_clusters = n;
	for (i = 0, n = 0; km_strmap_next(&a->t[LDS].res, &i, &k, &v);)
		m->listeners[n++] = ((struct ads_res *)v)->listener;
	m->n_listeners = n;
	for (i = 0, n = 0; km_strmap_next(&a->t[RDS].res, &i, &k, &v);)
		m->route_configs[n++] = ((struct ads_res *)v)->rc;
	m->n_route_configs = n;
	return 0;
}

static void free_model_view(struct km_model *m)
{
	km_wl_listeners_free(m->authz_only, m->n_authz_only);
	free(m->clusters);
	free(m->listeners);
	free(m->route_configs);
}

static int apply_state(struct km_ads *a, struct km_err *err)
{
	struct km_model m;
	int ret = build_model(a, &m);

	if (ret)
		km_err_set(err, "out of memory building the model");
	else if (a->o.workload)
		ret = build_workload_model(a, &m, err);
	if (!ret)
		ret = a->apply(a->arg, &m, err);
	free_model_view(&m);
	return ret;
}

struct km_wl_workload **km_ads_workloads(const struct km_ads *a, size_t *n)
{
	struct km_wl_workload **w = calloc(a->t[ADDR].res.len + 1, sizeof(*w));
	size_t i = 0;
	const char *k;
	void *v;

	*n = 0;
	while (w && km_strmap_next(&a->t[ADDR].res, &i, &k, &v))
		w[(*n)++] = &((struct ads_res *)v)->wl;
	return w;
}

int km_ads_reapply(struct km_ads *a, struct km_err *err)
{
	return apply_state(a, err);
}

/* ---- wanted names ------------------------------------------------------------ */

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* EDS: the EDS clusters; RDS: the rds route configs of the listeners.
 * Sorted, unique. */
static char **wanted(struct km_ads *a, int t, size_t *n)
{
	struct km_strmap seen = {};
	size_t i = 0, cap = 16;
	char **names = malloc(cap * sizeof(*names));
	const char *k;
	void *v;
	int err;

	*n = 0;
	if (!names)
		return NULL;
	while (km_strmap_next(&a->t[t == EDS ? CDS : LDS].res, &i, &k, &v)) {
		struct ads_res *r = v;
		size_t nc = t == EDS ? 1 : r->listener.n_chains;

		for (size_t c = 0; c < nc; c++) {
			const char *want = NULL;

			if (t == EDS && eds_wants(&r->cluster))
				want = k;
			else if (t == RDS)
				want = r->listener.chains[c].rds_name;
			if (!want || km_strmap_get(&seen, want))
				continue;
			km_strmap_put(&seen, want, (void *)1, &err);
			if (*n == cap) {
				char **nn = realloc(names, 2 * cap * sizeof(*names));

				if (!nn)
					break;
				names = nn;
				cap *= 2;
			}
			names[(*n)++] = strdup(want);
		}
	}
	km_strmap_free(&seen);
	qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool same_names(char **x, size_t nx, char **y, size_t ny)
{
	if (nx != ny)
		return false;
	for (size_t i = 0; i < nx; i++)
		if (strcmp(x[i], y[i]))
			return false;
	return true;
}

/* ---- requests ------------------------------------------------------------------ */

static void send_msg(struct km_ads *a, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return;
	protobuf_c_message_pack(msg, buf);
	if (a->g && !a->closed)
		km_grpc_send(a->g, buf, len);
	free(buf);
}

static void send_sotw(struct km_ads *a, int t, const char *nack)
{
	Envoy__Service__Discovery__V3__DiscoveryRequest req =
		ENVOY__SERVICE__DISCOVERY__V3__DISCOVERY_REQUEST__INIT;
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	struct ads_type_state *ts = &a->t[t];

	req.version_info = ts->version ? ts->version : "";
	req.type_url = (char *)types[t].url;
	req.response_nonce = ts->nonce ? ts->nonce : "";
	if (t == EDS || t == RDS) {
		req.resource_names = ts->names;
		req.n_resource_names = ts->n_names;
	}
	if (!a->node_sent) {
		req.node = &a->node;
		a->node_sent = true;
	}
	if (nack) {
		st.code = GRPC_INVALID_ARGUMENT;
		st.message = (char *)nack;
		req.error_detail = &st;
	}
	ts->requested = true;
	send_msg(a, &req.base);
}

/* Delta: @sub/@unsub change the subscription; on a new stream,
 * initial_resource_versions carries what we have. */
static void send_delta(struct km_ads *a, int t, char **sub, size_t nsub,
		       char **unsub, size_t nunsub, const char *nack, bool initial)
{
	Envoy__Service__Discovery__V3__DeltaDiscoveryRequest req =
		ENVOY__SERVICE__DISCOVERY__V3__DELTA_DISCOVERY_REQUEST__INIT;
	Envoy__Service__Discovery__V3__DeltaDiscoveryRequest__InitialResourceVersionsEntry *ents = NULL, **pents = NULL;
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	struct ads_type_state *ts = &a->t[t];
	size_t n = 0, i = 0;
	const char *k;
	void *v;

	req.type_url = (char *)types[t].url;
	req.response_nonce = initial || !ts->nonce ? "" : ts->nonce;
	req.resource_names_subscribe = sub;
	req.n_resource_names_subscribe = nsub;
	req.resource_names_unsubscribe = unsub;
	req.n_resource_names_unsubscribe = nunsub;
	if (initial && ts->res.len) {
		ents = calloc(ts->res.len, sizeof(*ents));
		pents = calloc(ts->res.len, sizeof(*pents));
		while (ents && pents && km_strmap_next(&ts->res, &i, &k, &v)) {
			envoy__service__discovery__v3__delta_discovery_request__initial_resource_versions_entry__init(&ents[n]);
			ents[n].key = (char *)k;
			ents[n].value = ((struct ads_res *)v)->version ?
					((struct ads_res *)v)->version : "";
			pents[n] = &ents[n];
			n++;
		}
		req.initial_resource_versions = pents;
		req.n_initial_resource_versions = n;
	}
	if (!a->node_sent) {
		req.node = &a->node;
		a->node_sent = true;
	}
	if (nack) {
		st.code = GRPC_INVALID_ARGUMENT;
		st.message = (char *)nack;
		req.error_detail = &st;
	}
	ts->requested = true;
	send_msg(a, &req.base);
	free(ents);
	free(pents);
}

/* EDS/RDS follow what CDS/LDS accepted; LDS follows CDS. */
/* RDS: route configs no listener names any more are dropped, as Envoy
 * drops what it unsubscribed from, so 'kmeshctl config' shows no stale
 * state. Nothing compiled uses them: the last apply had no listener for
 * them. */
static void drop_unwanted(struct km_ads *a, int t)
{
	struct ads_type_state *ts = &a->t[t];
	size_t i = 0;
	const char *k;
	void *v;

	while (km_strmap_next(&ts->res, &i, &k, &v)) {
		if (bsearch(&k, ts->names, ts->n_names, sizeof(char *), cmp_str))
			continue;
		km_strmap_del(&ts->res, k);
		res_free(t, v);
		i = 0;	/* the map changed under the cursor: start over */
	}
}

static void update_subscriptions(struct km_ads *a, int after)
{
	int t = after == CDS ? EDS : RDS;
	struct ads_type_state *ts = &a->t[t];
	size_t n;
	char **names = wanted(a, t, &n);

	if (!names)
		return;
	/* Nothing wanted and nothing asked for yet: no request (an empty
	 * EDS/RDS list means "unsubscribe", not "everything"). */
	if ((ts->requested && same_names(names, n, ts->names, ts->n_names)) ||
	    (!ts->requested && n == 0)) {
		free_names(names, n);
	} else if (a->o.delta) {
		/* subscribe what is new, unsubscribe what went */
		char **sub = calloc(n + 1, sizeof(char *)), **unsub = calloc(ts->n_names + 1, sizeof(char *));
		size_t ns = 0, nu = 0;

		for (size_t i = 0; sub && i < n; i++)
			if (!bsearch(&names[i], ts->names, ts->n_names, sizeof(char *), cmp_str))
				sub[ns++] = names[i];
		for (size_t i = 0; unsub && i < ts->n_names; i++)
			if (!bsearch(&ts->names[i], names, n, sizeof(char *), cmp_str))
				unsub[nu++] = ts->names[i];
		if (!ts->requested || ns || nu)
			send_delta(a, t, sub, ns, unsub, nu, NULL, false);
		free(sub);
		free(unsub);
		free_names(ts->names, ts->n_names);
		ts->names = names;
		ts->n_names = n;
	} else {
		free_names(ts->names, ts->n_names);
		ts->names = names;
		ts->n_names = n;
		send_sotw(a, t, NULL);
	}
	if (t == RDS)
		drop_unwanted(a, t);
	if (after == CDS && !a->t[LDS].requested) {
		if (a->o.delta)
			send_delta(a, LDS, NULL, 0, NULL, 0, NULL, false);
		else
			send_sotw(a, LDS, NULL);
	}
}

/* ---- responses ------------------------------------------------------------------ */

struct candidate {
	struct km_strmap map;		/* the state to try */
	struct ads_res **fresh;		/* decoded from this response */
	size_t n_fresh;
	char nack[NACK_MSG_MAX];
	size_t nack_len;
	unsigned int n_bad;
	bool applied;			/* its state serves (even if NACKed) */
};

static void cand_error(struct candidate *c, const char *msg)
{
	int n;

	if (c->n_bad++ && c->nack_len < sizeof(c->nack) - 2) {
		c->nack[c->nack_len++] = ';';
		c->nack[c->nack_len++] = ' ';
	}
	n = snprintf(c->nack + c->nack_len, sizeof(c->nack) - c->nack_len, "%s", msg);
	if (n > 0)
		c->nack_len = c->nack_len + n < sizeof(c->nack) ? c->nack_len + n :
			      sizeof(c->nack) - 1;
}

/* Start from the accepted state (partial types) or from nothing (full). */
static int cand_init(struct candidate *c, struct ads_type_state *ts, bool full,
		     size_t n)
{
	size_t i = 0;
	const char *k;
	void *v;
	int err = 0;

	memset(c, 0, sizeof(*c));
	c->fresh = calloc(n + 1, sizeof(*c->fresh));
	if (!c->fresh)
		return -ENOMEM;
	while (!full && !err && km_strmap_next(&ts->res, &i, &k, &v))
		km_strmap_put(&c->map, k, v, &err);
	return err;
}

/* A resource that does not decode: as Envoy does, the rest of the
 * response is applied and this one keeps its last accepted version (a
 * full-state response would otherwise drop it). */
static void cand_keep_last(struct km_ads *a, struct candidate *c, int t,
			   const uint8_t *buf, size_t len)
{
	char *name = km_xds_resource_name(types[t].url, buf, len);
	void *last = name ? km_strmap_get(&a->t[t].res, name) : NULL;
	int e = 0;

	if (last && !km_strmap_get(&c->map, name))
		km_strmap_put(&c->map, name, last, &e);
	if (e)
		cand_error(c, "out of memory");
	free(name);
}

static void cand_add(struct km_ads *a, struct candidate *c, int t,
		     const char *any_url, const uint8_t *buf, size_t len,
		     const char *version)
{
	struct km_err err = {};
	struct ads_res *r;
	const char *name;
	void *old;
	int e;

	if (any_url && strcmp(any_url, types[t].url) != 0) {
		snprintf(err.msg, sizeof(err.msg), "a resource of type %s in a %s response",
			 any_url, types[t].tag);
		cand_error(c, err.msg);
		return;
	}
	e = res_decode(a, t, buf, len, &r, &name, &err);
	if (e == KM_XDS_SKIP)
		return;		/* nothing kmesh serves: accepted, counted */
	if (e) {
		cand_error(c, err.msg);
		cand_keep_last(a, c, t, buf, len);
		return;
	}
	c->fresh[c->n_fresh++] = r;
	if (version)
		r->version = strdup(version);
	old = km_strmap_put(&c->map, name, r, &e);
	if (e) {
		cand_error(c, "out of memory");
		return;
	}
	for (size_t i = 0; old && i + 1 < c->n_fresh; i++)
		if (c->fresh[i] == old) {
			snprintf(err.msg, sizeof(err.msg), "%s '%s' appears twice in one response",
				 types[t].tag, name);
			cand_error(c, err.msg);
		}
}

/*
 * Try the candidate and commit it if the whole state compiles; NACK (return
 * the reason) if it does not, or if some of its resources were refused:
 * those keep their last accepted version, the rest is applied (Envoy's
 * partial acceptance). A state that does not compile changes nothing.
 */
static const char *cand_commit(struct km_ads *a, struct candidate *c, int t)
{
	struct ads_type_state *ts = &a->t[t];
	struct km_strmap old;
	struct km_err err = {};
	size_t i = 0;
	const char *k;
	void *v;

	old = ts->res;
	ts->res = c->map;
	if (apply_state(a, &err)) {
		ts->res = old;
		cand_error(c, err.msg);
		for (i = 0; i < c->n_fresh; i++)
			res_free(t, c->fresh[i]);
		km_strmap_free(&c->map);
	} else {
		/* free what the new state no longer holds */
		while (km_strmap_next(&old, &i, &k, &v))
			if (km_strmap_get(&ts->res, k) != v)
				res_free(t, v);
		km_strmap_free(&old);
		c->applied = true;
	}
	free(c->fresh);
	if (!c->n_bad)
		return NULL;
	ts->nacks++;
	free(ts->last_nack);
	ts->last_nack = strdup(c->nack);
	return c->nack;
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = strdup(src ? src : "");
}

/* Commit or refuse the candidate, then ACK or NACK it; an accepted CDS or
 * LDS may change what EDS, LDS and RDS subscribe to. */
static void respond(struct km_ads *a, int t, struct candidate *c,
		    const char *version)
{
	const char *nack = cand_commit(a, c, t);

	a->t[t].nacked = nack != NULL;
	if (!nack) {
		set_str(&a->t[t].version, version);
		a->t[t].acks++;
		a->backoff_ms = 0;
	}
	if (a->o.delta)
		send_delta(a, t, NULL, 0, NULL, 0, nack, false);
	else
		send_sotw(a, t, nack);
	if (c->applied && (t == CDS || t == LDS))
		update_subscriptions(a, t);
}

/* A response's type (its index), its nonce kept, and the candidate set it
 * fills; -1 with last_error set. A SotW CDS or LDS response is the whole
 * set: it starts empty (@whole), anything else from the accepted one. */
static int response_begin(struct km_ads *a, struct candidate *c,
			  const char *type_url, const char *nonce,
			  size_t n_resources, bool whole)
{
	int t = type_of(type_url);

	if (t < 0) {
		snprintf(a->last_error, sizeof(a->last_error),
			 "response for unknown type %s", type_url);
		return -1;
	}
	set_str(&a->t[t].nonce, nonce);
	if (cand_init(c, &a->t[t], whole && (t == CDS || t == LDS),
		      n_resources)) {
		snprintf(a->last_error, sizeof(a->last_error), "out of memory");
		return -1;
	}
	return t;
}

static void on_sotw(struct km_ads *a, const uint8_t *msg, size_t len)
{
	Envoy__Service__Discovery__V3__DiscoveryResponse *r =
		envoy__service__discovery__v3__discovery_response__unpack(NULL, len, msg);
	struct candidate c;
	int t;

	if (!r) {
		snprintf(a->last_error, sizeof(a->last_error), "undecodable DiscoveryResponse (%zu bytes)", len);
		return;
	}
	t = response_begin(a, &c, r->type_url, r->nonce,
			   r->n_resources, true);
	if (t < 0)
		goto out;
	for (size_t i = 0; i < r->n_resources; i++)
		cand_add(a, &c, t, r->resources[i]->type_url, r->resources[i]->value.data,
			 r->resources[i]->value.len, NULL);
	respond(a, t, &c, r->version_info);
out:
	envoy__service__discovery__v3__discovery_response__free_unpacked(r, NULL);
}

static void on_delta(struct km_ads *a, const uint8_t *msg, size_t len)
{
	Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *r =
		envoy__service__discovery__v3__delta_discovery_response__unpack(NULL, len, msg);
	struct candidate c;
	int t;

	if (!r) {
		snprintf(a->last_error, sizeof(a->last_error), "undecodable DeltaDiscoveryResponse (%zu bytes)", len);
		return;
	}
	t = response_begin(a, &c, r->type_url, r->nonce,
			   r->n_resources, false);
	if (t < 0)
		goto out;
	for (size_t i = 0; i < r->n_removed_resources; i++)
		km_strmap_del(&c.map, r->removed_resources[i]);
	for (size_t i = 0; i < r->n_resources; i++) {
		Envoy__Service__Discovery__V3__Resource *res = r->resources[i];

		if (!res->resource) {	/* a name-only entry: nothing to apply */
			continue;
		}
		cand_add(a, &c, t, res->resource->type_url, res->resource->value.data,
			 res->resource->value.len, res->version);
	}
	respond(a, t, &c, r->system_version_info);
out:
	envoy__service__discovery__v3__delta_discovery_response__free_unpacked(r, NULL);
}

/* ---- what kmeshd logs ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static void ads_log(struct km_ads *a, int level, const char *fmt, ...)
{
	char msg[sizeof(a->last_error) + 200];
	va_list ap;

	if (!a->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->o.log(a->o.log_arg, level, msg);
}

static void ads_log_up(struct km_ads *a)
{
	char how[300];

	km_grpc_describe(a->g, how, sizeof(how));
	ads_log(a, 2, "xDS: stream to %s:%u up (%s%s%s)", a->o.host, a->o.port, how,
		a->o.token_file ? "; bearer token from " : "",
		a->o.token_file ? a->o.token_file : "");
}

static void ads_log_retry(struct km_ads *a, uint64_t in_ms)
{
	ads_log(a, 1, "xDS: %s:%u: %s; the running config keeps serving; retrying in %llu ms",
		a->o.host, a->o.port, a->last_error, (unsigned long long)in_ms);
}

/* The call ended with a grpc-status: its name, the server's message, and
 * for UNAUTHENTICATED which token it refused. */
static void ads_status_error(struct km_ads *a, int status, const char *why)
{
	const char *hint = "";

	if (status == GRPC_UNAUTHENTICATED)
		hint = a->o.token_file ? "; the server refused the bearer token from " :
		       "; no bearer token was sent";
	snprintf(a->last_error, sizeof(a->last_error), "stream ended: grpc-status %d (%s)%s%s%s%s",
		 status, km_grpc_status_name(status), why && *why ? ": " : "",
		 why ? why : "", hint,
		 status == GRPC_UNAUTHENTICATED && a->o.token_file ? a->o.token_file : "");
}

static void on_message(void *arg, const uint8_t *msg, size_t len)
{
	struct km_ads *a = arg;
	uint64_t t0 = km_now_ms();

	/* a response arrived: whatever broke the stream before is over;
	 * a response that does not decode sets it again */
	a->last_error[0] = 0;
	if (!a->up_logged) {
		a->up_logged = true;
		ads_log_up(a);
	}
	if (a->o.delta)
		on_delta(a, msg, len);
	else
		on_sotw(a, msg, len);
	a->last_apply_ms = km_now_ms() - t0;
	a->last_apply_size = len;
	/* A big response unpacks into many small blocks, all freed by now;
	 * give the pages back rather than keep the peak as RSS. */
	malloc_trim(0);
}

static void on_close(void *arg, int status, const char *why, int err)
{
	struct km_ads *a = arg;

	if (status >= 0)
		ads_status_error(a, status, why);
	else
		snprintf(a->last_error, sizeof(a->last_error), "%s", why ? why : strerror(-err));
	a->closed = true;
}

/* ---- connection ---------------------------------------------------------------- */

static void schedule_reconnect(struct km_ads *a)
{
	uint32_t b = a->backoff_ms ? a->backoff_ms * 2 : BACKOFF_MIN_MS;

	if (b > BACKOFF_MAX_MS)
		b = BACKOFF_MAX_MS;
	a->backoff_ms = b;
	/* jitter: 75% to 125% */
	a->reconnect_at = km_now_ms() + b * 3 / 4 + (uint32_t)rand() % (b / 2 + 1);
	ads_log_retry(a, a->reconnect_at - km_now_ms());
}

static void connect_stream(struct km_ads *a)
{
	static const struct km_grpc_cbs cbs = { on_message, on_close };
	struct km_grpc_opts go = {
		.host = a->o.host,
		.port = a->o.port,
		.path = a->o.delta ? ADS_DELTA_PATH : ADS_SOTW_PATH,
		.keepalive_ms = a->o.keepalive_ms,
	};
	struct km_err err = {};
	char *auth = NULL;
	int ret;

	a->closed = false;
	a->node_sent = false;
	a->up_logged = false;
	a->reconnect_at = 0;
	/* the token rotates: read it for every stream */
	ret = a->o.token_file ? km_token_header(a->o.token_file, &auth, &err) : 0;
	go.tls = a->o.tls;
	go.authorization = auth;
	if (!ret)
		ret = km_grpc_open(&a->g, &go, &cbs, a, &err);
	free(auth);	/* nghttp2 copied the header */
	if (ret) {
		snprintf(a->last_error, sizeof(a->last_error), "%s", err.msg);
		a->g = NULL;
		schedule_reconnect(a);
		return;
	}
	/* Full resubscribe: CDS always (workload mode: its two types, both
	 * wildcard, as ztunnel asks); the others as far as they went. A new
	 * stream has no nonce yet. */
	for (int t = 0; t < NTYPES; t++) {
		bool again = a->t[t].requested;
		bool first = a->o.workload ? t == AUTHZ || t == ADDR : t == CDS;

		free(a->t[t].nonce);
		a->t[t].nonce = NULL;
		a->t[t].requested = false;
		if (!first && !again)
			continue;
		if (a->o.delta) {
			bool named = t == EDS || t == RDS;

			send_delta(a, t, named ? a->t[t].names : NULL,
				   named ? a->t[t].n_names : 0, NULL, 0, NULL, true);
		} else {
			send_sotw(a, t, NULL);
		}
	}
}

static void drop_stream(struct km_ads *a)
{
	km_grpc_free(a->g);
	a->g = NULL;
	a->reconnects++;
	schedule_reconnect(a);
}

/* ---- node ----------------------------------------------------------------------- */

static Google__Protobuf__Value *str_value(const char *s)
{
	Google__Protobuf__Value *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	google__protobuf__value__init(v);
	v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
	v->string_value = strdup(s);
	return v;
}

static void struct_add(Google__Protobuf__Struct *st, const char *key,
		       Google__Protobuf__Value *v)
{
	Google__Protobuf__Struct__FieldsEntry **f, *e;

	if (!v)
		return;
	f = realloc(st->fields, (st->n_fields + 1) * sizeof(*f));
	e = calloc(1, sizeof(*e));
	if (!f || !e) {
		free(e);
		return;
	}
	google__protobuf__struct__fields_entry__init(e);
	e->key = strdup(key);
	e->value = v;
	f[st->n_fields++] = e;
	st->fields = f;
}

static bool struct_has(const Google__Protobuf__Struct *st, const char *key)
{
	for (size_t i = 0; i < st->n_fields; i++)
		if (!strcmp(st->fields[i]->key, key))
			return true;
	return false;
}

/* istio-agent passes every ISTIO_META_<KEY>=value of its environment (a
 * DaemonSet's or the injected sidecar's: MESH_ID, WORKLOAD_NAME, OWNER,
 * NETWORK, INTERCEPTION_MODE, ...) on as metadata KEY. */
static void add_istio_meta_env(Google__Protobuf__Struct *md)
{
	static const char prefix[] = "ISTIO_META_";

	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		char key[128];
		size_t len;

		if (strncmp(*e, prefix, sizeof(prefix) - 1) || !eq)
			continue;
		len = eq - *e - (sizeof(prefix) - 1);
		if (!len || len >= sizeof(key) || !eq[1])
			continue;
		memcpy(key, *e + sizeof(prefix) - 1, len);
		key[len] = 0;
		if (!struct_has(md, key))
			struct_add(md, key, str_value(eq + 1));
	}
}

static void build_node(struct km_ads *a)
{
	const struct km_ads_node *n = &a->o.node;
	const struct { const char *key, *val; } md[] = {
		{ "NAME", n->name },
		{ "NAMESPACE", n->namespace_ },
		{ "INSTANCE_IPS", n->instance_ips },
		{ "SERVICE_ACCOUNT", n->service_account },
		{ "ISTIO_VERSION", n->istio_version },
		{ "CLUSTER_ID", n->cluster_id },
		{ "NODE_NAME", n->node_name },
	};

	envoy__config__core__v3__node__init(&a->node);
	google__protobuf__struct__init(&a->md);
	google__protobuf__struct__init(&a->labels);
	a->node.id = (char *)(n->id ? n->id : "");
	a->node.cluster = (char *)(n->cluster ? n->cluster : "");
	for (size_t i = 0; i < sizeof(md) / sizeof(md[0]); i++)
		if (md[i].val && *md[i].val)
			struct_add(&a->md, md[i].key, str_value(md[i].val));
	if (n->labels && *n->labels) {
		char *copy = strdup(n->labels), *save = NULL;

		for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '=');

			if (!eq)
				continue;
			*eq = 0;
			struct_add(&a->labels, kv, str_value(eq + 1));
		}
		free(copy);
		if (a->labels.n_fields && !struct_has(&a->md, "LABELS")) {
			Google__Protobuf__Value *v = calloc(1, sizeof(*v));

			if (v) {
				google__protobuf__value__init(v);
				v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
				v->struct_value = &a->labels;
				struct_add(&a->md, "LABELS", v);
			}
		}
	}
	add_istio_meta_env(&a->md);
	a->node.metadata = &a->md;
}

static void free_struct_fields(Google__Protobuf__Struct *st)
{
	for (size_t i = 0; i < st->n_fields; i++) {
		Google__Protobuf__Value *v = st->fields[i]->value;

		if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)
			free(v->string_value);
		free(v);
		free(st->fields[i]->key);
		free(st->fields[i]);
	}
	free(st->fields);
}

/* ---- API --------------------------------------------------------------------------- */

int km_ads_new(struct km_ads **out, const struct km_ads_opts *o,
	       km_ads_apply_fn apply, void *arg, struct km_err *err)
{
	struct km_ads *a = calloc(1, sizeof(*a));

	if (!a) {
		km_err_set(err, "out of memory");
		return -ENOMEM;
	}
	a->o = *o;
	if (a->o.keepalive_ms < 15000)
		a->o.keepalive_ms = 30000;
	a->apply = apply;
	a->arg = arg;
	build_node(a);
	srand(km_now_ms());
	connect_stream(a);
	*out = a;
	return 0;
}

void km_ads_free(struct km_ads *a)
{
	if (!a)
		return;
	km_grpc_free(a->g);
	for (int t = 0; t < NTYPES; t++) {
		size_t i = 0;
		const char *k;
		void *v;

		while (km_strmap_next(&a->t[t].res, &i, &k, &v))
			res_free(t, v);
		km_strmap_free(&a->t[t].res);
		free(a->t[t].version);
		free(a->t[t].nonce);
		free(a->t[t].last_nack);
		free_names(a->t[t].names, a->t[t].n_names);
	}
	/* LABELS' value points at a->labels, freed below */
	for (size_t i = 0; i < a->md.n_fields; i++)
		if (a->md.fields[i]->value->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
			a->md.fields[i]->value->kind_case = GOOGLE__PROTOBUF__VALUE__KIND__NOT_SET;
	free_struct_fields(&a->md);
	free_struct_fields(&a->labels);
	free(a);
}

int km_ads_fd(const struct km_ads *a)
{
	return a->g ? km_grpc_fd(a->g) : -1;
}

uint32_t km_ads_events(const struct km_ads *a)
{
	return a->g ? km_grpc_events(a->g) : 0;
}

void km_ads_io(struct km_ads *a, uint32_t revents)
{
	if (!a->g)
		return;
	km_grpc_io(a->g, revents);
	if (a->closed)
		drop_stream(a);
}

int km_ads_timeout_ms(const struct km_ads *a, uint64_t now_ms)
{
	if (!a->g)
		return a->reconnect_at > now_ms ? (int)(a->reconnect_at - now_ms) : 0;
	return 1000;	/* keepalive bookkeeping */
}

void km_ads_tick(struct km_ads *a, uint64_t now_ms)
{
	if (!a->g) {
		if (now_ms >= a->reconnect_at)
			connect_stream(a);
		return;
	}
	km_grpc_tick(a->g, now_ms);
	if (a->closed)
		drop_stream(a);
}

/* "xds_KEY=value" (state.h) */
static void __attribute__((format(printf, 3, 4)))
put_xds(FILE *f, const char *key, const char *fmt, ...)
{
	char k[64], val[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(k, sizeof(k), KM_ST_XDS "%s", key);
	km_state_put(f, k, "%s", val);
}

/* "xds_TYPE_FIELD=value" */
static void __attribute__((format(printf, 4, 5)))
put_type(FILE *f, int t, const char *field, const char *fmt, ...)
{
	char k[64], val[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(k, sizeof(k), KM_ST_XDS "%s_%s", types[t].tag, field);
	km_state_put(f, k, "%s", val);
}

/* "not_enforced=KIND COUNT EXAMPLE" per kind, over every accepted
 * resource (state.h) */
static void put_not_enforced(const struct km_ads *a, FILE *f)
{
	struct km_notenf sum = { 0 };

	for (int t = 0; t < NTYPES; t++) {
		size_t i = 0;
		const char *k;
		void *v;

		while (km_strmap_next(&a->t[t].res, &i, &k, &v))
			km_notenf_sum(&sum, &((struct ads_res *)v)->ne);
	}
	for (int k = 0; k < KM_NK_N; k++)
		if (sum.count[k])
			km_state_put(f, KM_ST_NOT_ENFORCED, "%s %u %s",
				     km_notenf_name(k), sum.count[k],
				     sum.example[k] ? sum.example[k] : "");
	km_notenf_free(&sum);
}

void km_ads_write_state(const struct km_ads *a, FILE *f)
{
	struct km_grpc_stats gs = { 0 };

	if (a->g)
		km_grpc_get_stats(a->g, &gs);
	put_xds(f, "server", "%s:%u", a->o.host, a->o.port);
	put_xds(f, "mode", "%s%s", a->o.delta ? "delta" : "sotw",
		a->o.workload ? " workload" : "");
	put_xds(f, "transport", "%s", a->o.tls ? "tls" : "plaintext");
	put_xds(f, "connected", "%d", a->g && !a->closed && gs.h2_up);
	put_xds(f, "reconnects", "%llu", (unsigned long long)a->reconnects);
	put_xds(f, "skipped_filters", "%u", a->skipped.filters);
	put_xds(f, "skipped_typed_configs", "%u", a->skipped.typed_configs);
	put_xds(f, "skipped_chains", "%u", a->skipped.chains);
	put_xds(f, "skipped_listeners", "%u", a->skipped.listeners);
	put_xds(f, "last_response_bytes", "%llu",
		(unsigned long long)a->last_apply_size);
	put_xds(f, "last_response_ms", "%llu",
		(unsigned long long)a->last_apply_ms);
	put_xds(f, "last_error", "%s", a->last_error);
	put_xds(f, "node_id", "%s", a->o.node.id ? a->o.node.id : "");
	km_state_put(f, KM_ST_STRICT, "%d", a->o.strict);
	put_not_enforced(a, f);
	for (int t = 0; t < NTYPES; t++) {
		const struct ads_type_state *ts = &a->t[t];

		put_type(f, t, "version", "%s", ts->version ? ts->version : "");
		put_type(f, t, "nonce", "%s", ts->nonce ? ts->nonce : "");
		put_type(f, t, "resources", "%zu", ts->res.len);
		put_type(f, t, "acks", "%llu", (unsigned long long)ts->acks);
		put_type(f, t, "nacks", "%llu", (unsigned long long)ts->nacks);
		put_type(f, t, "last_nack", "%s",
			 ts->last_nack ? ts->last_nack : "");
		put_type(f, t, "nacked", "%d", ts->nacked);
	}
}
