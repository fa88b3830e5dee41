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
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bpf_loader.h"
#include "compiler.h"
#include "config_yaml.h"
#include "kmod.h"
#include "maps.h"
#include "notify.h"
#include "sys.h"

#define KM_DEFAULT_CONFIG "/etc/kmesh/mesh.yaml"
#define KM_DEFAULT_STATE_DIR "/run/kmesh"
/* Editors write a file in several steps; reload once it settles. */
#define KM_RELOAD_DEBOUNCE_MS 100

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
	size_t n_listeners, n_clusters, n_frontends, n_endpoints;
	char **l7_as_l4;
	size_t n_l7_as_l4;
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
	for (size_t i = 0; i < d->n_l7_as_l4; i++)
		free(d->l7_as_l4[i]);
	free(d->l7_as_l4);
	d->l7_as_l4 = NULL;
	d->n_l7_as_l4 = 0;
}

/*
 * The agent's report for kmeshctl: one "key=value" per line (values are
 * single lines; l7_as_l4 repeats), written atomically after every config
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
	fprintf(f, "pid=%d\nconfig=%s\ncgroup=%s\ngeneration=%llu\nlast_ok=%d\n",
		getpid(), d->config, d->cgroup, (unsigned long long)d->generation,
		d->last_ok);
	if (!d->last_ok)
		fprintf(f, "last_error=%s\n", d->last_error);
	fprintf(f, "last_attempt=%lld\napplied_at=%lld\nlisteners=%zu\nclusters=%zu\nfrontends=%zu\nendpoints=%zu\n",
		(long long)d->last_attempt, (long long)d->applied_at, d->n_listeners,
		d->n_clusters, d->n_frontends, d->n_endpoints);
	for (size_t i = 0; i < d->n_l7_as_l4; i++)
		fprintf(f, "l7_as_l4=%s\n", d->l7_as_l4[i]);
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
	d->l7_as_l4 = calloc(r->n_l7_as_l4 + 1, sizeof(char *));
	for (size_t i = 0; d->l7_as_l4 && i < r->n_l7_as_l4; i++)
		d->l7_as_l4[d->n_l7_as_l4++] = strdup(r->l7_as_l4[i]);
	d->n_listeners = m->n_listeners;
	d->n_clusters = m->n_clusters;
	d->n_frontends = r->n_frontends;
	d->n_endpoints = r->n_endpoints;
}

/* Config -> model -> records -> maps. Any failure leaves the live
 * generation serving. */
static int apply_config(struct kmeshd *d)
{
	struct km_model m = {};
	struct km_records r = {};
	struct km_err err = {};
	uint64_t gen = 0;
	int ret;

	d->last_attempt = time(NULL);
	ret = km_config_load_file(d->config, &m, &err);
	if (!ret)
		ret = km_compile(&m, &r, &err);
	if (!ret)
		ret = km_maps_apply(&d->maps, &r, &gen, &err);
	if (ret) {
		d->last_ok = false;
		snprintf(d->last_error, sizeof(d->last_error), "%s", err.msg);
		logmsg(LOG_ERR, "config rejected, generation %llu keeps serving: %s",
		       (unsigned long long)d->generation, err.msg);
		km_notify("STATUS=config rejected (generation %llu serving): %s",
			   (unsigned long long)d->generation, err.msg);
	} else {
		d->last_ok = true;
		d->generation = gen;
		d->applied_at = time(NULL);
		remember_applied(d, &m, &r);
		logmsg(LOG_INFO, "generation %llu applied from %s: %zu listeners, %zu clusters, %zu service addresses, %zu endpoints",
		       (unsigned long long)gen, d->config, m.n_listeners,
		       m.n_clusters, r.n_frontends, r.n_endpoints);
		for (size_t i = 0; i < r.n_l7_as_l4; i++)
			logmsg(LOG_WARN, "listener '%s' is HTTP: served as L4 to its default route (no L7 data path yet)",
			       r.l7_as_l4[i]);
		km_notify("STATUS=generation %llu: %zu listeners, %zu clusters",
			   (unsigned long long)gen, m.n_listeners, m.n_clusters);
	}
	write_state(d);
	km_records_free(&r);
	km_model_free(&m);
	return ret;
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

/* Watch the directory: editors and config management replace the file by
 * rename, which a watch on the file itself would lose. */
static int setup_watch(const char *config, const char **base)
{
	static char dir[PATH_MAX], file[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s", config);
	snprintf(file, sizeof(file), "%s", config);
	*base = basename(file);
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO |
			      IN_CREATE | IN_DELETE | IN_MOVED_FROM) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static bool watch_hit(int fd, const char *base)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len && strcmp(ev->name, base) == 0)
				hit = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return hit;
}

