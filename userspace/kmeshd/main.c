// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshd: the kmesh node agent.
 *
 * Start-up: load and attach the BPF programs (reusing pinned maps and links,
 * so a restart never interrupts traffic), then apply the config. After that
 * one event loop: SIGHUP or a change of the config file reloads; a rejected
 * config is logged once with file, line and resource, and the previous
 * generation keeps serving. SIGTERM leaves the programs attached and the
 * config serving (restart-safe); `kmeshd --uninstall` removes everything.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "responder.h"
#include "local_reply.h"
#include "bpf_loader.h"
#include "compiler.h"
#include "config_yaml.h"
#include "control.h"
#include "ads.h"
#include "dns.h"
#include "kmod.h"
#include "lbstat.h"
#include "authz.h"
#include "enroll.h"
#include "maps.h"
#include "not_enforced.h"
#include "notify.h"
#include "sockmap.h"
#include "sys.h"
#include "state.h"
#include "telemetry.h"
#include "xds_tls.h"
#include "wl_ident.h"

#define KM_DEFAULT_CONFIG "/etc/kmesh/mesh.yaml"
/* Editors write a file in several steps; reload once it settles. */
#define KM_RELOAD_DEBOUNCE_MS 100

struct kmeshd {
	const char *config;
	const char *pin_root;
	const char *state_dir;
	char cgroup[PATH_MAX];
	struct stat loaded;	/* the config file as last read */
	char run_id[17];
	char instance_ips[1024];	/* xDS: this node's INSTANCE_IPS (authz.h) */
	bool stopped;		/* exited: the state file says running=0 */
	struct km_maps maps;
	int verbose;

	/* last outcome, for the state file */
	uint64_t generation;
	bool last_ok;
	char last_error[sizeof(((struct km_err *)0)->msg)];
	time_t last_attempt;
	time_t applied_at;
	size_t n_listeners, n_clusters, n_frontends, n_endpoints;
	char **l7;		/* HTTP listeners of the applied config */
	size_t n_l7;
	/* accepted, not enforced: "KIND COUNT EXAMPLE" */
	char not_enforced[KM_NE_COUNT][KM_NAME_MAX + 64];
	size_t n_not_enforced;
	/* kmesh.ko with the L7 router was there when the programs were
	 * loaded (kfuncs resolve at load time); else why not */
	bool l7_router;
	char l7_why[sizeof(((struct km_err *)0)->msg)];

	/* xDS: the config comes from an ADS server instead of the file */
	struct km_ads *ads;
	uint64_t wl_scan_ms;	/* workload mode: last identity pass */
	uint64_t reply_scan_ms;	/* last responder_scan */
	struct km_ads_opts xds;
	const char *source;	/* the config file, or "xds HOST:PORT" */
	struct km_model boot;	/* xDS: the config file's node, as defaults */
	char source_buf[300];
	struct km_control *ctl;	/* the control socket (control.c) */

	/* the names of DNS clusters (dataplane/dns.c); NULL if c-ares
	 * could not start: they then have no endpoints */
	struct km_dns *dns;
	const char *dns_server;	/* --dns-server, else resolv.conf */
	/* the config file's last applied model, while it has DNS clusters:
	 * a changed answer applies it again (xDS keeps its own) */
	struct km_model kept;
};

static int verbose;

static void logmsg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logmsg(int level, const char *fmt, ...)
{
	/* sd-daemon prefixes let journald keep the level */
	static const char *const prefix[] = { "<3>", "<4>", "<6>", "<7>" };
	va_list ap;

	if (level > 2 && !verbose)
		return;
	fprintf(stderr, "%skmeshd: ", prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define LOG_ERR 0
#define LOG_WARN 1
#define LOG_INFO 2
#define LOG_DEBUG 3

/* libbpf's messages go one level lower than their own. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	fputs(level == LIBBPF_WARN ? "<5>kmeshd: libbpf: " : "<7>kmeshd: libbpf: ",
	      stderr);
	return vfprintf(stderr, fmt, ap);
}

static void free_l7(struct kmeshd *d)
{
	for (size_t i = 0; i < d->n_l7; i++)
		free(d->l7[i]);
	free(d->l7);
	d->l7 = NULL;
	d->n_l7 = 0;
}

/*
 * Config errors in the state file quote the config: users who may read the
 * config file may read the state file too, and nobody else. xDS configs
 * come from the control plane, not a local file: readable by all, as
 * before.
 */
static mode_t state_mode(const struct kmeshd *d)
{
	if (d->ads)
		return 0644;
	return 0600 | (d->loaded.st_mode & 0044);
}

/* A new id for every kmeshd run: a tool can tell this run's generations
 * from a previous run's still in the state file. */
static void new_run_id(struct kmeshd *d)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	snprintf(d->run_id, sizeof(d->run_id), "%016llx", (unsigned long long)r);
}

/*
 * The agent's report for kmeshctl: one "key=value" per line (values are
 * single lines; l7 repeats), written atomically after every config
 * attempt.
 */
static void write_state(struct kmeshd *d)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	f = open_memstream(&buf, &len);
	if (!f)
		return;
	km_state_put(f, KM_ST_PID, "%d", getpid());
	km_state_put(f, KM_ST_RUN_ID, "%s", d->run_id);
	km_state_put(f, KM_ST_RUNNING, "%d", !d->stopped);
	km_state_put(f, KM_ST_CONFIG, "%s", d->source);
	km_state_put(f, KM_ST_CGROUP, "%s", d->cgroup);
	km_state_put(f, KM_ST_GENERATION, "%llu",
		     (unsigned long long)d->generation);
	km_state_put(f, KM_ST_LAST_OK, "%d", d->last_ok);
	if (!d->last_ok)
		km_state_put(f, KM_ST_LAST_ERROR, "%s", d->last_error);
	km_state_put(f, KM_ST_LAST_ATTEMPT, "%lld", (long long)d->last_attempt);
	km_state_put(f, KM_ST_APPLIED_AT, "%lld", (long long)d->applied_at);
	km_state_put(f, KM_ST_LISTENERS, "%zu", d->n_listeners);
	km_state_put(f, KM_ST_CLUSTERS, "%zu", d->n_clusters);
	km_state_put(f, KM_ST_FRONTENDS, "%zu", d->n_frontends);
	km_state_put(f, KM_ST_ENDPOINTS, "%zu", d->n_endpoints);
	km_state_put(f, KM_ST_L7_ROUTER, "%d", d->l7_router);
	if (!d->l7_router)
		km_state_put(f, KM_ST_L7_WHY, "%s", d->l7_why);
	for (size_t i = 0; i < d->n_l7; i++)
		km_state_put(f, KM_ST_L7, "%s", d->l7[i]);
	for (size_t i = 0; i < d->n_not_enforced; i++)
		km_state_put(f, KM_ST_NOT_ENFORCED, "%s", d->not_enforced[i]);
	if (d->ads)
		km_ads_write_state(d->ads, f);
	else
		km_state_put(f, KM_ST_STRICT, "%d", d->xds.strict);
	if (d->dns)
		km_dns_write_state(d->dns, f);
	fclose(f);

	snprintf(path, sizeof(path), "%s/" KM_STATE_NAME, d->state_dir);
	ret = km_write_file_atomic(path, buf, len, state_mode(d));
	if (ret)
		logmsg(LOG_WARN, "writing %s: %s", path, strerror(-ret));
	free(buf);
}

