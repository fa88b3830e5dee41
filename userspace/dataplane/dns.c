// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * STRICT_DNS and LOGICAL_DNS names, resolved with c-ares (dns.h).
 *
 * Why c-ares and not glibc's getaddrinfo_a: getaddrinfo_a runs each lookup
 * as a blocking getaddrinfo in a helper thread and reports by signal or by
 * a callback on yet another thread, which does not fit a single-threaded
 * epoll loop; a started lookup cannot be abandoned; it gives no TTL, so
 * respect_dns_ttl could not be honoured; and its servers are the process's
 * resolv.conf, so a test cannot point it at its own server. c-ares hands
 * over its sockets (polled here behind one epoll fd) and its timeouts,
 * returns TTLs, takes servers per channel (--dns-server), and is what
 * Envoy resolves with, so the answers are read the same way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>

#include "dns.h"
#include "state.h"
#include "strmap.h"

/* c-ares >= 1.20's defaults (1.18's are 5 s and 4 tries, over a minute
 * for a dead server): a failure is known within 2 + 4 + 8 s. */
#define DNS_TIMEOUT_MS 2000
#define DNS_TRIES 3
/* when a query cannot even be started (out of memory) */
#define DNS_RETRY_MS 1000
#define DNS_ERR_LEN 160

struct query;

/* One name of one cluster, and what it resolved to. */
struct target {
	char *cluster;
	char *host;
	/* the cluster's settings, as last synced */
	uint8_t family;		/* enum km_dns_family */
	bool logical;
	bool respect_ttl;
	uint32_t refresh_ms;
	bool seen;		/* in the model being synced */
	struct query *q;	/* in flight, or NULL */
	/* the last good answer */
	bool have;
	size_t n_addrs;
	struct km_ip *addrs;
	uint32_t interval_ms;	/* the refresh in use: the rate or a TTL */
	uint64_t due_ms;	/* next resolution (monotonic) */
	time_t last_ok;
	uint64_t failures;	/* in a row */
	char error[DNS_ERR_LEN];	/* the last failure, "" after a success */
};

/* A query's link to its target; cut (t = NULL) when the target goes
 * first, so a late answer finds nothing to update. */
struct query {
	struct km_dns *d;
	struct target *t;
};

struct km_dns {
	ares_channel ch;
	int epfd;		/* c-ares' sockets */
	struct km_strmap targets;	/* key_of(cluster, host) -> target */
	bool changed;
	uint64_t answers;	/* answers so far, good or not */
	uint64_t now;		/* of the current call, for callbacks */
	km_dns_log_fn log;
	char *servers;		/* NULL: resolv.conf */
};

/* "LEN:CLUSTERHOST": no separator a name could hold. */
static char *key_of(const char *cluster, const char *host)
{
	char *k = NULL;

	if (asprintf(&k, "%zu:%s%s", strlen(cluster), cluster, host) < 0)
		return NULL;
	return k;
}

static struct target *find(const struct km_dns *d, const char *cluster,
			   const char *host)
{
	char *k = key_of(cluster, host);
	struct target *t = k ? km_strmap_get(&d->targets, k) : NULL;

	free(k);
	return t;
}

/* ---- c-ares sockets -> epoll ------------------------------------------------ */

static void sock_state(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct km_dns *d = arg;
	struct epoll_event ev = {
		.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0),
		.data.fd = fd,
	};

	if (!readable && !writable) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int km_dns_new(struct km_dns **out, const char *servers, km_dns_log_fn log,
	       struct km_err *err)
{
	struct ares_options o = {
		.sock_state_cb = sock_state,
		.timeout = DNS_TIMEOUT_MS,
		.tries = DNS_TRIES,
	};
	struct km_dns *d;
	int ret;

