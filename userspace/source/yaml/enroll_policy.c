// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The enrollment policy section of kmeshd's config (enroll_policy.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config_yaml.h"
#include "enroll_policy.h"

struct pctx {
	const char *file;
	yaml_document_t *doc;
	struct km_err *err;
};

static int fail(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	km_err_set(c->err, "%s:%zu: enrollment: %s", c->file,
		   n ? n->start_mark.line + 1 : 1, msg);
	return -EINVAL;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A Kubernetes namespace name: an RFC 1123 label. */
static bool ns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int read_list(struct pctx *c, yaml_node_t *seq, const char *key,
		     struct km_enroll_policy *p)
{
	yaml_node_item_t *it;
	size_t i = 0;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(c, seq, "%s: expected a list of namespace names", key);
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
		yaml_node_t *v = yaml_document_get_node(c->doc, *it);
		const char *s = scalar(v);
		char **nv;

		if (!s || !ns_name_ok(s))
			return fail(c, v, "%s[%zu]: %s%s%s is not a namespace name (lower-case letters, digits and '-', at most 63)",
				    key, i, s ? "'" : "", s ? s : "a non-string", s ? "'" : "");
		if (km_enroll_policy_meshed(&(struct km_enroll_policy){ .set = true,
			.namespaces = p->namespaces, .n = p->n }, s))
			return fail(c, v, "%s[%zu]: '%s' is listed twice", key, i, s);
		nv = realloc(p->namespaces, (p->n + 1) * sizeof(*nv));
		if (!nv || !(nv[p->n] = strdup(s))) {
			if (nv)
				p->namespaces = nv;
			return fail(c, v, "out of memory");
		}
		p->namespaces = nv;
		p->n++;
	}
	return 0;
}

static int read_section(struct pctx *c, yaml_node_t *sec, struct km_enroll_policy *p)
{
	yaml_node_pair_t *pr;
	yaml_node_t *list = NULL;
	const char *which = NULL;

	if (sec->type != YAML_MAPPING_NODE)
		return fail(c, sec, "expected a mapping with namespaces or exclude_namespaces");
	for (pr = sec->data.mapping.pairs.start; pr < sec->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
		const char *key = scalar(k);

		if (!key || (strcmp(key, "namespaces") && strcmp(key, "exclude_namespaces")))
			return fail(c, k, "unknown field '%s' (namespaces or exclude_namespaces)",
				    key ? key : "?");
		if (which)
			return fail(c, k, "%s and %s together: give one (the meshed namespaces, or the ones left out)",
				    which, key);
		which = key;
		list = yaml_document_get_node(c->doc, pr->value);
	}
	if (!which)
		return fail(c, sec, "empty: give namespaces or exclude_namespaces");
	p->set = true;
	p->exclude = which[0] == 'e';
	snprintf(p->where, sizeof(p->where), "%s:%zu", c->file, sec->start_mark.line + 1);
	return read_list(c, list, which, p);
}

static int read_doc(struct pctx *c, struct km_enroll_policy *p)
{
	yaml_node_t *root = yaml_document_get_root_node(c->doc);
	yaml_node_pair_t *pr;

	if (!root || root->type != YAML_MAPPING_NODE)
		return 0;	/* the config reader says what is wrong */
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		const char *key = scalar(yaml_document_get_node(c->doc, pr->key));

		if (key && strcmp(key, "enrollment") == 0)
			return read_section(c, yaml_document_get_node(c->doc, pr->value), p);
	}
	return 0;
}

static int load(yaml_parser_t *parser, const char *name, struct km_enroll_policy *p,
		struct km_err *err)
{
	yaml_document_t doc;
	struct pctx c = { .file = name, .doc = &doc, .err = err };
	int ret;

	memset(p, 0, sizeof(*p));
	if (!yaml_parser_load(parser, &doc)) {
		km_err_set(err, "%s:%zu: YAML syntax error: %s", name,
			   parser->problem_mark.line + 1,
			   parser->problem ? parser->problem : "unknown error");
		return -EINVAL;
	}
	ret = read_doc(&c, p);
	yaml_document_delete(&doc);
	if (ret)
		km_enroll_policy_free(p);
	return ret;
}

int km_enroll_policy_load_string(const char *name, const char *yaml,
				 size_t len, struct km_enroll_policy *p,
				 struct km_err *err)
{
	yaml_parser_t parser;
	int ret;

	if (!yaml_parser_initialize(&parser)) {
		km_err_set(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	ret = load(&parser, name, p, err);
	yaml_parser_delete(&parser);
	return ret;
}

/* Opened non-blocking and checked to be a regular file first: a FIFO or a
 * device at the config path must not stall kmeshd (the config reader
 * refuses those with a message). */
static FILE *open_regular(const char *path, struct km_err *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	FILE *f;

	if (fd < 0) {
		km_err_set(err, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > KM_CONFIG_MAX_BYTES) {
		km_err_set(err, "%s: not a regular file of at most 64 MiB: refused", path);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		km_err_set(err, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

int km_enroll_policy_load_file(const char *path, struct km_enroll_policy *p,
			       struct km_err *err)
{
	yaml_parser_t parser;
	FILE *f;
	int ret;

	memset(p, 0, sizeof(*p));
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	f = open_regular(path, err);
	if (!f)
		return -EINVAL;
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		km_err_set(err, "%s: out of memory", path);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	ret = load(&parser, path, p, err);
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}

void km_enroll_policy_free(struct km_enroll_policy *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->namespaces[i]);
	free(p->namespaces);
	memset(p, 0, sizeof(*p));
}

bool km_enroll_policy_meshed(const struct km_enroll_policy *p, const char *ns)
{
	bool listed = false;

	if (!p->set)
		return true;
	for (size_t i = 0; i < p->n && !listed; i++)
		listed = strcmp(p->namespaces[i], ns) == 0;
	return listed != p->exclude;
}

void km_enroll_policy_describe(const struct km_enroll_policy *p, char *buf,
			       size_t len)
{
	size_t n;

	if (!p->set) {
		snprintf(buf, len, "every namespace (no enrollment section)");
		return;
	}
	n = snprintf(buf, len, "%s", p->exclude ? "every namespace but" : "namespaces");
	for (size_t i = 0; i < p->n && n < len; i++)
		n += snprintf(buf + n, len - n, "%s %s", i ? "," : "", p->namespaces[i]);
	if (n < len)
		snprintf(buf + n, len - n, "%s (%s)", p->n ? "" : " none", p->where);
}
