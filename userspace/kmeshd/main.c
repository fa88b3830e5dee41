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
#include <malloc.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bpf_loader.h"
#include "compiler.h"
#include "config_yaml.h"
#include "ads.h"
#include "kmod.h"
#include "maps.h"
#include "notify.h"
#include "sockmap.h"
#include "sys.h"
#include "watch.h"

#define KM_DEFAULT_CONFIG "/etc/kmesh/mesh.yaml"
#define KM_DEFAULT_STATE_DIR "/run/kmesh"

struct kmeshd {
	const char *config;
	const char *pin_root;
	const char *state_dir;
	char cgroup[PATH_MAX];
	struct km_maps maps;
	int verbose;

	/* last outcome, for the state file */
	uint64_t generation;
	bool last_ok;
	char last_error[sizeof(((struct km_err *)0)->msg)];
	time_t last_attempt;
	time_t applied_at;
	uint64_t applied_hash;	/* the file's bytes that make the generation */
	bool applied_hash_set;
	char run_id[17];	/* random, per run, in the state file */
	bool stopped;
	size_t n_listeners, n_clusters, n_frontends, n_endpoints;
	char **l7;		/* HTTP listeners of the applied config */
	size_t n_l7;
	/* kmesh.ko with the L7 router was there when the programs were
	 * loaded (kfuncs resolve at load time); else why not */
	bool l7_router;
	char l7_why[sizeof(((struct km_err *)0)->msg)];

	/* xDS: the config comes from an ADS server instead of the file */
	struct km_ads *ads;
	struct km_ads_opts xds;
	const char *source;	/* the config file, or "xds HOST:PORT" */
	struct km_model boot;	/* xDS: the config file's node, as defaults */
	char source_buf[300];
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
	/* run: this kmeshd's own id, so a tool that started it can tell its
	 * generations from an earlier run's; state: stopped once it exits */
	fprintf(f, "run=%s\nstate=%s\npid=%d\nconfig=%s\ncgroup=%s\ngeneration=%llu\nlast_ok=%d\n",
		d->run_id, d->stopped ? "stopped" : "running", getpid(),
		d->source, d->cgroup, (unsigned long long)d->generation,
		d->last_ok);
	if (!d->last_ok)
		fprintf(f, "last_error=%s\n", d->last_error);
	fprintf(f, "last_attempt=%lld\napplied_at=%lld\nlisteners=%zu\nclusters=%zu\nfrontends=%zu\nendpoints=%zu\n",
		(long long)d->last_attempt, (long long)d->applied_at, d->n_listeners,
		d->n_clusters, d->n_frontends, d->n_endpoints);
	fprintf(f, "l7_router=%d\n", d->l7_router);
	if (!d->l7_router)
		fprintf(f, "l7_why=%s\n", d->l7_why);
	for (size_t i = 0; i < d->n_l7; i++)
		fprintf(f, "l7=%s\n", d->l7[i]);
	if (d->ads)
		km_ads_write_state(d->ads, f);
	fclose(f);

	snprintf(path, sizeof(path), "%s/kmeshd.state", d->state_dir);
	ret = km_write_file_atomic(path, buf, len);
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

/* Model -> records -> maps, for either source. Any failure leaves the live
 * generation serving. */
static int apply_model(struct kmeshd *d, const struct km_model *m,
		       struct km_err *err)
{
	struct km_records r = {};
	uint64_t gen = 0, t0 = km_now_ms();
	int ret;

	d->last_attempt = time(NULL);
	ret = km_compile(m, &r, err);
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
		d->applied_at = time(NULL);
		remember_applied(d, m, &r);
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
			logmsg(LOG_INFO, "%zu inbound listener(s) kept, not served (no frontend; for authorization), e.g. '%s'",
			       r.n_inbound, r.inbound[0]);
		km_notify("STATUS=generation %llu: %zu listeners, %zu clusters",
			  (unsigned long long)gen, m->n_listeners, m->n_clusters);
	}
	write_state(d);
	km_records_free(&r);
	return ret;
}

/* The config file: read, then apply. */
/* FNV-1a: is the file the one applied last time? */
static uint64_t content_hash(const char *b, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)b[i]) * 0x100000001b3ull;
	return h;
}

/*
 * Reload the file. The same bytes as the generation serving are not
 * applied again: the file's events and a SIGHUP that follow one change
 * (config management renames, then signals) make one reload, not two.
 * A rejected file is tried again: what failed may have been transient.
 */
