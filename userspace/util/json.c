// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <inttypes.h>
#include <string.h>

#include "json.h"

void km_json_init(struct km_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
	j->compact = false;
}

/* Runs that need no escape go out in one write: the access log writes a
 * line per connection through here. */
static void put_string(FILE *f, const char *s)
{
	static const char special[] = "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\t\n"
		"\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a"
		"\x1b\x1c\x1d\x1e\x1f";
	size_t n;

	fputc('"', f);
	while (s && *s) {
		n = strcspn(s, special);
		fwrite(s, 1, n, f);
		s += n;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fprintf(f, "\\u%04x", (unsigned char)*s);
		s++;
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
