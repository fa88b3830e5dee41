// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshd's control socket (control.h). Requests are served one at a time in
 * the event loop: each is one small JSON object from a root process on this
 * node, with a short socket timeout so a stuck client cannot hold kmeshd.
 * The map row is the enrollment; the records here only add who it is for.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <bpf/bpf.h>
#include <jansson.h>

#include "control.h"
#include "control_client.h"
#include "enroll.h"
#include "enroll_policy.h"
#include "netns_live.h"
#include "sys.h"

#define LOG_ERR 0
#define LOG_WARN 1
#define LOG_INFO 2
#define LOG_DEBUG 3
#define KM_CONTROL_IO_TIMEOUT_S 2

/* Who an enrollment is for; any field may be NULL (kmeshctl enroll PATH). */
struct rec {
	struct km_enroll_key k;
	char *ns, *workload, *sa, *cid;
};

struct km_control {
	struct km_control_opts o;
	int fd;
	char sock[PATH_MAX], store[PATH_MAX];
	struct rec *recs;
	size_t n;
	struct km_enroll_policy policy;
	bool policy_ok;		/* else policy_err says why none applies */
	char policy_err[512];
	json_t *notes;		/* of the request being served */
};

/* ---- records ------------------------------------------------------------- */

static void rec_free(struct rec *r)
{
	free(r->ns);
	free(r->workload);
	free(r->sa);
	free(r->cid);
}

static struct rec *rec_find(struct km_control *c, const struct km_enroll_key *k)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->recs[i].k.id == k->id && c->recs[i].k.kind == k->kind)
			return &c->recs[i];
	return NULL;
}

static struct rec *rec_by_cid(struct km_control *c, const char *cid)
{
	for (size_t i = 0; cid && i < c->n; i++)
		if (c->recs[i].cid && strcmp(c->recs[i].cid, cid) == 0)
			return &c->recs[i];
	return NULL;
}