	*out = NULL;
	ret = ares_library_init(ARES_LIB_INIT_ALL);
	if (ret != ARES_SUCCESS) {
		km_err_set(err, "c-ares: %s", ares_strerror(ret));
		return -ENOMEM;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		km_err_set(err, "out of memory");
		return -ENOMEM;
	}
	d->log = log;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		ret = -errno;
		km_err_set(err, "DNS resolver: epoll: %s", strerror(errno));
		free(d);
		return ret;
	}
	o.sock_state_cb_data = d;
	ret = ares_init_options(&d->ch, &o, ARES_OPT_SOCK_STATE_CB |
				ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (ret != ARES_SUCCESS) {
		km_err_set(err, "DNS resolver: %s", ares_strerror(ret));
		close(d->epfd);
		free(d);
		return -EINVAL;
	}
	if (servers) {
		ret = ares_set_servers_ports_csv(d->ch, servers);
		d->servers = strdup(servers);
		if (ret != ARES_SUCCESS || !d->servers) {
			km_err_set(err, "DNS servers '%s': %s (expected ADDR[:PORT],... e.g. 127.0.0.1:5353)",
				   servers, ret != ARES_SUCCESS ?
				   ares_strerror(ret) : "out of memory");
			km_dns_free(d);
			return -EINVAL;
		}
	}
	*out = d;
	return 0;
}

static void target_free(struct target *t)
{
	if (t->q)
		t->q->t = NULL;	/* its answer, if it comes, is dropped */
	free(t->cluster);
	free(t->host);
	free(t->addrs);
	free(t);
}

void km_dns_free(struct km_dns *d)
{
	size_t i = 0;
	const char *k;
	void *v;

	if (!d)
		return;
	while (km_strmap_next(&d->targets, &i, &k, &v))
		target_free(v);
	km_strmap_free(&d->targets);
	/* pending queries end here, with ARES_EDESTRUCTION */
	if (d->ch)
		ares_destroy(d->ch);
	close(d->epfd);
	free(d->servers);
	free(d);
}

/* ---- answers ------------------------------------------------------------------- */