static void remember_applied(struct kmeshd *d, const struct km_model *m,
			     const struct km_records *r)
{
	free_l7(d);
	d->l7 = calloc(r->n_l7_listeners + 1, sizeof(char *));
	for (size_t i = 0; d->l7 && i < r->n_l7_listeners; i++)
		d->l7[d->n_l7++] = strdup(r->l7_listeners[i]);
	d->n_listeners = m->n_listeners;
	d->n_clusters = m->n_clusters;
	d->n_frontends = r->n_frontends;
	d->n_endpoints = r->n_endpoints;
}

/* Accepted but not enforced, one line per kind (never silent): logged
 * and kept for the state file. */
static void log_not_enforced(struct kmeshd *d, const struct km_model *m)
{
	struct km_ne_item ne[KM_NE_COUNT];
	size_t n = km_not_enforced(m, ne);

	d->n_not_enforced = n;
	for (size_t i = 0; i < n; i++) {
		logmsg(LOG_WARN, "not enforced: %s in %zu resource(s), e.g. '%s': %s",
		       ne[i].kind, ne[i].count, ne[i].example, ne[i].why);
		snprintf(d->not_enforced[i], sizeof(d->not_enforced[i]),
			 "%s %zu %s", ne[i].kind, ne[i].count, ne[i].example);
	}
}

/* Model -> records -> maps, for either source. Any failure leaves the live
 * generation serving. */
static int apply_model(struct kmeshd *d, const struct km_model *m,
		       struct km_err *err)
{
	struct km_records r = {};
	uint64_t gen = 0, t0 = km_now_ms();
	struct km_model view;
	int ret;

	d->last_attempt = time(NULL);
	/* DNS clusters' names as last resolved */
	ret = km_dns_view(d->dns, m, &view);
	if (ret)
		km_err_set(err, "out of memory resolving DNS clusters");
	if (!view.node.instance_ips && d->instance_ips[0])
		view.node.instance_ips = d->instance_ips;	/* xDS: our node's */
	view.reply_tag = km_responder_next_tag();
	if (!ret)
		ret = km_compile(&view, &r, err);
	km_dns_view_free(m, &view);
	if (!ret)
		ret = km_maps_apply(&d->maps, &r, &gen, err);
	if (ret) {
		d->last_ok = false;
		snprintf(d->last_error, sizeof(d->last_error), "%s", err->msg);
		logmsg(LOG_ERR, "config rejected, generation %llu keeps serving: %s",
		       (unsigned long long)d->generation, err->msg);
		km_notify("STATUS=config rejected (generation %llu serving): %s",
			  (unsigned long long)d->generation, err->msg);
	} else {
		d->last_ok = true;
		d->generation = gen;
		km_responder_install(&r);
		km_telemetry_applied(gen, km_now_ms() - t0);
		d->applied_at = time(NULL);
		remember_applied(d, m, &r);
		/* counts of what the config dropped, once idle */
		km_lbstat_prune(&d->maps, &r);
		logmsg(LOG_INFO, "generation %llu applied from %s in %llu ms: %zu listeners, %zu clusters, %zu service addresses, %zu endpoints",
		       (unsigned long long)gen, d->source,
		       (unsigned long long)(km_now_ms() - t0), m->n_listeners,
		       m->n_clusters, r.n_frontends, r.n_endpoints);
		if (r.n_l7_listeners && d->l7_router)
			logmsg(LOG_INFO, "%zu HTTP listener(s) routed in the kernel on the first request (%zu route tables), e.g. '%s'",
			       r.n_l7_listeners, r.n_routes, r.l7_listeners[0]);
		else if (r.n_l7_listeners)
			logmsg(LOG_INFO, "%zu HTTP listener(s) served as L4 (%s), each address by its L4 target, e.g. '%s'",
			       r.n_l7_listeners, d->l7_why, r.l7_listeners[0]);
		for (size_t i = 0; i < r.n_waiting; i++)
			logmsg(LOG_DEBUG, "listener '%s' waits for its route config (RDS)",
			       r.waiting[i]);
		if (r.n_sniffed)
			logmsg(LOG_INFO, "%zu sniffed listener(s) (HTTP and TCP chains on one address) served %s, e.g. '%s'",
			       r.n_sniffed, d->l7_router ? "as HTTP" : "as their TCP chain",
			       r.sniffed[0]);
		if (r.n_port_wide)
			logmsg(LOG_INFO, "%zu port-wide HTTP listener(s): a frontend per virtual host IP domain, e.g. '%s'",
			       r.n_port_wide, r.port_wide[0]);
		if (r.n_inbound)
			logmsg(LOG_INFO, "%zu inbound listener(s) kept, not served (no frontend; their RBAC filters are enforced), e.g. '%s'",
			       r.n_inbound, r.inbound[0]);
		log_not_enforced(d, m);
		/* authorization (docs/authz.md): what fails closed is loud */
		if (r.authz.n_targets)
			logmsg(LOG_INFO, "authorization: %zu destination(s) with policies (%zu counter rows), enforced at connect",
			       r.authz.n_targets, r.authz.n_rows);
		for (size_t i = 0; i < r.authz.n_fail_closed; i++)
			logmsg(LOG_WARN, "authorization: %s",
			       r.authz.fail_closed[i]);
		km_notify("STATUS=generation %llu: %zu listeners, %zu clusters%s",
			  (unsigned long long)gen, m->n_listeners, m->n_clusters,
			  r.authz.n_fail_closed ?
			  "; some authorization policies fail closed (see the log)" : "");
		/* resolve the names this config has (new ones now) */
		if (d->dns)
			km_dns_sync(d->dns, m, km_now_ms());
	}
	write_state(d);
	km_records_free(&r);
	return ret;
}

