// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <inttypes.h>

#include "json.h"

void km_json_init(struct km_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
	j->compact = false;
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_key(struct km_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (j->depth && !j->compact)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	if (key) {
		put_string(j->f, key);
		fputs(": ", j->f);
	}
}

static void open_(struct km_json *j, const char *key, char c)
{
	put_key(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < KM_JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

void km_json_obj(struct km_json *j, const char *key)
{
	open_(j, key, '{');
}

void km_json_arr(struct km_json *j, const char *key)
{
	open_(j, key, '[');
}

void km_json_end(struct km_json *j, char close)
{
	bool empty = j->first[j->depth];

	if (j->depth)
		j->depth--;
	if (!empty && !j->compact)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(close, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void km_json_str(struct km_json *j, const char *key, const char *v)
{
	put_key(j, key);
	if (v)
		put_string(j->f, v);
	else
		fputs("null", j->f);
}

void km_json_u64(struct km_json *j, const char *key, uint64_t v)
{
	put_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void km_json_i64(struct km_json *j, const char *key, int64_t v)
{
	put_key(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void km_json_bool(struct km_json *j, const char *key, bool v)
{
	put_key(j, key);
	fputs(v ? "true" : "false", j->f);
}
