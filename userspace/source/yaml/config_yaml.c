// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Envoy bootstrap YAML (node + static_resources) -> struct km_model.
 *
 * The document is loaded whole (yaml_parser_load) so every node carries its
 * line, then walked by one reader per Envoy message. Each mapping is checked
 * against the fields its reader uses plus the Envoy fields below, which are
 * accepted and ignored because they do not change what kmesh enforces.
 * Anything else is an error, so neither a typo nor an unsupported feature
 * (health_checks, transport_socket, redirect, ...) is silently dropped.
 *
 * Accepted and ignored:
 *   top level                admin
 *   node                     user_agent_name (id, cluster and metadata are
 *                            read for xDS: ISTIO_VERSION, CLUSTER_ID,
 *                            NAMESPACE, INSTANCE_IPS, NODE_NAME, LABELS)
 *   listener                 stat_prefix, access_log,
 *                            per_connection_buffer_limit_bytes
 *   filter_chains[]          name
 *   tcp_proxy                stat_prefix, idle_timeout, access_log
 *   http_connection_manager  stat_prefix, codec_type, http_filters
 *                            (but access-control filters: model/authz.h),
 *                            use_remote_address, access_log,
 *                            common_http_protocol_options,
 *                            stream_idle_timeout, request_timeout
 *   rds                      config_source
 *   route_config             validate_clusters
 *   route (the action)       timeout, idle_timeout
 *   safe_regex               google_re2
 *   cluster                  connect_timeout, dns_lookup_family,
 *                            per_connection_buffer_limit_bytes,
 *                            common_http_protocol_options,
 *                            typed_extension_protocol_options,
 *                            eds_cluster_config
 *   circuit_breakers         thresholds[].track_remaining
 *   load_assignment          cluster_name
 *   lb_endpoints[]           metadata
 *   endpoint                 hostname, health_check_config
 * "@type" is accepted in typed_config, listener, cluster, route_config and
 * load_assignment, and must then be the expected type URL. A filter's name
 * must be one of the two filters kmesh implements.
 *
 * Objects in messages: by name once it is known ("cluster 'x'"); otherwise
 * by field path with a 0-based index ("listeners[2]", "filter_chains[1]");
 * endpoints by 1-based position in their cluster, counted across locality
 * groups ("endpoint 2"), since that is how a cluster's endpoints are listed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config_yaml.h"
#include "dup.h"
#include "authz.h"
#include "yaml_rbac.h"

#define TYPE_URL "type.googleapis.com/"
#define URL_LISTENER TYPE_URL "envoy.config.listener.v3.Listener"
#define URL_CLUSTER TYPE_URL "envoy.config.cluster.v3.Cluster"
#define URL_ROUTE_CONFIG TYPE_URL "envoy.config.route.v3.RouteConfiguration"
#define URL_CLA TYPE_URL "envoy.config.endpoint.v3.ClusterLoadAssignment"
#define URL_TCP_PROXY \
	TYPE_URL "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
#define URL_HCM \
	TYPE_URL "envoy.extensions.filters.network.http_connection_manager" \
	".v3.HttpConnectionManager"

#define FILTER_TCP_PROXY "envoy.filters.network.tcp_proxy"
#define FILTER_HCM "envoy.filters.network.http_connection_manager"

/* Envoy's priorities are 0..127 (the max_priority of its LB). */
#define MAX_PRIORITY 127

/* Object path at the start of a message ("listener 'x': filter_chains[0]"). */
#define WHAT_LEN 384
/* Names and values quoted in a message are cut to this many bytes, so the
 * part saying what is wrong still fits in struct km_err. */
#define QUOTE_MAX 64
/* type URLs are longer, and only useful whole */
#define QUOTE_URL_MAX 160
#define N_QUOTES 4

struct ctx {
	const char *file;	/* m->source */
	yaml_document_t *doc;
	struct km_err *err;
	/* a message quotes at most N_QUOTES shortened strings */
	char quote[N_QUOTES][QUOTE_URL_MAX + 4];
	unsigned int next_quote;
	bool node_only;		/* --xds: static_resources may be absent */
};

/* ---- messages ---------------------------------------------------------- */

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static struct km_src src_of(const struct ctx *c, const yaml_node_t *n)
{
	return (struct km_src){ .file = c->file, .line = line_of(n) };
}

/* A message is one line whatever the YAML held (quoted strings may carry
 * "\n"), so control characters become '?'. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int __attribute__((format(printf, 4, 5)))
fail(struct ctx *c, const yaml_node_t *n, const char *what,
     const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (what && *what)
		km_err_set(c->err, "%s:%d: %s: %s", c->file, line_of(n), what,
			   msg);
	else
		km_err_set(c->err, "%s:%d: %s", c->file, line_of(n), msg);
	one_line(c->err->msg);
	return -EINVAL;
}

static int oom(struct ctx *c)
{
	km_err_set(c->err, "%s: out of memory", c->file);
	one_line(c->err->msg);
	return -ENOMEM;
}

/* s, or its first max bytes and "..." (not splitting a UTF-8 character);
 * the result lives until N_QUOTES more calls. */
static const char *shorten(struct ctx *c, const char *s, size_t max)
{
	size_t n = strlen(s);
	char *q;

	if (n <= max)
		return s;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	q = c->quote[c->next_quote++ % N_QUOTES];
	memcpy(q, s, n);
	memcpy(q + n, "...", 4);
	return q;
}

static const char *quote(struct ctx *c, const char *s)
{
	return shorten(c, s, QUOTE_MAX);
}

static void __attribute__((format(printf, 2, 3)))
what_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, WHAT_LEN, fmt, ap);
	va_end(ap);
}

static void what_named(struct ctx *c, char *buf, const char *parent,
		       const char *kind, const char *name)
{
	if (parent && *parent)
		what_fmt(buf, "%s: %s '%s'", parent, kind,
			 quote(c, name));
	else
		what_fmt(buf, "%s '%s'", kind, quote(c, name));
}

static void what_index(char *buf, const char *parent, const char *field,
		       size_t i)
{
	if (parent && *parent)
		what_fmt(buf, "%s: %s[%zu]", parent, field, i);
	else
		what_fmt(buf, "%s[%zu]", field, i);
}

/* ---- nodes ------------------------------------------------------------- */

static yaml_node_t *node_at(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* `key:`, `key: ~` and `key: null` mean "not set", as in Envoy's JSON. */
static bool is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (scalar_is(n, "") || scalar_is(n, "~") ||
		scalar_is(n, "null") || scalar_is(n, "Null") ||
		scalar_is(n, "NULL"));
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top -
			n->data.sequence.items.start);
}

static yaml_node_t *seq_item(struct ctx *c, const yaml_node_t *n, size_t i)
{
	return node_at(c, n->data.sequence.items.start[i]);
}

/* The value of field name in map, or NULL when absent or null. */
static yaml_node_t *field(struct ctx *c, const yaml_node_t *map,
			  const char *name)
{
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		if (scalar_is(node_at(c, p->key), name)) {
			yaml_node_t *v = node_at(c, p->value);

			return is_null(v) ? NULL : v;
		}
	}
	return NULL;
}

static const char *type_name(yaml_node_type_t t)
{
	switch (t) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "empty";
	}
}

static int want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t type,
		const char *what, const char *name)
{
	if (n->type == type)
		return 0;
	return fail(c, n, what, "%s must be %s, not %s", name, type_name(type),
		    type_name(n->type));
}

/* Item i of sequence field name must be a mapping. */
static int want_item_map(struct ctx *c, const yaml_node_t *n, const char *what,
			 const char *name, size_t i)
{
	if (n->type == YAML_MAPPING_NODE)
		return 0;
	return fail(c, n, what, "%s[%zu] must be a mapping, not %s", name, i,
		    type_name(n->type));
}

static int missing(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name)
{
	return fail(c, map, what, "%s is missing", name);
}

/* The value of the required field name of map, in *v. */
static int req_field(struct ctx *c, const yaml_node_t *map, const char *what,
		     const char *name, yaml_node_t **v)
{
	*v = field(c, map, name);
	return *v ? 0 : missing(c, map, what, name);
}

static bool in_list(const yaml_node_t *key, const char *const *list)
{
	for (; list && *list; list++)
		if (scalar_is(key, *list))
			return true;
	return false;
}

static unsigned int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned int row[QUOTE_MAX + 1];

	if (la > QUOTE_MAX || lb > QUOTE_MAX)
		return ~0u;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A known field one or two typos away from key, for the message. */
static const char *near_miss(const char *key, const char *const *used,
			     const char *const *ignored)
{
	const char *const *lists[] = { used, ignored };
	const char *best = NULL;
	unsigned int best_d = 3;

	for (size_t l = 0; l < 2; l++) {
		for (const char *const *f = lists[l]; f && *f; f++) {
			unsigned int d = edit_distance(key, *f);

			if (d < best_d && d < strlen(*f) / 2) {
				best = *f;
				best_d = d;
			}
		}
	}
	return best;
}

/*
 * Every key of map must be a scalar naming a field in used or ignored
 * (NULL-terminated lists) and appear once: YAML says keys are unique but
 * libyaml does not check, and a repeated key would hide the first value.
 */
static int check_fields(struct ctx *c, const yaml_node_t *map,
			const char *what, const char *const *used,
			const char *const *ignored)
{
	yaml_node_pair_t *p, *q;

	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(c, p->key);
		const char *hint;

		if (k->type != YAML_SCALAR_NODE)
			return fail(c, k, what, "field names must be scalars, not %s",
				    type_name(k->type));
		if (!in_list(k, used) && !in_list(k, ignored)) {
			hint = near_miss(sval(k), used, ignored);
			if (hint)
				return fail(c, k, what,
					    "unknown field '%s' (did you mean '%s'?)",
					    quote(c, sval(k)), hint);
			return fail(c, k, what, "unknown field '%s'",
				    quote(c, sval(k)));
		}
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = node_at(c, q->key);

			if (k2->data.scalar.length == k->data.scalar.length &&
			    memcmp(sval(k2), sval(k), k->data.scalar.length) == 0)
				return fail(c, k, what,
					    "field '%s' appears twice (first at line %d)",
					    sval(k), line_of(k2));
		}
	}
	return 0;
}