static void rec_drop(struct km_control *c, struct rec *r)
{
	if (!r)
		return;
	rec_free(r);
	*r = c->recs[--c->n];
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* Replaces what is kept for @k. */
static int rec_set(struct km_control *c, const struct km_enroll_key *k,
		   const char *ns, const char *wl, const char *sa, const char *cid)
{
	struct rec *r = rec_find(c, k), *nr;

	if (!r) {
		nr = realloc(c->recs, (c->n + 1) * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		c->recs = nr;
		r = &c->recs[c->n++];
		memset(r, 0, sizeof(*r));
		r->k = *k;
	}
	rec_free(r);
	r->ns = dup_or_null(ns);
	r->workload = dup_or_null(wl);
	r->sa = dup_or_null(sa);
	r->cid = dup_or_null(cid);
	return 0;
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static json_t *rec_json(const struct km_enroll_key *k, const char *path,
			const struct rec *r)
{
	json_t *o = json_object();

	set_str(o, "kind", km_enroll_kind_str(k->kind));
	json_object_set_new(o, "id", json_integer((json_int_t)k->id));
	set_str(o, "path", path);
	if (r) {
		set_str(o, "namespace", r->ns);
		set_str(o, "workload", r->workload);
		set_str(o, "service_account", r->sa);
		set_str(o, "container_id", r->cid);
	}
	return o;
}

/* enrollments.json in the state directory: kept across restarts (tmpfs:
 * not across reboots, like the pinned map it describes). */
static void save(struct km_control *c)
{
	json_t *arr = json_array(), *top = json_pack("{s:o}", "enrollments", arr);
	char *s;
	int ret;

	for (size_t i = 0; i < c->n; i++)
		json_array_append_new(arr, rec_json(&c->recs[i].k, NULL, &c->recs[i]));
	s = json_dumps(top, JSON_INDENT(1));
	ret = s ? km_write_file_atomic(c->store, s, strlen(s), 0600) : -ENOMEM;
	if (ret)
		c->o.log(LOG_WARN, "writing %s: %s (the pod names of enrollments will be missing after a restart)",
			 c->store, strerror(-ret));
	free(s);
	json_decref(top);
}

static void load(struct km_control *c)
{
	json_error_t jerr;
	json_t *top = json_load_file(c->store, 0, &jerr), *arr, *e;
	size_t i;

	if (!top) {
		if (access(c->store, F_OK) == 0)
			c->o.log(LOG_WARN, "%s:%d: %s: the enrollments stay, their pod names are lost",
				 c->store, jerr.line, jerr.text);
		return;
	}
	arr = json_object_get(top, "enrollments");
	json_array_foreach(arr, i, e) {
		const char *kind = json_string_value(json_object_get(e, "kind"));
		struct km_enroll_key k = {
			.id = (__u64)json_integer_value(json_object_get(e, "id")),
			.kind = kind && !strcmp(kind, "cgroup") ? KM_ENROLL_CGROUP : KM_ENROLL_NETNS,
		};

		rec_set(c, &k, json_string_value(json_object_get(e, "namespace")),
			json_string_value(json_object_get(e, "workload")),
			json_string_value(json_object_get(e, "service_account")),
			json_string_value(json_object_get(e, "container_id")));
	}
	json_decref(top);
}

/* ---- start: prune what went away while kmeshd was down --------------------- */

static void log_note(void *arg, const char *msg)
{
	struct km_control *c = arg;

	if (c->notes)
		json_array_append_new(c->notes, json_string(msg));
	c->o.log(LOG_INFO, "%s", msg);
}


/* Removes an enrollment row and the identity kept for it (a cgroup or
 * netns that comes back with the same id must not inherit it). */
static int drop_row(struct km_control *c, const struct km_enroll_key *k)
{
	int ret = bpf_map_delete_elem(c->o.maps.enroll, k);

	km_enroll_ident(&c->o.maps, k, NULL, NULL, NULL);
	return ret;
}

/* A pod deleted while kmeshd was down took its netns with it, and its
 * /run/netns file: the path check cannot see that, the cookie can. */
static void prune_dead_netns(struct km_control *c)
{
	struct km_enroll_row *rows = calloc(KM_MAX_ENROLL, sizeof(*rows));
	struct km_netns_live live;
	int n, ret;

	if (!rows)
		return;
	ret = km_netns_live_scan(&live);
	if (ret) {
		c->o.log(LOG_WARN, "listing live network namespaces: %s; stale netns enrollments are kept",
			 strerror(-ret));
		free(rows);
		return;
	}
	n = km_enroll_list(c->o.maps.enroll, rows, KM_MAX_ENROLL);
	for (int i = 0; i < n; i++) {
		if (rows[i].k.kind != KM_ENROLL_NETNS ||
		    km_netns_live_has(&live, rows[i].k.id) ||
		    drop_row(c, &rows[i].k))
			continue;
		c->o.log(LOG_INFO, "pruned a stale enrollment: netns %s (id %llu) is gone (no process, open file or mount holds it)",
			 rows[i].v.path, (unsigned long long)rows[i].k.id);
	}
	km_netns_live_free(&live);
	free(rows);
}

/* Keeps the records of rows still in the map. */
static void reconcile(struct km_control *c)
{
	struct km_enroll v;

	for (size_t i = 0; i < c->n;) {
		if (bpf_map_lookup_elem(c->o.maps.enroll, &c->recs[i].k, &v) == 0)
			i++;
		else
			rec_drop(c, &c->recs[i]);
	}
}

/* ---- policy ------------------------------------------------------------- */

static void read_policy(struct km_control *c, bool start)
{
	struct km_enroll_policy p;
	struct km_err err = {};
	char was[512], now[512];

	if (km_enroll_policy_load_file(c->o.config, &p, &err)) {
		if (start) {
			c->policy_ok = false;
			snprintf(c->policy_err, sizeof(c->policy_err), "%s", err.msg);
			c->o.log(LOG_ERR, "enrollment policy: %s; pods with a namespace are refused until it is fixed",
				 err.msg);
		} else {
			c->o.log(LOG_ERR, "enrollment policy: %s; the previous policy stays", err.msg);
		}
		return;
	}
	km_enroll_policy_describe(&c->policy, was, sizeof(was));
	km_enroll_policy_describe(&p, now, sizeof(now));
	km_enroll_policy_free(&c->policy);
	c->policy = p;
	if (start || !c->policy_ok || strcmp(was, now))
		c->o.log(LOG_INFO, "enrollment policy: pods of %s are meshed", now);
	c->policy_ok = true;
}

int km_control_check_policy(const char *config)
{
	struct km_enroll_policy p;
	struct km_err err = {};
	char desc[512];

	if (km_enroll_policy_load_file(config, &p, &err)) {
		fprintf(stderr, "kmeshd: %s\n", err.msg);
		return 1;
	}
	km_enroll_policy_describe(&p, desc, sizeof(desc));
	printf("%s: enrollment: kmesh-cni enrolls the pods of %s\n", config, desc);
	km_enroll_policy_free(&p);
	return 0;
}

void km_control_reload(struct km_control *c)
{
	if (c)
		read_policy(c, false);
}

/* ---- requests ------------------------------------------------------------- */

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

/* A string field, or NULL; *bad names a field of another type. */
static const char *field(json_t *req, const char *key, const char **bad)
{
	json_t *v = json_object_get(req, key);

	if (v && !json_is_string(v) && !*bad)
		*bad = key;
	return json_string_value(v);
}

struct who {
	const char *path, *ns, *workload, *sa, *cid;
	bool policy;		/* kmesh-cni: the namespace policy applies */
	bool missing_ok;	/* unenroll: not enrolled is fine (CNI DEL) */
};

static json_t *read_who(json_t *req, struct who *w)
{
	const char *bad = NULL;

	w->path = field(req, "path", &bad);
	w->ns = field(req, "namespace", &bad);
	w->workload = field(req, "workload", &bad);
	w->sa = field(req, "service_account", &bad);
	w->cid = field(req, "container_id", &bad);
	w->policy = json_is_true(json_object_get(req, "policy"));
	w->missing_ok = json_is_true(json_object_get(req, "missing_ok"));
	if (bad)
		return fail("request: '%s' must be a string", bad);
	return NULL;
}

/* NULL when the policy meshes @w's pod, else the answer (skipped, or an
 * error when there is no usable policy). */
static json_t *policy_says(struct km_control *c, const struct who *w)
{
	char desc[512], reason[700];

	if (!w->policy)
		return NULL;
	if (!c->policy_ok)
		return fail("the enrollment policy is unusable, no pod is enrolled until it is fixed: %s",
			    c->policy_err);
	if (!w->ns && !c->policy.set)
		return NULL;
	if (w->ns && km_enroll_policy_meshed(&c->policy, w->ns))
		return NULL;
	km_enroll_policy_describe(&c->policy, desc, sizeof(desc));
	if (w->ns)
		snprintf(reason, sizeof(reason), "namespace '%s' is not meshed: the enrollment policy meshes %s",
			 w->ns, desc);
	else
		snprintf(reason, sizeof(reason), "no pod namespace (K8S_POD_NAMESPACE, or the plugin's defaultNamespace): the enrollment policy meshes %s",
			 desc);
	return json_pack("{s:b,s:s,s:s}", "ok", 1, "action", "skipped", "reason", reason);
}

static json_t *done_json(const char *action, const struct km_enroll_key *k,
			 const char *path, struct rec *r)
{
	json_t *o = rec_json(k, path, r);

	json_object_set_new(o, "ok", json_true());
	set_str(o, "action", action);
	return o;
}

static void log_done(struct km_control *c, const char *what,
		     const struct km_enroll_key *k, const char *path,
		     const struct who *w)
{
	c->o.log(LOG_INFO, "%s %s %s (id %llu)%s%s%s%s%s%s", what,
		 km_enroll_kind_str(k->kind), path, (unsigned long long)k->id,
		 w->ns || w->workload ? " for pod " : "", w->ns ? w->ns : "",
		 w->ns && w->workload ? "/" : "", w->workload ? w->workload : "",
		 w->cid ? ", container " : "", w->cid ? w->cid : "");
}

static json_t *do_enroll(struct km_control *c, const struct who *w)
{
	struct km_enroll_done d;
	struct km_err err = {};
	json_t *a;

	if (!w->path)
		return fail("enroll: 'path' is missing (a netns file or a cgroup v2 directory)");
	a = policy_says(c, w);
	if (a)
		return a;
	if (km_enroll_apply(&c->o.maps, w->path, true, &d, log_note, c, &err))
		return fail("%s", err.msg);
	/* the identity authorization policies can name: both or none */
	if (km_enroll_ident(&c->o.maps, &d.k, w->ns, w->sa, &err))
		c->o.log(LOG_WARN, "%s: %s", d.path, err.msg);
	if (rec_set(c, &d.k, w->ns, w->workload, w->sa, w->cid))
		c->o.log(LOG_WARN, "out of memory keeping who %s is for", d.path);
	save(c);
	log_done(c, "enrolled", &d.k, d.path, w);
	return done_json("enrolled", &d.k, d.path, rec_find(c, &d.k));
}

/* By container id: the netns path may be gone, or never given (CNI DEL) */
static int unenroll_cid(struct km_control *c, const struct who *w,
			struct km_enroll_key *k)
{
	struct rec *r = rec_by_cid(c, w->cid);

	if (!r)
		return -ENOENT;
	*k = r->k;
	drop_row(c, k);	/* pruned already is fine */
	return 0;
}

static json_t *do_unenroll(struct km_control *c, const struct who *w)
{
	struct km_enroll_done d = {};
	struct km_err err = {};
	int ret = -ENOENT;

	if (!w->path && !w->cid)
		return fail("unenroll: give 'path' or 'container_id'");
	if (w->path)
		ret = km_enroll_apply(&c->o.maps, w->path, false, &d, log_note, c, &err);
	if (ret == -ENOENT && w->cid && unenroll_cid(c, w, &d.k) == 0) {
		ret = 0;
		if (!w->path)
			snprintf(d.path, sizeof(d.path), "(container %s)", w->cid);
	}
	if (ret == -ENOENT && w->missing_ok)
		return json_pack("{s:b,s:s,s:s}", "ok", 1, "action", "not-enrolled",
				 "reason", err.msg[0] ? err.msg : "no enrollment for this container");
	if (ret == -ENOENT && !err.msg[0])
		return fail("container %s is not enrolled", w->cid);
	if (ret)
		return fail("%s", err.msg);
	rec_drop(c, rec_find(c, &d.k));
	save(c);
	log_done(c, "unenrolled", &d.k, d.path, w);
	return done_json("unenrolled", &d.k, d.path, NULL);
}

static json_t *do_check(struct km_control *c, const struct who *w)
{
	struct km_enroll_key k;
	struct km_enroll v;
	struct km_err err = {};
	json_t *a;

	if (!w->path)
		return fail("check: 'path' is missing");
	a = policy_says(c, w);
	if (a)
		return a;
	if (km_resolve_enroll(w->path, &k, &err))
		return fail("%s", err.msg);
	if (bpf_map_lookup_elem(c->o.maps.enroll, &k, &v))
		return fail("%s %s (id %llu) is not enrolled", km_enroll_kind_str(k.kind),
			    w->path, (unsigned long long)k.id);
	return done_json("enrolled", &k, v.path, rec_find(c, &k));
}

static json_t *do_list(struct km_control *c)
{
	struct km_enroll_row *rows = calloc(KM_MAX_ENROLL, sizeof(*rows));
	json_t *arr = json_array();
	int n;

	if (!rows)
		return fail("list: out of memory");
	n = km_enroll_list(c->o.maps.enroll, rows, KM_MAX_ENROLL);
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, rec_json(&rows[i].k, rows[i].v.path,
						    rec_find(c, &rows[i].k)));
	free(rows);
	return json_pack("{s:b,s:o}", "ok", 1, "enrollments", arr);
}

/* CNI GC: enrollments made for containers the runtime no longer has */
static json_t *do_gc(struct km_control *c, json_t *req)
{
	json_t *valid = json_object_get(req, "valid"), *v;
	size_t i, gone = 0;

	if (!json_is_array(valid))
		return fail("gc: 'valid' must be a list of container ids");
	for (size_t r = 0; r < c->n;) {
		bool keep = !c->recs[r].cid;

		json_array_foreach(valid, i, v)
			keep = keep || !strcmp(json_string_value(v) ?: "", c->recs[r].cid);
		if (keep) {
			r++;
			continue;
		}
		c->o.log(LOG_INFO, "gc: unenrolled %s id %llu of container %s",
			 km_enroll_kind_str(c->recs[r].k.kind),
			 (unsigned long long)c->recs[r].k.id, c->recs[r].cid);
		drop_row(c, &c->recs[r].k);
		rec_drop(c, &c->recs[r]);
		gone++;
	}
	if (gone)
		save(c);
	return json_pack("{s:b,s:I}", "ok", 1, "unenrolled", (json_int_t)gone);
}

static json_t *do_status(struct km_control *c)
{
	char desc[512];

	km_enroll_policy_describe(&c->policy, desc, sizeof(desc));
	return json_pack("{s:b,s:s,s:s,s:s}", "ok", 1, "version", KMESH_VERSION,
			 "pin_root", c->o.pin_root,
			 "policy", c->policy_ok ? desc : c->policy_err);
}

static json_t *handle(struct km_control *c, json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *pin = json_string_value(json_object_get(req, "pin_root"));
	struct who w;
	json_t *a;

	if (!op)
		return fail("request: 'op' is missing (enroll, unenroll, check, list, gc, status)");
	/* kmeshctl --pin-root: another kmesh's maps are not ours to change */
	if (pin && strcmp(pin, c->o.pin_root))
		return json_pack("{s:b,s:s,s:s}", "ok", 0, "error", "this kmeshd serves another pin root",
				 "pin_root", c->o.pin_root);
	a = read_who(req, &w);
	if (a)
		return a;
	if (!strcmp(op, "enroll"))
		return do_enroll(c, &w);
	if (!strcmp(op, "unenroll"))
		return do_unenroll(c, &w);
	if (!strcmp(op, "check"))
		return do_check(c, &w);
	if (!strcmp(op, "list"))
		return do_list(c);
	if (!strcmp(op, "gc"))
		return do_gc(c, req);
	if (!strcmp(op, "status"))
		return do_status(c);
	return fail("request: unknown op '%s' (enroll, unenroll, check, list, gc, status)", op);
}

/* ---- the socket ------------------------------------------------------------- */

static int read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len + 1 < cap) {
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		len += n;
		if (n == 0 || memchr(buf + len - n, '\n', n))
			break;
	}
	buf[len] = 0;
	return len + 1 >= cap ? -EMSGSIZE : (int)len;
}

