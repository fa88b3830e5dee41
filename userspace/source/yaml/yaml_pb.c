// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* YAML -> protobuf-c message by descriptor (yaml_pb.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_pb.h"
#include "diag.h"

#define MAX_DEPTH 64

struct yp {
	yaml_document_t *doc;
	const char *file;
	const char *what;
	const ProtobufCMessageDescriptor *opaque;
	struct km_err *err;
};

static int __attribute__((format(printf, 3, 4)))
fail(struct yp *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	km_err_set(c->err, "%s:%d: %s: %s", c->file,
		   (int)n->start_mark.line + 1, c->what, msg);
	km_one_line(c->err->msg);
	return -EINVAL;
}

static int oom(struct yp *c)
{
	km_err_set(c->err, "%s: out of memory", c->file);
	return -ENOMEM;
}

static yaml_node_t *node(struct yp *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = sval(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* A decimal integer in [min, max]. */
static int integer(struct yp *c, const yaml_node_t *n, const char *name,
		   int64_t min, uint64_t max, int64_t *out)
{
	const char *s;
	char *end;

	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "%s must be a number", name);
	s = sval(n);
	errno = 0;
	if (*s == '-') {
		long long v = strtoll(s, &end, 10);

		if (errno || *end || end == s || v < min)
			goto bad;
		*out = v;
		return 0;
	} else {
		unsigned long long v = strtoull(s, &end, 10);

		if (errno || *end || end == s || v > max)
			goto bad;
		*out = (int64_t)v;
		return 0;
	}
bad:
	return fail(c, n, "%s '%.64s' is not a number in range (%" PRId64 "-%" PRIu64 ")",
		    name, s, min, max);
}

static int msg_of(struct yp *c, yaml_node_t *n,
		  const ProtobufCMessageDescriptor *d, int depth,
		  ProtobufCMessage **out);

static bool is_wrapper(const ProtobufCMessageDescriptor *d)
{
	return !strncmp(d->name, "google.protobuf.", 16) &&
	       d->n_fields == 1 && !strcmp(d->fields[0].name, "value");
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t len = strlen(d->name);

	return len > 5 && !strcmp(d->name + len - 5, "Entry") &&
	       d->n_fields == 2 && !strcmp(d->fields[0].name, "key") &&
	       !strcmp(d->fields[1].name, "value");
}

static size_t scalar_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

/* One value of field @f from YAML node @n into @dst. */
static int value(struct yp *c, yaml_node_t *n, const ProtobufCFieldDescriptor *f,
		 int depth, void *dst)
{
	const ProtobufCEnumValue *ev;
	int64_t v;
	int ret;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (n->type != YAML_SCALAR_NODE)
			return fail(c, n, "%s must be a string", f->name);
		*(char **)dst = strdup(sval(n));
		return *(char **)dst ? 0 : oom(c);
	case PROTOBUF_C_TYPE_BOOL:
		if (n->type == YAML_SCALAR_NODE && !strcmp(sval(n), "true"))
			*(protobuf_c_boolean *)dst = 1;
		else if (n->type == YAML_SCALAR_NODE && !strcmp(sval(n), "false"))
			*(protobuf_c_boolean *)dst = 0;
		else
			return fail(c, n, "%s must be true or false", f->name);
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		ret = integer(c, n, f->name, 0, UINT32_MAX, &v);
		if (!ret)
			*(uint32_t *)dst = (uint32_t)v;
		return ret;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		ret = integer(c, n, f->name, INT32_MIN, INT32_MAX, &v);
		if (!ret)
			*(int32_t *)dst = (int32_t)v;
		return ret;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_INT64:
		ret = integer(c, n, f->name,
			      f->type == PROTOBUF_C_TYPE_INT64 ? INT64_MIN : 0,
			      f->type == PROTOBUF_C_TYPE_INT64 ? INT64_MAX :
								  UINT64_MAX, &v);
		if (!ret)
			*(int64_t *)dst = v;
		return ret;
	case PROTOBUF_C_TYPE_ENUM:
		if (n->type != YAML_SCALAR_NODE)
			return fail(c, n, "%s must be a name", f->name);
		ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor,
								  sval(n));
		if (!ev)
			return fail(c, n, "unknown %s '%.64s'", f->name, sval(n));
		*(int *)dst = ev->value;
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return msg_of(c, n, f->descriptor, depth + 1,
			      (ProtobufCMessage **)dst);
	default:
		return fail(c, n, "%s: this field type cannot be read", f->name);
	}
}

