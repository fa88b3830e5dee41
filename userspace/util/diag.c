// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"

void km_err_set(struct km_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void km_diag_init(struct km_diag *d, struct km_err *err, const char *oom_who)
{
	memset(d, 0, sizeof(*d));
	d->err = err ? err : &d->scratch;
	d->err->msg[0] = '\0';
	d->oom_who = oom_who;
}

void km_one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int km_diag_vfail(struct km_diag *d, const struct km_src *at, const char *what,
		  const char *fmt, va_list ap)
{
	char where[256] = "", msg[sizeof(d->err->msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (at && at->file && at->line > 0)
		snprintf(where, sizeof(where), "%s:%d: ", at->file, at->line);
	if (what && *what)
		km_err_set(d->err, "%s%s: %s", where, what, msg);
	else
		km_err_set(d->err, "%s%s", where, msg);
	km_one_line(d->err->msg);
	return -EINVAL;
}

int km_diag_fail(struct km_diag *d, const struct km_src *at, const char *what,
		 const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = km_diag_vfail(d, at, what, fmt, ap);
	va_end(ap);
	return ret;
}

void km_err_at(struct km_err *err, const struct km_src *at, const char *fmt,
	       ...)
{
	struct km_diag d;
	va_list ap;

	if (!err)
		return;
	km_diag_init(&d, err, NULL);
	va_start(ap, fmt);
	km_diag_vfail(&d, at, NULL, fmt, ap);
	va_end(ap);
}

int km_diag_oom(struct km_diag *d)
{
	km_err_set(d->err, "%s: out of memory", d->oom_who ? d->oom_who : "kmesh");
	km_one_line(d->err->msg);
	return -ENOMEM;
}

const char *km_diag_shorten(struct km_diag *d, const char *s, size_t max)
{
	size_t n = strlen(s);
	char *q;

	if (max > KM_QUOTE_URL_MAX)
		max = KM_QUOTE_URL_MAX;
	if (n <= max)
		return s;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	q = d->quote[d->next_quote++ % KM_N_QUOTES];
	memcpy(q, s, n);
	memcpy(q + n, "...", 4);
	return q;
}

void km_what_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, KM_WHAT_LEN, fmt, ap);
	va_end(ap);
}

void km_what_named(struct km_diag *d, char *buf, const char *parent,
		   const char *kind, const char *name)
{
	if (parent && *parent)
		km_what_fmt(buf, "%s: %s '%s'", parent, kind,
			    km_diag_quote(d, name));
	else
		km_what_fmt(buf, "%s '%s'", kind, km_diag_quote(d, name));
}

void km_what_index(char *buf, const char *parent, const char *field,
		   size_t i)
{
	if (parent && *parent)
		km_what_fmt(buf, "%s: %s[%zu]", parent, field, i);
	else
		km_what_fmt(buf, "%s[%zu]", field, i);
}
