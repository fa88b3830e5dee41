// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>

#include "out.h"

const char out_item[] = "";

/* the JSON key: NULL for an array's element */
static const char *jkey(const char *key)
{
	return key == out_item ? NULL : key;
}

void out_init(struct ctl_out *o, bool json)
{
	o->json = json;
	if (json) {
		km_json_init(&o->j, stdout);
		km_json_obj(&o->j, NULL);
	}
}

void out_done(struct ctl_out *o)
{
	if (o->json)
		km_json_end(&o->j, '}');
}

void out_obj(struct ctl_out *o, const char *key, const char *text)
{
	if (o->json)
		km_json_obj(&o->j, key);
	else if (text)
		fputs(text, stdout);
}

void out_arr(struct ctl_out *o, const char *key, const char *text)
{
	if (o->json)
		km_json_arr(&o->j, key);
	else if (text)
		fputs(text, stdout);
}

void out_end(struct ctl_out *o, char close)
{
	if (o->json)
		km_json_end(&o->j, close);
}

/* The fragments are the callers' literals, each taking one value of the
 * type out.h names; here they are parameters. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void out_u64(struct ctl_out *o, const char *key, const char *fmt, uint64_t v)
{
	if (o->json && key)
		km_json_u64(&o->j, jkey(key), v);
	else if (!o->json && fmt)
		printf(fmt, (unsigned long long)v);
}

void out_i64(struct ctl_out *o, const char *key, const char *fmt, int64_t v)
{
	if (o->json && key)
		km_json_i64(&o->j, jkey(key), v);
	else if (!o->json && fmt)
		printf(fmt, (long long)v);
}

void out_str(struct ctl_out *o, const char *key, const char *fmt,
	     const char *v)
{
	if (o->json && key)
		km_json_str(&o->j, jkey(key), v);
	else if (!o->json && fmt && v)
		printf(fmt, v);
}

void out_bool(struct ctl_out *o, const char *key, bool v)
{
	if (o->json && key)
		km_json_bool(&o->j, jkey(key), v);
}

void out_text(struct ctl_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}