static bool ip_eq(const struct km_ip *a, const struct km_ip *b)
{
	return a->family == b->family && !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static bool has_ip(const struct km_ip *v, size_t n, const struct km_ip *ip)
{
	for (size_t i = 0; i < n; i++)
		if (ip_eq(&v[i], ip))
			return true;
	return false;
}

/* The addresses of @fam (KM_FAMILY_*) in @ai, in answer order, without
 * repeats, appended to v; their smallest TTL into *ttl. */
static size_t pick(const struct ares_addrinfo *ai, uint8_t fam,
		   struct km_ip *v, size_t n, size_t cap, int *ttl)
{
	char buf[INET6_ADDRSTRLEN];

	for (const struct ares_addrinfo_node *a = ai ? ai->nodes : NULL; a;
	     a = a->ai_next) {
		const void *src;
		struct km_ip ip;

		if (a->ai_family == AF_INET && fam == KM_FAMILY_INET)
			src = &((const struct sockaddr_in *)a->ai_addr)->sin_addr;
		else if (a->ai_family == AF_INET6 && fam == KM_FAMILY_INET6)
			src = &((const struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
		else
			continue;
		memset(&ip, 0, sizeof(ip));
		if (!inet_ntop(a->ai_family, src, buf, sizeof(buf)) ||
		    km_ip_parse(buf, &ip) || has_ip(v, n < cap ? n : cap, &ip))
			continue;
		if (n < cap)
			v[n] = ip;
		n++;
		if (a->ai_ttl >= 0 && (*ttl < 0 || a->ai_ttl < *ttl))
			*ttl = a->ai_ttl;
	}
	return n;
}

/* Envoy's dns_lookup_family over one answer: *n addresses into v (cap
 * of them at most; *n may say more). */
static void select_family(const struct ares_addrinfo *ai, uint8_t family,
			  struct km_ip *v, size_t cap, size_t *n, int *ttl)
{
	uint8_t first = KM_FAMILY_INET, second = KM_FAMILY_INET6;
	bool both = family == KM_DNS_ALL;

	*ttl = -1;
	if (family == KM_DNS_AUTO || family == KM_DNS_V6_ONLY) {
		first = KM_FAMILY_INET6;
		second = KM_FAMILY_INET;
	}
	*n = pick(ai, first, v, 0, cap, ttl);
	if (family == KM_DNS_V4_ONLY || family == KM_DNS_V6_ONLY)
		return;
	if (both || *n == 0)
		*n = pick(ai, second, v, *n, cap, ttl);
}

static int af_of(uint8_t family)
{
	if (family == KM_DNS_V4_ONLY)
		return AF_INET;
	if (family == KM_DNS_V6_ONLY)
		return AF_INET6;
	return AF_UNSPEC;	/* both queried, then chosen by select_family */
}

/* What the cluster's endpoints take from a target: all, or the first. */
static size_t used(const struct target *t)
{
	if (!t->have)
		return 0;
	return t->logical && t->n_addrs ? 1 : t->n_addrs;
}

static bool same_use(const struct target *t, const struct km_ip *v, size_t n)
{
	size_t u = t->logical && n ? 1 : n;

	if (used(t) != u)
		return false;
	for (size_t i = 0; i < u; i++)
		if (!ip_eq(&t->addrs[i], &v[i]))
			return false;
	return true;
}

static void addr_list(char *buf, size_t len, const struct km_ip *v, size_t n)
{
	char ip[64];
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && off < len; i++) {
		if (off + 60 >= len) {
			snprintf(buf + off, len - off, "%s... (%zu in all)",
				 i ? ", " : "", n);
			return;
		}
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				km_ip_str(&v[i], ip, sizeof(ip)));
	}
}

static void failed(struct km_dns *d, struct target *t, const char *why)
{
	bool repeat = t->failures && !strcmp(t->error, why);
	char addrs[256];

	t->failures++;
	snprintf(t->error, sizeof(t->error), "%s", why);
	t->interval_ms = t->refresh_ms;
	addr_list(addrs, sizeof(addrs), t->addrs, used(t));
	/* once per kind of failure; the repeats at debug level */
	d->log(repeat ? 3 : 1,
	       "DNS: cluster '%s': resolving '%s' failed (%s, %llu in a row); %s%s; retry in %u ms",
	       t->cluster, t->host, why, (unsigned long long)t->failures,
	       t->have ? "keeping the last good answer: " :
	       "no address yet, the cluster has no endpoint from it",
	       t->have ? (*addrs ? addrs : "no address") : "", t->interval_ms);
}

static void answered(struct km_dns *d, struct target *t, struct km_ip *v,
		     size_t n, int ttl)
{
	char was[256], now[256];

	if (!same_use(t, v, n)) {
		addr_list(was, sizeof(was), t->addrs, used(t));
		addr_list(now, sizeof(now), v, t->logical && n ? 1 : n);
		d->log(2, "DNS: cluster '%s': '%s' is now %s (was %s): applying",
		       t->cluster, t->host, *now ? now : "no address",
		       t->have ? (*was ? was : "no address") : "not resolved");
		d->changed = true;
	} else if (t->failures) {
		d->log(2, "DNS: cluster '%s': '%s' resolves again, unchanged",
		       t->cluster, t->host);
	}
	free(t->addrs);
	t->addrs = v;
	t->n_addrs = n;
	t->have = true;
	t->last_ok = time(NULL);
	t->failures = 0;
	t->error[0] = 0;
	/* Envoy: the TTL, when asked for and not 0, replaces the rate */
	t->interval_ms = t->refresh_ms;
	if (t->respect_ttl && ttl > 0)
		t->interval_ms = (uint32_t)ttl * 1000u;
}

static void on_answer(void *arg, int status, int timeouts,
		      struct ares_addrinfo *ai)
{
	struct query *q = arg;
	struct target *t = q->t;
	struct km_dns *d = q->d;
	struct km_ip *v = NULL;
	char why[DNS_ERR_LEN];
	size_t n = 0;
	int ttl = -1;

	free(q);
	d->answers++;
	if (!t) {	/* its cluster or name went meanwhile */
		ares_freeaddrinfo(ai);
		return;
	}
	t->q = NULL;
	t->due_ms = d->now + t->refresh_ms;
	if (status == ARES_SUCCESS) {
		v = calloc(KM_MAX_CLUSTER_ENDPOINTS, sizeof(*v));
		if (!v) {
			ares_freeaddrinfo(ai);
			failed(d, t, "out of memory");
			return;
		}
		select_family(ai, t->family, v, KM_MAX_CLUSTER_ENDPOINTS, &n,
			      &ttl);
	}
	ares_freeaddrinfo(ai);
	/* Envoy: NXDOMAIN and NODATA are an answer with no address */
	if (status != ARES_SUCCESS && status != ARES_ENOTFOUND &&
	    status != ARES_ENODATA) {
		snprintf(why, sizeof(why), "%s", ares_strerror(status));
		free(v);
		failed(d, t, why);
	} else if (n > KM_MAX_CLUSTER_ENDPOINTS) {
		snprintf(why, sizeof(why), "%zu addresses, limit is %d", n,
			 KM_MAX_CLUSTER_ENDPOINTS);
		free(v);
		failed(d, t, why);
	} else if (n == 0 && t->logical) {
		/* LOGICAL_DNS only takes an answer with an address */
		free(v);
		failed(d, t, status == ARES_SUCCESS ? "no address of its family" :
		       ares_strerror(status));
	} else {
		answered(d, t, v, n, ttl);
	}
	t->due_ms = d->now + t->interval_ms;
	(void)timeouts;
}

static void start(struct km_dns *d, struct target *t)
{
	struct ares_addrinfo_hints h = {
		/* answer order: LOGICAL_DNS takes the first address */
		.ai_flags = ARES_AI_NOSORT,
		.ai_family = af_of(t->family),
	};
	struct query *q = malloc(sizeof(*q));

	if (!q) {
		t->due_ms = d->now + DNS_RETRY_MS;
		return;
	}
	q->d = d;
	q->t = t;
	t->q = q;
	t->due_ms = UINT64_MAX;
	/* may answer at once (/etc/hosts, an IP): on_answer sets due_ms */
	ares_getaddrinfo(d->ch, t->host, NULL, &h, on_answer, q);
}

/* ---- the model --------------------------------------------------------------- */

static uint32_t refresh_of(const struct km_m_cluster *c)
{
	return c->dns.refresh_ms ? c->dns.refresh_ms : KM_DNS_REFRESH_DEFAULT_MS;
}

static bool matches(const struct target *t, const struct km_m_cluster *c)
{
	return t->family == c->dns.family &&
	       t->logical == (c->type == KM_CLUSTER_LOGICAL_DNS);
}

/* The target of endpoint @ep of DNS cluster @c, made or updated. */
static void sync_one(struct km_dns *d, const struct km_m_cluster *c,
		     const struct km_m_endpoint *ep)
{
	struct target *t = find(d, c->name, ep->hostname);
	char *k;
	int err;

	if (t && t->seen)
		return;		/* a second endpoint with the same name */
	if (t && !matches(t, c)) {
		/* another family or type: what it had means nothing now;
		 * find() found it, so the key was made before */
		k = key_of(c->name, ep->hostname);
		if (!k)
			return;
		km_strmap_del(&d->targets, k);
		free(k);
		target_free(t);
		t = NULL;
	}
	if (!t) {
		t = calloc(1, sizeof(*t));
		k = key_of(c->name, ep->hostname);
		if (!t || !k || !(t->cluster = strdup(c->name)) ||
		    !(t->host = strdup(ep->hostname)) ||
		    (km_strmap_put(&d->targets, k, t, &err), err)) {
			d->log(0, "DNS: cluster '%s': out of memory: '%s' is not resolved",
			       c->name, ep->hostname);
			if (t)
				target_free(t);
			free(k);
			return;
		}
		free(k);
		t->family = c->dns.family;
		t->logical = c->type == KM_CLUSTER_LOGICAL_DNS;
		t->due_ms = d->now;	/* new: resolve now */
	}
	t->seen = true;
	t->respect_ttl = c->dns.respect_ttl;
	if (t->refresh_ms != refresh_of(c)) {
		t->refresh_ms = refresh_of(c);
		if (!t->q && t->due_ms > d->now + t->refresh_ms)
			t->due_ms = d->now + t->refresh_ms;
	}
	if (!t->interval_ms)
		t->interval_ms = t->refresh_ms;
}

void km_dns_sync(struct km_dns *d, const struct km_model *m, uint64_t now_ms)
{
	size_t i = 0;
	const char *k;
	void *v;

	d->now = now_ms;
	while (km_strmap_next(&d->targets, &i, &k, &v))
		((struct target *)v)->seen = false;
	for (size_t c = 0; c < m->n_clusters; c++) {
		const struct km_m_cluster *cl = &m->clusters[c];

		if (!km_cluster_is_dns(cl))
			continue;
		for (size_t e = 0; e < cl->n_endpoints; e++)
			if (cl->endpoints[e].hostname)
				sync_one(d, cl, &cl->endpoints[e]);
	}
	for (i = 0; km_strmap_next(&d->targets, &i, &k, &v);) {
		struct target *t = v;

		if (t->seen)
			continue;
		d->log(3, "DNS: cluster '%s': '%s' is no longer resolved",
		       t->cluster, t->host);
		km_strmap_del(&d->targets, k);
		target_free(t);
	}
	km_dns_process(d, now_ms);
}

/* How many endpoints cluster @c has in the view. */
static size_t view_count(const struct km_dns *d, const struct km_m_cluster *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_endpoints; i++) {
		const struct km_m_endpoint *ep = &c->endpoints[i];
		const struct target *t;

		if (!ep->hostname) {
			n++;
			continue;
		}
		t = d ? find(d, c->name, ep->hostname) : NULL;
		if (t && matches(t, c))
			n += used(t);
	}
	return n;
}