static json_t *serve_one(struct km_control *c, int fd, char *buf)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	json_error_t jerr;
	json_t *req, *a;
	int n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl))
		return fail("reading the peer's credentials: %s", strerror(errno));
	if (cred.uid != 0) {
		c->o.log(LOG_WARN, "control socket: refused pid %d, uid %u (root only)",
			 cred.pid, cred.uid);
		return fail("permission denied: uid %u is not root", cred.uid);
	}
	n = read_request(fd, buf, KM_CONTROL_MAX_MSG);
	if (n < 0)
		return fail("request: %s", n == -EMSGSIZE ? "longer than 64 KiB" : strerror(-n));
	req = json_loads(buf, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!req || !json_is_object(req)) {
		json_decref(req);
		return req ? fail("request: not a JSON object") :
			     fail("request: invalid JSON at line %d, column %d: %s",
				  jerr.line, jerr.column, jerr.text);
	}
	c->notes = json_array();
	a = handle(c, req);
	if (json_array_size(c->notes))
		json_object_set(a, "notes", c->notes);
	json_decref(c->notes);
	c->notes = NULL;
	json_decref(req);
	return a;
}

void km_control_serve(struct km_control *c)
{
	struct timeval tv = { .tv_sec = KM_CONTROL_IO_TIMEOUT_S };
	char *buf, *out;
	json_t *a;
	int fd;

	fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	buf = malloc(KM_CONTROL_MAX_MSG);
	a = buf ? serve_one(c, fd, buf) : fail("out of memory");
	out = a ? json_dumps(a, JSON_COMPACT) : NULL;
	if (out) {
		size_t len = strlen(out);

		out[len] = '\n';	/* json_dumps's NUL becomes the newline */
		if (send(fd, out, len + 1, MSG_NOSIGNAL) < 0)
			c->o.log(LOG_DEBUG, "control socket: answering: %s", strerror(errno));
	}
	free(out);
	json_decref(a);
	free(buf);
	close(fd);
}

