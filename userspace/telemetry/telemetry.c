// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The telemetry's life: options, the ring reader thread, the /metrics body.
 *
 * The reader drains km_events on a timer (the kernel never wakes it:
 * BPF_RB_NO_WAKEUP), resolves each event's ids to names, counts it and
 * logs it. One lock guards the aggregates between the reader and the
 * HTTP thread; a scrape holds it only while it prints Istio's series.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "state.h"
#include "tel.h"

#define KM_TEL_DRAIN_MS 100
#define KM_TEL_DRAIN_BUSY_MS 5
#define KM_TEL_TCP_REPORT_S 5	/* Istio's tcp_reporting_duration */

static struct {
	struct km_tel_opts o;
	struct km_tel_names *names;
	struct km_tel_metrics *metrics;
	struct km_tel_log *log;
	struct km_tel_authz_log authz;	/* the reader's only */
	struct km_tel_agent agent;
	struct ring_buffer *rb;
	int ring_fd;
	int stop_fd;
	int iter_fd;		/* the pinned iterator link, or -1 */
	int netns_fd;		/* km_ev_netns */
	int self_ns;		/* the reader's network namespace */
	uint64_t next_report_ns;
	pthread_t reader;
	bool reader_up;
	pthread_mutex_t lock;
	int64_t mono_to_real;
	char pin_root[PATH_MAX];
	char state_file[PATH_MAX];
} T = { .ring_fd = -1, .stop_fd = -1, .iter_fd = -1, .netns_fd = -1,
	.self_ns = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER };

static volatile sig_atomic_t reopen_log;
static _Atomic uint64_t applied_gen, applied_ms;

void km_tel_opts_init(struct km_tel_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->events = true;
	o->metrics = KM_TEL_DEFAULT_METRICS;
	o->max_series = KM_TEL_DEFAULT_MAX_SERIES;
	o->drain_ms = KM_TEL_DRAIN_MS;
	o->tcp_report_s = KM_TEL_TCP_REPORT_S;
}

static int number(const char *opt, const char *arg, unsigned long lo,
		  unsigned long hi, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *out < lo || *out > hi) {
		fprintf(stderr, "kmeshd: --%s %s: expected a number from %lu to %lu\n",
			opt, arg, lo, hi);
		return 2;
	}
	return 0;
}

int km_tel_parse_opt(struct km_tel_opts *o, int c, const char *arg)
{
	unsigned long v;

	switch (c - KM_TEL_OPT_FIRST) {
	case 0: o->metrics = arg; o->metrics_given = true; return 0;
	case 1: o->metrics = NULL; return 0;
	case 2: o->events = false; o->metrics = NULL; return 0;
	case 3: o->access_log = arg; return 0;
	case 4: o->log_errors_only = true; return 0;
	case 5:
		if (number("access-log-sample", arg, 1, 100, &v))
			return 2;
		o->log_sample_pct = v;
		return 0;
	case 6:
		/* a power of two of pages: 4 KiB to 1 GiB */
		if (number("events-ring-kb", arg, 4, 1 << 20, &v))
			return 2;
		if (v & (v - 1)) {
			fprintf(stderr, "kmeshd: --events-ring-kb %s: must be a power of two (4, 8, 16, ... KiB)\n",
				arg);
			return 2;
		}
		o->ring_bytes = v * 1024;
		return 0;
	case 7:
		if (number("metrics-max-series", arg, 1, 1000000, &v))
			return 2;
		o->max_series = v;
		return 0;
	case 8:
		if (number("tcp-report-interval", arg, 0, 3600, &v))
			return 2;
		o->tcp_report_s = v;
		return 0;
	}
	return 2;
}

void km_tel_usage(FILE *f)
{
	fprintf(f,
		"      --metrics ADDR:PORT  serve /metrics (Prometheus; Istio's TCP metrics and kmesh's)\n"
		"                       and /healthz/ready (default " KM_TEL_DEFAULT_METRICS ")\n"
		"      --no-metrics     no HTTP server (events and the access log still work)\n"
		"      --no-telemetry   no connection events, metrics or access log\n"
		"      --access-log PATH|-  one JSON line per connection at its close; SIGUSR1 reopens PATH\n"
		"      --access-log-errors  log only connections with a response flag (refused, failed, reset)\n"
		"      --access-log-sample PCT  log PCT of the connections (1-100, evenly spread)\n"
		"      --events-ring-kb N   size of the connection events ring (power of two, default %u)\n"
		"      --metrics-max-series N  label sets per metric before the overflow series (default %u)\n"
		"      --tcp-report-interval S  report open connections' bytes every S seconds (default %u; 0: at close only)\n",
		KM_EV_RING_DEFAULT / 1024, KM_TEL_DEFAULT_MAX_SERIES, KM_TEL_TCP_REPORT_S);
}

