// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The access log: one JSON line per connection, written when it closes
 * (or is refused), modelled on Envoy's default TCP access log. Bytes are
 * the proxy's view, as Envoy logs them: bytes_received came from the
 * client (request), bytes_sent went to it (response).
 *
 * The close record carries everything the open one had, so the rule
 * across an agent restart is simple: a connection is logged once, by the
 * kmeshd that reads its close event. The ring is pinned, so closes while
 * no kmeshd runs wait there (up to its size; beyond it they are dropped
 * and counted in kmesh_events_dropped_total).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "tel.h"

/* Lines are buffered and written once per drain of the ring: one write
 * per batch, not per connection. */
#define KM_TEL_LOG_BUF (64 << 10)

struct km_tel_log {
	const char *path;	/* NULL: stdout */
	FILE *f;
	bool errors_only;
	unsigned sample_pct;
	uint64_t seen;		/* lines considered for sampling */
	uint64_t lines, errors;
};

static FILE *open_log(const char *path, struct km_err *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "a");

	if (!f) {
		km_err_set(err, "access log %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

int km_tel_log_open(struct km_tel_log **lp, const struct km_tel_opts *o,
		    struct km_err *err)
{
	struct km_tel_log *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->errors_only = o->log_errors_only;
	l->sample_pct = o->log_sample_pct ? o->log_sample_pct : 100;
	if (strcmp(o->access_log, "-") == 0) {
		l->f = stdout;
	} else {
		l->path = o->access_log;
		l->f = open_log(l->path, err);
		if (!l->f) {
			free(l);
			return -EIO;
		}
	}
	setvbuf(l->f, NULL, _IOFBF, KM_TEL_LOG_BUF);
	*lp = l;
	return 0;
}

void km_tel_log_reopen(struct km_tel_log *l)
{
	struct km_err err = {};
	FILE *f;

	if (!l || !l->path)
		return;
	f = open_log(l->path, &err);
	if (!f) {
		/* keep writing to the old file rather than lose lines */
		fprintf(stderr, "<4>kmeshd: SIGUSR1: %s; still writing to the previous file\n",
			err.msg);
		return;
	}
	km_tel_log_flush(l);
	fclose(l->f);
	l->f = f;
	setvbuf(l->f, NULL, _IOFBF, KM_TEL_LOG_BUF);
}

static void put_time(struct km_json *j, const char *key, uint64_t mono_ns,
		     int64_t mono_to_real_ns)
{
	int64_t real = (int64_t)mono_ns + mono_to_real_ns;
	time_t s = real / 1000000000;
	struct tm tm;
	char buf[64];

	gmtime_r(&s, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(real % 1000000000 / 1000000));
	km_json_str(j, key, buf);
}

void km_tel_log_format(FILE *f, const struct km_tel_conn *c,
		       int64_t mono_to_real_ns)
{
	const struct km_conn_event *ev = c->ev;
	struct km_json j;
	char cookie[24];

	km_json_init(&j, f);
	j.compact = true;
	km_json_obj(&j, NULL);
	put_time(&j, "start_time", ev->start_ns, mono_to_real_ns);
	km_json_u64(&j, "duration", (ev->end_ns - ev->start_ns) / 1000000);
	km_json_u64(&j, "bytes_received", ev->bytes_sent);
	km_json_u64(&j, "bytes_sent", ev->bytes_received);
	km_json_str(&j, "upstream_host", c->endpoint);
	km_json_str(&j, "upstream_cluster", c->cluster);
	km_json_str(&j, "downstream_remote_address", c->local);
	km_json_str(&j, "downstream_local_address", c->vip);
	km_json_str(&j, "route_name", c->route);
	km_json_str(&j, "response_flags", c->flags);
	km_json_str(&j, "connection_termination", c->end);
	km_json_str(&j, "listener", c->listener);
	km_json_str(&j, "source_workload", c->src_workload);
	km_json_str(&j, "source_namespace", c->src_namespace);
	km_json_str(&j, "destination_service", c->service);
	snprintf(cookie, sizeof(cookie), "%llu", (unsigned long long)ev->cookie);
	km_json_str(&j, "connection_id", cookie);
	km_json_end(&j, '}');
}

/* Sampling keeps every Nth of 100, spread evenly (no randomness: a test
 * can count the lines). Errors-only keeps what has a response flag. */
static bool keep(struct km_tel_log *l, const struct km_tel_conn *c)
{
	uint64_t n;

	if (l->errors_only && strcmp(c->flags, "-") == 0)
		return false;
	n = l->seen++;
	return (n * l->sample_pct) / 100 != ((n + 1) * l->sample_pct) / 100;
}

void km_tel_log_event(struct km_tel_log *l, const struct km_tel_conn *c,
		      int64_t mono_to_real_ns)
{
	if (!l || c->ev->type == KM_EV_OPEN || !keep(l, c))
		return;
	km_tel_log_format(l->f, c, mono_to_real_ns);
	l->lines++;
}

void km_tel_log_flush(struct km_tel_log *l)
{
	if (l && (fflush(l->f) || ferror(l->f))) {
		l->errors++;	/* a batch lost: counted, never retried */
		clearerr(l->f);
	}
}

void km_tel_log_stats(const struct km_tel_log *l, uint64_t *lines,
		      uint64_t *errors)
{
	*lines = l ? l->lines : 0;
	*errors = l ? l->errors : 0;
}

void km_tel_log_close(struct km_tel_log *l)
{
	if (!l)
		return;
	km_tel_log_flush(l);
	if (l->path)
		fclose(l->f);
	free(l);
}
