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
 *   node                     id, cluster, metadata
 *   listener                 stat_prefix, traffic_direction, access_log,
 *                            per_connection_buffer_limit_bytes
 *   filter_chains[]          name
 *   tcp_proxy                stat_prefix, idle_timeout, access_log
 *   http_connection_manager  stat_prefix, codec_type, http_filters,
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
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "config_yaml.h"

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

/* ---- duplicates -------------------------------------------------------- */

struct dup_ref {
	const char *s;
	size_t pos;
};

static int dup_cmp(const struct dup_ref *a, const struct dup_ref *b, int d)
{
	if (d)
		return d;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int dup_cmp_case(const void *a, const void *b)
{
	const struct dup_ref *x = a, *y = b;

	return dup_cmp(x, y, strcmp(x->s, y->s));
}

static int dup_cmp_nocase(const void *a, const void *b)
{
	const struct dup_ref *x = a, *y = b;

	return dup_cmp(x, y, strcasecmp(x->s, y->s));
}

/*
 * The earliest position (*dup) whose string occurred before, at *first.
 * Sorting, so thousands of listeners or clusters stay cheap. refs is
 * reordered.
 */
static bool find_dup(struct dup_ref *refs, size_t n, bool nocase,
		     size_t *first, size_t *dup)
{
	int (*cmp)(const void *, const void *) =
		nocase ? dup_cmp_nocase : dup_cmp_case;
	bool found = false;
	size_t head = 0;

	qsort(refs, n, sizeof(*refs), cmp);
	for (size_t i = 1; i < n; i++) {
		bool same = nocase ? !strcasecmp(refs[i].s, refs[head].s) :
				     !strcmp(refs[i].s, refs[head].s);

		if (!same) {
			head = i;
			continue;
		}
		if (!found || refs[i].pos < *dup) {
			*first = refs[head].pos;
			*dup = refs[i].pos;
			found = true;
		}
		/* later members of this group are later duplicates */
		while (i + 1 < n && (nocase ?
				     !strcasecmp(refs[i + 1].s, refs[head].s) :
				     !strcmp(refs[i + 1].s, refs[head].s)))
			i++;
	}
	return found;
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

	ret = want(c, v, YAML_MAPPING_NODE, what, name);
	if (ret)
		return ret;
	ret = check_fields(c, v, what, addr_fields, NULL);
	if (ret)
		return ret;
	sa = field(c, v, "socket_address");
	if (!sa)
		return fail(c, v, what, "%s: socket_address is missing", name);
	ret = want(c, sa, YAML_MAPPING_NODE, what, "socket_address");
	if (ret)
		return ret;
	ret = check_fields(c, sa, what, sa_fields, NULL);
	if (ret)
		return ret;
	p = field(c, sa, "protocol");
	if (p) {
		ret = want(c, p, YAML_SCALAR_NODE, what, "protocol");
		if (ret)
			return ret;
		if (!scalar_is(p, "TCP"))
			return fail(c, p, what,
				    "protocol %s is not supported (TCP only)",
				    quote(c, sval(p)));
	}
	a = field(c, sa, "address");
	if (!a)
		return missing(c, sa, what, "address");
	ret = want(c, a, YAML_SCALAR_NODE, what, "address");
	if (ret)
		return ret;
	if (memchr(sval(a), '\0', a->data.scalar.length) ||
	    km_ip_parse(sval(a), ip))
		return fail(c, a, what,
			    "address '%s' is not an IPv4 or IPv6 address",
			    quote(c, sval(a)));
	p = field(c, sa, "port_value");
	if (!p)
		return missing(c, sa, what, "port_value");
	ret = uint_at(c, p, what, "port_value", 1, 65535, &x);
	if (ret)
		return ret;
	*port = (uint16_t)x;
	return 0;
}

static int read_locality(struct ctx *c, yaml_node_t *v, const char *what,
			 struct km_locality *loc)
{
	static const char *const used[] = {
		"region", "zone", "sub_zone", NULL
	};
	int ret;

	ret = want(c, v, YAML_MAPPING_NODE, what, "locality");
	if (!ret)
		ret = check_fields(c, v, what, used, NULL);
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

static int read_weighted(struct ctx *c, yaml_node_t *v, const char *what,
			 bool route, struct km_m_action *a)
{
	static const char *const tcp_fields[] = { "clusters", NULL };
	static const char *const route_fields[] = {
		"clusters", "total_weight", NULL
	};
	static const char *const entry_fields[] = { "name", "weight", NULL };
	char wwhat[WHAT_LEN], ewhat[WHAT_LEN];
	yaml_node_t *cs, *t;
	uint64_t sum = 0, x;
	size_t n;
	int ret;

	what_fmt(wwhat, "%s: weighted_clusters", what);
	ret = want(c, v, YAML_MAPPING_NODE, what, "weighted_clusters");
	if (!ret)
		ret = check_fields(c, v, wwhat,
				   route ? route_fields : tcp_fields, NULL);
	if (ret)
		return ret;
	cs = field(c, v, "clusters");
	if (!cs)
		return missing(c, v, wwhat, "clusters");
	ret = want(c, cs, YAML_SEQUENCE_NODE, wwhat, "clusters");
	if (ret)
		return ret;
	n = seq_len(cs);
	if (!n)
		return fail(c, cs, wwhat, "clusters is empty");
	if (n > KM_MAX_WEIGHTED)
		return fail(c, cs, wwhat, "%zu clusters, limit is %d", n,
			    KM_MAX_WEIGHTED);
	a->clusters = calloc(n, sizeof(*a->clusters));
	if (!a->clusters && n)
		return oom(c);
	a->n_clusters = n;
	for (size_t i = 0; i < n; i++) {
		struct km_m_weighted *w = &a->clusters[i];
		yaml_node_t *e = seq_item(c, cs, i), *wv;

		what_index(ewhat, wwhat, "clusters", i);
		ret = want_item_map(c, e, wwhat, "clusters", i);
		if (!ret)
			ret = check_fields(c, e, ewhat, entry_fields, NULL);
		if (!ret)
			ret = req_str(c, e, ewhat, "name", KM_NAME_MAX,
				      &w->cluster);
		if (ret)
			return ret;
		w->src = src_of(c, e);
		wv = field(c, e, "weight");
		if (!wv)
			return missing(c, e, ewhat, "weight");
		ret = uint_at(c, wv, ewhat, "weight", 1, KM_MAX_TOTAL_WEIGHT,
			      &x);
		if (ret)
			return ret;
		w->weight = (uint32_t)x;
		sum += x;
		if (sum > KM_MAX_TOTAL_WEIGHT)
			return fail(c, wv, wwhat,
				    "sum of weights %" PRIu64 " is over the limit %u",
				    sum, KM_MAX_TOTAL_WEIGHT);
	}
	t = route ? field(c, v, "total_weight") : NULL;
	if (t) {
		ret = uint_at(c, t, wwhat, "total_weight", 1,
			      KM_MAX_TOTAL_WEIGHT, &x);
		if (ret)
			return ret;
		if (x != sum)
			return fail(c, t, wwhat,
				    "total_weight %" PRIu64 " differs from the sum of weights %" PRIu64,
				    x, sum);
		a->total_weight = (uint32_t)x;
	}
	return 0;
}

/* `cluster: x`, the same as one weighted cluster of weight 1. */
static int read_one_cluster(struct ctx *c, yaml_node_t *v, const char *what,
			    struct km_m_action *a)
{
	a->clusters = calloc(1, sizeof(*a->clusters));
	if (!a->clusters)
		return oom(c);
	a->n_clusters = 1;
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

	ret = want(c, v, YAML_MAPPING_NODE, what, name);
	if (!ret)
		ret = check_fields(c, v, what, used, ignored);
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
	ret = want(c, v, YAML_MAPPING_NODE, what, "string_match");
	if (!ret)
		ret = check_fields(c, v, swhat, used, NULL);
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
		       size_t idx, struct km_m_header_match *h)
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
	char hwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	what_index(hwhat, rwhat, "headers", idx);
	ret = want_item_map(c, n, rwhat, "headers", idx);
	if (!ret)
		ret = req_str(c, n, hwhat, "name", KM_MAX_MATCH_STR, &h->name);
	if (ret)
		return ret;
	h->src = src_of(c, n);
	what_named(c, hwhat, rwhat, "header", h->name);
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

static int read_match(struct ctx *c, yaml_node_t *v, const char *rwhat,
		      struct km_m_route *r)
{
	static const char *const used[] = {
		"prefix", "path", "path_separated_prefix", "safe_regex",
		"case_sensitive", "headers", NULL
	};
	static const char *const kinds[] = {
		"prefix", "path", "path_separated_prefix", "safe_regex", NULL
	};
	static const uint8_t kind_of[] = {
		KM_PATH_PREFIX, KM_PATH_EXACT, KM_PATH_SEPARATED_PREFIX,
		KM_PATH_REGEX,
	};
	yaml_node_t *p, *hs;
	size_t which, n;
	int ret;

	ret = want(c, v, YAML_MAPPING_NODE, rwhat, "match");
	if (!ret)
		ret = check_fields(c, v, rwhat, used, NULL);
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
	if (ret)
		return ret;

	hs = field(c, v, "headers");
	if (!hs)
		return 0;
	ret = want(c, hs, YAML_SEQUENCE_NODE, rwhat, "headers");
	if (ret)
		return ret;
	n = seq_len(hs);
	if (n > KM_MAX_HEADER_MATCHES)
		return fail(c, hs, rwhat, "%zu header matchers, limit is %d", n,
			    KM_MAX_HEADER_MATCHES);
	r->headers = calloc(n, sizeof(*r->headers));
	if (!r->headers && n)
		return oom(c);
	r->n_headers = n;
	for (size_t i = 0; i < n; i++) {
		ret = read_header(c, seq_item(c, hs, i), rwhat, i,
				  &r->headers[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_route(struct ctx *c, yaml_node_t *n, const char *vwhat,
		      size_t idx, struct km_m_route *r)
{
	static const char *const used[] = { "name", "match", "route", NULL };
	static const char *const action_used[] = {
		"cluster", "weighted_clusters", NULL
	};
	static const char *const action_ignored[] = {
		"timeout", "idle_timeout", NULL
	};
	char rwhat[WHAT_LEN];
	yaml_node_t *v;
	int ret;

	what_index(rwhat, vwhat, "routes", idx);
	ret = want_item_map(c, n, vwhat, "routes", idx);
	if (!ret)
		ret = opt_str(c, n, rwhat, "name", KM_NAME_MAX, &r->name);
	if (ret)
		return ret;
	if (r->name)
		what_named(c, rwhat, vwhat, "route", r->name);
	r->src = src_of(c, n);
	r->case_sensitive = true;
	ret = check_fields(c, n, rwhat, used, NULL);
	if (ret)
		return ret;

	v = field(c, n, "match");
	if (!v)
		return missing(c, n, rwhat, "match");
	ret = read_match(c, v, rwhat, r);
	if (ret)
		return ret;

	v = field(c, n, "route");
	if (!v)
		return missing(c, n, rwhat, "route");
	ret = want(c, v, YAML_MAPPING_NODE, rwhat, "route");
	if (!ret)
		ret = check_fields(c, v, rwhat, action_used, action_ignored);
	if (!ret)
		ret = read_action_target(c, v, rwhat, true, &r->action);
	return ret;
}

static int read_vhost(struct ctx *c, yaml_node_t *n, const char *rcwhat,
		      size_t idx, struct km_m_vhost *vh)
{
	static const char *const used[] = {
		"name", "domains", "routes", NULL
	};
	char vwhat[WHAT_LEN], dname[32];
	yaml_node_t *ds, *rs;
	size_t nd, nr;
	int ret;

	what_index(vwhat, rcwhat, "virtual_hosts", idx);
	ret = want_item_map(c, n, rcwhat, "virtual_hosts", idx);
	if (!ret)
		ret = req_str(c, n, vwhat, "name", KM_NAME_MAX, &vh->name);
	if (ret)
		return ret;
	vh->src = src_of(c, n);
	what_named(c, vwhat, rcwhat, "virtual_host", vh->name);
	ret = check_fields(c, n, vwhat, used, NULL);
	if (ret)
		return ret;

	ds = field(c, n, "domains");
	if (!ds)
		return missing(c, n, vwhat, "domains");
	ret = want(c, ds, YAML_SEQUENCE_NODE, vwhat, "domains");
	if (ret)
		return ret;
	nd = seq_len(ds);
	if (!nd)
		return fail(c, ds, vwhat, "domains is empty");
	if (nd > KM_MAX_DOMAINS)
		return fail(c, ds, vwhat, "%zu domains, limit is %d", nd,
			    KM_MAX_DOMAINS);
	vh->domains = calloc(nd, sizeof(*vh->domains));
	if (!vh->domains && nd)
		return oom(c);
	vh->n_domains = nd;
	for (size_t i = 0; i < nd; i++) {
		snprintf(dname, sizeof(dname), "domains[%zu]", i);
		ret = str_at(c, seq_item(c, ds, i), vwhat, dname,
			     KM_MAX_MATCH_STR, false, &vh->domains[i]);
		if (ret)
			return ret;
	}

	rs = field(c, n, "routes");
	if (!rs)
		return 0;
	ret = want(c, rs, YAML_SEQUENCE_NODE, vwhat, "routes");
	if (ret)
		return ret;
	nr = seq_len(rs);
	if (nr > KM_MAX_ROUTES)
		return fail(c, rs, vwhat, "%zu routes, limit is %d", nr,
			    KM_MAX_ROUTES);
	vh->routes = calloc(nr, sizeof(*vh->routes));
	if (!vh->routes && nr)
		return oom(c);
	vh->n_routes = nr;
	for (size_t i = 0; i < nr; i++) {
		ret = read_route(c, seq_item(c, rs, i), vwhat, i,
				 &vh->routes[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Virtual host names, and domains across all virtual hosts, are unique in a
 * route config (Envoy's rule; Host matching ignores case). */
static int check_vhost_dups(struct ctx *c, yaml_node_t *vs, const char *rcwhat,
			    struct km_m_route_config *rc)
{
	struct dup_ref *refs;
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
		refs[vi] = (struct dup_ref){ rc->vhosts[vi].name, vi };
	if (find_dup(refs, rc->n_vhosts, false, &first, &dup)) {
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
			refs[nrefs++] = (struct dup_ref){
				rc->vhosts[vi].domains[di],
				vi * KM_MAX_DOMAINS + di
			};
	if (find_dup(refs, nrefs, true, &first, &dup)) {
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
	char rcwhat[WHAT_LEN];
	yaml_node_t *vs;
	size_t n;
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
	if (ret)
		return ret;

	vs = field(c, v, "virtual_hosts");
	if (!vs)
		return 0;
	ret = want(c, vs, YAML_SEQUENCE_NODE, rcwhat, "virtual_hosts");
	if (ret)
		return ret;
	n = seq_len(vs);
	if (n > KM_MAX_VHOSTS)
		return fail(c, vs, rcwhat, "%zu virtual_hosts, limit is %d", n,
			    KM_MAX_VHOSTS);
	rc->vhosts = calloc(n, sizeof(*rc->vhosts));
	if (!rc->vhosts && n)
		return oom(c);
	rc->n_vhosts = n;
	for (size_t i = 0; i < n; i++) {
		ret = read_vhost(c, seq_item(c, vs, i), rcwhat, i,
				 &rc->vhosts[i]);
		if (ret)
			return ret;
	}
	return check_vhost_dups(c, vs, rcwhat, rc);
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
	ret = check_fields(c, tc, what, used, ignored);
	if (!ret)
		ret = check_type_url(c, tc, what, URL_TCP_PROXY);
	if (!ret)
		ret = read_action_target(c, tc, what, false, &ch->tcp);
	return ret;
}

static int read_hcm(struct ctx *c, yaml_node_t *tc, const char *what,
		    struct km_m_chain *ch)
{
	static const char *const used[] = {
		"@type", "rds", "route_config", NULL
	};
	static const char *const ignored[] = {
		"stat_prefix", "codec_type", "http_filters",
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
	ret = check_fields(c, tc, what, used, ignored);
	if (!ret)
		ret = check_type_url(c, tc, what, URL_HCM);
	if (ret)
		return ret;
	ret = one_of(c, tc, what, sources, true, &v, &which);
	if (ret < 0)
		return ret;
	if (which == 1)
		return read_route_config(c, v, what, &ch->routes);

	what_fmt(rwhat, "%s: rds", what);
	ret = want(c, v, YAML_MAPPING_NODE, what, "rds");
	if (!ret)
		ret = check_fields(c, v, rwhat, rds_used, rds_ignored);
	if (!ret)
		ret = req_str(c, v, rwhat, "route_config_name", KM_NAME_MAX,
			      &ch->rds_name);
	return ret;
}

/* One filter of a chain; only the two terminal filters kmesh implements. */
static int read_filter(struct ctx *c, yaml_node_t *f, const char *cwhat,
		       size_t idx, struct km_m_chain *ch)
{
	static const char *const used[] = { "name", "typed_config", NULL };
	char fname[32], fwhat[WHAT_LEN];
	yaml_node_t *name, *tc;
	bool tcp;
	int ret;

	snprintf(fname, sizeof(fname), "filters[%zu]", idx);
	ret = want(c, f, YAML_MAPPING_NODE, cwhat, fname);
	if (ret)
		return ret;
	what_fmt(fwhat, "%s: %s", cwhat, fname);
	name = field(c, f, "name");
	if (!name)
		return missing(c, f, fwhat, "name");
	ret = want(c, name, YAML_SCALAR_NODE, fwhat, "name");
	if (ret)
		return ret;
	if (scalar_is(name, FILTER_TCP_PROXY))
		tcp = true;
	else if (scalar_is(name, FILTER_HCM))
		tcp = false;
	else
		return fail(c, name, cwhat, "unknown filter '%s'",
			    quote(c, sval(name)));
	if (ch->kind)
		return fail(c, f, cwhat,
			    "more than one tcp_proxy or http_connection_manager filter");
	what_fmt(fwhat, "%s: %s", cwhat,
		 tcp ? "tcp_proxy" : "http_connection_manager");
	ret = check_fields(c, f, fwhat, used, NULL);
	if (ret)
		return ret;
	tc = field(c, f, "typed_config");
	if (!tc)
		return missing(c, f, fwhat, "typed_config");
	ret = want(c, tc, YAML_MAPPING_NODE, fwhat, "typed_config");
	if (ret)
		return ret;
	return tcp ? read_tcp_proxy(c, tc, fwhat, ch) :
		     read_hcm(c, tc, fwhat, ch);
}

static int read_chain(struct ctx *c, yaml_node_t *n, const char *lwhat,
		      size_t idx, struct km_m_chain *ch)
{
	static const char *const used[] = {
		"filter_chain_match", "filters", NULL
	};
	static const char *const ignored[] = { "name", NULL };
	static const char *const match_used[] = { "destination_port", NULL };
	char cwhat[WHAT_LEN];
	yaml_node_t *fcm, *dp, *fs;
	uint64_t x;
	size_t nf;
	int ret;

	what_index(cwhat, lwhat, "filter_chains", idx);
	ret = want_item_map(c, n, lwhat, "filter_chains", idx);
	if (!ret)
		ret = check_fields(c, n, cwhat, used, ignored);
	if (ret)
		return ret;
	ch->src = src_of(c, n);

	fcm = field(c, n, "filter_chain_match");
	if (fcm) {
		ret = want(c, fcm, YAML_MAPPING_NODE, cwhat,
			   "filter_chain_match");
		if (!ret)
			ret = check_fields(c, fcm, cwhat, match_used, NULL);
		if (ret)
			return ret;
		dp = field(c, fcm, "destination_port");
		if (dp) {
			ret = uint_at(c, dp, cwhat, "destination_port", 1,
				      65535, &x);
			if (ret)
				return ret;
			ch->dest_port = (uint16_t)x;
		}
	}

	fs = field(c, n, "filters");
	if (!fs)
		return missing(c, n, cwhat, "filters");
	ret = want(c, fs, YAML_SEQUENCE_NODE, cwhat, "filters");
	if (ret)
		return ret;
	nf = seq_len(fs);
	if (!nf)
		return fail(c, fs, cwhat,
			    "filters is empty, needs a tcp_proxy or http_connection_manager filter");
	for (size_t i = 0; i < nf; i++) {
		ret = read_filter(c, seq_item(c, fs, i), cwhat, i, ch);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_listener(struct ctx *c, yaml_node_t *n, size_t idx,
			 struct km_m_listener *l)
{
	static const char *const used[] = {
		"@type", "name", "address", "additional_addresses",
		"filter_chains", NULL
	};
	static const char *const ignored[] = {
		"stat_prefix", "traffic_direction", "access_log",
		"per_connection_buffer_limit_bytes", NULL
	};
	static const char *const extra_used[] = { "address", NULL };
	char lwhat[WHAT_LEN], awhat[WHAT_LEN];
	yaml_node_t *v, *extra = NULL, *fcs;
	size_t n_extra = 0, nc;
	/* destination ports seen, to spot chains matching the same traffic */
	uint8_t seen[65536 / 8] = { 0 };
	int ret;

	what_index(lwhat, NULL, "listeners", idx);
	ret = want(c, n, YAML_MAPPING_NODE, "static_resources", lwhat);
	if (!ret)
		ret = req_str(c, n, lwhat, "name", KM_NAME_MAX, &l->name);
	if (ret)
		return ret;
	l->src = src_of(c, n);
	what_named(c, lwhat, NULL, "listener", l->name);
	ret = check_fields(c, n, lwhat, used, ignored);
	if (!ret)
		ret = check_type_url(c, n, lwhat, URL_LISTENER);
	if (ret)
		return ret;

	v = field(c, n, "address");
	if (!v)
		return missing(c, n, lwhat, "address");
	extra = field(c, n, "additional_addresses");
	if (extra) {
		ret = want(c, extra, YAML_SEQUENCE_NODE, lwhat,
			   "additional_addresses");
		if (ret)
			return ret;
		n_extra = seq_len(extra);
	}
	l->addrs = calloc(1 + n_extra, sizeof(*l->addrs));
	if (!l->addrs && 1 + n_extra)
		return oom(c);
	l->n_addrs = 1 + n_extra;
	ret = read_address(c, v, lwhat, "address", &l->addrs[0], &l->port);
	if (ret)
		return ret;
	for (size_t i = 0; i < n_extra; i++) {
		yaml_node_t *e = seq_item(c, extra, i), *a;
		uint16_t port;

		what_index(awhat, lwhat, "additional_addresses", i);
		ret = want_item_map(c, e, lwhat, "additional_addresses", i);
		if (!ret)
			ret = check_fields(c, e, awhat, extra_used, NULL);
		if (ret)
			return ret;
		a = field(c, e, "address");
		if (!a)
			return missing(c, e, awhat, "address");
		ret = read_address(c, a, awhat, "address", &l->addrs[1 + i],
				   &port);
		if (ret)
			return ret;
		if (port != l->port)
			return fail(c, a, awhat,
				    "port_value %u differs from the listener's port %u",
				    port, l->port);
	}

	fcs = field(c, n, "filter_chains");
	if (!fcs)
		return missing(c, n, lwhat, "filter_chains");
	ret = want(c, fcs, YAML_SEQUENCE_NODE, lwhat, "filter_chains");
	if (ret)
		return ret;
	nc = seq_len(fcs);
	if (!nc)
		return fail(c, fcs, lwhat, "filter_chains is empty");
	l->chains = calloc(nc, sizeof(*l->chains));
	if (!l->chains && nc)
		return oom(c);
	l->n_chains = nc;
	for (size_t i = 0; i < nc; i++) {
		struct km_m_chain *ch = &l->chains[i];
		uint16_t p;

		ret = read_chain(c, seq_item(c, fcs, i), lwhat, i, ch);
		if (ret)
			return ret;
		p = ch->dest_port;
		if (seen[p / 8] & (1u << (p % 8))) {
			size_t j = 0;

			while (l->chains[j].dest_port != p)
				j++;
			what_index(awhat, lwhat, "filter_chains", i);
			return fail(c, seq_item(c, fcs, i), awhat,
				    "same filter_chain_match as filter_chains[%zu] (line %d)",
				    j, l->chains[j].src.line);
		}
		seen[p / 8] |= 1u << (p % 8);
	}
	return 0;
}

/* ---- clusters ---------------------------------------------------------- */

static int read_circuit_breakers(struct ctx *c, yaml_node_t *v,
				 const char *cwhat,
				 struct km_circuit_breakers *cb)
{
	static const char *const used[] = { "thresholds", NULL };
	static const char *const th_used[] = {
		"priority", "max_connections", "max_pending_requests",
		"max_requests", "max_retries", NULL
	};
	static const char *const th_ignored[] = { "track_remaining", NULL };
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
	char bwhat[WHAT_LEN], twhat[WHAT_LEN];
	yaml_node_t *ths;
	int seen_line[2] = { 0, 0 };	/* DEFAULT, HIGH */
	int ret;

	what_fmt(bwhat, "%s: circuit_breakers", cwhat);
	ret = want(c, v, YAML_MAPPING_NODE, cwhat, "circuit_breakers");
	if (!ret)
		ret = check_fields(c, v, bwhat, used, NULL);
	if (ret)
		return ret;
	ths = field(c, v, "thresholds");
	if (!ths)
		return 0;
	ret = want(c, ths, YAML_SEQUENCE_NODE, bwhat, "thresholds");
	if (ret)
		return ret;
	for (size_t i = 0; i < seq_len(ths); i++) {
		yaml_node_t *t = seq_item(c, ths, i), *p;
		struct km_circuit_breakers got = { 0 };
		int prio = 0;

		what_index(twhat, bwhat, "thresholds", i);
		ret = want_item_map(c, t, bwhat, "thresholds", i);
		if (!ret)
			ret = check_fields(c, t, twhat, th_used, th_ignored);
		if (ret)
			return ret;
		p = field(c, t, "priority");
		if (p) {
			ret = want(c, p, YAML_SCALAR_NODE, twhat, "priority");
			if (ret)
				return ret;
			if (scalar_is(p, "HIGH"))
				prio = 1;
			else if (!scalar_is(p, "DEFAULT"))
				return fail(c, p, twhat,
					    "unknown priority '%s' (DEFAULT or HIGH)",
					    quote(c, sval(p)));
		}
		if (seen_line[prio])
			return fail(c, t, twhat,
				    "a second %s entry (first at line %d)",
				    prio ? "HIGH" : "DEFAULT", seen_line[prio]);
		seen_line[prio] = line_of(t);
		/* 0 would read as "unset" in the model, not Envoy's "none
		 * allowed", so it is refused rather than misread. */
		for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
			yaml_node_t *lv = field(c, t, limits[k].name);
			uint64_t x;

			if (!lv)
				continue;
			ret = uint_at(c, lv, twhat, limits[k].name, 1,
				      UINT32_MAX, &x);
			if (ret)
				return ret;
			*(uint32_t *)((char *)&got + limits[k].off) =
				(uint32_t)x;
		}
		/* HIGH is for requests Envoy routes at high priority, which
		 * kmesh never sees. */
		if (prio == 0)
			*cb = got;
	}
	return 0;
}

static int read_lb_endpoint(struct ctx *c, yaml_node_t *n, const char *cwhat,
			    size_t pos, struct km_m_endpoint *ep)
{
	static const char *const used[] = {
		"endpoint", "health_status", "load_balancing_weight", NULL
	};
	static const char *const ignored[] = { "metadata", NULL };
	static const char *const ep_used[] = { "address", NULL };
	static const char *const ep_ignored[] = {
		"hostname", "health_check_config", NULL
	};
	char ewhat[WHAT_LEN];
	yaml_node_t *e, *a, *v;
	uint64_t x;
	int ret;

	what_fmt(ewhat, "%s: endpoint %zu", cwhat, pos + 1);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, cwhat, "endpoint %zu must be a mapping, not %s",
			    pos + 1, type_name(n->type));
	ret = check_fields(c, n, ewhat, used, ignored);
	if (ret)
		return ret;
	ep->src = src_of(c, n);
	ep->weight = 1;

	e = field(c, n, "endpoint");
	if (!e)
		return missing(c, n, ewhat, "endpoint");
	ret = want(c, e, YAML_MAPPING_NODE, ewhat, "endpoint");
	if (!ret)
		ret = check_fields(c, e, ewhat, ep_used, ep_ignored);
	if (ret)
		return ret;
	a = field(c, e, "address");
	if (!a)
		return missing(c, e, ewhat, "address");
	ret = read_address(c, a, ewhat, "address", &ep->ip, &ep->port);
	if (ret)
		return ret;

	v = field(c, n, "health_status");
	if (v) {
		unsigned int h;

		ret = want(c, v, YAML_SCALAR_NODE, ewhat, "health_status");
		if (ret)
			return ret;
		for (h = KM_HEALTH_UNKNOWN; h <= KM_HEALTH_DEGRADED; h++)
			if (scalar_is(v, km_health_name(h)))
				break;
		if (h > KM_HEALTH_DEGRADED)
			return fail(c, v, ewhat, "unknown health_status '%s'",
				    quote(c, sval(v)));
		ep->health = (uint8_t)h;
	}

	v = field(c, n, "load_balancing_weight");
	if (v) {
		ret = uint_at(c, v, ewhat, "load_balancing_weight", 1,
			      UINT32_MAX, &x);
		if (ret)
			return ret;
		ep->weight = (uint32_t)x;
	}
	return 0;
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

static int read_load_assignment(struct ctx *c, yaml_node_t *v,
				const char *cwhat, struct km_m_cluster *cl)
{
	static const char *const used[] = { "@type", "endpoints", NULL };
	static const char *const ignored[] = { "cluster_name", NULL };
	static const char *const group_used[] = {
		"locality", "priority", "load_balancing_weight",
		"lb_endpoints", NULL
	};
	char lwhat[WHAT_LEN], gwhat[WHAT_LEN];
	yaml_node_t *gs;
	size_t ng, total, pos = 0;
	int ret;

	what_fmt(lwhat, "%s: load_assignment", cwhat);
	ret = want(c, v, YAML_MAPPING_NODE, cwhat, "load_assignment");
	if (!ret)
		ret = check_fields(c, v, lwhat, used, ignored);
	if (!ret)
		ret = check_type_url(c, v, lwhat, URL_CLA);
	if (ret)
		return ret;
	cl->has_load_assignment = true;
	gs = field(c, v, "endpoints");
	if (!gs)
		return 0;
	ret = want(c, gs, YAML_SEQUENCE_NODE, lwhat, "endpoints");
	if (ret)
		return ret;
	ng = seq_len(gs);
	total = count_endpoints(c, gs);
	if (total > KM_MAX_CLUSTER_ENDPOINTS)
		return fail(c, gs, cwhat, "%zu endpoints, limit is %d", total,
			    KM_MAX_CLUSTER_ENDPOINTS);
	cl->localities = calloc(ng, sizeof(*cl->localities));
	if (!cl->localities && ng)
		return oom(c);
	cl->n_localities = ng;
	cl->endpoints = calloc(total, sizeof(*cl->endpoints));
	if (!cl->endpoints && total)
		return oom(c);
	cl->n_endpoints = total;

	for (size_t i = 0; i < ng; i++) {
		yaml_node_t *g = seq_item(c, gs, i), *gv, *lbe;
		uint64_t prio = 0, x;

		what_index(gwhat, cwhat, "endpoints", i);
		ret = want_item_map(c, g, cwhat, "endpoints", i);
		if (!ret)
			ret = check_fields(c, g, gwhat, group_used, NULL);
		if (ret)
			return ret;
		gv = field(c, g, "locality");
		if (gv) {
			ret = read_locality(c, gv, gwhat, &cl->localities[i]);
			if (ret)
				return ret;
		}
		gv = field(c, g, "priority");
		if (gv) {
			ret = uint_at(c, gv, gwhat, "priority", 0,
				      MAX_PRIORITY, &prio);
			if (ret)
				return ret;
		}
		/* checked, then unused: the compiler serves one locality
		 * level at a time, so locality weights never apply */
		gv = field(c, g, "load_balancing_weight");
		if (gv) {
			ret = uint_at(c, gv, gwhat, "load_balancing_weight", 1,
				      UINT32_MAX, &x);
			if (ret)
				return ret;
		}
		lbe = field(c, g, "lb_endpoints");
		if (!lbe)
			continue;
		ret = want(c, lbe, YAML_SEQUENCE_NODE, gwhat, "lb_endpoints");
		if (ret)
			return ret;
		for (size_t j = 0; j < seq_len(lbe); j++, pos++) {
			struct km_m_endpoint *ep = &cl->endpoints[pos];

			ret = read_lb_endpoint(c, seq_item(c, lbe, j), cwhat,
					       pos, ep);
			if (ret)
				return ret;
			ep->priority = (uint32_t)prio;
			ep->locality = cl->localities[i];
		}
	}
	return 0;
}

static int read_cluster_type(struct ctx *c, yaml_node_t *v, const char *cwhat,
			     struct km_m_cluster *cl)
{
	int ret = want(c, v, YAML_SCALAR_NODE, cwhat, "type");

	if (ret)
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

static int read_lb_policy(struct ctx *c, yaml_node_t *v, const char *cwhat,
			  struct km_m_cluster *cl)
{
	static const char *const unsupported[] = {
		"RING_HASH", "MAGLEV", "CLUSTER_PROVIDED",
		"LOAD_BALANCING_POLICY_CONFIG", NULL
	};
	int ret = want(c, v, YAML_SCALAR_NODE, cwhat, "lb_policy");

	if (ret)
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

static int read_cluster(struct ctx *c, yaml_node_t *n, size_t idx,
			struct km_m_cluster *cl)
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
	char cwhat[WHAT_LEN];
	yaml_node_t *v;
	int ret;

	what_index(cwhat, NULL, "clusters", idx);
	ret = want(c, n, YAML_MAPPING_NODE, "static_resources", cwhat);
	if (!ret)
		ret = req_str(c, n, cwhat, "name", KM_NAME_MAX, &cl->name);
	if (ret)
		return ret;
	cl->src = src_of(c, n);
	what_named(c, cwhat, NULL, "cluster", cl->name);
	ret = check_fields(c, n, cwhat, used, ignored);
	if (!ret)
		ret = check_type_url(c, n, cwhat, URL_CLUSTER);
	if (ret)
		return ret;

	v = field(c, n, "type");
	if (v) {
		ret = read_cluster_type(c, v, cwhat, cl);
		if (ret)
			return ret;
	}
	v = field(c, n, "lb_policy");
	if (v) {
		ret = read_lb_policy(c, v, cwhat, cl);
		if (ret)
			return ret;
	}
	v = field(c, n, "circuit_breakers");
	if (v) {
		ret = read_circuit_breakers(c, v, cwhat, &cl->cb);
		if (ret)
			return ret;
	}
	/* EDS without one is filled by xDS later */
	v = field(c, n, "load_assignment");
	if (v) {
		ret = read_load_assignment(c, v, cwhat, cl);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- top level --------------------------------------------------------- */

/* Listener and cluster names are unique, as in Envoy: refs[i] names the
 * i-th item of seq. */
static int check_names(struct ctx *c, yaml_node_t *seq, const char *kind,
		       struct dup_ref *refs, size_t n)
{
	size_t first, dup;
	const char *name;

	if (!find_dup(refs, n, false, &first, &dup))
		return 0;
	name = sval(field(c, seq_item(c, seq, dup), "name"));
	return fail(c, seq_item(c, seq, dup), NULL,
		    "%s '%s': duplicate name (first at line %d)", kind,
		    quote(c, name), line_of(seq_item(c, seq, first)));
}

static int read_listeners(struct ctx *c, yaml_node_t *seq, struct km_model *m)
{
	size_t n = seq_len(seq);
	struct dup_ref *refs;
	int ret;

	m->listeners = calloc(n, sizeof(*m->listeners));
	if (!m->listeners && n)
		return oom(c);
	m->n_listeners = n;
	for (size_t i = 0; i < n; i++) {
		ret = read_listener(c, seq_item(c, seq, i), i,
				    &m->listeners[i]);
		if (ret)
			return ret;
	}
	if (!n)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return oom(c);
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct dup_ref){ m->listeners[i].name, i };
	ret = check_names(c, seq, "listener", refs, n);
	free(refs);
	return ret;
}

static int read_clusters(struct ctx *c, yaml_node_t *seq, struct km_model *m)
{
	size_t n = seq_len(seq);
	struct dup_ref *refs;
	int ret;

	m->clusters = calloc(n, sizeof(*m->clusters));
	if (!m->clusters && n)
		return oom(c);
	m->n_clusters = n;
	for (size_t i = 0; i < n; i++) {
		ret = read_cluster(c, seq_item(c, seq, i), i, &m->clusters[i]);
		if (ret)
			return ret;
	}
	if (!n)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return oom(c);
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct dup_ref){ m->clusters[i].name, i };
	ret = check_names(c, seq, "cluster", refs, n);
	free(refs);
	return ret;
}

static int read_node(struct ctx *c, yaml_node_t *v, struct km_model *m)
{
	static const char *const used[] = { "locality", NULL };
	static const char *const ignored[] = {
		"id", "cluster", "metadata", NULL
	};
	yaml_node_t *loc;
	int ret;

	ret = want(c, v, YAML_MAPPING_NODE, NULL, "node");
	if (!ret)
		ret = check_fields(c, v, "node", used, ignored);
	if (ret)
		return ret;
	loc = field(c, v, "locality");
	return loc ? read_locality(c, loc, "node", &m->node_locality) : 0;
}

static int read_static_resources(struct ctx *c, yaml_node_t *v,
				 struct km_model *m)
{
	static const char *const used[] = { "listeners", "clusters", NULL };
	yaml_node_t *s;
	int ret;

	ret = want(c, v, YAML_MAPPING_NODE, NULL, "static_resources");
	if (!ret)
		ret = check_fields(c, v, "static_resources", used, NULL);
	if (ret)
		return ret;
	s = field(c, v, "listeners");
	if (s) {
		ret = want(c, s, YAML_SEQUENCE_NODE, "static_resources",
			   "listeners");
		if (!ret)
			ret = read_listeners(c, s, m);
		if (ret)
			return ret;
	}
	s = field(c, v, "clusters");
	if (s) {
		ret = want(c, s, YAML_SEQUENCE_NODE, "static_resources",
			   "clusters");
		if (!ret)
			ret = read_clusters(c, s, m);
	}
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
	ret = want(c, root, YAML_MAPPING_NODE, NULL, "the top level");
	if (!ret)
		ret = check_fields(c, root, NULL, used, ignored);
	if (ret)
		return ret;
	v = field(c, root, "node");
	if (v) {
		ret = read_node(c, v, m);
		if (ret)
			return ret;
	}
	v = field(c, root, "static_resources");
	if (!v)
		return missing(c, root, NULL, "static_resources");
	return read_static_resources(c, v, m);
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

/* Loads the one document of the stream into *doc. */
static int load_document(struct ctx *c, const char *yaml, size_t len,
			 yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int ret = 0;

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

int km_config_load_string(const char *name, const char *yaml, size_t len,
			  struct km_model *m, struct km_err *err)
{
	struct km_err scratch;
	struct ctx c = { 0 };
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

int km_config_load_file(const char *path, struct km_model *m,
			struct km_err *err)
{
	struct km_err scratch;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!err)
		err = &scratch;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		km_err_set(err, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nb;

			cap = cap ? cap * 2 : 64 * 1024;
			nb = realloc(buf, cap);
			if (!nb) {
				km_err_set(err, "%s: out of memory", path);
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		errno = 0;
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got)
			continue;
		if (ferror(f)) {
			ret = errno ? -errno : -EIO;
			km_err_set(err, "%s: cannot read: %s", path,
				   strerror(-ret));
			goto out;
		}
		break;
	}
	ret = km_config_load_string(path, buf, len, m, err);
out:
	free(buf);
	fclose(f);
	return ret;
}