/* The config file: read, then apply. */
static int apply_config(struct kmeshd *d)
{
	struct km_model m = {};
	struct km_err err = {};
	int ret;

	/* stat before reading: a write after it is seen as a change */
	if (stat(d->config, &d->loaded))
		memset(&d->loaded, 0, sizeof(d->loaded));
	ret = km_config_load_file_flags(d->config, d->xds.strict ? KM_CONFIG_STRICT : 0,
					&m, &err);
	if (ret) {
		d->last_attempt = time(NULL);
		d->last_ok = false;
		snprintf(d->last_error, sizeof(d->last_error), "%s", err.msg);
		logmsg(LOG_ERR, "config rejected, generation %llu keeps serving: %s",
		       (unsigned long long)d->generation, err.msg);
		km_notify("STATUS=config rejected (generation %llu serving): %s",
			  (unsigned long long)d->generation, err.msg);
		write_state(d);
	} else {
		ret = apply_model(d, &m, &err);
	}
	/* a changed DNS answer applies the serving model again; kept only
	 * when it has DNS clusters (a big config is not held twice) */
	if (!ret) {
		km_model_free(&d->kept);
		if (d->dns && km_dns_wanted(&m)) {
			d->kept = m;
			memset(&m, 0, sizeof(m));
		}
	}
	km_model_free(&m);
	km_control_reload(d->ctl);	/* the enrollment policy, same file */
	/* glibc keeps freed heap: a 250k-cluster config would hold on to
	 * hundreds of MB after its model and records are gone */
	malloc_trim(0);
	return ret;
}

/* A DNS answer changed: the serving config again, with the new addresses
 * (a new generation; the last one keeps serving if it fails). */
static void dns_changed(struct kmeshd *d)
{
	struct km_err err = {};
	int ret;

	if (d->ads)
		ret = km_ads_reapply(d->ads, &err);
	else if (d->kept.source)
		ret = apply_model(d, &d->kept, &err);
	else
		return;
	if (ret)
		logmsg(LOG_ERR, "DNS: applying the new addresses failed: %s",
		       err.msg);
}

/* The ADS client's connection events: failures with their cause, streams
 * coming up. */
static void ads_log(void *arg, int level, const char *msg)
{
	logmsg(level, "%s", msg);
}

/* ADS hands over each candidate model: a failure here NACKs it. */
static int apply_xds(void *arg, const struct km_model *m, struct km_err *err)
{
	return apply_model(arg, m, err);
}

static void agent_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/* Blocked before the first thread starts (the responder's and the
 * metrics' libmicrohttpd threads inherit the mask): a thread that left
 * SIGHUP unblocked would take it with the default action and end kmeshd
 * instead of reloading. The event loop reads them from a signalfd. */
static int block_signals(void)
{
	sigset_t set;

	agent_signals(&set);
	return sigprocmask(SIG_BLOCK, &set, NULL) ? -errno : 0;
}

static int setup_signals(void)
{
	sigset_t set;
	int ret = block_signals();

	if (ret)
		return ret;
	agent_signals(&set);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/*
 * The config file watch. The directory is watched, not the file: editors and
 * config management replace the file by rename, and a Kubernetes ConfigMap
 * volume swaps a `..data` symlink the file's path goes through. A reload is
 * scheduled only by a completed write (IN_CLOSE_WRITE, IN_MOVED_TO, a symlink
 * created), never by the first byte of one; every further change restarts the
 * settle timer. If the directory itself goes (deleted, renamed away), the
 * watch is re-armed on the path, through its parent while it is missing.
 */
struct watch {
	int fd;			/* inotify */
	int dir_wd;		/* the config's directory, or -1 while lost */
	int parent_wd;		/* its parent while the directory is missing */
	char dir[PATH_MAX];
	char parent[PATH_MAX];
	char dir_name[NAME_MAX + 1];	/* the directory's name in parent */
	char base[NAME_MAX + 1];	/* the config's name in dir */
	bool pending;		/* a reload is scheduled */
	bool writing;		/* modified since its last close-write */
	bool force;		/* ... by SIGHUP: even if the file looks unchanged */
	struct stat loaded;	/* the file as of the last attempt */
};

#define KM_WATCH_DIR (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | \
		      IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF)
#define KM_WATCH_PARENT (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)

static void split_path(const char *path, char *dir, char *base)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(dir, PATH_MAX, "%s", dirname(a));
	snprintf(base, NAME_MAX + 1, "%s", basename(b));
}

static int watch_init(struct watch *w, const char *config)
{
	memset(w, 0, sizeof(*w));
	w->dir_wd = w->parent_wd = -1;
	split_path(config, w->dir, w->base);
	split_path(w->dir, w->parent, w->dir_name);
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	return w->fd < 0 ? -errno : 0;
}

/* (Re-)arms the directory watch; while the directory is missing, watches the
 * parent for it to come back. Returns 0 once the directory is watched. */
static int watch_arm(struct watch *w)
{
	w->dir_wd = inotify_add_watch(w->fd, w->dir, KM_WATCH_DIR | IN_ONLYDIR);
	if (w->dir_wd >= 0) {
		if (w->parent_wd >= 0)
			inotify_rm_watch(w->fd, w->parent_wd);
		w->parent_wd = -1;
		return 0;
	}
	if (w->parent_wd < 0)
		w->parent_wd = inotify_add_watch(w->fd, w->parent,
						 KM_WATCH_PARENT);
	return -ENOENT;
}

/* The name in the directory that a ConfigMap swaps: the first component of
 * a relative symlink at the config's name (mesh.yaml -> ..data/mesh.yaml). */
static bool watch_via(struct watch *w, const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", w->dir, w->base);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0 || target[0] == '/')
		return false;
	target[n] = 0;
	target[strcspn(target, "/")] = 0;
	return strcmp(target, name) == 0;
}