/* "@type" is optional; when given it must be the message we read. */
static int check_type_url(struct ctx *c, const yaml_node_t *map,
			  const char *what, const char *url)
{
	yaml_node_t *t = field(c, map, "@type");
	int ret;

	if (!t)
		return 0;
	ret = want(c, t, YAML_SCALAR_NODE, what, "@type");
	if (ret)
		return ret;
	if (!scalar_is(t, url))
		return fail(c, t, what, "@type '%s' is wrong, expected '%s'",
			    shorten(c, sval(t), QUOTE_URL_MAX), url);
	return 0;
}

/*
 * v, the value of name, must be a mapping of the fields in used and ignored
 * (see check_fields); what names its owner in a type error, fwhat names v
 * itself in a field error.
 */
static int mapping_at(struct ctx *c, const yaml_node_t *v, const char *what,
		      const char *name, const char *fwhat,
		      const char *const *used, const char *const *ignored)
{
	int ret = want(c, v, YAML_MAPPING_NODE, what, name);

	return ret ? ret : check_fields(c, v, fwhat, used, ignored);
}

/*
 * Which one of names (NULL-terminated) map sets: 1 with *val and *which set,
 * 0 when none, or an error when two are set, or none and required.
 */
static int one_of(struct ctx *c, const yaml_node_t *map, const char *what,
		  const char *const *names, bool required, yaml_node_t **val,
		  size_t *which)
{
	char list[256] = "";
	size_t found = 0;

	*val = NULL;
	for (size_t i = 0; names[i]; i++) {
		yaml_node_t *v = field(c, map, names[i]);

		if (!v)
			continue;
		if (*val)
			return fail(c, v, what, "%s and %s are mutually exclusive",
				    names[found], names[i]);
		*val = v;
		found = i;
	}
	if (*val) {
		*which = found;
		return 1;
	}
	if (!required)
		return 0;
	for (size_t i = 0; names[i]; i++) {
		if (i)
			strncat(list, names[i + 1] ? ", " : " or ",
				sizeof(list) - strlen(list) - 1);
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
	}
	return fail(c, map, what, "needs %s", list);
}

/* ---- scalars ----------------------------------------------------------- */

/*
 * A string of 1..limit-1 bytes (0.. when empty_ok; limit counts the NUL as
 * the ABI's limits do). *out is a new copy.
 */
static int str_at(struct ctx *c, const yaml_node_t *v, const char *what,
		  const char *name, size_t limit, bool empty_ok, char **out)
{
	size_t len;
	int ret;

	ret = want(c, v, YAML_SCALAR_NODE, what, name);
	if (ret)
		return ret;
	len = v->data.scalar.length;
	if (memchr(sval(v), '\0', len))
		return fail(c, v, what, "%s contains a NUL byte", name);
	if (!len && !empty_ok)
		return fail(c, v, what, "%s is empty", name);
	if (len >= limit)
		return fail(c, v, what, "%s is %zu bytes long, limit is %zu",
			    name, len, limit - 1);
	*out = strdup(sval(v));
	return *out ? 0 : oom(c);
}

/* A required string field of map. */
static int req_str(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name, size_t limit, char **out)
{
	yaml_node_t *v = field(c, map, name);

	if (!v)
		return missing(c, map, what, name);
	return str_at(c, v, what, name, limit, false, out);
}

