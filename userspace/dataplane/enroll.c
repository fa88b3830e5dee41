// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* km_enroll rows: list, prune, enroll and unenroll (enroll.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "enroll.h"
#include "kmesh/authz_abi.h"
#include "sys.h"

#define KM_STR_(x) #x
#define KM_STR(x) KM_STR_(x)

const char *km_enroll_kind_str(__u32 kind)
{
	return kind == KM_ENROLL_CGROUP ? "cgroup" :
	       kind == KM_ENROLL_NETNS ? "netns" : "?";
}

int km_enroll_list(int fd, struct km_enroll_row *rows, int max)
{
	struct km_enroll_key cur, prev;
	bool first = true;
	int n = 0;

	while (n < max && bpf_map_get_next_key(fd, first ? NULL : &prev, &cur) == 0) {
		first = false;
		prev = cur;
		if (bpf_map_lookup_elem(fd, &cur, &rows[n].v) == 0)
			rows[n++].k = cur;
	}
	return n;
}

int km_enroll_netns_live(int fd, struct km_enroll_row *rows, int max)
{
	int n = km_enroll_list(fd, rows, max), out = 0;

	for (int i = 0; i < n; i++) {
		struct km_enroll_key now;

		if (rows[i].k.kind != KM_ENROLL_NETNS ||
		    km_resolve_enroll(rows[i].v.path, &now, &(struct km_err){}) ||
		    memcmp(&now, &rows[i].k, sizeof(now)))
			continue;
		rows[out++] = rows[i];
	}
	return out;
}

static void note(km_enroll_note_fn fn, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(km_enroll_note_fn fn, void *arg, const char *fmt, ...)
{
	char msg[PATH_MAX + 128];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(arg, msg);
}

static void ident_drop(const struct km_enroll_maps *mp,
		       const struct km_enroll_key *k)
{
	if (mp->ident >= 0)
		bpf_map_delete_elem(mp->ident, k);	/* none is fine */
}

/* A Kubernetes name: lowercase alphanumerics, '-' and '.', below max. */
static bool k8s_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n >= max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.'))
			return false;
	return true;
}