static bool is_symlink(struct watch *w, const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* What a batch of events means for the config. */
enum watch_what { W_NONE, W_WRITING, W_DONE };

static enum watch_what watch_event(struct watch *w,
				   const struct inotify_event *ev)
{
	if (ev->wd == w->parent_wd && ev->wd >= 0) {
		if (ev->len && strcmp(ev->name, w->dir_name) == 0 &&
		    watch_arm(w) == 0) {
			logmsg(LOG_INFO, "%s is back: watching it again", w->dir);
			/* the file may be there already */
			return W_DONE;
		}
		return W_NONE;
	}
	if (ev->wd != w->dir_wd)
		return W_NONE;	/* a watch removed meanwhile */
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		/* a moved directory keeps its watch: drop it, the path counts */
		inotify_rm_watch(w->fd, w->dir_wd);
		w->dir_wd = -1;
		logmsg(LOG_WARN, "watch on %s lost (directory %s): re-arming; generation keeps serving",
		       w->dir, ev->mask & IN_MOVE_SELF ? "moved away" :
		       ev->mask & IN_DELETE_SELF ? "deleted" : "gone");
		if (watch_arm(w) == 0)
			return W_DONE;
		logmsg(LOG_WARN, "%s is missing: waiting for it (watching %s)",
		       w->dir, w->parent);
		return W_NONE;
	}
	if (!ev->len || (strcmp(ev->name, w->base) && !watch_via(w, ev->name)))
		return W_NONE;
	if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
		w->writing = false;
		return W_DONE;
	}
	/* a symlink is complete when created; a file when closed */
	if ((ev->mask & IN_CREATE) && is_symlink(w, ev->name))
		return W_DONE;
	if (ev->mask & (IN_CREATE | IN_MODIFY)) {
		w->writing = true;
		return W_WRITING;
	}
	return W_NONE;
}

static enum watch_what watch_read(struct watch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	enum watch_what what = W_NONE, e;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				what = W_DONE;	/* events lost: check */
			else if ((e = watch_event(w, ev)) > what)
				what = e;
			p += sizeof(*ev) + ev->len;
		}
	}
	return what;
}

/* Same file, same content as far as stat can tell. */
static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void arm(int tfd, int ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L },
	};

	timerfd_settime(tfd, 0, &its, NULL);
}

/* The ADS stream's fd changes across reconnects: keep epoll in step. */
static void ads_sync_epoll(struct kmeshd *d, int ep, int *fd, uint32_t *events)
{
	struct epoll_event ev = {};
	int nfd = km_ads_fd(d->ads);
	uint32_t nev = km_ads_events(d->ads);

	if (nfd == *fd && nev == *events)
		return;
	if (*fd >= 0 && nfd != *fd)
		epoll_ctl(ep, EPOLL_CTL_DEL, *fd, NULL);
	ev.events = nev;
	ev.data.fd = nfd;
	if (nfd >= 0)
		epoll_ctl(ep, nfd == *fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, nfd, &ev);
	*fd = nfd;
	*events = nev;
}

/* The settle timer fired: reload, unless only a watch event asked and the
 * file is the one already read (a swap that changed nothing, a re-armed
 * watch). */
static void settled(struct kmeshd *d, struct watch *w)
{
	struct stat st;
	bool force = w->force;

	w->pending = w->force = false;
	if (w->dir_wd < 0 && watch_arm(w) == 0)
		logmsg(LOG_INFO, "%s is back: watching it again", w->dir);
	/* a writer opened it again (an in-place rewrite right after the
	 * last): its close schedules the reload */
	if (!force && w->writing)
		return;
	/* a watch event for a file not there (yet): wait for it */
	if (!force && (stat(d->config, &st) || same_file(&st, &d->loaded)))
		return;
	if (force) {
		logmsg(LOG_INFO, "SIGHUP: reloading %s", d->config);
		km_notify("RELOADING=1");
	} else {
		logmsg(LOG_INFO, "%s changed: reloading", d->config);
	}
	apply_config(d);
	if (force)
		km_notify("READY=1");
}

/* Both a rename and a SIGHUP schedule the one reload: a tool that does both
 * gets one. The watch's completed writes restart the settle time; a write
 * in progress delays a scheduled reload but never schedules one. */
static void schedule(struct watch *w, int tfd, enum watch_what what, bool hup)
{
	if (hup) {
		w->force = true;
		if (!w->pending)
			arm(tfd, 1);
		w->pending = true;
	} else if (what == W_DONE || (what == W_WRITING && w->pending)) {
		arm(tfd, KM_RELOAD_DEBOUNCE_MS);
		w->pending = true;
	}
}

