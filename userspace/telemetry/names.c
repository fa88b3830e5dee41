// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Ids in connection events to names. Listener and cluster names come from
 * km_names, which holds the live generation's slot and the one before it
 * (the agent clears the idle slot when it writes the next). So a name is
 * read from the kernel only while the event's generation is one of those
 * two, and cached by generation: the open event of a connection caches
 * the names its close event needs, however many reloads happen in
 * between (the cache keeps KM_TEL_NAME_GENS generations). A name that
 * cannot be known is "unknown", never a guess.
 *
 * Workload names (kmeshctl enroll --namespace --workload
 * --service-account, or kmesh-cni) come from the enrollments kmeshd keeps
 * in its state directory (enrollments.json, read again when it changes),
 * else from the identity authorization keeps in km_ident (namespace and
 * service account only). Both are cached for a second.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>

#include "kmesh/abi.h"
#include "kmesh/authz_abi.h"

#include "authz.h"
#include "maps.h"
#include "strmap.h"
#include "tel.h"

#define KM_TEL_NAME_GENS 16
#define KM_TEL_WL_REFRESH_MS 1000
#define KM_TEL_TRUST_DOMAIN "cluster.local"

struct km_tel_names {
	int gen_fd, names_fd, ident_fd;	/* ident_fd: -1 without authz */
	struct km_gen live;
	struct km_strmap strings;	/* interned: key -> the same string */
	struct km_strmap ids;		/* "kind:gen:id" -> interned name */
	struct km_strmap wls;		/* "kind:id" -> struct wl_names */
	struct km_strmap enrolled;	/* "kind:id" -> json_t of the record */
	json_t *enroll_doc;
	char enroll_file[PATH_MAX];
	struct stat enroll_st;		/* as last read */
	uint64_t wl_checked_ms;
	uint64_t oldest_cached;		/* generation */
	struct resolved **memo;		/* KM_TEL_MEMO slots */
	unsigned memo_len;
};

/*
 * What an event resolves to depends only on these fields of it: events
 * of one series (the same source, listener, cluster, route, addresses
 * and refusal) are resolved once, then found by one hash and compare.
 * The memo is emptied with the workload names (each second) and when
 * full, so it holds no name longer than they do.
 */
#define KM_TEL_MEMO 1024	/* slots, a power of two; half used at most */

struct memo_key {
	__u64 src_id;
	__u64 generation;
	struct km_addr vip, endpoint;
	__u32 src_kind;
	__u32 listener_id, cluster_id, route_id;
	__u16 vhost, route;
	__be16 vip_port, endpoint_port;
	__u16 reason;		/* refused: why; else 0 */
	__u16 authz_row;	/* authz refused: the row; else 0 */
	__u8 end;		/* authz refused: why; else 0 */
	__u8 type_refused;
	__u8 pad[2];
};

struct resolved {
	struct memo_key k;
	struct km_tel_conn c;	/* all but ev, flags, end and local */
	struct km_tel_smemo sm;
};

struct wl_names {
	const char *workload, *namespace_, *principal, *sa;
};

static const char *intern(struct km_tel_names *n, const char *s)
{
	char *v = km_strmap_get(&n->strings, s);
	int err = 0;

	if (v)
		return v;
	v = strdup(s);
	if (!v)
		return KM_TEL_UNKNOWN;
	km_strmap_put(&n->strings, s, v, &err);
	if (err) {
		free(v);
		return KM_TEL_UNKNOWN;
	}
	return v;
}

static int open_pin(const char *root, const char *name, struct km_err *err)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		km_err_set(err, "%s: %s (kmeshd's programs are not loaded)", path,
			   strerror(errno));
	return fd;
}