/* An optional string field of map; absent or empty leaves *out NULL. */
static int opt_str(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name, size_t limit, char **out)
{
	yaml_node_t *v = field(c, map, name);
	int ret;

	if (!v)
		return 0;
	ret = str_at(c, v, what, name, limit, true, out);
	if (!ret && !**out) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

/*
 * A decimal integer in min..max. Strict: digits only (quoted is fine, as in
 * Envoy's JSON), no sign, no leading zero (octal to YAML 1.1 readers).
 */
static int uint_at(struct ctx *c, const yaml_node_t *v, const char *what,
		   const char *name, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s;
	size_t len, i = 0;
	bool neg = false, big = false;
	uint64_t x = 0;
	int ret;

	ret = want(c, v, YAML_SCALAR_NODE, what, name);
	if (ret)
		return ret;
	s = sval(v);
	len = v->data.scalar.length;
	if (len > 1 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len || (s[i] == '0' && len - i > 1))
		goto not_int;
	for (; i < len; i++) {
		unsigned int d = (unsigned char)s[i] - '0';

		if (d > 9)
			goto not_int;
		if (x > (UINT64_MAX - d) / 10)
			big = true;
		else
			x = x * 10 + d;
	}
	if (neg || big || x < min || x > max)
		return fail(c, v, what,
			    "%s %s is out of range (%" PRIu64 "-%" PRIu64 ")",
			    name, quote(c, s), min, max);
	*out = x;
	return 0;
not_int:
	return fail(c, v, what, "%s '%s' is not a decimal integer", name,
		    quote(c, s));
}

static int bool_at(struct ctx *c, const yaml_node_t *v, const char *what,
		   const char *name, bool *out)
{
	int ret;

	ret = want(c, v, YAML_SCALAR_NODE, what, name);
	if (ret)
		return ret;
	if (scalar_is(v, "true") || scalar_is(v, "True") ||
	    scalar_is(v, "TRUE"))
		*out = true;
	else if (scalar_is(v, "false") || scalar_is(v, "False") ||
		 scalar_is(v, "FALSE"))
		*out = false;
	else
		return fail(c, v, what, "%s '%s' is not true or false", name,
			    quote(c, sval(v)));
	return 0;
}

/* An optional bool field of map; absent leaves *out alone. */
static int opt_bool(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, bool *out)
{
	yaml_node_t *v = field(c, map, name);

	return v ? bool_at(c, v, what, name, out) : 0;
}

/* A required integer field of map, in min..max. */
static int req_uint(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	yaml_node_t *v;
	int ret = req_field(c, map, what, name, &v);

	return ret ? ret : uint_at(c, v, what, name, min, max, out);
}

/* An optional integer field of map, in min..max; absent leaves *out alone. */
static int opt_uint(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	yaml_node_t *v = field(c, map, name);

	return v ? uint_at(c, v, what, name, min, max, out) : 0;
}

/* An optional scalar field of map, in *v; NULL when absent. */
static int opt_scalar(struct ctx *c, const yaml_node_t *map, const char *what,
		      const char *name, yaml_node_t **v)
{
	*v = field(c, map, name);
	return *v ? want(c, *v, YAML_SCALAR_NODE, what, name) : 0;
}

/* ---- duplicates: km_find_dup (dup.h) --------------------------------- */


/* ---- lists ------------------------------------------------------------- */

/*
 * Reads item i of a list into elem, its element of the array the list
 * fills (NULL when it fills none). what names the list's owner; arg is the
 * caller's.
 */
typedef int item_reader(struct ctx *c, yaml_node_t *item, const char *what,
			size_t i, void *elem, void *arg);

/* A sequence field: the rules checked before any item is read, and the
 * reader of each item. */
struct list_rules {
	const char *name;	/* the field */
	bool required;		/* absent is an error */
	const char *if_empty;	/* the error for no items; NULL: allowed */
	size_t limit;		/* most items; 0: no limit */
	const char *noun;	/* in "N noun, limit is L"; NULL: name */
	bool maps;		/* every item must be a mapping */
	item_reader *read_item;
};

/* The sequence field r->name of map, in *seq; NULL when absent and allowed. */
static int list_field(struct ctx *c, const yaml_node_t *map, const char *what,
		      const struct list_rules *r, yaml_node_t **seq)
{
	yaml_node_t *s = field(c, map, r->name);
	size_t n;
	int ret;

	*seq = NULL;
	if (!s)
		return r->required ? missing(c, map, what, r->name) : 0;
	ret = want(c, s, YAML_SEQUENCE_NODE, what, r->name);
	if (ret)
		return ret;
	n = seq_len(s);
	if (!n && r->if_empty)
		return fail(c, s, what, "%s", r->if_empty);
	if (r->limit && n > r->limit)
		return fail(c, s, what, "%zu %s, limit is %zu", n,
			    r->noun ? r->noun : r->name, r->limit);
	*seq = s;
	return 0;
}

/* n zeroed elements of size bytes at *items (the address of a typed array
 * pointer, as libbpf's libbpf_add_mem() takes one), and *count = n. */
static int alloc_array(struct ctx *c, size_t n, size_t size, void **items,
		       size_t *count)
{
	*items = calloc(n, size);
	if (!*items && n)
		return oom(c);
	*count = n;
	return 0;
}

/* Reads every item of seq (none when NULL) in order, item i into element i
 * of items (size bytes each; no element when items is NULL). */
static int each_item(struct ctx *c, yaml_node_t *seq, const char *what,
		     const struct list_rules *r, void *items, size_t size,
		     void *arg)
{
	size_t n = seq ? seq_len(seq) : 0;

	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = seq_item(c, seq, i);
		void *elem = items ? (char *)items + i * size : NULL;
		int ret = 0;

		if (r->maps)
			ret = want_item_map(c, item, what, r->name, i);
		if (!ret)
			ret = r->read_item(c, item, what, i, elem, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * A whole list field: checked against r, then, unless items is NULL, an
 * array of its items allocated at *items (see alloc_array) with *count set,
 * then each item read.
 */
static int read_list(struct ctx *c, const yaml_node_t *map, const char *what,
		     const struct list_rules *r, void **items, size_t *count,
		     size_t size, void *arg)
{
	yaml_node_t *seq;
	int ret;

	ret = list_field(c, map, what, r, &seq);
	if (ret || !seq)
		return ret;
	if (items) {
		ret = alloc_array(c, seq_len(seq), size, items, count);
		if (ret)
			return ret;
	}
	return each_item(c, seq, what, r, items ? *items : NULL, size, arg);
}

/*
 * The required name of item i of list, an object of kind: *name read (limit
 * counts the NUL) and what set to "parent: kind 'name'", naming the item in
 * messages from then on ("parent: list[i]" before).
 */
static int item_name(struct ctx *c, const yaml_node_t *n, const char *parent,
		     const char *list, size_t i, const char *kind,
		     size_t limit, char *what, char **name)
{
	int ret;

	what_index(what, parent, list, i);
	ret = req_str(c, n, what, "name", limit, name);
	if (!ret)
		what_named(c, what, parent, kind, *name);
	return ret;
}

/* ---- addresses, localities --------------------------------------------- */

/* An Envoy Address holding a socket_address. */
static int read_address(struct ctx *c, yaml_node_t *v, const char *what,
			const char *name, struct km_ip *ip, uint16_t *port)
{
	static const char *const addr_fields[] = { "socket_address", NULL };
	static const char *const sa_fields[] = {
		"address", "port_value", "protocol", NULL
	};
	yaml_node_t *sa, *a, *p;
	uint64_t x;
	int ret;

	ret = mapping_at(c, v, what, name, what, addr_fields, NULL);
	if (ret)
		return ret;
	sa = field(c, v, "socket_address");
	if (!sa)
		return fail(c, v, what, "%s: socket_address is missing", name);
	ret = mapping_at(c, sa, what, "socket_address", what, sa_fields, NULL);
	if (!ret)
		ret = opt_scalar(c, sa, what, "protocol", &p);
	if (ret)
		return ret;
	if (p && !scalar_is(p, "TCP"))
		return fail(c, p, what,
			    "protocol %s is not supported (TCP only)",
			    quote(c, sval(p)));
	ret = req_field(c, sa, what, "address", &a);
	if (!ret)
		ret = want(c, a, YAML_SCALAR_NODE, what, "address");
	if (ret)
		return ret;
	if (memchr(sval(a), '\0', a->data.scalar.length) ||
	    km_ip_parse(sval(a), ip))
		return fail(c, a, what,
			    "address '%s' is not an IPv4 or IPv6 address",
			    quote(c, sval(a)));
	ret = req_uint(c, sa, what, "port_value", 1, 65535, &x);
	if (ret)
		return ret;
	*port = (uint16_t)x;
	return 0;
}

/* The optional locality field of map. */
static int read_locality(struct ctx *c, yaml_node_t *map, const char *what,
			 struct km_locality *loc)
{
	static const char *const used[] = {
		"region", "zone", "sub_zone", NULL
	};
	yaml_node_t *v = field(c, map, "locality");
	int ret;

	if (!v)
		return 0;
	ret = mapping_at(c, v, what, "locality", what, used, NULL);
	if (!ret)
		ret = opt_str(c, v, what, "region", KM_NAME_MAX, &loc->region);
	if (!ret)
		ret = opt_str(c, v, what, "zone", KM_NAME_MAX, &loc->zone);
	if (!ret)
		ret = opt_str(c, v, what, "sub_zone", KM_NAME_MAX,
			      &loc->sub_zone);
	return ret;
}

/* ---- cluster actions (tcp_proxy, route) -------------------------------- */

/* The weights of one weighted_clusters so far. A route's weight may be 0
 * (Envoy: UInt32Value, no minimum; that cluster gets no traffic), a
 * tcp_proxy's may not (Envoy: uint32 weight, gte 1). */
struct weights {
	uint64_t sum;
	bool route;
};

/* One weighted_clusters entry; arg is the struct weights so far. */
static int read_weighted_entry(struct ctx *c, yaml_node_t *e,
			       const char *wwhat, size_t i, void *elem,
			       void *arg)
{
	static const char *const used[] = { "name", "weight", NULL };
	struct km_m_weighted *w = elem;
	struct weights *ws = arg;
	uint64_t *sum = &ws->sum, x;
	char ewhat[WHAT_LEN];
	int ret;

	what_index(ewhat, wwhat, "clusters", i);
	ret = check_fields(c, e, ewhat, used, NULL);
	if (!ret)
		ret = req_str(c, e, ewhat, "name", KM_NAME_MAX, &w->cluster);
	if (ret)
		return ret;
	w->src = src_of(c, e);
	ret = req_uint(c, e, ewhat, "weight", ws->route ? 0 : 1,
		       KM_MAX_TOTAL_WEIGHT, &x);
	if (ret)
		return ret;
	w->weight = (uint32_t)x;
	*sum += x;
	if (*sum > KM_MAX_TOTAL_WEIGHT)
		return fail(c, field(c, e, "weight"), wwhat,
			    "sum of weights %" PRIu64 " is over the limit %u",
			    *sum, KM_MAX_TOTAL_WEIGHT);
	return 0;
}

static int read_weighted(struct ctx *c, yaml_node_t *v, const char *what,
			 bool route, struct km_m_action *a)
{
	static const char *const tcp_fields[] = { "clusters", NULL };
	static const char *const route_fields[] = {
		"clusters", "total_weight", NULL
	};
	static const struct list_rules clusters = {
		.name = "clusters", .required = true,
		.if_empty = "clusters is empty", .limit = KM_MAX_WEIGHTED,
		.maps = true, .read_item = read_weighted_entry,
	};
	char wwhat[WHAT_LEN];
	struct weights ws = { .route = route };
	yaml_node_t *t;
	uint64_t x;
	int ret;

	what_fmt(wwhat, "%s: weighted_clusters", what);
	ret = mapping_at(c, v, what, "weighted_clusters", wwhat,
			 route ? route_fields : tcp_fields, NULL);
	if (!ret)
		ret = read_list(c, v, wwhat, &clusters, (void **)&a->clusters,
				&a->n_clusters, sizeof(*a->clusters), &ws);
	if (ret)
		return ret;
	if (ws.sum == 0)	/* only a route's can be: every weight 0 */
		return fail(c, v, wwhat,
			    "the sum of weights is 0: no cluster would get traffic");
	t = route ? field(c, v, "total_weight") : NULL;
	if (!t)
		return 0;
	ret = uint_at(c, t, wwhat, "total_weight", 1, KM_MAX_TOTAL_WEIGHT, &x);
	if (ret)
		return ret;
	if (x != ws.sum)
		return fail(c, t, wwhat,
			    "total_weight %" PRIu64 " differs from the sum of weights %" PRIu64,
			    x, ws.sum);
	a->total_weight = (uint32_t)x;
	return 0;
}

/* `cluster: x`, the same as one weighted cluster of weight 1. */
static int read_one_cluster(struct ctx *c, yaml_node_t *v, const char *what,
			    struct km_m_action *a)
{
	int ret = alloc_array(c, 1, sizeof(*a->clusters),
			      (void **)&a->clusters, &a->n_clusters);

	if (ret)
		return ret;
	a->clusters[0].src = src_of(c, v);
	a->clusters[0].weight = 1;
	return str_at(c, v, what, "cluster", KM_NAME_MAX, false,
		      &a->clusters[0].cluster);
}

static int read_action_target(struct ctx *c, yaml_node_t *map,
			      const char *what, bool route,
			      struct km_m_action *a)
{
	static const char *const kinds[] = {
		"cluster", "weighted_clusters", NULL
	};
	yaml_node_t *v;
	size_t which;
	int ret;

	a->src = src_of(c, map);
	ret = one_of(c, map, what, kinds, true, &v, &which);
	if (ret < 0)
		return ret;
	if (which == 0)
		return read_one_cluster(c, v, what, a);
	return read_weighted(c, v, what, route, a);
}

/* ---- http routes ------------------------------------------------------- */

static int read_regex(struct ctx *c, yaml_node_t *v, const char *what,
		      const char *name, char **out)
{
	static const char *const used[] = { "regex", NULL };
	static const char *const ignored[] = { "google_re2", NULL };
	int ret;

	ret = mapping_at(c, v, what, name, what, used, ignored);
	if (!ret)
		ret = req_str(c, v, what, "regex", KM_MAX_MATCH_STR, out);
	return ret;
}

/* Envoy's StringMatcher; ignore_case applies to it only. */
static int read_string_match(struct ctx *c, yaml_node_t *v, const char *what,
			     struct km_m_header_match *h)
{
	static const char *const used[] = {
		"exact", "prefix", "suffix", "contains", "safe_regex",
		"ignore_case", NULL
	};
	static const char *const kinds[] = {
		"exact", "prefix", "suffix", "contains", "safe_regex", NULL
	};
	static const uint8_t kind_of[] = {
		KM_STR_EXACT, KM_STR_PREFIX, KM_STR_SUFFIX, KM_STR_CONTAINS,
		KM_STR_REGEX,
	};
	char swhat[WHAT_LEN];
	yaml_node_t *s;
	size_t which;
	int ret;

	what_fmt(swhat, "%s: string_match", what);
	ret = mapping_at(c, v, what, "string_match", swhat, used, NULL);
	if (!ret)
		ret = opt_bool(c, v, swhat, "ignore_case", &h->ignore_case);
	if (ret)
		return ret;
	ret = one_of(c, v, swhat, kinds, true, &s, &which);
	if (ret < 0)
		return ret;
	h->kind = kind_of[which];
	if (h->kind == KM_STR_REGEX)
		return read_regex(c, s, swhat, "safe_regex", &h->value);
	/* Envoy allows an empty exact value, not an empty prefix etc. */
	return str_at(c, s, swhat, kinds[which], KM_MAX_MATCH_STR,
		      h->kind == KM_STR_EXACT, &h->value);
}

static int read_header(struct ctx *c, yaml_node_t *n, const char *rwhat,
		       size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"name", "exact_match", "prefix_match", "suffix_match",
		"contains_match", "present_match", "safe_regex_match",
		"string_match", "invert_match", NULL
	};
	static const char *const kinds[] = {
		"exact_match", "prefix_match", "suffix_match",
		"contains_match", "present_match", "safe_regex_match",
		"string_match", NULL
	};
	static const uint8_t kind_of[] = {
		KM_STR_EXACT, KM_STR_PREFIX, KM_STR_SUFFIX, KM_STR_CONTAINS,
		KM_STR_PRESENT, KM_STR_REGEX, 0,
	};
	struct km_m_header_match *h = elem;
	char hwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	h->src = src_of(c, n);
	ret = item_name(c, n, rwhat, "headers", idx, "header",
			KM_MAX_MATCH_STR, hwhat, &h->name);
	if (!ret)
		ret = check_fields(c, n, hwhat, used, NULL);
	if (!ret)
		ret = opt_bool(c, n, hwhat, "invert_match", &h->invert);
	if (ret)
		return ret;
	ret = one_of(c, n, hwhat, kinds, false, &v, &which);
	if (ret < 0)
		return ret;
	if (ret == 0) {
		/* Envoy: a matcher with no value checks presence */
		h->kind = KM_STR_PRESENT;
		h->present = true;
		return 0;
	}
	h->kind = kind_of[which];
	switch (h->kind) {
	case KM_STR_PRESENT:
		return bool_at(c, v, hwhat, kinds[which], &h->present);
	case KM_STR_REGEX:
		return read_regex(c, v, hwhat, kinds[which], &h->value);
	case 0:
		return read_string_match(c, v, hwhat, h);
	default:
		return str_at(c, v, hwhat, kinds[which], KM_MAX_MATCH_STR,
			      h->kind == KM_STR_EXACT, &h->value);
	}
}

/* A QueryParameterMatcher: string_match or present_match; neither checks
 * presence, as in Envoy. */
static int read_query_param(struct ctx *c, yaml_node_t *n, const char *rwhat,
			    size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"name", "string_match", "present_match", NULL
	};
	static const char *const kinds[] = {
		"string_match", "present_match", NULL
	};
	struct km_m_header_match *h = elem;
	char qwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	h->src = src_of(c, n);
	ret = item_name(c, n, rwhat, "query_parameters", idx,
			"query parameter", KM_MAX_MATCH_STR, qwhat, &h->name);
	if (!ret)
		ret = check_fields(c, n, qwhat, used, NULL);
	if (ret)
		return ret;
	ret = one_of(c, n, qwhat, kinds, false, &v, &which);
	if (ret < 0)
		return ret;
	if (ret == 0 || which == 1) {
		h->kind = KM_STR_PRESENT;
		h->present = true;
		return ret ? bool_at(c, v, qwhat, "present_match",
				     &h->present) : 0;
	}
	return read_string_match(c, v, qwhat, h);
}

static int read_match(struct ctx *c, yaml_node_t *v, const char *rwhat,
		      struct km_m_route *r)
{
	static const char *const used[] = {
		"prefix", "path", "path_separated_prefix", "safe_regex",
		"case_sensitive", "headers", "query_parameters", NULL
	};
	static const char *const kinds[] = {
		"prefix", "path", "path_separated_prefix", "safe_regex", NULL
	};
	static const uint8_t kind_of[] = {
		KM_PATH_PREFIX, KM_PATH_EXACT, KM_PATH_SEPARATED_PREFIX,
		KM_PATH_REGEX,
	};
	static const struct list_rules headers = {
		.name = "headers", .limit = KM_MAX_HEADER_MATCHES,
		.noun = "header matchers", .maps = true,
		.read_item = read_header,
	};
	static const struct list_rules query_params = {
		.name = "query_parameters", .limit = KM_MAX_HEADER_MATCHES,
		.noun = "query parameter matchers", .maps = true,
		.read_item = read_query_param,
	};
	yaml_node_t *p;
	size_t which;
	int ret;

	ret = mapping_at(c, v, rwhat, "match", rwhat, used, NULL);
	if (!ret)
		ret = opt_bool(c, v, rwhat, "case_sensitive",
			       &r->case_sensitive);
	if (ret)
		return ret;
	ret = one_of(c, v, rwhat, kinds, true, &p, &which);
	if (ret < 0)
		return ret;
	r->path_kind = kind_of[which];
	switch (r->path_kind) {
	case KM_PATH_REGEX:
		ret = read_regex(c, p, rwhat, "safe_regex", &r->path);
		break;
	case KM_PATH_SEPARATED_PREFIX:
		ret = str_at(c, p, rwhat, kinds[which], KM_MAX_MATCH_STR, false,
			     &r->path);
		/* Envoy's rule: ^[^?#]+[^?#/]$ */
		if (!ret && (strpbrk(r->path, "?#") ||
			     r->path[strlen(r->path) - 1] == '/'))
			ret = fail(c, p, rwhat,
				   "path_separated_prefix '%s' must not contain '?' or '#' or end with '/'",
				   quote(c, r->path));
		break;
	default:
		/* an empty prefix matches every path, as in Envoy */
		ret = str_at(c, p, rwhat, kinds[which], KM_MAX_MATCH_STR,
			     r->path_kind == KM_PATH_PREFIX, &r->path);
		break;
	}
	if (!ret)
		ret = read_list(c, v, rwhat, &headers, (void **)&r->headers,
				&r->n_headers, sizeof(*r->headers), NULL);
	if (!ret)
		ret = read_list(c, v, rwhat, &query_params,
				(void **)&r->query_params, &r->n_query_params,
				sizeof(*r->query_params), NULL);
	if (ret)
		return ret;
	/* they share the route's matcher records in the compiled table */
	if (r->n_headers + r->n_query_params > KM_MAX_HEADER_MATCHES)
		return fail(c, field(c, v, "query_parameters"), rwhat,
			    "%zu header and %zu query parameter matchers, limit is %d in all",
			    r->n_headers, r->n_query_params,
			    KM_MAX_HEADER_MATCHES);
	return 0;
}

static int read_route(struct ctx *c, yaml_node_t *n, const char *vwhat,
		      size_t idx, void *elem, void *arg)
{
	static const char *const used[] = { "name", "match", "route", NULL };
	static const char *const action_used[] = {
		"cluster", "weighted_clusters", NULL
	};
	static const char *const action_ignored[] = {
		"timeout", "idle_timeout", NULL
	};
	struct km_m_route *r = elem;
	char rwhat[WHAT_LEN];
	yaml_node_t *v;
	int ret;

	what_index(rwhat, vwhat, "routes", idx);
	ret = opt_str(c, n, rwhat, "name", KM_NAME_MAX, &r->name);
	if (ret)
		return ret;
	if (r->name)
		what_named(c, rwhat, vwhat, "route", r->name);
	r->src = src_of(c, n);
	r->case_sensitive = true;
	ret = check_fields(c, n, rwhat, used, NULL);
	if (!ret)
		ret = req_field(c, n, rwhat, "match", &v);
	if (!ret)
		ret = read_match(c, v, rwhat, r);
	if (!ret)
		ret = req_field(c, n, rwhat, "route", &v);
	if (!ret)
		ret = mapping_at(c, v, rwhat, "route", rwhat, action_used,
				 action_ignored);
	if (!ret)
		ret = read_action_target(c, v, rwhat, true, &r->action);
	return ret;
}

static int read_domain(struct ctx *c, yaml_node_t *d, const char *vwhat,
		       size_t i, void *elem, void *arg)
{
	char dname[32];

	snprintf(dname, sizeof(dname), "domains[%zu]", i);
	return str_at(c, d, vwhat, dname, KM_MAX_MATCH_STR, false, elem);
}

static int read_vhost(struct ctx *c, yaml_node_t *n, const char *rcwhat,
		      size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"name", "domains", "routes", NULL
	};
	static const struct list_rules domains = {
		.name = "domains", .required = true,
		.if_empty = "domains is empty", .limit = KM_MAX_DOMAINS,
		.read_item = read_domain,
	};
	static const struct list_rules routes = {
		.name = "routes", .limit = KM_MAX_ROUTES, .maps = true,
		.read_item = read_route,
	};
	struct km_m_vhost *vh = elem;
	char vwhat[WHAT_LEN];
	int ret;

	vh->src = src_of(c, n);
	ret = item_name(c, n, rcwhat, "virtual_hosts", idx, "virtual_host",
			KM_NAME_MAX, vwhat, &vh->name);
	if (!ret)
		ret = check_fields(c, n, vwhat, used, NULL);
	if (!ret)
		ret = read_list(c, n, vwhat, &domains, (void **)&vh->domains,
				&vh->n_domains, sizeof(*vh->domains), NULL);
	if (!ret)
		ret = read_list(c, n, vwhat, &routes, (void **)&vh->routes,
				&vh->n_routes, sizeof(*vh->routes), NULL);
	return ret;
}