static int listen_on(struct km_control *c, struct km_err *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, ret;

	if (strlen(c->sock) >= sizeof(a.sun_path)) {
		km_err_set(err, "control socket %s: path too long", c->sock);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, c->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		close(fd);
		km_err_set(err, "control socket %s: another kmeshd answers there (one kmeshd per state directory)",
			   c->sock);
		return -EADDRINUSE;
	}
	unlink(c->sock);	/* a previous run's */
	old = umask(0177);	/* 0600 from the start, not after a chmod */
	ret = fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	      chown(c->sock, 0, 0) || chmod(c->sock, 0600) || listen(fd, 64) ? -errno : 0;
	umask(old);
	if (ret) {
		km_err_set(err, "control socket %s: %s", c->sock, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	c->fd = fd;
	return 0;
}

int km_control_open(struct km_control **cp, const struct km_control_opts *o,
		    struct km_err *err)
{
	struct km_control *c = calloc(1, sizeof(*c));
	int ret;

	*cp = NULL;
	if (!c) {
		km_err_set(err, "control socket: out of memory");
		return -ENOMEM;
	}
	c->o = *o;
	c->fd = -1;
	snprintf(c->sock, sizeof(c->sock), "%s/%s", o->state_dir, KM_CONTROL_SOCK);
	snprintf(c->store, sizeof(c->store), "%s/enrollments.json", o->state_dir);
	ret = listen_on(c, err);
	if (ret) {
		free(c);
		return ret;
	}
	load(c);
	km_enroll_prune(&o->maps, log_note, c);
	prune_dead_netns(c);
	reconcile(c);
	save(c);
	read_policy(c, true);
	o->log(LOG_INFO, "control socket %s (root only): %zu enrollments kept with their pod names",
	       c->sock, c->n);
	*cp = c;
	return 0;
}

int km_control_fd(const struct km_control *c)
{
	return c ? c->fd : -1;
}

void km_control_close(struct km_control *c)
{
	if (!c)
		return;
	close(c->fd);
	unlink(c->sock);
	for (size_t i = 0; i < c->n; i++)
		rec_free(&c->recs[i]);
	free(c->recs);
	km_enroll_policy_free(&c->policy);
	free(c);
}
