/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshctl's one print path: a command states each datum once, with its
 * JSON key and its place in the text (a printf fragment), and -o picks
 * which of the two is written. A NULL key leaves the datum out of the
 * JSON (OUT_ITEM: an array's element), a NULL fragment out of the text;
 * out_text() is prose for people only.
 */
#ifndef KM_CTL_OUT_H
#define KM_CTL_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"

extern const char out_item[];
#define OUT_ITEM out_item

struct ctl_out {
	bool json;
	struct km_json j;
};

/* a JSON document is one object; end it with out_done() */
void out_init(struct ctl_out *o, bool json);
void out_done(struct ctl_out *o);

/* an object or array member (key NULL: an element of an array), with the
 * text that opens it; out_end() closes it */
void out_obj(struct ctl_out *o, const char *key, const char *text);
void out_arr(struct ctl_out *o, const char *key, const char *text);
void out_end(struct ctl_out *o, char close);

/* fmt takes the value as %llu (out_u64), %lld (out_i64) or %s (out_str) */
void out_u64(struct ctl_out *o, const char *key, const char *fmt, uint64_t v);
void out_i64(struct ctl_out *o, const char *key, const char *fmt, int64_t v);
/* v NULL: JSON null, and no text */
void out_str(struct ctl_out *o, const char *key, const char *fmt,
	     const char *v);
void out_bool(struct ctl_out *o, const char *key, bool v);
void out_text(struct ctl_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