/* Virtual host names, and domains across all virtual hosts, are unique in a
 * route config (Envoy's rule; Host matching ignores case). */
static int check_vhost_dups(struct ctx *c, yaml_node_t *v, const char *rcwhat,
			    struct km_m_route_config *rc)
{
	yaml_node_t *vs = field(c, v, "virtual_hosts");
	struct km_dup_ref *refs;
	size_t nrefs = 0, first, dup, vi, di;
	char vwhat[WHAT_LEN];
	int ret = 0;

	for (vi = 0; vi < rc->n_vhosts; vi++)
		nrefs += rc->vhosts[vi].n_domains;
	if (nrefs < rc->n_vhosts)
		nrefs = rc->n_vhosts;
	if (!nrefs)
		return 0;
	refs = calloc(nrefs, sizeof(*refs));
	if (!refs)
		return oom(c);

	for (vi = 0; vi < rc->n_vhosts; vi++)
		refs[vi] = (struct km_dup_ref){ rc->vhosts[vi].name, vi };
	if (km_find_dup(refs, rc->n_vhosts, false, &first, &dup)) {
		ret = fail(c, seq_item(c, vs, dup), rcwhat,
			   "virtual_host '%s' appears twice (first at line %d)",
			   quote(c, rc->vhosts[dup].name),
			   rc->vhosts[first].src.line);
		goto out;
	}

