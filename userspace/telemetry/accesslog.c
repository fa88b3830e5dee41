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

/*
 * A line is built in a buffer and written with one fwrite: the log is
 * written per connection, and stdio's per-call locking and vfprintf were
 * most of kmeshd's time at 10,000 connections/s.
 */
/* seven names of KM_NAME_MAX, each escaped at worst 6 bytes a byte, fit */
#define KM_TEL_LINE_MAX 16384

struct line {
	char b[KM_TEL_LINE_MAX];
	size_t n;
	bool full;		/* truncated: not written */
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->n + n >= sizeof(l->b)) {
		l->full = true;
		return;
	}
	memcpy(l->b + l->n, s, n);
	l->n += n;
}

static void put_c(struct line *l, char c)
{
	put(l, &c, 1);
}

/* A JSON string: runs that need no escape are copied whole. */
static void put_str(struct line *l, const char *s)
{
	static const char special[] = "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\t\n"
		"\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a"
		"\x1b\x1c\x1d\x1e\x1f";
	char esc[8];
	size_t n;

	put_c(l, '"');
	while (*s) {
		n = strcspn(s, special);
		put(l, s, n);
		s += n;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\')
			n = snprintf(esc, sizeof(esc), "\\%c", *s);
		else if (*s == '\n')
			n = snprintf(esc, sizeof(esc), "\\n");
		else
			n = snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*s);
		put(l, esc, n);
		s++;
	}
	put_c(l, '"');
}

/* ,"key": (the first opens the object) */
static void put_key(struct line *l, const char *key)
{
	put_c(l, l->n ? ',' : '{');
	put_str(l, key);
	put(l, ": ", 2);
}

static void field_str(struct line *l, const char *key, const char *v)
{
	put_key(l, key);
	put_str(l, v);
}

static void field_u64(struct line *l, const char *key, uint64_t v)
{
	char d[24];
	size_t i = sizeof(d);

	do
		d[--i] = '0' + v % 10;
	while (v /= 10);
	put_key(l, key);
	put(l, d + i, sizeof(d) - i);
}

/* ISO 8601 in UTC, to the millisecond; the date part is cached per
 * second (gmtime once a second, not per line). */
static void field_time(struct line *l, const char *key, uint64_t mono_ns,
		       int64_t mono_to_real_ns)
{
	static __thread time_t last = -1;
	static __thread char date[64];
	int64_t real = (int64_t)mono_ns + mono_to_real_ns;
	time_t s = real / 1000000000;
	char buf[80];
	struct tm tm;

	if (s != last) {
		gmtime_r(&s, &tm);
		snprintf(date, sizeof(date), "%04d-%02d-%02dT%02d:%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		last = s;
	}
	snprintf(buf, sizeof(buf), "%s.%03dZ", date,
		 (int)(real % 1000000000 / 1000000));
	field_str(l, key, buf);
}

void km_tel_log_format(FILE *f, const struct km_tel_conn *c,
		       int64_t mono_to_real_ns)
{
	const struct km_conn_event *ev = c->ev;
	struct line l;	/* not zeroed: 16 KiB per line */
	char cookie[24];

	l.n = 0;
	l.full = false;
	field_time(&l, "start_time", ev->start_ns, mono_to_real_ns);
	field_u64(&l, "duration", (ev->end_ns - ev->start_ns) / 1000000);
	field_u64(&l, "bytes_received", ev->bytes_sent);
	field_u64(&l, "bytes_sent", ev->bytes_received);
	field_str(&l, "upstream_host", c->endpoint);
	field_str(&l, "upstream_cluster", c->cluster);
	field_str(&l, "downstream_remote_address", c->local);
	field_str(&l, "downstream_local_address", c->vip);
	field_str(&l, "route_name", c->route);
	field_str(&l, "response_flags", c->flags);
	field_str(&l, "connection_termination", c->end);
	field_str(&l, "listener", c->listener);
	field_str(&l, "source_workload", c->src_workload);
	field_str(&l, "source_namespace", c->src_namespace);
	field_str(&l, "destination_service", c->service);
	snprintf(cookie, sizeof(cookie), "%llu", (unsigned long long)ev->cookie);
	field_str(&l, "connection_id", cookie);
	put(&l, "}\n", 2);
	if (!l.full)
		fwrite(l.b, 1, l.n, f);
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
	if (!l || c->ev->type == KM_EV_OPEN || c->ev->type == KM_EV_BYTES ||
	    !keep(l, c))
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
