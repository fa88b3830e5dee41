/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Diagnostics: the one message format every config error uses, whatever
 * found it (the YAML reader, the xDS decoder, model/check.c, the compiler):
 *
 *   FILE:LINE: WHAT: what is wrong      (a YAML file)
 *   WHAT: what is wrong                 (xDS: WHAT starts with the resource
 *                                        kind and name, "cluster 'x'")
 *
 * WHAT is the object path, built with km_what_*(): "listener 'l':
 * filter_chains[0]: http_connection_manager". Names quoted in a message are
 * cut (km_diag_quote) so the part saying what is wrong still fits, and a
 * message is always one line.
 */
#ifndef KM_DIAG_H
#define KM_DIAG_H

#include <stdarg.h>
#include <stddef.h>

/* One error message, built where the error is found, printed once at the
 * top: "mesh.yaml:41: cluster 'x': endpoint port 0". */
struct km_err {
	char msg[512];
};

void km_err_set(struct km_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Where a model object came from: a file and line (YAML), or the source's
 * name and line 0 ("xds": the object path names the resource). */
struct km_src {
	const char *file;	/* borrowed from struct km_model.source */
	int line;		/* 1-based; 0 = unknown */
};

/* An object path ("listener 'l': filter_chains[0]") */
#define KM_WHAT_LEN 384
/* Names and values quoted in a message are cut to this many bytes */
#define KM_QUOTE_MAX 64
/* type URLs are longer, and only useful whole */
#define KM_QUOTE_URL_MAX 160
#define KM_N_QUOTES 4

struct km_diag {
	struct km_err *err;
	struct km_err scratch;	/* when the caller passed no err */
	/* a message quotes at most KM_N_QUOTES shortened strings */
	char quote[KM_N_QUOTES][KM_QUOTE_URL_MAX + 4];
	unsigned int next_quote;
	const char *oom_who;	/* "t.yaml: out of memory" */
};

/* err may be NULL (the message is kept in d->scratch); err->msg is cleared */
void km_diag_init(struct km_diag *d, struct km_err *err, const char *oom_who);

/* The error at @at (NULL, or no file: no location), under the object path
 * @what (NULL or "": none). Returns -EINVAL. */
int km_diag_fail(struct km_diag *d, const struct km_src *at, const char *what,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int km_diag_vfail(struct km_diag *d, const struct km_src *at, const char *what,
		  const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
/* The same format straight into err, for code outside a reader (the
 * compiler): "FILE:LINE: msg". */
void km_err_at(struct km_err *err, const struct km_src *at, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));
/* "WHO: out of memory"; returns -ENOMEM */
int km_diag_oom(struct km_diag *d);

/* s, or its first max bytes and "..." (not splitting a UTF-8 character);
 * the result lives until KM_N_QUOTES more calls. */
const char *km_diag_shorten(struct km_diag *d, const char *s, size_t max);
static inline const char *km_diag_quote(struct km_diag *d, const char *s)
{
	return km_diag_shorten(d, s ? s : "", KM_QUOTE_MAX);
}

/* Object paths, in a buffer of KM_WHAT_LEN bytes */
void km_what_fmt(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "PARENT: KIND 'NAME'" (or "KIND 'NAME'" without a parent) */
void km_what_named(struct km_diag *d, char *buf, const char *parent,
		   const char *kind, const char *name);
/* "PARENT: FIELD[I]" */
void km_what_index(char *buf, const char *parent, const char *field,
		   size_t i);

/* control characters become '?': a message is one line */
void km_one_line(char *s);

#endif