	/* pos = vhost index * KM_MAX_DOMAINS + domain index */
	nrefs = 0;
	for (vi = 0; vi < rc->n_vhosts; vi++)
		for (di = 0; di < rc->vhosts[vi].n_domains; di++)
			refs[nrefs++] = (struct km_dup_ref){
				rc->vhosts[vi].domains[di],
				vi * KM_MAX_DOMAINS + di
			};
	if (km_find_dup(refs, nrefs, true, &first, &dup)) {
		struct km_m_vhost *v1 = &rc->vhosts[first / KM_MAX_DOMAINS];
		yaml_node_t *vn = seq_item(c, vs, dup / KM_MAX_DOMAINS);
		yaml_node_t *dn = seq_item(c, field(c, vn, "domains"),
					   dup % KM_MAX_DOMAINS);

		what_named(c, vwhat, rcwhat, "virtual_host",
			   rc->vhosts[dup / KM_MAX_DOMAINS].name);
		ret = fail(c, dn, vwhat,
			   "domain '%s' is also in virtual_host '%s' (line %d)",
			   quote(c, sval(dn)), quote(c, v1->name),
			   v1->src.line);
	}
out:
	free(refs);
	return ret;
}

static int read_route_config(struct ctx *c, yaml_node_t *v, const char *what,
			     struct km_m_route_config *rc)
{
	static const char *const used[] = {
		"@type", "name", "virtual_hosts", NULL
	};
	static const char *const ignored[] = { "validate_clusters", NULL };
	static const struct list_rules vhosts = {
		.name = "virtual_hosts", .limit = KM_MAX_VHOSTS, .maps = true,
		.read_item = read_vhost,
	};
	char rcwhat[WHAT_LEN];
	int ret;

	ret = want(c, v, YAML_MAPPING_NODE, what, "route_config");
	if (!ret)
		ret = opt_str(c, v, what, "name", KM_NAME_MAX, &rc->name);
	if (ret)
		return ret;
	rc->src = src_of(c, v);
	if (rc->name)
		what_named(c, rcwhat, what, "route_config", rc->name);
	else
		what_fmt(rcwhat, "%s: route_config", what);
	ret = check_fields(c, v, rcwhat, used, ignored);
	if (!ret)
		ret = check_type_url(c, v, rcwhat, URL_ROUTE_CONFIG);
	if (!ret)
		ret = read_list(c, v, rcwhat, &vhosts, (void **)&rc->vhosts,
				&rc->n_vhosts, sizeof(*rc->vhosts), NULL);
	if (!ret)
		ret = check_vhost_dups(c, v, rcwhat, rc);
	return ret;
}

/* ---- listeners --------------------------------------------------------- */

static int read_tcp_proxy(struct ctx *c, yaml_node_t *tc, const char *what,
			  struct km_m_chain *ch)
{
	static const char *const used[] = {
		"@type", "cluster", "weighted_clusters", NULL
	};
	static const char *const ignored[] = {
		"stat_prefix", "idle_timeout", "access_log", NULL
	};
	int ret;

	ch->kind = KM_CHAIN_TCP_PROXY;
	ret = mapping_at(c, tc, what, "typed_config", what, used, ignored);
	if (!ret)
		ret = check_type_url(c, tc, what, URL_TCP_PROXY);
	if (!ret)
		ret = read_action_target(c, tc, what, false, &ch->tcp);
	return ret;
}

/* A filter kmesh does not implement that is access control
 * (model/authz.h) is read (RBAC: 0) or refused (-EINVAL) by yaml_rbac.c; 1 when
 * it is not access control. f is the filter's mapping, name its name
 * node. */
static int authz_filter(struct ctx *c, yaml_node_t *f, yaml_node_t *name,
			const char *what, bool http, struct km_m_chain *ch)
{
	yaml_node_t *tc = field(c, f, "typed_config"), *t = NULL;

	if (tc && tc->type == YAML_MAPPING_NODE)
		t = field(c, tc, "@type");
	if (!km_authz_filter(sval(name), t && t->type == YAML_SCALAR_NODE ?
					      sval(t) : NULL))
		return 1;
	return km_yaml_authz_filter(c->doc, c->file, f, what, http, ch,
				    c->err);
}

/* http_filters[idx] of an http_connection_manager (arg, the chain): the
 * router and the filters that do not decide access (fault, stats, ...)
 * change nothing kmesh enforces and are ignored; access control is not. */
static int read_http_filter(struct ctx *c, yaml_node_t *f, const char *hwhat,
			    size_t idx, void *elem, void *arg)
{
	char fwhat[WHAT_LEN];
	yaml_node_t *name;
	int ret;

	what_index(fwhat, hwhat, "http_filters", idx);
	ret = req_field(c, f, fwhat, "name", &name);
	if (!ret)
		ret = want(c, name, YAML_SCALAR_NODE, fwhat, "name");
	if (!ret)
		ret = authz_filter(c, f, name, hwhat, true, arg);
	return ret > 0 ? 0 : ret;
}

static int read_hcm(struct ctx *c, yaml_node_t *tc, const char *what,
		    struct km_m_chain *ch)
{
	static const char *const used[] = {
		"@type", "rds", "route_config", "http_filters", NULL
	};
	static const struct list_rules http_filters = {
		.name = "http_filters", .maps = true,
		.read_item = read_http_filter,
	};
	static const char *const ignored[] = {
		"stat_prefix", "codec_type",
		"use_remote_address", "access_log",
		"common_http_protocol_options", "stream_idle_timeout",
		"request_timeout", NULL
	};
	static const char *const sources[] = { "rds", "route_config", NULL };
	static const char *const rds_used[] = { "route_config_name", NULL };
	static const char *const rds_ignored[] = { "config_source", NULL };
	char rwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	ch->kind = KM_CHAIN_HTTP;
	ret = mapping_at(c, tc, what, "typed_config", what, used, ignored);
	if (!ret)
		ret = check_type_url(c, tc, what, URL_HCM);
	if (!ret)
		ret = read_list(c, tc, what, &http_filters, NULL, NULL, 0, ch);
	if (ret)
		return ret;
	ret = one_of(c, tc, what, sources, true, &v, &which);
	if (ret < 0)
		return ret;
	if (which == 1)
		return read_route_config(c, v, what, &ch->routes);

	what_fmt(rwhat, "%s: rds", what);
	ret = mapping_at(c, v, what, "rds", rwhat, rds_used, rds_ignored);
	if (!ret)
		ret = req_str(c, v, rwhat, "route_config_name", KM_NAME_MAX,
			      &ch->rds_name);
	return ret;
}

/* One filter of a chain (arg); only the two terminal filters kmesh
 * implements. */
static int read_filter(struct ctx *c, yaml_node_t *f, const char *cwhat,
		       size_t idx, void *elem, void *arg)
{
	static const char *const used[] = { "name", "typed_config", NULL };
	struct km_m_chain *ch = arg;
	char fwhat[WHAT_LEN];
	yaml_node_t *name, *tc;
	bool tcp;
	int ret;

	what_index(fwhat, cwhat, "filters", idx);
	ret = req_field(c, f, fwhat, "name", &name);
	if (!ret)
		ret = want(c, name, YAML_SCALAR_NODE, fwhat, "name");
	if (ret)
		return ret;
	if (scalar_is(name, FILTER_TCP_PROXY))
		tcp = true;
	else if (scalar_is(name, FILTER_HCM))
		tcp = false;
	else if ((ret = authz_filter(c, f, name, cwhat, false, ch)) <= 0)
		return ret;
	else
		return fail(c, name, cwhat, "unknown filter '%s'",
			    quote(c, sval(name)));
	if (ch->kind)
		return fail(c, f, cwhat,
			    "more than one tcp_proxy or http_connection_manager filter");
	what_fmt(fwhat, "%s: %s", cwhat,
		 tcp ? "tcp_proxy" : "http_connection_manager");
	ret = check_fields(c, f, fwhat, used, NULL);
	if (!ret)
		ret = req_field(c, f, fwhat, "typed_config", &tc);
	if (ret)
		return ret;
	return tcp ? read_tcp_proxy(c, tc, fwhat, ch) :
		     read_hcm(c, tc, fwhat, ch);
}

/* The listener whose chains are read, and the destination ports of those
 * read so far, to spot two chains matching the same traffic. */
struct chain_ports {
	const struct km_m_listener *l;
	uint8_t seen[65536 / 8];
};

static int check_chain_port(struct ctx *c, yaml_node_t *n, const char *cwhat,
			    const struct km_m_chain *ch,
			    struct chain_ports *ports)
{
	uint16_t p = ch->dest_port;
	size_t j = 0;

	if (!(ports->seen[p / 8] & (1u << (p % 8)))) {
		ports->seen[p / 8] |= 1u << (p % 8);
		return 0;
	}
	while (ports->l->chains[j].dest_port != p)
		j++;
	return fail(c, n, cwhat,
		    "same filter_chain_match as filter_chains[%zu] (line %d)",
		    j, ports->l->chains[j].src.line);
}

static int read_chain(struct ctx *c, yaml_node_t *n, const char *lwhat,
		      size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"filter_chain_match", "filters", NULL
	};
	static const char *const ignored[] = { "name", NULL };
	static const char *const match_used[] = { "destination_port", NULL };
	static const struct list_rules filters = {
		.name = "filters", .required = true,
		.if_empty = "filters is empty, needs a tcp_proxy or http_connection_manager filter",
		.maps = true, .read_item = read_filter,
	};
	struct km_m_chain *ch = elem;
	char cwhat[WHAT_LEN];
	yaml_node_t *fcm;
	uint64_t port = 0;
	int ret;

	what_index(cwhat, lwhat, "filter_chains", idx);
	ret = check_fields(c, n, cwhat, used, ignored);
	if (ret)
		return ret;
	ch->src = src_of(c, n);
	fcm = field(c, n, "filter_chain_match");
	if (fcm) {
		ret = mapping_at(c, fcm, cwhat, "filter_chain_match", cwhat,
				 match_used, NULL);
		if (!ret)
			ret = opt_uint(c, fcm, cwhat, "destination_port", 1,
				       65535, &port);
		if (ret)
			return ret;
		ch->dest_port = (uint16_t)port;
	}
	ret = read_list(c, n, cwhat, &filters, NULL, NULL, 0, ch);
	if (!ret)
		ret = check_chain_port(c, n, cwhat, ch, arg);
	return ret;
}