/* A map field (repeated XxxEntry): a YAML mapping of key: value. */
static int map_of(struct yp *c, yaml_node_t *n, const ProtobufCFieldDescriptor *f,
		  int depth, ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	ProtobufCMessage ***arr = (ProtobufCMessage ***)((char *)m + f->offset);
	size_t *count = (size_t *)((char *)m + f->quantifier_offset);
	size_t k;
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "%s must be a mapping", f->name);
	k = n->data.mapping.pairs.top - n->data.mapping.pairs.start;
	*arr = calloc(k ? k : 1, sizeof(**arr));
	if (!*arr)
		return oom(c);
	for (size_t i = 0; i < k; i++) {
		yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
		ProtobufCMessage *e = calloc(1, ed->sizeof_message);

		if (!e)
			return oom(c);
		ed->message_init(e);
		(*arr)[(*count)++] = e;
		ret = value(c, node(c, p->key), &ed->fields[0], depth,
			    (char *)e + ed->fields[0].offset);
		if (!ret)
			ret = value(c, node(c, p->value), &ed->fields[1], depth,
				    (char *)e + ed->fields[1].offset);
		if (ret)
			return ret;
	}
	return 0;
}

static int repeated(struct yp *c, yaml_node_t *n,
		    const ProtobufCFieldDescriptor *f, int depth,
		    ProtobufCMessage *m)
{
	size_t k, sz = scalar_size(f->type);
	void **arr = (void **)((char *)m + f->offset);
	size_t *count = (size_t *)((char *)m + f->quantifier_offset);
	int ret;

	if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor))
		return map_of(c, n, f, depth, m);
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "%s must be a sequence", f->name);
	k = n->data.sequence.items.top - n->data.sequence.items.start;
	*arr = calloc(k ? k : 1, sz);
	if (!*arr)
		return oom(c);
	/* counted first: what a failed item allocated is freed with it */
	for (size_t i = 0; i < k; i++) {
		(*count)++;
		ret = value(c, node(c, n->data.sequence.items.start[i]), f,
			    depth, (char *)*arr + i * sz);
		if (ret)
			return ret;
	}
	return 0;
}

static int field(struct yp *c, yaml_node_t *k, yaml_node_t *v,
		 const ProtobufCMessageDescriptor *d, int depth,
		 ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(d, sval(k));
	uint32_t *qc;

	if (!f)
		return fail(c, k, "unknown field '%.64s'", sval(k));
	if (is_null(v))
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return repeated(c, v, f, depth, m);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		qc = (uint32_t *)((char *)m + f->quantifier_offset);
		if (*qc) {
			const ProtobufCFieldDescriptor *o =
				protobuf_c_message_descriptor_get_field(d, *qc);

			return fail(c, k, "%s and %s are mutually exclusive",
				    o ? o->name : "another field", f->name);
		}
		*qc = f->id;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		   f->type != PROTOBUF_C_TYPE_MESSAGE &&
		   f->type != PROTOBUF_C_TYPE_STRING) {
		*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
	}
	return value(c, v, f, depth, (char *)m + f->offset);
}

static int msg_of(struct yp *c, yaml_node_t *n,
		  const ProtobufCMessageDescriptor *d, int depth,
		  ProtobufCMessage **out)
{
	ProtobufCMessage *m;
	int ret;

	if (depth > MAX_DEPTH)
		return fail(c, n, "nested deeper than %d", MAX_DEPTH);
	m = calloc(1, d->sizeof_message);
	if (!m)
		return oom(c);
	d->message_init(m);
	*out = m;
	if (d == c->opaque)	/* only its presence counts */
		return 0;
	if (is_wrapper(d) && n->type == YAML_SCALAR_NODE)
		return value(c, n, &d->fields[0], depth,
			     (char *)m + d->fields[0].offset);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "%s must be a mapping", d->short_name);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key);

		if (k->type != YAML_SCALAR_NODE)
			return fail(c, k, "field names must be scalars");
		if (depth == 0 && !strcmp(sval(k), "@type"))
			continue;
		ret = field(c, k, node(c, p->value), d, depth, m);
		if (ret)
			return ret;
	}
	return 0;
}

int km_yaml_pb(yaml_document_t *doc, const char *file, yaml_node_t *n,
	       const ProtobufCMessageDescriptor *d, const char *type_url,
	       const ProtobufCMessageDescriptor *opaque, const char *what,
	       ProtobufCMessage **out, struct km_err *err)
{
	struct yp c = { .doc = doc, .file = file, .what = what,
			.opaque = opaque, .err = err };
	int ret;

	*out = NULL;
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node(&c, p->key), *v = node(&c, p->value);

			if (k->type == YAML_SCALAR_NODE &&
			    !strcmp(sval(k), "@type") &&
			    (v->type != YAML_SCALAR_NODE ||
			     strcmp(sval(v), type_url)))
				return fail(&c, v, "@type is wrong, expected '%s'",
					    type_url);
		}
	}
	ret = msg_of(&c, n, d, 0, out);
	if (ret && *out) {
		protobuf_c_message_free_unpacked(*out, NULL);
		*out = NULL;
	}
	return ret;
}