/* epoll_wait's timeout of two: -1 is none */
static int min_timeout(int a, int b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* The resolver's due work; true when the state file should say so. */
static bool dns_step(struct kmeshd *d)
{
	bool news = km_dns_process(d->dns, km_now_ms());

	if (km_dns_take_change(d->dns))
		dns_changed(d);
	return news;
}

static void wl_log(const char *msg)
{
	logmsg(LOG_INFO, "authorization: %s", msg);
}

/* Workload mode: enrolled netns get their Workload's identity (once a
 * second at most; enrollments come and go between responses). */
static void wl_scan(struct kmeshd *d)
{
	struct km_enroll_maps mp = { d->maps.enroll, d->maps.ident };
	struct km_wl_workload **w;
	size_t n;

	if (!d->xds.workload || km_now_ms() - d->wl_scan_ms < 1000)
		return;
	d->wl_scan_ms = km_now_ms();
	w = km_ads_workloads(d->ads, &n);
	if (w)
		kmd_wl_idents(&mp, w, n, d->xds.node.node_name, wl_log);
	free(w);
}

static void responder_log(bool warn, const char *msg)
{
	logmsg(warn ? LOG_WARN : LOG_INFO, "%s", msg);
}

/* Local replies in every enrolled netns, as in ours (docs/l7.md "Network
 * namespaces"); once a second at most, unless @now (an enrollment). */
static void responder_scan(struct kmeshd *d, bool now)
{
	struct km_enroll_row *rows;
	int n;

	if (!now && km_now_ms() - d->reply_scan_ms < 1000)
		return;
	d->reply_scan_ms = km_now_ms();
	rows = calloc(KM_MAX_ENROLL, sizeof(*rows));
	if (!rows)
		return;
	n = km_enroll_netns_live(d->maps.enroll, rows, KM_MAX_ENROLL);
	km_responder_netns(rows, n, responder_log);
	free(rows);
}

static int run(struct kmeshd *d)
{
	int ep, sfd, tfd, ret = 0, ads_fd = -1, dns_fd = -1;
	struct epoll_event ev = { .events = EPOLLIN }, evs[8];
	uint32_t ads_events = 0;
	struct watch w = { .fd = -1 };

	sfd = setup_signals();
	if (!d->ads && (ret = watch_init(&w, d->config)) == 0 && watch_arm(&w))
		logmsg(LOG_WARN, "%s is missing: waiting for it (watching %s)",
		       w.dir, w.parent);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ret || tfd < 0 || ep < 0) {
		logmsg(LOG_ERR, "setting up the event loop: %s%s",
		       strerror(sfd < 0 ? -sfd : ret ? -ret : errno),
		       ret ? " (watching the config file's directory)" : "");
		return -1;
	}
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	if (w.fd >= 0) {
		ev.data.fd = w.fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, w.fd, &ev);
		/* a change between the first load and the watch */
		schedule(&w, tfd, W_DONE, false);
	}
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	if (d->dns) {
		ev.data.fd = dns_fd = km_dns_fd(d->dns);
		epoll_ctl(ep, EPOLL_CTL_ADD, dns_fd, &ev);
	}
	ev.data.fd = km_control_fd(d->ctl);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);

	km_notify("READY=1");
	for (;;) {
		int timeout = -1, n;

		if (d->ads) {
			ads_sync_epoll(d, ep, &ads_fd, &ads_events);
			timeout = km_ads_timeout_ms(d->ads, km_now_ms());
		}
		if (d->dns)
			timeout = min_timeout(timeout,
					      km_dns_timeout_ms(d->dns, km_now_ms()));
		timeout = min_timeout(timeout, 1000);	/* responder_scan */
		n = epoll_wait(ep, evs, 8, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		/* answers, timeouts and refreshes, whatever woke the loop */
		if (d->dns && dns_step(d))
			write_state(d);
		if (d->ads && n == 0) {
			km_ads_tick(d->ads, km_now_ms());
			write_state(d);
		}
		if (d->ads)
			wl_scan(d);
		responder_scan(d, false);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP && d->ads) {
						logmsg(LOG_INFO, "SIGHUP: the config comes from xDS, nothing to reload");
					} else if (si.ssi_signo == SIGHUP) {
						schedule(&w, tfd, W_NONE, true);
					} else {
						logmsg(LOG_INFO, "exiting; programs stay attached and generation %llu keeps serving",
						       (unsigned long long)d->generation);
						km_notify("STOPPING=1");
						goto out;
					}
				}
			} else if (fd == w.fd) {
				schedule(&w, tfd, watch_read(&w), false);
			} else if (fd == tfd) {
				uint64_t x;

				if (read(tfd, &x, sizeof(x)) == sizeof(x))
					settled(d, &w);
			} else if (fd == km_control_fd(d->ctl)) {
				km_control_serve(d->ctl);
				responder_scan(d, true);	/* an enrollment */
			} else if (d->ads && fd == ads_fd) {
				km_ads_io(d->ads, evs[i].events);
				write_state(d);
			}
		}
	}
out:
	close(ep);
	close(tfd);
	if (w.fd >= 0)
		close(w.fd);
	close(sfd);
	return ret;
}

/* --check: one line per listener of a kind */
static void list_kind(const char *config, const char **names, size_t n,
		      const char *what)
{
	for (size_t i = 0; i < n; i++)
		printf("%s: listener '%s' %s\n", config, names[i], what);
}

static void list_not_enforced(const char *config, const struct km_model *m)
{
	struct km_ne_item ne[KM_NE_COUNT];
	size_t n = km_not_enforced(m, ne);

	for (size_t i = 0; i < n; i++)
		printf("%s: not enforced: %s in %zu resource(s), e.g. '%s': %s\n",
		       config, ne[i].kind, ne[i].count, ne[i].example, ne[i].why);
}

static int check_only(const char *config, bool strict)
{
	struct km_model m = {};
	struct km_records r = {};
	struct km_err err = {};
	int ret;

	ret = km_config_load_file_flags(config, strict ? KM_CONFIG_STRICT : 0,
					&m, &err);
	if (!ret)
		ret = km_compile(&m, &r, &err);
	if (ret) {
		fprintf(stderr, "kmeshd: %s\n", err.msg);
	} else {
		printf("%s: ok: %zu listeners, %zu clusters, %zu service addresses, %zu endpoints\n",
		       config, m.n_listeners, m.n_clusters, r.n_frontends, r.n_endpoints);
		list_kind(config, r.l7_listeners, r.n_l7_listeners,
			  "is HTTP: routed by kmesh.ko on the first request, or served as L4 to its default route without it");
		list_kind(config, r.sniffed, r.n_sniffed,
			  "is sniffed: HTTP routed by kmesh.ko, served as its TCP chain without it");
		list_kind(config, r.port_wide, r.n_port_wide,
			  "is port-wide HTTP: a frontend per virtual host domain that is an IP");
		list_kind(config, r.inbound, r.n_inbound,
			  "is inbound: kept, no frontend");
		for (size_t i = 0; i < m.n_clusters; i++)
			if (km_cluster_is_dns(&m.clusters[i]))
				printf("%s: cluster '%s' is %s: its names are resolved by kmeshd (dns_lookup_family %s)\n",
				       config, m.clusters[i].name,
				       km_cluster_type_name(m.clusters[i].type),
				       km_dns_family_name(m.clusters[i].dns.family));
		list_not_enforced(config, &m);
		for (size_t i = 0; i < r.authz.n_fail_closed; i++)
			printf("%s: authorization: %s\n", config,
			       r.authz.fail_closed[i]);
	}
	km_records_free(&r);
	km_model_free(&m);
	if (!ret)
		ret = km_control_check_policy(config);
	return ret ? 1 : 0;
}

/* flag, else environment, else the config file's node */
static const char *pick(const char *flag, const char *env, const char *file)
{
	return flag ? flag : getenv(env) ? getenv(env) : file;
}