/* additional_addresses[i]: the listener (arg)'s port at another address. */
static int read_extra_address(struct ctx *c, yaml_node_t *e, const char *lwhat,
			      size_t i, void *elem, void *arg)
{
	static const char *const used[] = { "address", NULL };
	const struct km_m_listener *l = arg;
	char awhat[WHAT_LEN];
	yaml_node_t *a;
	uint16_t port = 0;
	int ret;

	what_index(awhat, lwhat, "additional_addresses", i);
	ret = check_fields(c, e, awhat, used, NULL);
	if (!ret)
		ret = req_field(c, e, awhat, "address", &a);
	if (!ret)
		ret = read_address(c, a, awhat, "address", elem, &port);
	if (ret)
		return ret;
	if (port != l->port)
		return fail(c, a, awhat,
			    "port_value %u differs from the listener's port %u",
			    port, l->port);
	return 0;
}

/* traffic_direction: an INBOUND listener is no frontend; its RBAC
 * filters protect its address (docs/authz.md). */
static int read_direction(struct ctx *c, yaml_node_t *n, const char *lwhat,
			  struct km_m_listener *l)
{
	static const char *const names[] = { "UNSPECIFIED", "INBOUND",
					     "OUTBOUND" };
	yaml_node_t *v;
	int ret = opt_scalar(c, n, lwhat, "traffic_direction", &v);

	if (ret || !v)
		return ret;
	for (size_t i = 0; i < 3; i++) {
		if (scalar_is(v, names[i])) {
			l->direction = (uint8_t)i;
			return 0;
		}
	}
	return fail(c, v, lwhat,
		    "traffic_direction '%s' is not UNSPECIFIED, INBOUND or OUTBOUND",
		    quote(c, sval(v)));
}

static int read_listener(struct ctx *c, yaml_node_t *n, const char *what,
			 size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"@type", "name", "address", "additional_addresses",
		"filter_chains", "traffic_direction", NULL
	};
	static const char *const ignored[] = {
		"stat_prefix", "access_log",
		"per_connection_buffer_limit_bytes", NULL
	};
	static const struct list_rules extra_addrs = {
		.name = "additional_addresses", .maps = true,
		.read_item = read_extra_address,
	};
	static const struct list_rules chains = {
		.name = "filter_chains", .required = true,
		.if_empty = "filter_chains is empty", .maps = true,
		.read_item = read_chain,
	};
	struct km_m_listener *l = elem;
	struct chain_ports ports = { .l = l };
	char lwhat[WHAT_LEN];
	yaml_node_t *v, *extra;
	int ret;

	l->src = src_of(c, n);
	ret = item_name(c, n, NULL, "listeners", idx, "listener", KM_NAME_MAX,
			lwhat, &l->name);
	if (!ret)
		ret = check_fields(c, n, lwhat, used, ignored);
	if (!ret)
		ret = check_type_url(c, n, lwhat, URL_LISTENER);
	if (!ret)
		ret = req_field(c, n, lwhat, "address", &v);
	if (!ret)
		ret = list_field(c, n, lwhat, &extra_addrs, &extra);
	if (!ret)
		ret = alloc_array(c, 1 + (extra ? seq_len(extra) : 0),
				  sizeof(*l->addrs), (void **)&l->addrs,
				  &l->n_addrs);
	if (!ret)
		ret = read_address(c, v, lwhat, "address", &l->addrs[0],
				   &l->port);
	if (!ret)
		ret = each_item(c, extra, lwhat, &extra_addrs, &l->addrs[1],
				sizeof(*l->addrs), l);
	if (!ret)
		ret = read_list(c, n, lwhat, &chains, (void **)&l->chains,
				&l->n_chains, sizeof(*l->chains), &ports);
	if (!ret)
		ret = read_direction(c, n, lwhat, l);
	return ret;
}

/* ---- clusters ---------------------------------------------------------- */

/* The DEFAULT thresholds found so far, and where each priority was seen. */
struct thresholds {
	struct km_circuit_breakers *cb;
	int seen_line[2];	/* DEFAULT, HIGH */
};

static int read_threshold(struct ctx *c, yaml_node_t *t, const char *bwhat,
			  size_t i, void *elem, void *arg)
{
	static const char *const used[] = {
		"priority", "max_connections", "max_pending_requests",
		"max_requests", "max_retries", NULL
	};
	static const char *const ignored[] = { "track_remaining", NULL };
	static const struct {
		const char *name;
		size_t off;
	} limits[] = {
		{ "max_connections",
		  offsetof(struct km_circuit_breakers, max_connections) },
		{ "max_pending_requests",
		  offsetof(struct km_circuit_breakers, max_pending_requests) },
		{ "max_requests",
		  offsetof(struct km_circuit_breakers, max_requests) },
		{ "max_retries",
		  offsetof(struct km_circuit_breakers, max_retries) },
	};
	struct thresholds *th = arg;
	struct km_circuit_breakers got = { 0 };
	char twhat[WHAT_LEN];
	yaml_node_t *p;
	int prio = 0;
	int ret;

	what_index(twhat, bwhat, "thresholds", i);
	ret = check_fields(c, t, twhat, used, ignored);
	if (!ret)
		ret = opt_scalar(c, t, twhat, "priority", &p);
	if (ret)
		return ret;
	if (p && scalar_is(p, "HIGH"))
		prio = 1;
	else if (p && !scalar_is(p, "DEFAULT"))
		return fail(c, p, twhat,
			    "unknown priority '%s' (DEFAULT or HIGH)",
			    quote(c, sval(p)));
	if (th->seen_line[prio])
		return fail(c, t, twhat, "a second %s entry (first at line %d)",
			    prio ? "HIGH" : "DEFAULT", th->seen_line[prio]);
	th->seen_line[prio] = line_of(t);
	/* 0 would read as "unset" in the model, not Envoy's "none allowed",
	 * so it is refused rather than misread. */
	for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
		uint64_t x = 0;

		ret = opt_uint(c, t, twhat, limits[k].name, 1, UINT32_MAX, &x);
		if (ret)
			return ret;
		*(uint32_t *)((char *)&got + limits[k].off) = (uint32_t)x;
	}
	/* HIGH is for requests Envoy routes at high priority, which kmesh
	 * never sees. */
	if (prio == 0)
		*th->cb = got;
	return 0;
}

/* The optional circuit_breakers field of cluster map n. */
static int read_circuit_breakers(struct ctx *c, yaml_node_t *n,
				 const char *cwhat,
				 struct km_circuit_breakers *cb)
{
	static const char *const used[] = { "thresholds", NULL };
	static const struct list_rules thresholds = {
		.name = "thresholds", .maps = true, .read_item = read_threshold,
	};
	struct thresholds th = { .cb = cb };
	yaml_node_t *v = field(c, n, "circuit_breakers");
	char bwhat[WHAT_LEN];
	int ret;

	if (!v)
		return 0;
	what_fmt(bwhat, "%s: circuit_breakers", cwhat);
	ret = mapping_at(c, v, cwhat, "circuit_breakers", bwhat, used, NULL);
	if (!ret)
		ret = read_list(c, v, bwhat, &thresholds, NULL, NULL, 0, &th);
	return ret;
}

/* Where a locality group's endpoints go in the cluster. */
struct endpoint_group {
	struct km_m_endpoint *endpoints;	/* the cluster's */
	size_t pos;		/* of the group's first endpoint */
	uint32_t priority;
	struct km_locality locality;
};

static int read_health(struct ctx *c, yaml_node_t *n, const char *ewhat,
		       uint8_t *health)
{
	yaml_node_t *v;
	unsigned int h;
	int ret;

	ret = opt_scalar(c, n, ewhat, "health_status", &v);
	if (ret || !v)
		return ret;
	for (h = KM_HEALTH_UNKNOWN; h <= KM_HEALTH_DEGRADED; h++)
		if (scalar_is(v, km_health_name(h)))
			break;
	if (h > KM_HEALTH_DEGRADED)
		return fail(c, v, ewhat, "unknown health_status '%s'",
			    quote(c, sval(v)));
	*health = (uint8_t)h;
	return 0;
}

/* lb_endpoints[j] of a group (arg), named by its position in the cluster. */
static int read_lb_endpoint(struct ctx *c, yaml_node_t *n, const char *cwhat,
			    size_t j, void *elem, void *arg)
{
	static const char *const used[] = {
		"endpoint", "health_status", "load_balancing_weight", NULL
	};
	static const char *const ignored[] = { "metadata", NULL };
	static const char *const ep_used[] = { "address", NULL };
	static const char *const ep_ignored[] = {
		"hostname", "health_check_config", NULL
	};
	const struct endpoint_group *g = arg;
	struct km_m_endpoint *ep = elem;
	size_t pos = g->pos + j;
	char ewhat[WHAT_LEN];
	yaml_node_t *e, *a;
	uint64_t weight = 1;
	int ret;

	what_fmt(ewhat, "%s: endpoint %zu", cwhat, pos + 1);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, cwhat, "endpoint %zu must be a mapping, not %s",
			    pos + 1, type_name(n->type));
	ret = check_fields(c, n, ewhat, used, ignored);
	if (ret)
		return ret;
	ep->src = src_of(c, n);
	ret = req_field(c, n, ewhat, "endpoint", &e);
	if (!ret)
		ret = mapping_at(c, e, ewhat, "endpoint", ewhat, ep_used,
				 ep_ignored);
	if (!ret)
		ret = req_field(c, e, ewhat, "address", &a);
	if (!ret)
		ret = read_address(c, a, ewhat, "address", &ep->ip, &ep->port);
	if (!ret)
		ret = read_health(c, n, ewhat, &ep->health);
	if (!ret)
		ret = opt_uint(c, n, ewhat, "load_balancing_weight", 1,
			       UINT32_MAX, &weight);
	if (ret)
		return ret;
	ep->weight = (uint32_t)weight;
	ep->priority = g->priority;
	ep->locality = g->locality;
	return 0;
}

/* endpoints[i] of a load assignment: a locality group, its locality read
 * into elem. */