static int view_cluster(const struct km_dns *d, struct km_m_cluster *c)
{
	size_t n = view_count(d, c), pos = 0;
	struct km_m_endpoint *eps = NULL;

	if (n) {
		eps = calloc(n, sizeof(*eps));
		if (!eps)
			return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_endpoints; i++) {
		const struct km_m_endpoint *ep = &c->endpoints[i];
		const struct target *t;

		if (!ep->hostname) {
			eps[pos++] = *ep;
			continue;
		}
		t = d ? find(d, c->name, ep->hostname) : NULL;
		for (size_t j = 0; t && matches(t, c) && j < used(t); j++) {
			eps[pos] = *ep;	/* port, weight, health, locality */
			eps[pos++].ip = t->addrs[j];
		}
	}
	c->endpoints = eps;
	c->n_endpoints = n;
	return 0;
}

bool km_dns_wanted(const struct km_model *m)
{
	for (size_t i = 0; i < m->n_clusters; i++)
		if (km_cluster_is_dns(&m->clusters[i]))
			return true;
	return false;
}

int km_dns_view(const struct km_dns *d, const struct km_model *m,
		struct km_model *view)
{
	*view = *m;
	if (!km_dns_wanted(m))
		return 0;
	view->clusters = malloc(m->n_clusters * sizeof(*view->clusters));
	if (!view->clusters) {
		view->clusters = m->clusters;
		return -ENOMEM;
	}
	memcpy(view->clusters, m->clusters, m->n_clusters * sizeof(*m->clusters));
	for (size_t i = 0; i < m->n_clusters; i++) {
		if (!km_cluster_is_dns(&m->clusters[i]))
			continue;
		if (view_cluster(d, &view->clusters[i])) {
			km_dns_view_free(m, view);
			return -ENOMEM;
		}
	}
	return 0;
}