static int apply_config(struct kmeshd *d)
{
	struct km_model m = {};
	struct km_err err = {};
	char *buf = NULL;
	size_t len = 0;
	uint64_t h = 0;
	int ret;

	ret = km_read_regular_file(d->config, KM_CONFIG_MAX_BYTES, &buf, &len,
				   &err);
	if (!ret) {
		h = content_hash(buf, len);
		if (d->last_ok && d->applied_hash_set && h == d->applied_hash) {
			d->last_attempt = time(NULL);
			logmsg(LOG_INFO, "%s is unchanged: generation %llu keeps serving",
			       d->config, (unsigned long long)d->generation);
			write_state(d);
			free(buf);
			return 0;
		}
		logmsg(LOG_INFO, "%s changed: reloading", d->config);
		ret = km_config_load_string(d->config, buf, len, &m, &err);
	}
	free(buf);
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
		d->applied_hash = h;
		d->applied_hash_set = ret == 0;
	}
	km_model_free(&m);
	/* a big config's model is freed in many small blocks: give the heap
	 * back, or the peak stays resident until the next big load */
	malloc_trim(0);
	return ret;
}

/* ADS hands over each candidate model: a failure here NACKs it. */
static int apply_xds(void *arg, const struct km_model *m, struct km_err *err)
{
	return apply_model(arg, m, err);
}

static int setup_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* (Re)start @tfd to fire once in @ms, or every @ms if @periodic. */
static void arm(int tfd, int ms, bool periodic)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	struct itimerspec its = { .it_value = t };

	if (periodic)
		its.it_interval = t;
	timerfd_settime(tfd, 0, &its, NULL);
}

static void disarm(int tfd)
{
	struct itimerspec its = {};

	timerfd_settime(tfd, 0, &its, NULL);
}

static bool armed(int tfd)
{
	struct itimerspec its;

	return timerfd_gettime(tfd, &its) == 0 &&
	       (its.it_value.tv_sec || its.it_value.tv_nsec);
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

/* The config watch's event, in the loop: settle, or look for a lost
 * directory (every KM_WATCH_RETRY_MS) until it is back. */
#define KM_WATCH_RETRY_MS 500

static void on_watch(struct kmeshd *d, struct km_watch *w, int tfd, int rfd)
{
	switch (km_watch_read(w)) {
	case KM_WATCH_CHANGED:
		arm(tfd, KM_WATCH_SETTLE_MS, false);
		break;
	case KM_WATCH_ACTIVITY:
		/* being written: the reload waits for the last write */
		if (armed(tfd))
			arm(tfd, KM_WATCH_SETTLE_MS, false);
		break;
	case KM_WATCH_LOST:
		logmsg(LOG_WARN, "the watch on %s is lost (the directory was deleted or moved away): changes to %s are not seen until it is back",
		       w->dir, d->config);
		arm(rfd, KM_WATCH_RETRY_MS, true);
		break;
	case KM_WATCH_NONE:
		break;
	}
}

static int run(struct kmeshd *d)
{
	int ep, sfd, tfd, rfd, ret = 0, ads_fd = -1, wret = 0;
	struct epoll_event ev = { .events = EPOLLIN }, evs[8];
	struct km_watch w = { .fd = -1 };
	uint32_t ads_events = 0;

	sfd = setup_signals();
	if (!d->ads)
		wret = km_watch_open(&w, d->config);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	rfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || wret < 0 || tfd < 0 || rfd < 0 || ep < 0) {
		logmsg(LOG_ERR, "setting up the event loop: %s%s",
		       strerror(sfd < 0 ? -sfd : wret < 0 ? -wret : errno),
		       wret < 0 ? " (watching the config file's directory)" : "");
		return -1;
	}
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	if (w.fd >= 0) {
		ev.data.fd = w.fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, w.fd, &ev);
		if (w.wd < 0) {
			logmsg(LOG_WARN, "cannot watch %s (%s): changes to %s are not seen until it exists",
			       w.dir, strerror(errno), d->config);
			arm(rfd, KM_WATCH_RETRY_MS, true);
		}
	}
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = rfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &ev);

	km_notify("READY=1");
	for (;;) {
		int timeout = -1, n;

		if (d->ads) {
			ads_sync_epoll(d, ep, &ads_fd, &ads_events);
			timeout = km_ads_timeout_ms(d->ads, km_now_ms());
		}
		n = epoll_wait(ep, evs, 8, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (d->ads && n == 0) {
			km_ads_tick(d->ads, km_now_ms());
			write_state(d);
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP && d->ads) {
						logmsg(LOG_INFO, "SIGHUP: the config comes from xDS, nothing to reload");
					} else if (si.ssi_signo == SIGHUP) {
						/* with the file's own events: a
						 * rename and a SIGHUP reload once */
						logmsg(LOG_INFO, "SIGHUP: reloading %s", d->config);
						arm(tfd, KM_WATCH_SETTLE_MS, false);
					} else {
						logmsg(LOG_INFO, "exiting; programs stay attached and generation %llu keeps serving",
						       (unsigned long long)d->generation);
						km_notify("STOPPING=1");
						goto out;
					}
				}
			} else if (fd == w.fd) {
				on_watch(d, &w, tfd, rfd);
			} else if (fd == rfd) {
				uint64_t x;

				if (read(rfd, &x, sizeof(x)) == sizeof(x) &&
				    km_watch_rearm(&w)) {
					logmsg(LOG_INFO, "watching %s again", w.dir);
					disarm(rfd);
					arm(tfd, KM_WATCH_SETTLE_MS, false);
				}
			} else if (fd == tfd) {
				uint64_t x;

				if (read(tfd, &x, sizeof(x)) == sizeof(x)) {
					km_notify("RELOADING=1");
					apply_config(d);
					km_notify("READY=1");
				}
			} else if (d->ads && fd == ads_fd) {
				km_ads_io(d->ads, evs[i].events);
				write_state(d);
			}
		}
	}