static int read_endpoint_group(struct ctx *c, yaml_node_t *n,
			       const char *cwhat, size_t i, void *elem,
			       void *arg)
{
	static const char *const used[] = {
		"locality", "priority", "load_balancing_weight",
		"lb_endpoints", NULL
	};
	static const struct list_rules lb_endpoints = {
		.name = "lb_endpoints", .read_item = read_lb_endpoint,
	};
	struct endpoint_group *g = arg;
	struct km_locality *loc = elem;
	char gwhat[WHAT_LEN];
	yaml_node_t *lbe;
	uint64_t prio = 0, x;
	int ret;

	what_index(gwhat, cwhat, "endpoints", i);
	ret = check_fields(c, n, gwhat, used, NULL);
	if (!ret)
		ret = read_locality(c, n, gwhat, loc);
	if (!ret)
		ret = opt_uint(c, n, gwhat, "priority", 0, MAX_PRIORITY, &prio);
	/* checked, then unused: the compiler serves one locality level at a
	 * time, so locality weights never apply */
	if (!ret)
		ret = opt_uint(c, n, gwhat, "load_balancing_weight", 1,
			       UINT32_MAX, &x);
	if (!ret)
		ret = list_field(c, n, gwhat, &lb_endpoints, &lbe);
	if (ret || !lbe)
		return ret;
	g->priority = (uint32_t)prio;
	g->locality = *loc;
	ret = each_item(c, lbe, cwhat, &lb_endpoints, &g->endpoints[g->pos],
			sizeof(*g->endpoints), g);
	g->pos += seq_len(lbe);
	return ret;
}

/* Endpoint count before anything is read, to check the limit against the
 * whole cluster and allocate once. Malformed groups count 0 here and are
 * reported when read. */
static size_t count_endpoints(struct ctx *c, yaml_node_t *groups)
{
	size_t total = 0;

	for (size_t i = 0; i < seq_len(groups); i++) {
		yaml_node_t *g = seq_item(c, groups, i), *lbe;

		if (g->type != YAML_MAPPING_NODE)
			continue;
		lbe = field(c, g, "lb_endpoints");
		if (lbe && lbe->type == YAML_SEQUENCE_NODE)
			total += seq_len(lbe);
	}
	return total;
}

/* The optional load_assignment field of cluster map n. */
static int read_load_assignment(struct ctx *c, yaml_node_t *n,
				const char *cwhat, struct km_m_cluster *cl)
{
	static const char *const used[] = { "@type", "endpoints", NULL };
	static const char *const ignored[] = { "cluster_name", NULL };
	static const struct list_rules groups = {
		.name = "endpoints", .maps = true,
		.read_item = read_endpoint_group,
	};
	struct endpoint_group g = { 0 };
	yaml_node_t *v = field(c, n, "load_assignment"), *gs;
	char lwhat[WHAT_LEN];
	size_t total;
	int ret;

	if (!v)
		return 0;
	what_fmt(lwhat, "%s: load_assignment", cwhat);
	ret = mapping_at(c, v, cwhat, "load_assignment", lwhat, used, ignored);
	if (!ret)
		ret = check_type_url(c, v, lwhat, URL_CLA);
	if (ret)
		return ret;
	cl->has_load_assignment = true;
	ret = list_field(c, v, lwhat, &groups, &gs);
	if (ret || !gs)
		return ret;
	total = count_endpoints(c, gs);
	if (total > KM_MAX_CLUSTER_ENDPOINTS)
		return fail(c, gs, cwhat, "%zu endpoints, limit is %d", total,
			    KM_MAX_CLUSTER_ENDPOINTS);
	ret = alloc_array(c, seq_len(gs), sizeof(*cl->localities),
			  (void **)&cl->localities, &cl->n_localities);
	if (!ret)
		ret = alloc_array(c, total, sizeof(*cl->endpoints),
				  (void **)&cl->endpoints, &cl->n_endpoints);
	if (ret)
		return ret;
	g.endpoints = cl->endpoints;
	return each_item(c, gs, cwhat, &groups, cl->localities,
			 sizeof(*cl->localities), &g);
}

/* The optional type field of cluster map n. */
static int read_cluster_type(struct ctx *c, yaml_node_t *n, const char *cwhat,
			     struct km_m_cluster *cl)
{
	yaml_node_t *v;
	int ret = opt_scalar(c, n, cwhat, "type", &v);

	if (ret || !v)
		return ret;
	if (scalar_is(v, "STATIC"))
		cl->type = KM_CLUSTER_STATIC;
	else if (scalar_is(v, "EDS"))
		cl->type = KM_CLUSTER_EDS;
	else if (scalar_is(v, "STRICT_DNS") || scalar_is(v, "LOGICAL_DNS") ||
		 scalar_is(v, "ORIGINAL_DST"))
		return fail(c, v, cwhat,
			    "type %s not supported (STATIC or EDS)", sval(v));
	else
		return fail(c, v, cwhat, "unknown type '%s'",
			    quote(c, sval(v)));
	return 0;
}

/* The optional lb_policy field of cluster map n. */
static int read_lb_policy(struct ctx *c, yaml_node_t *n, const char *cwhat,
			  struct km_m_cluster *cl)
{
	static const char *const unsupported[] = {
		"RING_HASH", "MAGLEV", "CLUSTER_PROVIDED",
		"LOAD_BALANCING_POLICY_CONFIG", NULL
	};
	yaml_node_t *v;
	int ret = opt_scalar(c, n, cwhat, "lb_policy", &v);

	if (ret || !v)
		return ret;
	/* LEAST_REQUEST picks by active requests per endpoint, which the
	 * kernel does not count yet; round robin is its closest stand-in
	 * (and what it degrades to in Envoy when all counts are equal). */
	if (scalar_is(v, "ROUND_ROBIN") || scalar_is(v, "LEAST_REQUEST"))
		cl->lb_policy = KM_LB_ROUND_ROBIN;
	else if (scalar_is(v, "RANDOM"))
		cl->lb_policy = KM_LB_RANDOM;
	else if (in_list(v, unsupported))
		return fail(c, v, cwhat,
			    "lb_policy %s not supported (ROUND_ROBIN, LEAST_REQUEST or RANDOM)",
			    sval(v));
	else
		return fail(c, v, cwhat, "unknown lb_policy '%s'",
			    quote(c, sval(v)));
	return 0;
}

static int read_cluster(struct ctx *c, yaml_node_t *n, const char *what,
			size_t idx, void *elem, void *arg)
{
	static const char *const used[] = {
		"@type", "name", "type", "lb_policy", "circuit_breakers",
		"load_assignment", NULL
	};
	static const char *const ignored[] = {
		"connect_timeout", "dns_lookup_family",
		"per_connection_buffer_limit_bytes",
		"common_http_protocol_options",
		"typed_extension_protocol_options", "eds_cluster_config", NULL
	};
	struct km_m_cluster *cl = elem;
	char cwhat[WHAT_LEN];
	int ret;

	cl->src = src_of(c, n);
	ret = item_name(c, n, NULL, "clusters", idx, "cluster", KM_NAME_MAX,
			cwhat, &cl->name);
	if (!ret)
		ret = check_fields(c, n, cwhat, used, ignored);
	if (!ret)
		ret = check_type_url(c, n, cwhat, URL_CLUSTER);
	if (!ret)
		ret = read_cluster_type(c, n, cwhat, cl);
	if (!ret)
		ret = read_lb_policy(c, n, cwhat, cl);
	if (!ret)
		ret = read_circuit_breakers(c, n, cwhat, &cl->cb);
	/* EDS without one is filled by xDS later */
	if (!ret)
		ret = read_load_assignment(c, n, cwhat, cl);
	return ret;
}

/* ---- top level --------------------------------------------------------- */

/* Listener and cluster names are unique, as in Envoy. Each item of seq
 * (none when NULL) has been read, so has a valid name. */
static int check_names(struct ctx *c, yaml_node_t *seq, const char *kind)
{
	size_t n = seq ? seq_len(seq) : 0, first, dup;
	struct km_dup_ref *refs;
	const char *name;
	bool found;

	if (!n)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return oom(c);
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct km_dup_ref){
			sval(field(c, seq_item(c, seq, i), "name")), i
		};
	found = km_find_dup(refs, n, false, &first, &dup);
	free(refs);
	if (!found)
		return 0;
	name = sval(field(c, seq_item(c, seq, dup), "name"));
	return fail(c, seq_item(c, seq, dup), NULL,
		    "%s '%s': duplicate name (first at line %d)", kind,
		    quote(c, name), line_of(seq_item(c, seq, first)));
}

/* node.metadata: the keys istiod reads, as strings; LABELS, a map, becomes
 * "k=v,k=v". Any other key is Istio's or the user's and is ignored. */
static int read_node_metadata(struct ctx *c, yaml_node_t *node, struct km_node *n)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "ISTIO_VERSION", offsetof(struct km_node, istio_version) },
		{ "CLUSTER_ID", offsetof(struct km_node, cluster_id) },
		{ "NAMESPACE", offsetof(struct km_node, namespace_) },
		{ "INSTANCE_IPS", offsetof(struct km_node, instance_ips) },
		{ "NODE_NAME", offsetof(struct km_node, node_name) },
	};
	yaml_node_t *md = field(c, node, "metadata"), *labels;
	int ret;

	if (!md)
		return 0;
	ret = want(c, md, YAML_MAPPING_NODE, "node", "metadata");
	for (size_t i = 0; !ret && i < sizeof(keys) / sizeof(keys[0]); i++)
		ret = opt_str(c, md, "node: metadata", keys[i].key, KM_NAME_MAX,
			      (char **)((char *)n + keys[i].off));
	labels = ret ? NULL : field(c, md, "LABELS");
	if (labels) {
		yaml_node_pair_t *p;
		size_t len = 0;
		char *buf;

		ret = want(c, labels, YAML_MAPPING_NODE, "node: metadata", "LABELS");
		if (ret)
			return ret;
		for (p = labels->data.mapping.pairs.start; p < labels->data.mapping.pairs.top; p++)
			len += strlen(sval(node_at(c, p->key))) +
			       strlen(sval(node_at(c, p->value))) + 2;
		buf = calloc(1, len + 1);
		if (!buf)
			return oom(c);
		for (p = labels->data.mapping.pairs.start; p < labels->data.mapping.pairs.top; p++)
			sprintf(buf + strlen(buf), "%s%s=%s", *buf ? "," : "",
				sval(node_at(c, p->key)), sval(node_at(c, p->value)));
		n->labels = buf;
	}
	return ret;
}