int km_enroll_ident(const struct km_enroll_maps *mp,
		    const struct km_enroll_key *k, const char *ns,
		    const char *sa, struct km_err *err)
{
	struct km_identity v = {};

	if (mp->ident < 0)
		return 0;
	if (!ns || !sa || !*ns || !*sa) {
		/* no identity: never proven, whatever was said before */
		ident_drop(mp, k);
		return 0;
	}
	if (!k8s_name(ns, KM_IDENT_NS_MAX) || !k8s_name(sa, KM_IDENT_SA_MAX)) {
		ident_drop(mp, k);
		km_err_set(err, "namespace '%s' or service account '%s' is not a Kubernetes name (a-z, 0-9, '-', '.'; under %d and %d characters): no identity kept",
			   ns, sa, KM_IDENT_NS_MAX, KM_IDENT_SA_MAX);
		return -EINVAL;
	}
	snprintf(v.ns, sizeof(v.ns), "%s", ns);
	snprintf(v.sa, sizeof(v.sa), "%s", sa);
	if (bpf_map_update_elem(mp->ident, k, &v, BPF_ANY)) {
		km_err_set(err, "setting the identity: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Prunes @rows; sets *pruned to the row recorded at @canon if it was one. */
static int prune_rows(const struct km_enroll_maps *mp,
		      const struct km_enroll_row *rows, int n,
		      const char *canon, struct km_enroll_key *pruned,
		      km_enroll_note_fn fn, void *arg)
{
	int gone = 0;

	for (int i = 0; i < n; i++) {
		char rec[PATH_MAX];

		if (km_enroll_alive(&rows[i].k, rows[i].v.path) ||
		    bpf_map_delete_elem(mp->enroll, &rows[i].k))
			continue;
		ident_drop(mp, &rows[i].k);
		gone++;
		note(fn, arg, "pruned a stale enrollment: %s %s (id %llu) is gone",
		     km_enroll_kind_str(rows[i].k.kind), rows[i].v.path,
		     (unsigned long long)rows[i].k.id);
		km_enroll_canon(rows[i].v.path, rec, sizeof(rec));
		if (canon && pruned && strcmp(rec, canon) == 0)
			*pruned = rows[i].k;
	}
	return gone;
}

static struct km_enroll_row *all_rows(int fd, int *n)
{
	struct km_enroll_row *rows = calloc(KM_MAX_ENROLL, sizeof(*rows));

	*n = rows ? km_enroll_list(fd, rows, KM_MAX_ENROLL) : 0;
	return rows;
}

int km_enroll_prune(const struct km_enroll_maps *mp, km_enroll_note_fn fn,
		    void *arg)
{
	struct km_enroll_row *rows;
	int n, gone;

	rows = all_rows(mp->enroll, &n);
	if (!rows)
		return -ENOMEM;
	gone = prune_rows(mp, rows, n, NULL, NULL, fn, arg);
	free(rows);
	return gone;
}

/* Enrollment checks cgroup levels 1 to KM_MAX_CGROUP_DEPTH - 1 (BPF loops
 * are bounded): a deeper cgroup's children would not be routed. */
static int check_cgroup_level(const char *canon, struct km_err *err)
{
	int level = km_cgroup_level(canon);

	if (level < KM_MAX_CGROUP_DEPTH)
		return 0;
	km_err_set(err, "%s is at cgroup level %d: kmesh matches enrolled cgroups at levels 1-%d only (BPF loops are bounded); enroll an ancestor at level %d or above",
		   canon, level, KM_MAX_CGROUP_DEPTH - 1, KM_MAX_CGROUP_DEPTH - 1);
	return -EINVAL;
}

/* The row recorded at @canon (a path that no longer exists), in any
 * spelling. */
static int find_recorded(const struct km_enroll_row *rows, int n,
			 const char *canon, struct km_enroll_key *k)
{
	int ret = -ENOENT;

	for (int i = 0; i < n; i++) {
		char rec[PATH_MAX];

		km_enroll_canon(rows[i].v.path, rec, sizeof(rec));
		if (strcmp(rec, canon) == 0) {
			*k = rows[i].k;
			ret = 0;
		}
	}
	return ret;
}

static int write_row(int fd, const struct km_enroll_key *k, const char *canon,
		     bool add, struct km_err *err)
{
	struct km_enroll v = {};
	int e;

	if (add) {
		snprintf(v.path, sizeof(v.path), "%.*s", KM_PATH_MAX - 1, canon);
		if (bpf_map_update_elem(fd, k, &v, BPF_ANY) == 0)
			return 0;
		e = errno;
		km_err_set(err, "enrolling %s: %s%s", canon, strerror(e),
			   e == E2BIG ? " (enrollment table full: " KM_STR(KM_MAX_ENROLL) " cgroups and netns at most)" : "");
		return -e;
	}
	if (bpf_map_delete_elem(fd, k) == 0)
		return 0;
	km_err_set(err, "%s is not enrolled", canon);
	return -ENOENT;
}

static int apply_rows(const struct km_enroll_maps *mp,
		      const struct km_enroll_row *rows, int n,
		      const char *path, bool add, struct km_enroll_done *d,
		      km_enroll_note_fn fn, void *arg, struct km_err *err)
{
	struct km_enroll v;
	struct km_enroll_key gone;
	struct km_err rerr = {};
	int ret;

	gone.kind = 0;
	prune_rows(mp, rows, n, d->path, &gone, fn, arg);
	ret = km_resolve_enroll(path, &d->k, &rerr);
	if (!add && gone.kind && (ret || bpf_map_lookup_elem(mp->enroll, &d->k, &v))) {
		/* what was enrolled at this path is gone, and so its row */
		d->k = gone;
		return 0;
	}
	if (ret == -ENOENT && !add) {
		/* the cgroup or netns is gone: unenroll by the recorded path */
		if (find_recorded(rows, n, d->path, &d->k)) {
			km_err_set(err, "%s is not enrolled (and does not exist)", d->path);
			return -ENOENT;
		}
	} else if (ret) {
		*err = rerr;
		return ret;
	}
	if (add && d->k.kind == KM_ENROLL_CGROUP && check_cgroup_level(d->path, err))
		return -EINVAL;
	return write_row(mp->enroll, &d->k, d->path, add, err);
}

int km_enroll_apply(const struct km_enroll_maps *mp, const char *path, bool add,
		    struct km_enroll_done *done, km_enroll_note_fn fn,
		    void *arg, struct km_err *err)
{
	struct km_enroll_row *rows;
	int n, ret;

	memset(done, 0, sizeof(*done));
	km_enroll_canon(path, done->path, sizeof(done->path));
	if (strlen(done->path) >= KM_PATH_MAX) {
		km_err_set(err, "%s: path longer than %d characters", done->path,
			   KM_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	rows = all_rows(mp->enroll, &n);
	if (!rows) {
		km_err_set(err, "enrolling %s: out of memory", done->path);
		return -ENOMEM;
	}
	ret = apply_rows(mp, rows, n, path, add, done, fn, arg, err);
	free(rows);
	if (!ret && !add)
		ident_drop(mp, &done->k);
	return ret;
}