void km_dns_view_free(const struct km_model *m, struct km_model *view)
{
	if (view->clusters == m->clusters)
		return;
	for (size_t i = 0; i < m->n_clusters; i++)
		if (view->clusters[i].endpoints != m->clusters[i].endpoints)
			free(view->clusters[i].endpoints);
	free(view->clusters);
	view->clusters = m->clusters;
}

/* ---- the loop ------------------------------------------------------------------ */

int km_dns_fd(const struct km_dns *d)
{
	return d->epfd;
}

int km_dns_timeout_ms(const struct km_dns *d, uint64_t now_ms)
{
	struct timeval tv, *tvp = ares_timeout(d->ch, NULL, &tv);
	uint64_t due = UINT64_MAX, best = UINT64_MAX;
	size_t i = 0;
	const char *k;
	void *v;

	while (km_strmap_next(&d->targets, &i, &k, &v)) {
		const struct target *t = v;

		if (!t->q && t->due_ms < due)
			due = t->due_ms;
	}
	if (tvp)	/* a query in flight: its next timeout */
		best = (uint64_t)tvp->tv_sec * 1000 +
		       ((uint64_t)tvp->tv_usec + 999) / 1000;
	if (due != UINT64_MAX && (due <= now_ms ? 0 : due - now_ms) < best)
		best = due <= now_ms ? 0 : due - now_ms;
	if (best == UINT64_MAX)
		return -1;
	return best > 600000 ? 600000 : (int)best;
}