/* --xds HOST:PORT and the node identity, from flags or the environment
 * istio-agent sets. Returns 0, or 2 with a message. */
static int setup_xds(struct kmeshd *d, const char *addr, const char *pod_ip,
		     const char *pod_name, bool config_given)
{
	static char host[256], id[600];
	struct km_ads_node *n = &d->xds.node;
	const char *colon = strrchr(addr, ':');
	char *end;
	long port;

	if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host)) {
		fprintf(stderr, "kmeshd: --xds %s: expected HOST:PORT (e.g. istiod.istio-system:15010)\n", addr);
		return 2;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535) {
		fprintf(stderr, "kmeshd: --xds %s: port must be 1-65535\n", addr);
		return 2;
	}
	memcpy(host, addr, colon - addr);
	host[colon - addr] = 0;
	/* [v6]:port */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	d->xds.host = host;
	d->xds.port = port;
	/* The config file may carry Envoy's bootstrap node (id, cluster,
	 * metadata); its static_resources are not used with xDS. */
	if (config_given || access(d->config, F_OK) == 0) {
		struct km_err err = {};

		if (km_config_load_node_file(d->config, &d->boot, &err)) {
			fprintf(stderr, "kmeshd: %s\n", err.msg);
			return 2;
		}
	}
	const struct km_node *fn = &d->boot.node;

	pod_ip = pick(pod_ip, "INSTANCE_IP", NULL);
	pod_name = pick(pod_name, "POD_NAME", NULL);
	n->id = n->id ? n->id : fn->id;
	n->cluster = fn->cluster;
	n->namespace_ = pick(n->namespace_, "POD_NAMESPACE", fn->namespace_);
	n->cluster_id = pick(n->cluster_id, "CLUSTER_ID", fn->cluster_id);
	n->istio_version = pick(n->istio_version, "ISTIO_VERSION", fn->istio_version);
	n->node_name = pick(n->node_name, "NODE_NAME", fn->node_name);
	n->labels = pick(n->labels, "ISTIO_LABELS", fn->labels);
	n->instance_ips = pod_ip ? pod_ip : fn->instance_ips;
	n->name = pod_name;
	n->service_account = pick(n->service_account, "SERVICE_ACCOUNT", NULL);
	if (!n->id) {
		if (!pod_ip || !pod_name || !n->namespace_) {
			fprintf(stderr, "kmeshd: --xds needs the node id: --node-id, node.id in the config file, or --pod-ip, --pod-name and --pod-namespace (or $INSTANCE_IP, $POD_NAME, $POD_NAMESPACE)\n");
			return 2;
		}
		snprintf(id, sizeof(id), "%s~%s~%s.%s~%s.svc.cluster.local",
			 d->xds.workload ? "ztunnel" : "sidecar",
			 pod_ip, pod_name, n->namespace_, n->namespace_);
		n->id = id;
	}
	/* the workload's own addresses, for its inbound policies (authz.h) */
	if (snprintf(d->instance_ips, sizeof(d->instance_ips), "%s",
		     n->instance_ips ? n->instance_ips : "") >=
	    (int)sizeof(d->instance_ips)) {
		fprintf(stderr, "kmeshd: INSTANCE_IPS: longer than %zu characters: %s\n",
			sizeof(d->instance_ips) - 1, n->instance_ips);
		return 2;
	}
	if (!d->instance_ips[0] && n->id) {
		/* Istio's node id: TYPE~IP~POD.NS~DOMAIN */
		const char *ip = strchr(n->id, '~');

		if (!ip || sscanf(ip + 1, "%63[^~]", d->instance_ips) != 1)
			d->instance_ips[0] = 0;
	}
	snprintf(d->source_buf, sizeof(d->source_buf), "xds %s", addr);
	d->source = d->source_buf;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kmeshd [options]\n"
		"  -c, --config FILE    Envoy-style static_resources YAML (default " KM_DEFAULT_CONFIG ")\n"
		"      --cgroup DIR     cgroup v2 directory to attach to (default: the cgroup v2 mount)\n"
		"      --pin-root DIR   where maps and links are pinned (default " KM_PIN_ROOT ")\n"
		"      --state-dir DIR  where kmeshd.state is written (default " KM_STATE_DIR ")\n"
		"      --check          read and compile the config, report, exit (0 ok, 1 invalid)\n"
		"      --uninstall      detach the programs and remove every pin (config and enrollments are lost)\n"
		"      --xds HOST:PORT  take the config from an xDS (ADS over gRPC) server: istiod:15010\n"
		"                       (plaintext h2c), or istiod.istio-system.svc:15012 with --xds-ca\n"
		"                       (TLS); --xds-address is the same flag\n"
		"      --xds-delta      use Delta ADS instead of state of the world\n"
		"      --xds-mode MODE  envoy (default: Listeners, Clusters, Routes as a sidecar gets\n"
		"                       them) or workload (Istio's ambient API as ztunnel gets it:\n"
		"                       Authorization and Address over Delta ADS, the policies\n"
		"                       enforced on this node's workloads, --node-name; docs/authz.md)\n"
		"      --strict         refuse (NACK, or reject the config file) what kmesh would\n"
		"                       accept without enforcing it (timeouts, retries, telemetry,\n"
		"                       Istio mTLS, ...: kmeshctl config)\n");
	xds_tls_usage(f);
	fprintf(f,
		"      --node-id ID     xDS node id (default sidecar~POD_IP~POD.NS~NS.svc.cluster.local,\n"
		"                       ztunnel~... in workload mode)\n"
		"      --pod-ip IP --pod-name NAME --pod-namespace NS --cluster-id ID\n"
		"      --istio-version V --node-name NAME --labels k=v,k=v --service-account SA\n"
		"                       (else $INSTANCE_IP, $POD_NAME, $POD_NAMESPACE, $SERVICE_ACCOUNT,\n"
		"                       $CLUSTER_ID, $ISTIO_VERSION, $NODE_NAME, $ISTIO_LABELS; every\n"
		"                       $ISTIO_META_<KEY> is sent as metadata KEY, as istio-agent does)\n"
		"                       node metadata; default from $INSTANCE_IP, $POD_NAME,\n"
		"                       $POD_NAMESPACE, $CLUSTER_ID, $ISTIO_VERSION, $NODE_NAME, $ISTIO_LABELS,\n"
		"                       else the config file's node (id, cluster, metadata)\n"
		"      --sockmap        load the sockmap programs: join node-local TCP connections of\n"
		"                       workloads enabled with 'kmeshctl sockmap enable' (off by default;\n"
		"                       without it a previously loaded sockmap is removed)\n"
		"      --dns-server ADDR[:PORT][,...]\n"
		"                       where STRICT_DNS / LOGICAL_DNS names are resolved\n"
		"                       (default: /etc/resolv.conf), e.g. 127.0.0.1:5353\n"
		"      --peer-vip MODE  how getpeername shows a routed socket the VIP it dialed:\n"
		"                       cookie (default: an LRU table keyed by the socket cookie,\n"
		"                       no allocation per connect), storage (socket storage: exact\n"
		"                       however many sockets, an allocation per connect) or off\n"
		"                       (getpeername shows the endpoint); docs/performance.md\n"
		"      --no-peer-vip    the same as --peer-vip off\n"
		);
	km_tel_usage(f);
	fprintf(f,
		"  -v, --verbose        debug logging, including libbpf's\n"
		"  -h, --help\n"
		"Signals: SIGHUP reloads. SIGTERM exits and leaves traffic served. SIGUSR1 reopens the access log.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "pin-root", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'k' },
		{ "uninstall", no_argument, NULL, 'u' },
		{ "no-peer-vip", no_argument, NULL, 'n' },
		{ "peer-vip", required_argument, NULL, 1009 },
		{ "sockmap", no_argument, NULL, 1008 },
		{ "dns-server", required_argument, NULL, 1010 },
		{ "xds", required_argument, NULL, 'X' },
		{ "xds-delta", no_argument, NULL, 'D' },
		{ "xds-mode", required_argument, NULL, 1022 },
		{ "strict", no_argument, NULL, 1020 },
		{ "xds-address", required_argument, NULL, 'X' },
		{ "xds-ca", required_argument, NULL, KMD_XDS_TLS_OPT },
		{ "xds-san", required_argument, NULL, KMD_XDS_TLS_OPT + 1 },
		{ "xds-token", required_argument, NULL, KMD_XDS_TLS_OPT + 2 },
		{ "xds-cert", required_argument, NULL, KMD_XDS_TLS_OPT + 3 },
		{ "xds-key", required_argument, NULL, KMD_XDS_TLS_OPT + 4 },
		{ "node-id", required_argument, NULL, 1000 },
		{ "pod-ip", required_argument, NULL, 1001 },
		{ "pod-name", required_argument, NULL, 1002 },
		{ "pod-namespace", required_argument, NULL, 1003 },
		{ "cluster-id", required_argument, NULL, 1004 },
		{ "istio-version", required_argument, NULL, 1005 },
		{ "node-name", required_argument, NULL, 1006 },
		{ "labels", required_argument, NULL, 1007 },
		{ "service-account", required_argument, NULL, 1021 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		KM_TEL_LONG_OPTS,
		{}
	};
	struct kmeshd d = {
		.config = KM_DEFAULT_CONFIG,
		.pin_root = KM_PIN_ROOT,
		.state_dir = KM_STATE_DIR,
	};
	struct km_install_report rep;
	struct km_tel_opts tel;
	struct km_err err = {};
	bool check = false, uninstall = false, sockmap = false;
	__u8 peer_vip = KM_PEER_COOKIE;
	const char *xds_addr = NULL, *pod_ip = NULL, *pod_name = NULL;
	bool config_given = false;
	struct km_gen g;
	struct xds_tls xt = {};
	int c, ret;

	km_tel_opts_init(&tel);
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		if (c >= KM_TEL_OPT_FIRST && c <= KM_TEL_OPT_LAST) {
			if (km_tel_parse_opt(&tel, c, optarg))
				return 2;
			continue;
		}
		switch (c) {
		case 'c': d.config = optarg; config_given = true; break;
		case 'g': snprintf(d.cgroup, sizeof(d.cgroup), "%s", optarg); break;
		case 'p': d.pin_root = optarg; break;
		case 's': d.state_dir = optarg; break;
		case 'k': check = true; break;
		case 'u': uninstall = true; break;
		case 'n': peer_vip = KM_PEER_OFF; break;
		case 1009:
			if (!strcmp(optarg, "cookie"))
				peer_vip = KM_PEER_COOKIE;
			else if (!strcmp(optarg, "storage"))
				peer_vip = KM_PEER_STORAGE;
			else if (!strcmp(optarg, "off"))
				peer_vip = KM_PEER_OFF;
			else {
				fprintf(stderr, "kmeshd: --peer-vip %s: expected cookie, storage or off\n",
					optarg);
				return 2;
			}
			break;
		case 'X': xds_addr = optarg; break;
		case 'D': d.xds.delta = true; break;
		case 1000: d.xds.node.id = optarg; break;
		case 1001: pod_ip = optarg; break;
		case 1002: pod_name = optarg; break;
		case 1003: d.xds.node.namespace_ = optarg; break;
		case 1004: d.xds.node.cluster_id = optarg; break;
		case 1005: d.xds.node.istio_version = optarg; break;
		case 1006: d.xds.node.node_name = optarg; break;
		case 1007: d.xds.node.labels = optarg; break;
		case 1008: sockmap = true; break;
		case 1010: d.dns_server = optarg; break;
		case 1020: d.xds.strict = true; break;
		case 1022:
			if (strcmp(optarg, "envoy") && strcmp(optarg, "workload")) {
				fprintf(stderr, "kmeshd: --xds-mode '%s': envoy or workload\n", optarg);
				return 2;
			}
			/* ztunnel's types exist over Delta only */
			d.xds.workload = !strcmp(optarg, "workload");
			d.xds.delta |= d.xds.workload;
			break;
		case 1021: d.xds.node.service_account = optarg; break;
		case KMD_XDS_TLS_OPT ... KMD_XDS_TLS_OPT + KMD_XDS_TLS_NOPTS - 1:
			xds_tls_flag(&xt, c, optarg); break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kmeshd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check)
		return check_only(d.config, d.xds.strict);
	d.source = d.config;
	if (xds_addr && setup_xds(&d, xds_addr, pod_ip, pod_name, config_given))
		return 2;
	if (xds_tls_setup(&xt, &d.xds, xds_addr != NULL))
		return 2;
	d.xds.log = ads_log;

	libbpf_set_print(libbpf_log);
	if (uninstall) {
		ret = km_sockmap_uninstall(d.pin_root, &err);
		if (!ret)
			ret = km_bpf_uninstall(d.pin_root, &err);
		if (ret) {
			logmsg(LOG_ERR, "uninstall: %s", err.msg[0] ? err.msg :
			       strerror(-ret));
			return 1;
		}
		if (err.msg[0])
			logmsg(LOG_WARN, "programs detached, kmesh's pins removed; %s",
			       err.msg);
		else
			logmsg(LOG_INFO, "programs detached, %s removed", d.pin_root);
		return 0;
	}

	/* before anything is attached: a bad --dns-server is a usage error */
	if (km_dns_new(&d.dns, d.dns_server, logmsg, &err)) {
		if (d.dns_server) {
			fprintf(stderr, "kmeshd: --dns-server: %s\n", err.msg);
			return 2;
		}
		logmsg(LOG_WARN, "%s: DNS clusters get no endpoints", err.msg);
	}
	new_run_id(&d);
	if (!d.cgroup[0] && km_cgroup2_root(d.cgroup, sizeof(d.cgroup), &err)) {
		logmsg(LOG_ERR, "%s", err.msg);
		return 1;
	}
	ret = km_mkdir_p(d.state_dir, 0755);
	if (ret) {
		logmsg(LOG_ERR, "state dir %s: %s", d.state_dir, strerror(-ret));
		return 1;
	}
	/* L7 needs kmesh.ko; L4 works without it. Before the programs are
	 * loaded: their kfunc calls resolve at load time. */
	if (km_kmod_load(&err)) {
		logmsg(LOG_WARN, "%s", err.msg);
		snprintf(d.l7_why, sizeof(d.l7_why), "%s", err.msg);
	} else {
		d.l7_router = true;
		logmsg(LOG_INFO, "kmesh.ko loaded with BTF: kfuncs and deferred connect available");
	}
	ret = km_bpf_install(&(struct km_install_opts){
				     .pin_root = d.pin_root,
				     .cgroup = d.cgroup,
				     .peer_vip = peer_vip,
				     .events = tel.events,
				     .events_ring = tel.ring_bytes,
			     }, &rep, &err);
	if (ret) {
		logmsg(LOG_ERR, "%s", err.msg);
		return 1;
	}
	ret = sockmap ? km_sockmap_install(d.pin_root, d.cgroup, &err)
		      : km_sockmap_uninstall(d.pin_root, &err);
	if (ret) {
		logmsg(LOG_ERR, "sockmap: %s", err.msg);
		return 1;
	}
	if (sockmap)
		logmsg(LOG_INFO,
		       "sockmap loaded: sockops on %s; enable workloads with 'kmeshctl sockmap enable'",
		       d.cgroup);
	ret = km_maps_open(d.pin_root, &d.maps, &err);
	if (ret) {
		logmsg(LOG_ERR, "%s", err.msg);
		return 1;
	}
	if (km_maps_read_gen(&d.maps, &g) == 0)
		d.generation = g.generation;
	if (block_signals()) {
		logmsg(LOG_ERR, "signals: %s", strerror(errno));
		return 1;
	}
	if (km_telemetry_start(&tel, d.pin_root, d.state_dir, &err)) {
		logmsg(LOG_ERR, "%s", err.msg);
		return 1;
	}
	if (km_responder_start(KM_RESPONDER_PORT, &err))
		logmsg(LOG_WARN, "%s", err.msg);
	responder_scan(&d, true);
	logmsg(LOG_INFO, "programs attached to %s (%d new, %d replaced in place); pinned under %s; generation %llu serving%s",
	       d.cgroup, rep.attached, rep.replaced, d.pin_root,
	       (unsigned long long)d.generation,
	       peer_vip == KM_PEER_COOKIE ? "" :
	       peer_vip == KM_PEER_STORAGE ? "; getpeername's VIP in socket storage (--peer-vip storage)" :
	       "; getpeername shows endpoints (--peer-vip off)");
	if (rep.verified_max)
		logmsg(LOG_INFO, "verifier: at most %u instructions processed for one program (%s; the kernel's limit is 1000000)",
		       rep.verified_max, rep.verified_max_prog);

	ret = km_control_open(&d.ctl, &(struct km_control_opts){
				      .state_dir = d.state_dir, .pin_root = d.pin_root,
				      .config = d.config, .maps = { d.maps.enroll, d.maps.ident },
				      .log = logmsg }, &err);
	if (ret) {
		logmsg(LOG_ERR, "%s", err.msg);
		return 1;
	}
	if (xds_addr) {
		char how[600];
		int warn = xds_tls_summary(&d.xds, how, sizeof(how));

		logmsg(warn ? LOG_WARN : LOG_INFO, "xDS: to %s over %s%s", d.source, how,
		       warn ? "; port 15012 is istiod's TLS port: plaintext will not work there, add --xds-ca" : "");
		if (km_ads_new(&d.ads, &d.xds, apply_xds, &d, &err)) {
			logmsg(LOG_ERR, "xDS: %s", err.msg);
			return 1;
		}
		logmsg(LOG_INFO, "xDS: %s ADS%s to %s as node '%s'; generation %llu serves until the first response",
		       d.xds.delta ? "Delta" : "state-of-the-world",
		       d.xds.workload ? " (workload mode: Istio's Authorization and Address)" : "",
		       d.source, d.xds.node.id, (unsigned long long)d.generation);
		if (d.xds.workload && !(d.xds.node.node_name && *d.xds.node.node_name))
			logmsg(LOG_WARN, "xDS: workload mode without --node-name (or $NODE_NAME): the policies of every workload istiod sends apply to this node's connects to it");
		write_state(&d);
	} else {
		apply_config(&d);
	}
	ret = run(&d);
	km_responder_stop();
	km_telemetry_stop();
	d.stopped = true;
	write_state(&d);
	km_control_close(d.ctl);
	km_ads_free(d.ads);
	km_dns_free(d.dns);
	km_model_free(&d.kept);
	km_model_free(&d.boot);
	km_maps_close(&d.maps);
	free_l7(&d);
	return ret ? 1 : 0;
}