int km_tel_names_open(struct km_tel_names **np, const char *pin_root,
		      const char *state_dir, struct km_err *err)
{
	struct km_tel_names *n = calloc(1, sizeof(*n));
	char path[PATH_MAX];

	if (!n)
		return -ENOMEM;
	n->ident_fd = -1;
	n->gen_fd = open_pin(pin_root, "km_gen", err);
	n->names_fd = n->gen_fd < 0 ? -1 : open_pin(pin_root, "km_names", err);
	if (n->names_fd < 0) {
		km_tel_names_free(n);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/km_ident", pin_root);
	n->ident_fd = bpf_obj_get(path);
	snprintf(n->enroll_file, sizeof(n->enroll_file), "%s/enrollments.json",
		 state_dir);
	km_tel_names_refresh(n);
	*np = n;
	return 0;
}

static void clear_map(struct km_strmap *m, bool free_vals)
{
	const char *k;
	void *v;

	for (size_t i = 0; free_vals && km_strmap_next(m, &i, &k, &v);)
		free(v);
	km_strmap_free(m);
	memset(m, 0, sizeof(*m));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* enrollments.json, read again when it changed: kmeshd writes it whole */
static void load_enrollments(struct km_tel_names *n)
{
	struct stat st;
	json_t *e;
	size_t i;
	char key[64];
	int err = 0;

	if (stat(n->enroll_file, &st))
		memset(&st, 0, sizeof(st));
	if (st.st_ino == n->enroll_st.st_ino && st.st_size == n->enroll_st.st_size &&
	    st.st_mtim.tv_sec == n->enroll_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == n->enroll_st.st_mtim.tv_nsec)
		return;
	n->enroll_st = st;
	km_strmap_free(&n->enrolled);
	memset(&n->enrolled, 0, sizeof(n->enrolled));
	json_decref(n->enroll_doc);
	n->enroll_doc = st.st_ino ? json_load_file(n->enroll_file, 0, NULL) : NULL;
	json_array_foreach(json_object_get(n->enroll_doc, "enrollments"), i, e) {
		const char *kind = json_string_value(json_object_get(e, "kind"));

		snprintf(key, sizeof(key), "%u:%llu",
			 kind && !strcmp(kind, "cgroup") ? KM_ENROLL_CGROUP : KM_ENROLL_NETNS,
			 (unsigned long long)json_integer_value(json_object_get(e, "id")));
		km_strmap_put(&n->enrolled, key, e, &err);
	}
}

static void memo_clear(struct km_tel_names *n)
{
	if (!n->memo || !n->memo_len)
		return;
	for (unsigned i = 0; i < KM_TEL_MEMO; i++) {
		free(n->memo[i]);
		n->memo[i] = NULL;
	}
	n->memo_len = 0;
}

static void memo_key_of(struct memo_key *k, const struct km_conn_event *ev)
{
	bool refused = ev->type == KM_EV_REFUSED;

	memset(k, 0, sizeof(*k));
	k->src_id = ev->src_id;
	k->generation = ev->generation;
	k->vip = ev->vip;
	k->endpoint = ev->endpoint;
	k->src_kind = ev->src_kind;
	k->listener_id = ev->listener_id;
	k->cluster_id = ev->cluster_id;
	k->route_id = ev->route_id;
	k->vhost = ev->vhost;
	k->route = ev->route;
	k->vip_port = ev->vip_port;
	k->endpoint_port = ev->endpoint_port;
	k->type_refused = refused;
	k->reason = refused ? ev->reason : 0;
	if (refused && ev->reason == KM_EV_REASON_AUTHZ) {
		k->authz_row = ev->authz_row;
		k->end = ev->end;
	}
}

/* The slot of @k: its entry, or the empty slot it would take. */
static struct resolved **memo_slot(struct km_tel_names *n,
				   const struct memo_key *k)
{
	uint64_t w[sizeof(*k) / 8], h = 0;
	size_t i;

	_Static_assert(sizeof(*k) % 8 == 0, "memo_key in words");
	memcpy(w, k, sizeof(w));
	for (i = 0; i < sizeof(w) / 8; i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	for (i = h & (KM_TEL_MEMO - 1); n->memo[i];
	     i = (i + 1) & (KM_TEL_MEMO - 1))
		if (!memcmp(&n->memo[i]->k, k, sizeof(*k)))
			break;
	return &n->memo[i];
}

void km_tel_names_refresh(struct km_tel_names *n)
{
	__u32 zero = 0;
	uint64_t now = now_ms();

	bpf_map_lookup_elem(n->gen_fd, &zero, &n->live);
	if (now - n->wl_checked_ms >= KM_TEL_WL_REFRESH_MS) {
		n->wl_checked_ms = now;
		clear_map(&n->wls, true);
		memo_clear(n);
		load_enrollments(n);
	}
	/* ids cached for generations long gone: a connection that old is
	 * named "unknown" at its close */
	if (n->live.generation > n->oldest_cached + 2 * KM_TEL_NAME_GENS) {
		clear_map(&n->ids, false);
		n->oldest_cached = n->live.generation;
	}
}

uint64_t km_tel_names_generation(const struct km_tel_names *n)
{
	return n->live.generation;
}

void km_tel_names_free(struct km_tel_names *n)
{
	if (!n)
		return;
	clear_map(&n->wls, true);
	memo_clear(n);
	free(n->memo);
	clear_map(&n->ids, false);
	clear_map(&n->strings, true);
	km_strmap_free(&n->enrolled);
	json_decref(n->enroll_doc);
	for (int *fd = &n->gen_fd; fd <= &n->ident_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	free(n);
}

/* The name of listener or cluster @id of @gen, or "unknown". */
static const char *id_name(struct km_tel_names *n, __u8 kind, __u32 id,
			   uint64_t gen)
{
	struct km_name_key k = { .id = id, .kind = kind };
	struct km_name v;
	const char *s;
	char key[64];
	int err = 0;

	if (id == KM_EV_NONE)
		return KM_TEL_UNKNOWN;
	snprintf(key, sizeof(key), "%u:%llu:%u", kind, (unsigned long long)gen, id);
	s = km_strmap_get(&n->ids, key);
	if (s)
		return s;
	/* the live slot, or the one before it, still holds @gen's names */
	if (gen > n->live.generation || n->live.generation - gen > 1)
		return KM_TEL_UNKNOWN;
	k.slot = (n->live.slot ^ (n->live.generation - gen)) & 1;
	if (bpf_map_lookup_elem(n->names_fd, &k, &v))
		return KM_TEL_UNKNOWN;
	v.s[sizeof(v.s) - 1] = 0;
	s = intern(n, v.s);
	km_strmap_put(&n->ids, key, (void *)s, &err);
	return s;
}

/* A name from the enrollment record, or NULL */
static const char *rec_str(json_t *rec, const char *key)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return v && v[0] ? v : NULL;
}

static const struct wl_names *workload(struct km_tel_names *n,
				       const struct km_conn_event *ev)
{
	static const struct wl_names none = {
		KM_TEL_UNKNOWN, KM_TEL_UNKNOWN, KM_TEL_UNKNOWN, KM_TEL_UNKNOWN
	};
	struct km_enroll_key k = { .id = ev->src_id, .kind = ev->src_kind };
	struct km_identity id = {};
	const char *ns = NULL, *wl = NULL, *sa = NULL;
	struct wl_names *w;
	char key[64], p[KM_IDENT_NS_MAX + KM_IDENT_SA_MAX + 64];
	json_t *rec;
	int err = 0;

	if (!k.kind)
		return &none;	/* refused before enrollment was looked up */
	snprintf(key, sizeof(key), "%u:%llu", k.kind, (unsigned long long)k.id);
	w = km_strmap_get(&n->wls, key);
	if (w)
		return w;
	rec = km_strmap_get(&n->enrolled, key);
	if (!rec) {
		/* enrolled since the file was last read? (a miss is cached
		 * for a second, so this is one stat per source at most) */
		load_enrollments(n);
		rec = km_strmap_get(&n->enrolled, key);
	}
	if (rec) {
		ns = rec_str(rec, "namespace");
		wl = rec_str(rec, "workload");
		sa = rec_str(rec, "service_account");
	} else if (n->ident_fd >= 0 &&
		   bpf_map_lookup_elem(n->ident_fd, &k, &id) == 0) {
		id.ns[sizeof(id.ns) - 1] = 0;
		id.sa[sizeof(id.sa) - 1] = 0;
		ns = id.ns[0] ? id.ns : NULL;
		sa = id.sa[0] ? id.sa : NULL;
	}
	w = malloc(sizeof(*w));
	if (!w)
		return &none;
	w->workload = wl ? intern(n, wl) : KM_TEL_UNKNOWN;
	w->namespace_ = ns ? intern(n, ns) : KM_TEL_UNKNOWN;
	w->sa = sa ? intern(n, sa) : KM_TEL_UNKNOWN;
	/* Istio's SPIFFE identity, when both parts are known */
	w->principal = KM_TEL_UNKNOWN;
	if (ns && sa) {
		snprintf(p, sizeof(p), "spiffe://" KM_TEL_TRUST_DOMAIN "/ns/%s/sa/%s",
			 ns, sa);
		w->principal = intern(n, p);
	}
	km_strmap_put(&n->wls, key, w, &err);
	if (err) {
		free(w);
		return &none;
	}
	return w;
}

void km_tel_addr(char *buf, size_t len, const struct km_addr *a, __be16 port)
{
	char ip[INET6_ADDRSTRLEN];

	if (!a->w[0] && !a->w[1] && !a->w[2] && !a->w[3]) {
		snprintf(buf, len, "-");
	} else if (!a->w[0] && !a->w[1] && a->w[2] == htonl(0xffff)) {
		inet_ntop(AF_INET, &a->w[3], ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(port));
	} else {
		inet_ntop(AF_INET6, a->w, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(port));
	}
}

/*
 * Envoy's response flags. A refusal by the counter it counted, or RBAC
 * for an authorization denial. How a connection ended: a reset from the
 * endpoint is UC (upstream connection termination), the application's
 * abort DC (downstream termination), a connect that never completed UF.
 */
const char *km_tel_flags(const struct km_conn_event *ev)
{

	if (ev->type == KM_EV_CLOSE) {
		switch (ev->end) {
		case KM_END_PEER_RESET: return "UC";
		case KM_END_LOCAL_RESET: return "DC";
		case KM_END_CONNECT_FAILED: return "UF";
		default: return "-";
		}
	}
	if (ev->type != KM_EV_REFUSED)
		return "-";
	switch (ev->reason) {
	case KM_CNT_NO_ENDPOINT:
	case KM_CNT_BLACKHOLE:
	case KM_CNT_INCONSISTENT:
		return "UH";	/* no healthy upstream */
	case KM_CNT_L7_NO_ROUTE:
		return "NR";
	case KM_CNT_NO_CLUSTER:
		return "NC";
	case KM_CNT_FAMILY:
		return "UF";
	case KM_CNT_CX_OVERFLOW:
		return "UO";	/* circuit breaker: max_connections */
	case KM_EV_REASON_AUTHZ:
		return "RBAC";
	}
	return "UH";
}

void km_tel_service_of(const char *cluster, char *host, char *name,
		       char *ns, size_t len)
{
	const char *h = cluster, *bar;
	int i;

	/* direction|port|subset|host */
	for (i = 0; i < 3 && (bar = strchr(h, '|')); i++)
		h = bar + 1;
	if (i != 3)
		h = cluster;
	snprintf(host, len, "%s", h);
	snprintf(name, len, "%.*s", (int)strcspn(h, "."), h);
	if (i == 3 && strstr(h, ".svc.")) {
		const char *dot = strchr(h, '.');

		snprintf(ns, len, "%.*s", (int)strcspn(dot + 1, "."), dot + 1);
	} else {
		snprintf(ns, len, "%s", KM_TEL_UNKNOWN);
		snprintf(name, len, "%s", h);
	}
}

static const char *end_name(const struct km_conn_event *ev)
{
	static const char *const ends[] = {
		[KM_END_FIN] = "fin",
		[KM_END_PEER_RESET] = "peer_reset",
		[KM_END_LOCAL_RESET] = "local_reset",
		[KM_END_CONNECT_FAILED] = "connect_failed",
	};

	if (ev->type == KM_EV_REFUSED)
		return "refused";
	if (ev->type != KM_EV_CLOSE)
		return "-";
	return ev->end <= KM_END_CONNECT_FAILED ? ends[ev->end] : "unknown";
}

static void resolve(struct km_tel_names *n, const struct km_conn_event *ev,
		    struct km_tel_conn *c)
{
	const struct wl_names *w = workload(n, ev);
	char host[KM_NAME_MAX], name[KM_NAME_MAX], ns[KM_NAME_MAX];
	char route[KM_NAME_MAX + 32];

	memset(c, 0, sizeof(*c));
	c->ev = ev;
	c->src_workload = w->workload;
	c->src_namespace = w->namespace_;
	c->src_principal = w->principal;
	c->src_service_account = w->sa;
	km_tel_addr(c->vip, sizeof(c->vip), &ev->vip, ev->vip_port);
	km_tel_addr(c->endpoint, sizeof(c->endpoint), &ev->endpoint,
		    ev->endpoint_port);
	c->listener = id_name(n, KM_NAME_LISTENER, ev->listener_id,
			      ev->generation);
	c->cluster = id_name(n, KM_NAME_CLUSTER, ev->cluster_id, ev->generation);
	if (strcmp(c->cluster, KM_TEL_UNKNOWN)) {
		km_tel_service_of(c->cluster, host, name, ns, sizeof(host));
		c->service = intern(n, host);
		c->service_name = intern(n, name);
		c->service_namespace = intern(n, ns);
	} else {
		/* no cluster (NR, or a name gone): the address dialed */
		c->service = intern(n, c->vip);
		c->service_name = KM_TEL_UNKNOWN;
		c->service_namespace = KM_TEL_UNKNOWN;
	}
	c->route = KM_TEL_UNKNOWN;
	if (ev->route_id != KM_EV_NONE &&
	    !(ev->type == KM_EV_REFUSED && ev->reason == KM_CNT_L7_NO_ROUTE)) {
		snprintf(route, sizeof(route), "%s/%u/%u", c->listener,
			 ev->vhost, ev->route);
		c->route = intern(n, route);
	}
	c->authz_policy = KM_TEL_UNKNOWN;
	if (ev->type == KM_EV_REFUSED && ev->reason == KM_EV_REASON_AUTHZ &&
	    km_authz_why_has_row(ev->end & KM_EV_AUTHZ_WHY_MASK))
		c->authz_policy = id_name(n, KM_NAME_AUTHZ, ev->authz_row,
					  ev->generation);
}

void km_tel_resolve(struct km_tel_names *n, const struct km_conn_event *ev,
		    struct km_tel_conn *c)
{
	struct resolved **rp = NULL;
	struct memo_key k;

	if (!n->memo)
		n->memo = calloc(KM_TEL_MEMO, sizeof(*n->memo));
	/* a generation newer than the live one read: its names may come
	 * at the next refresh, so "unknown" is not kept */
	if (n->memo && ev->generation <= n->live.generation) {
		memo_key_of(&k, ev);
		rp = memo_slot(n, &k);
	}
	if (rp && *rp) {
		*c = (*rp)->c;
	} else {
		resolve(n, ev, c);
		if (rp && n->memo_len >= KM_TEL_MEMO / 2) {
			memo_clear(n);
			rp = memo_slot(n, &k);
		}
		if (rp && (*rp = calloc(1, sizeof(**rp)))) {
			(*rp)->k = k;
			(*rp)->c = *c;
			(*rp)->c.smemo = &(*rp)->sm;
			c->smemo = &(*rp)->sm;
			n->memo_len++;
		}
	}
	/* per connection */
	c->ev = ev;
	c->local[0] = 0;
	c->flags = km_tel_flags(ev);
	c->end = end_name(ev);
}

void km_tel_local(struct km_tel_conn *c)
{
	km_tel_addr(c->local, sizeof(c->local), &c->ev->local,
		    c->ev->local_port);
}