bool km_dns_process(struct km_dns *d, uint64_t now_ms)
{
	uint64_t answers = d->answers;
	struct epoll_event evs[16];
	size_t i = 0;
	const char *k;
	void *v;
	int n;

	d->now = now_ms;
	while ((n = epoll_wait(d->epfd, evs, 16, 0)) > 0) {
		for (int j = 0; j < n; j++) {
			int fd = evs[j].data.fd;
			bool r = evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP);

			ares_process_fd(d->ch, r ? fd : ARES_SOCKET_BAD,
					evs[j].events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
		}
		if (n < 16)
			break;
	}
	/* timeouts and retries */
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	while (km_strmap_next(&d->targets, &i, &k, &v)) {
		struct target *t = v;

		if (!t->q && t->due_ms <= now_ms)
			start(d, t);
	}
	return d->answers != answers;
}

bool km_dns_take_change(struct km_dns *d)
{
	bool c = d->changed;

	d->changed = false;
	return c;
}

/* ---- state ----------------------------------------------------------------------- */

static int cmp_target(const void *a, const void *b)
{
	const struct target *x = *(struct target *const *)a;
	const struct target *y = *(struct target *const *)b;
	int c = strcmp(x->cluster, y->cluster);

	return c ? c : strcmp(x->host, y->host);
}

static const char *status_of(const struct target *t)
{
	if (t->failures)
		return "failing";
	return t->have ? "ok" : "pending";
}

void km_dns_write_state(const struct km_dns *d, FILE *f)
{
	struct target **all = calloc(d->targets.len + 1, sizeof(*all));
	size_t i = 0, n = 0;
	char addrs[1024];
	const char *k;
	void *v;

	km_state_put(f, KM_ST_DNS_SERVERS, "%s",
		     d->servers ? d->servers : "/etc/resolv.conf");
	if (!all)
		return;
	while (km_strmap_next(&d->targets, &i, &k, &v))
		all[n++] = v;
	qsort(all, n, sizeof(*all), cmp_target);
	for (i = 0; i < n; i++) {
		const struct target *t = all[i];

		addr_list(addrs, sizeof(addrs), t->addrs, used(t));
		km_state_put(f, KM_ST_DNS "cluster", "%s", t->cluster);
		km_state_put(f, KM_ST_DNS "host", "%s", t->host);
		km_state_put(f, KM_ST_DNS "type", "%s", t->logical ?
			     "LOGICAL_DNS" : "STRICT_DNS");
		km_state_put(f, KM_ST_DNS "family", "%s",
			     km_dns_family_name(t->family));
		km_state_put(f, KM_ST_DNS "status", "%s", status_of(t));
		km_state_put(f, KM_ST_DNS "addresses", "%s", addrs);
		km_state_put(f, KM_ST_DNS "failures", "%llu",
			     (unsigned long long)t->failures);
		km_state_put(f, KM_ST_DNS "last_ok", "%lld", (long long)t->last_ok);
		km_state_put(f, KM_ST_DNS "refresh_ms", "%u", t->interval_ms);
		km_state_put(f, KM_ST_DNS "error", "%s", t->error);
	}
	free(all);
}