static void arm(int tfd, int ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L },
	};

	timerfd_settime(tfd, 0, &its, NULL);
}

static int run(struct kmeshd *d)
{
	int ep, sfd, wfd, tfd, ret = 0;
	struct epoll_event ev = { .events = EPOLLIN }, evs[4];
	const char *base;

	sfd = setup_signals();
	wfd = setup_watch(d->config, &base);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || wfd < 0 || tfd < 0 || ep < 0) {
		logmsg(LOG_ERR, "setting up the event loop: %s",
		       strerror(sfd < 0 ? -sfd : wfd < 0 ? -wfd : errno));
		return -1;
	}
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = wfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, wfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

	km_notify("READY=1");
	for (;;) {
		int n = epoll_wait(ep, evs, 4, -1);

		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						logmsg(LOG_INFO, "SIGHUP: reloading %s", d->config);
						km_notify("RELOADING=1");
						apply_config(d);
						km_notify("READY=1");
					} else {
						logmsg(LOG_INFO, "exiting; programs stay attached and generation %llu keeps serving",
						       (unsigned long long)d->generation);
						km_notify("STOPPING=1");
						goto out;
					}
				}
			} else if (fd == wfd) {
				if (watch_hit(wfd, base))
					arm(tfd, KM_RELOAD_DEBOUNCE_MS);
			} else if (fd == tfd) {
				uint64_t x;

				if (read(tfd, &x, sizeof(x)) == sizeof(x)) {
					logmsg(LOG_INFO, "%s changed: reloading", d->config);
					apply_config(d);
				}
			}
		}
	}
out:
	close(ep);
	close(tfd);
	close(wfd);
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
		for (size_t i = 0; i < r.n_l7_as_l4; i++)
			printf("%s: listener '%s' is HTTP: served as L4 to its default route\n",
			       config, r.l7_as_l4[i]);
	}
	km_records_free(&r);
	km_model_free(&m);
	return ret ? 1 : 0;
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
	bool check = false, uninstall = false, peer_vip = true;
	struct km_gen g;
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d.config = optarg; break;
		case 'g': snprintf(d.cgroup, sizeof(d.cgroup), "%s", optarg); break;
		case 'p': d.pin_root = optarg; break;
		case 's': d.state_dir = optarg; break;
		case 'k': check = true; break;
		case 'u': uninstall = true; break;
		case 'n': peer_vip = false; break;
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

	libbpf_set_print(libbpf_log);
	if (uninstall) {
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
	ret = km_bpf_install(&(struct km_install_opts){
				     .pin_root = d.pin_root,
				     .cgroup = d.cgroup,
				     .peer_vip = peer_vip,
			     }, &rep, &err);
	if (ret) {
		logmsg(LOG_ERR, "%s", err.msg);
		return 1;
	}
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

	/* L7 needs kmesh.ko; L4 works without it. */
	if (km_kmod_load(&err))
		logmsg(LOG_WARN, "%s", err.msg);
	else
		logmsg(LOG_INFO, "kmesh.ko loaded with BTF: kfuncs and deferred connect available");

	apply_config(&d);
	ret = run(&d);
	km_maps_close(&d.maps);
	free_l7(&d);
	return ret ? 1 : 0;
}