out:
	close(ep);
	close(tfd);
	close(rfd);
	km_watch_close(&w);
	close(sfd);
	return ret;
}

static int check_only(const char *config)
{
	struct km_model m = {};
	struct km_records r = {};
	struct km_err err = {};
	int ret;

	ret = km_config_load_file(config, &m, &err);
	if (!ret)
		ret = km_compile(&m, &r, &err);
	if (ret) {
		fprintf(stderr, "kmeshd: %s\n", err.msg);
	} else {
		printf("%s: ok: %zu listeners, %zu clusters, %zu service addresses, %zu endpoints\n",
		       config, m.n_listeners, m.n_clusters, r.n_frontends, r.n_endpoints);
		for (size_t i = 0; i < r.n_l7_listeners; i++)
			printf("%s: listener '%s' is HTTP: routed by kmesh.ko on the first request, or served as L4 to its default route without it\n",
			       config, r.l7_listeners[i]);
		for (size_t i = 0; i < r.n_sniffed; i++)
			printf("%s: listener '%s' is sniffed: HTTP routed by kmesh.ko, served as its TCP chain without it\n",
			       config, r.sniffed[i]);
		for (size_t i = 0; i < r.n_port_wide; i++)
			printf("%s: listener '%s' is port-wide HTTP: a frontend per virtual host domain that is an IP\n",
			       config, r.port_wide[i]);
		for (size_t i = 0; i < r.n_inbound; i++)
			printf("%s: listener '%s' is inbound: kept, no frontend\n",
			       config, r.inbound[i]);
	}
	km_records_free(&r);
	km_model_free(&m);
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
	if (!n->id) {
		if (!pod_ip || !pod_name || !n->namespace_) {
			fprintf(stderr, "kmeshd: --xds needs the node id: --node-id, node.id in the config file, or --pod-ip, --pod-name and --pod-namespace (or $INSTANCE_IP, $POD_NAME, $POD_NAMESPACE)\n");
			return 2;
		}
		snprintf(id, sizeof(id), "sidecar~%s~%s.%s~%s.svc.cluster.local",
			 pod_ip, pod_name, n->namespace_, n->namespace_);
		n->id = id;
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
		"      --state-dir DIR  where kmeshd.state is written (default " KM_DEFAULT_STATE_DIR ")\n"
		"      --check          read and compile the config, report, exit (0 ok, 1 invalid)\n"
		"      --uninstall      detach the programs and remove every pin (config and enrollments are lost)\n"
		"      --xds HOST:PORT  take the config from an xDS (ADS, gRPC h2c) server, e.g. istiod:15010\n"
		"      --xds-delta      use Delta ADS instead of state of the world\n"
		"      --node-id ID     xDS node id (default sidecar~POD_IP~POD.NS~NS.svc.cluster.local)\n"
		"      --pod-ip IP --pod-name NAME --pod-namespace NS --cluster-id ID\n"
		"      --istio-version V --node-name NAME --labels k=v,k=v\n"
		"                       node metadata; default from $INSTANCE_IP, $POD_NAME,\n"
		"                       $POD_NAMESPACE, $CLUSTER_ID, $ISTIO_VERSION, $NODE_NAME, $ISTIO_LABELS,\n"
		"                       else the config file's node (id, cluster, metadata)\n"
		"      --sockmap        load the sockmap programs: join node-local TCP connections of\n"
		"                       workloads enabled with 'kmeshctl sockmap enable' (off by default;\n"
		"                       without it a previously loaded sockmap is removed)\n"
		"      --no-peer-vip    getpeername shows the endpoint, not the VIP; saves about 1 us\n"
		"                       per routed connect (no per-socket state)\n"
		"  -v, --verbose        debug logging, including libbpf's\n"
		"  -h, --help\n"
		"Signals: SIGHUP reloads. SIGTERM exits and leaves traffic served.\n");
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
		{ "sockmap", no_argument, NULL, 1008 },
		{ "xds", required_argument, NULL, 'X' },
		{ "xds-delta", no_argument, NULL, 'D' },
		{ "node-id", required_argument, NULL, 1000 },
		{ "pod-ip", required_argument, NULL, 1001 },
		{ "pod-name", required_argument, NULL, 1002 },
		{ "pod-namespace", required_argument, NULL, 1003 },
		{ "cluster-id", required_argument, NULL, 1004 },
		{ "istio-version", required_argument, NULL, 1005 },
		{ "node-name", required_argument, NULL, 1006 },
		{ "labels", required_argument, NULL, 1007 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct kmeshd d = {
		.config = KM_DEFAULT_CONFIG,
		.pin_root = KM_PIN_ROOT,
		.state_dir = KM_DEFAULT_STATE_DIR,
	};
	struct km_install_report rep;
	struct km_err err = {};
	bool check = false, uninstall = false, peer_vip = true, sockmap = false;
	const char *xds_addr = NULL, *pod_ip = NULL, *pod_name = NULL;
	bool config_given = false;
	struct km_gen g;
	int c, ret;

	{
		uint64_t id = 0;

		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
		snprintf(d.run_id, sizeof(d.run_id), "%016llx", (unsigned long long)id);
	}
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d.config = optarg; config_given = true; break;
		case 'g': snprintf(d.cgroup, sizeof(d.cgroup), "%s", optarg); break;
		case 'p': d.pin_root = optarg; break;
		case 's': d.state_dir = optarg; break;
		case 'k': check = true; break;
		case 'u': uninstall = true; break;
		case 'n': peer_vip = false; break;
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
		return check_only(d.config);
	d.source = d.config;
	if (xds_addr && setup_xds(&d, xds_addr, pod_ip, pod_name, config_given))
		return 2;

	libbpf_set_print(libbpf_log);
	if (uninstall) {
		ret = km_sockmap_uninstall(d.pin_root, &err);
		if (!ret)
			ret = km_bpf_uninstall(d.pin_root, &err);
		if (ret) {
			logmsg(LOG_ERR, "uninstall: %s", err.msg);
			return 1;
		}
		logmsg(LOG_INFO, "programs detached, %s removed", d.pin_root);
		return 0;
	}

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
	logmsg(LOG_INFO, "programs attached to %s (%d new, %d replaced in place); pinned under %s; generation %llu serving%s",
	       d.cgroup, rep.attached, rep.replaced, d.pin_root,
	       (unsigned long long)d.generation,
	       peer_vip ? "" : "; getpeername shows endpoints (--no-peer-vip)");

	if (xds_addr) {
		if (km_ads_new(&d.ads, &d.xds, apply_xds, &d, &err)) {
			logmsg(LOG_ERR, "xDS: %s", err.msg);
			return 1;
		}
		logmsg(LOG_INFO, "xDS: %s ADS to %s as node '%s'; generation %llu serves until the first response",
		       d.xds.delta ? "Delta" : "state-of-the-world", d.source,
		       d.xds.node.id, (unsigned long long)d.generation);
		write_state(&d);
	} else {
		apply_config(&d);
	}
	ret = run(&d);
	d.stopped = true;
	write_state(&d);
	km_ads_free(d.ads);
	km_model_free(&d.boot);
	km_maps_close(&d.maps);
	free_l7(&d);
	return ret ? 1 : 0;
}