static int64_t mono_to_real(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (int64_t)(r.tv_sec - m.tv_sec) * 1000000000 + (r.tv_nsec - m.tv_nsec);
}

static uint64_t mono_ns(void)
{
	struct timespec m;

	clock_gettime(CLOCK_MONOTONIC, &m);
	return (uint64_t)m.tv_sec * 1000000000 + m.tv_nsec;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct km_conn_event ev;
	struct km_tel_conn c;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	km_tel_resolve(T.names, &ev, &c);
	pthread_mutex_lock(&T.lock);
	km_tel_count(T.metrics, &c);
	T.agent.events_read++;
	pthread_mutex_unlock(&T.lock);
	if (ev.type == KM_EV_OPEN || ev.type == KM_EV_BYTES)
		return 0;	/* nothing to log */
	if (T.log || ev.reason == KM_EV_REASON_AUTHZ)
		km_tel_local(&c);
	km_tel_log_event(T.log, &c, T.mono_to_real);
	if (ev.type == KM_EV_REFUSED && ev.reason == KM_EV_REASON_AUTHZ)
		km_tel_authz_deny(&T.authz, &c, mono_ns(), stderr);
	return 0;
}

/* Runs the iterator in the network namespace of process @tgid: false
 * when that process is gone. */
static bool iterate_in(__u32 tgid)
{
	char path[64], buf[64];
	int ns, fd;

	snprintf(path, sizeof(path), "/proc/%u/ns/net", tgid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return false;
	/* the tcp iterator walks the namespace of its creator */
	if (setns(ns, CLONE_NEWNET) == 0) {
		fd = bpf_iter_create(T.iter_fd);
		while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
			;	/* the program writes nothing */
		if (fd >= 0)
			close(fd);
	}
	close(ns);
	return true;
}

/*
 * Every tcp_report_s, the iterator reports the bytes of open routed
 * connections (KM_EV_BYTES into the ring, read by the drain that
 * follows), in each network namespace routed connections came from
 * (km_ev_netns); the reader thread enters each, then its own again.
 */
static void report_open(void)
{
	uint64_t now = mono_ns(), key, next;
	bool more;
	__u32 tgid;

	if (T.iter_fd < 0 || T.netns_fd < 0 || T.self_ns < 0 ||
	    !T.o.tcp_report_s || now < T.next_report_ns)
		return;
	T.next_report_ns = now + T.o.tcp_report_s * 1000000000ull;
	more = bpf_map_get_next_key(T.netns_fd, NULL, &key) == 0;
	while (more) {
		more = bpf_map_get_next_key(T.netns_fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(T.netns_fd, &key, &tgid) == 0 &&
		    !iterate_in(tgid))
			bpf_map_delete_elem(T.netns_fd, &key);
		key = next;
	}
	if (setns(T.self_ns, CLONE_NEWNET))
		fprintf(stderr, "<3>kmeshd: telemetry: back to its network namespace: %s\n",
			strerror(errno));
}

/* Events read; the ring drained into the aggregates and the log. */
static int drain(void)
{
	uint64_t lines, errors;
	int n;

	if (reopen_log) {
		reopen_log = 0;
		km_tel_log_reopen(T.log);
	}
	T.mono_to_real = mono_to_real();
	km_tel_names_refresh(T.names);
	report_open();
	n = ring_buffer__consume(T.rb);
	km_tel_authz_tick(&T.authz, mono_ns(), stderr);
	km_tel_log_flush(T.log);
	km_tel_log_stats(T.log, &lines, &errors);
	pthread_mutex_lock(&T.lock);
	T.agent.log_lines = lines;
	T.agent.log_errors = errors;
	pthread_mutex_unlock(&T.lock);
	return n;
}

/*
 * While events come, the ring is drained every KM_TEL_DRAIN_BUSY_MS: the
 * work comes in small slices instead of one burst per period that would
 * hold a CPU for milliseconds (on a small, busy node that is latency for
 * everyone). Idle, it backs off to drain_ms.
 */
static void *reader(void *arg)
{
	struct pollfd p = { .fd = T.stop_fd, .events = POLLIN };
	int wait_ms = T.o.drain_ms;

	for (;;) {
		wait_ms = drain() > 0 ? KM_TEL_DRAIN_BUSY_MS :
			  wait_ms * 2 > (int)T.o.drain_ms ? (int)T.o.drain_ms :
			  wait_ms * 2;
		if (poll(&p, 1, wait_ms) > 0)
			break;
	}
	drain();	/* what came before the stop */
	km_tel_authz_flush(&T.authz, stderr);
	return NULL;
}

/* The /metrics body: Istio's series under the lock, kmesh's after it. */
static char *render(size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	pthread_mutex_lock(&T.lock);
	km_tel_metrics_write(T.metrics, f);
	struct km_tel_agent a = T.agent;
	pthread_mutex_unlock(&T.lock);
	a.applied_generation = atomic_load(&applied_gen);
	a.apply_ms = atomic_load(&applied_ms);
	km_tel_agent_write(&a, f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool ready(void)
{
	struct km_gen g = {};
	char path[PATH_MAX + 16];
	__u32 zero = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/km_gen", T.pin_root);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	bpf_map_lookup_elem(fd, &zero, &g);
	close(fd);
	return g.generation > 0;
}

static void on_sigusr1(int sig)
{
	reopen_log = 1;
}

/* Threads start with every signal blocked: the agent takes its signals
 * through a signalfd in its own thread. SIGUSR1 (reopen the log) is
 * caught wherever it lands and handled by the reader. */
static int start_threads(struct km_err *err)
{
	struct sigaction sa = { .sa_handler = on_sigusr1, .sa_flags = SA_RESTART };
	sigset_t all, old;
	int ret = 0;

	sigaction(SIGUSR1, &sa, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (T.o.metrics)
		ret = km_tel_http_start(T.o.metrics, render, ready, err);
	if (ret && !T.o.metrics_given) {
		/* the default port taken: metrics off, the rest on */
		fprintf(stderr, "<4>kmeshd: %s; serving without metrics (--metrics ADDR:PORT picks another)\n",
			err->msg);
		ret = 0;
	}
	if (!ret) {
		ret = -pthread_create(&T.reader, NULL, reader, NULL);
		if (ret)
			km_err_set(err, "telemetry thread: %s", strerror(-ret));
		T.reader_up = !ret;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

int km_telemetry_start(const struct km_tel_opts *o, const char *pin_root,
		       const char *state_dir, struct km_err *err)
{
	char path[PATH_MAX];
	int ret;

	if (!o->events)
		return 0;
	T.o = *o;
	snprintf(T.pin_root, sizeof(T.pin_root), "%s", pin_root);
	snprintf(T.state_file, sizeof(T.state_file), "%s/" KM_STATE_NAME, state_dir);
	T.agent.pin_root = T.pin_root;
	T.agent.state_file = T.state_file;
	T.agent.ring_bytes = o->ring_bytes ? o->ring_bytes : KM_EV_RING_DEFAULT;
	ret = km_tel_names_open(&T.names, pin_root, state_dir, err);
	if (ret)
		goto fail;
	T.metrics = km_tel_metrics_new(o->max_series);
	if (!T.metrics) {
		ret = -ENOMEM;
		km_err_set(err, "telemetry: out of memory");
		goto fail;
	}
	if (o->access_log) {
		ret = km_tel_log_open(&T.log, o, err);
		if (ret)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/km_events", pin_root);
	T.ring_fd = bpf_obj_get(path);
	T.rb = T.ring_fd < 0 ? NULL : ring_buffer__new(T.ring_fd, on_event, NULL, NULL);
	T.stop_fd = eventfd(0, EFD_CLOEXEC);
	snprintf(path, sizeof(path), "%s/link_km_ev_iter", pin_root);
	T.iter_fd = bpf_obj_get(path);	/* none: bytes at close only */
	snprintf(path, sizeof(path), "%s/km_ev_netns", pin_root);
	T.netns_fd = bpf_obj_get(path);
	T.self_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (!T.rb || T.stop_fd < 0) {
		ret = -errno;
		km_err_set(err, "telemetry: the events ring %s: %s", path,
			   strerror(errno));
		goto fail;
	}
	ret = start_threads(err);
	if (ret)
		goto fail;
	return 0;
fail:
	km_telemetry_stop();
	return ret;
}

void km_telemetry_applied(uint64_t generation, uint64_t ms)
{
	atomic_store(&applied_gen, generation);
	atomic_store(&applied_ms, ms);
}

void km_telemetry_stop(void)
{
	uint64_t one = 1;

	km_tel_http_stop();
	if (T.reader_up) {
		if (write(T.stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(T.reader);
		pthread_join(T.reader, NULL);
		T.reader_up = false;
	}
	ring_buffer__free(T.rb);
	T.rb = NULL;
	if (T.ring_fd >= 0)
		close(T.ring_fd);
	if (T.stop_fd >= 0)
		close(T.stop_fd);
	for (int *fd = &T.iter_fd; fd <= &T.self_ns; fd++) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	T.ring_fd = T.stop_fd = -1;
	km_tel_log_close(T.log);
	T.log = NULL;
	km_tel_metrics_free(T.metrics);
	T.metrics = NULL;
	km_tel_names_free(T.names);
	T.names = NULL;
}