/* The optional node field of the top level (Envoy's bootstrap node). */
static int read_node(struct ctx *c, yaml_node_t *root, struct km_model *m)
{
	static const char *const used[] = {
		"locality", "id", "cluster", "metadata", NULL
	};
	static const char *const ignored[] = { "user_agent_name", NULL };
	yaml_node_t *v = field(c, root, "node");
	int ret;

	if (!v)
		return 0;
	ret = mapping_at(c, v, NULL, "node", "node", used, ignored);
	if (!ret)
		ret = read_locality(c, v, "node", &m->node_locality);
	if (!ret)
		ret = opt_str(c, v, "node", "id", KM_NAME_MAX * 2, &m->node.id);
	if (!ret)
		ret = opt_str(c, v, "node", "cluster", KM_NAME_MAX, &m->node.cluster);
	if (!ret)
		ret = read_node_metadata(c, v, &m->node);
	return ret;
}

static int read_static_resources(struct ctx *c, yaml_node_t *v,
				 struct km_model *m)
{
	static const char *const used[] = { "listeners", "clusters", NULL };
	static const struct list_rules listeners = {
		.name = "listeners", .maps = true, .read_item = read_listener,
	};
	static const struct list_rules clusters = {
		.name = "clusters", .maps = true, .read_item = read_cluster,
	};
	int ret;

	ret = mapping_at(c, v, NULL, "static_resources", "static_resources",
			 used, NULL);
	if (!ret)
		ret = read_list(c, v, "static_resources", &listeners,
				(void **)&m->listeners, &m->n_listeners,
				sizeof(*m->listeners), NULL);
	if (!ret)
		ret = check_names(c, field(c, v, "listeners"), "listener");
	if (!ret)
		ret = read_list(c, v, "static_resources", &clusters,
				(void **)&m->clusters, &m->n_clusters,
				sizeof(*m->clusters), NULL);
	if (!ret)
		ret = check_names(c, field(c, v, "clusters"), "cluster");
	return ret;
}

static int read_root(struct ctx *c, yaml_node_t *root, struct km_model *m)
{
	static const char *const used[] = { "node", "static_resources", NULL };
	static const char *const ignored[] = { "admin", NULL };
	yaml_node_t *v;
	int ret;

	if (!root || is_null(root)) {
		km_err_set(c->err, "%s:1: static_resources is missing",
			   c->file);
		return -EINVAL;
	}
	ret = mapping_at(c, root, NULL, "the top level", NULL, used, ignored);
	if (!ret)
		ret = read_node(c, root, m);
	/* with xDS the file only names the node; its resources come over
	 * the wire */
	if (!ret && c->node_only && !field(c, root, "static_resources"))
		return 0;
	if (!ret)
		ret = req_field(c, root, NULL, "static_resources", &v);
	if (!ret)
		ret = read_static_resources(c, v, m);
	return ret;
}

/* libyaml's error as "FILE:LINE: YAML syntax error: problem (context)". */
static int yaml_error(struct ctx *c, const yaml_parser_t *p,
		      const char *yaml, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	int line = (int)p->problem_mark.line + 1;

	switch (p->error) {
	case YAML_NO_ERROR:
		/* libyaml 0.2.5's loader fails some allocations without
		 * setting an error */
	case YAML_MEMORY_ERROR:
		return oom(c);
	case YAML_READER_ERROR:
		/* bad encoding: libyaml gives a byte offset, not a mark */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += yaml[i] == '\n';
		if (p->problem_value != -1)
			km_err_set(c->err, "%s:%d: YAML error: %s (byte 0x%02X)",
				   c->file, line, problem, p->problem_value);
		else
			km_err_set(c->err, "%s:%d: YAML error: %s", c->file,
				   line, problem);
		break;
	default:
		if (p->context)
			km_err_set(c->err,
				   "%s:%d: YAML syntax error: %s (%s at line %d)",
				   c->file, line, problem, p->context,
				   (int)p->context_mark.line + 1);
		else
			km_err_set(c->err, "%s:%d: YAML syntax error: %s",
				   c->file, line, problem);
		break;
	}
	one_line(c->err->msg);
	return -EINVAL;
}

/*
 * libyaml's loader is quadratic in the nesting depth (100k levels: 19 s), so
 * the depth is counted on the event stream first, which stops at the first
 * level too deep. Syntax errors are left for the loader to report.
 */
static int check_depth(struct ctx *c, const char *yaml, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned int depth = 0;
	int ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return oom(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml,
				     len);
	while (!done && !ret && yaml_parser_parse(&parser, &ev)) {
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > KM_YAML_MAX_DEPTH) {
				km_err_set(c->err,
					   "%s:%zu:%zu: YAML nested deeper than %u levels: refused",
					   c->file, ev.start_mark.line + 1,
					   ev.start_mark.column + 1,
					   KM_YAML_MAX_DEPTH);
				ret = -EINVAL;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/* Loads the one document of the stream into *doc. */
static int load_document(struct ctx *c, const char *yaml, size_t len,
			 yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int ret;

	ret = check_depth(c, yaml, len);
	if (ret)
		return ret;
	if (!yaml_parser_initialize(&parser))
		return oom(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml,
				     len);
	if (!yaml_parser_load(&parser, doc)) {
		ret = yaml_error(c, &parser, yaml, len);
		goto out;
	}
	/* a second document would be ignored by a one-document reader */
	if (!yaml_parser_load(&parser, &extra)) {
		ret = yaml_error(c, &parser, yaml, len);
	} else {
		root = yaml_document_get_root_node(&extra);
		if (root)
			ret = fail(c, root, NULL,
				   "a second YAML document is not supported");
		yaml_document_delete(&extra);
	}
	if (ret)
		yaml_document_delete(doc);
out:
	yaml_parser_delete(&parser);
	return ret;
}

static int load_string(const char *name, const char *yaml, size_t len,
		       bool node_only, struct km_model *m, struct km_err *err)
{
	struct km_err scratch;
	struct ctx c = { .node_only = node_only };
	yaml_document_t doc;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!err)
		err = &scratch;
	err->msg[0] = '\0';
	if (!name)
		name = "<string>";
	if (!yaml) {
		yaml = "";
		len = 0;
	}
	m->source = strdup(name);
	if (!m->source) {
		km_err_set(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	c.file = m->source;
	c.err = err;

	ret = load_document(&c, yaml, len, &doc);
	if (ret)
		goto out;
	c.doc = &doc;
	ret = read_root(&c, yaml_document_get_root_node(&doc), m);
	yaml_document_delete(&doc);
out:
	if (ret)
		km_model_free(m);
	return ret;
}

int km_config_load_string(const char *name, const char *yaml, size_t len,
			  struct km_model *m, struct km_err *err)
{
	return load_string(name, yaml, len, false, m, err);
}

/*
 * Reads a regular file of at most KM_CONFIG_MAX_BYTES into *buf. Opened
 * non-blocking so a FIFO at the path cannot stall the caller, and checked
 * with fstat so a device (a symlink to /dev/zero) is refused before a read.
 * The limit is enforced while reading too: the file may grow meanwhile.
 */
static int read_config_file(const char *path, char **buf, size_t *len,
			    struct km_err *err)
{
	size_t cap;
	struct stat st;
	int fd, ret = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		km_err_set(err, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		km_err_set(err, "%s: cannot stat: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		km_err_set(err, "%s: not a regular file (%s): refused", path,
			   S_ISFIFO(st.st_mode) ? "a FIFO" :
			   S_ISCHR(st.st_mode) ? "a character device" :
			   S_ISBLK(st.st_mode) ? "a block device" :
			   S_ISDIR(st.st_mode) ? "a directory" :
			   S_ISSOCK(st.st_mode) ? "a socket" : "special");
		ret = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > KM_CONFIG_MAX_BYTES)
		goto too_big;
	cap = (size_t)st.st_size + 1;
	*buf = malloc(cap);
	if (!*buf) {
		km_err_set(err, "%s: out of memory (%lld bytes)", path,
			   (long long)st.st_size);
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t got;

		if (*len == cap) {
			char *nb;

			if (cap > KM_CONFIG_MAX_BYTES)
				goto too_big;
			cap = cap * 2 > KM_CONFIG_MAX_BYTES + 1 ?
			      KM_CONFIG_MAX_BYTES + 1 : cap * 2;
			nb = realloc(*buf, cap);
			if (!nb) {
				km_err_set(err, "%s: out of memory", path);
				ret = -ENOMEM;
				goto out;
			}
			*buf = nb;
		}
		got = read(fd, *buf + *len, cap - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			km_err_set(err, "%s: cannot read: %s", path,
				   strerror(-ret));
			goto out;
		}
		if (!got)
			break;
		*len += got;
	}
	if (*len > KM_CONFIG_MAX_BYTES)
		goto too_big;
	goto out;
too_big:
	km_err_set(err, "%s: larger than the %u MiB limit for a config file",
		   path, KM_CONFIG_MAX_BYTES >> 20);
	ret = -EFBIG;
out:
	if (ret) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	close(fd);
	return ret;
}

static int load_file(const char *path, bool node_only, struct km_model *m,
		     struct km_err *err)
{
	struct km_err scratch;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!err)
		err = &scratch;
	ret = read_config_file(path, &buf, &len, err);
	if (!ret)
		ret = load_string(path, buf, len, node_only, m, err);
	free(buf);
	return ret;
}

int km_config_load_file(const char *path, struct km_model *m,
			struct km_err *err)
{
	return load_file(path, false, m, err);
}

int km_config_load_node_file(const char *path, struct km_model *m,
			     struct km_err *err)
{
	return load_file(path, true, m, err);
}

int km_config_load_node_string(const char *name, const char *yaml, size_t len,
			       struct km_model *m, struct km_err *err)
{
	return load_string(name, yaml, len, true, m, err);
}
