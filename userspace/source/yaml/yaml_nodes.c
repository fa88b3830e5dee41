// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* YAML nodes, scalars and lists for the reader (yaml_read.h). */
#include "yaml_read.h"

/* ---- messages: util/diag.h, at a node's line ------------------------------ */

int y_line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

struct km_src y_src_of(const struct ctx *c, const yaml_node_t *n)
{
	return (struct km_src){ .file = c->file, .line = y_line_of(n) };
}

int __attribute__((format(printf, 4, 5)))
y_fail(struct ctx *c, const yaml_node_t *n, const char *what,
     const char *fmt, ...)
{
	struct km_src at = y_src_of(c, n);
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = km_diag_vfail(&c->d, &at, what, fmt, ap);
	va_end(ap);
	return ret;
}


/* ---- nodes ------------------------------------------------------------- */

yaml_node_t *y_node_at(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

const char *y_sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

bool y_scalar_is(const yaml_node_t *n, const char *s)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* `key:`, `key: ~` and `key: null` mean "not set", as in Envoy's JSON. */
bool y_is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (y_scalar_is(n, "") || y_scalar_is(n, "~") ||
		y_scalar_is(n, "null") || y_scalar_is(n, "Null") ||
		y_scalar_is(n, "NULL"));
}

size_t y_seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top -
			n->data.sequence.items.start);
}

yaml_node_t *y_seq_item(struct ctx *c, const yaml_node_t *n, size_t i)
{
	return y_node_at(c, n->data.sequence.items.start[i]);
}

/* The value of field name in map, or NULL when absent or null. */
yaml_node_t *y_field(struct ctx *c, const yaml_node_t *map,
			  const char *name)
{
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		if (y_scalar_is(y_node_at(c, p->key), name)) {
			yaml_node_t *v = y_node_at(c, p->value);

			return y_is_null(v) ? NULL : v;
		}
	}
	return NULL;
}

const char *y_type_name(yaml_node_type_t t)
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

int y_want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t type,
		const char *what, const char *name)
{
	if (n->type == type)
		return 0;
	return y_fail(c, n, what, "%s must be %s, not %s", name, y_type_name(type),
		    y_type_name(n->type));
}

/* Item i of sequence field name must be a mapping. */
static int want_item_map(struct ctx *c, const yaml_node_t *n, const char *what,
			 const char *name, size_t i)
{
	if (n->type == YAML_MAPPING_NODE)
		return 0;
	return y_fail(c, n, what, "%s[%zu] must be a mapping, not %s", name, i,
		    y_type_name(n->type));
}

int y_missing(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name)
{
	return y_fail(c, map, what, "%s is missing", name);
}

/* The value of the required field name of map, in *v. */
int y_req_field(struct ctx *c, const yaml_node_t *map, const char *what,
		     const char *name, yaml_node_t **v)
{
	*v = y_field(c, map, name);
	return *v ? 0 : y_missing(c, map, what, name);
}

bool y_in_list(const yaml_node_t *key, const char *const *list)
{
	for (; list && *list; list++)
		if (y_scalar_is(key, *list))
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
int y_check_fields(struct ctx *c, const yaml_node_t *map,
			const char *what, const char *const *used,
			const char *const *ignored)
{
	yaml_node_pair_t *p, *q;

	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = y_node_at(c, p->key);
		const char *hint;

		if (k->type != YAML_SCALAR_NODE)
			return y_fail(c, k, what, "field names must be scalars, not %s",
				    y_type_name(k->type));
		if (!y_in_list(k, used) && !y_in_list(k, ignored)) {
			hint = near_miss(y_sval(k), used, ignored);
			if (hint)
				return y_fail(c, k, what,
					    "unknown field '%s' (did you mean '%s'?)",
					    quote(c, y_sval(k)), hint);
			return y_fail(c, k, what, "unknown field '%s'",
				    quote(c, y_sval(k)));
		}
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = y_node_at(c, q->key);

			if (k2->data.scalar.length == k->data.scalar.length &&
			    memcmp(y_sval(k2), y_sval(k), k->data.scalar.length) == 0)
				return y_fail(c, k, what,
					    "field '%s' appears twice (first at line %d)",
					    y_sval(k), y_line_of(k2));
		}
	}
	return 0;
}

/* "@type" is optional; when given it must be the message we read. */
int y_check_type_url(struct ctx *c, const yaml_node_t *map,
			  const char *what, const char *url)
{
	yaml_node_t *t = y_field(c, map, "@type");
	int ret;

	if (!t)
		return 0;
	ret = y_want(c, t, YAML_SCALAR_NODE, what, "@type");
	if (ret)
		return ret;
	if (!y_scalar_is(t, url))
		return y_fail(c, t, what, "@type '%s' is wrong, expected '%s'",
			    shorten(c, y_sval(t), QUOTE_URL_MAX), url);
	return 0;
}

/*
 * v, the value of name, must be a mapping of the fields in used and ignored
 * (see check_fields); what names its owner in a type error, fwhat names v
 * itself in a field error.
 */
int y_mapping_at(struct ctx *c, const yaml_node_t *v, const char *what,
		      const char *name, const char *fwhat,
		      const char *const *used, const char *const *ignored)
{
	int ret = y_want(c, v, YAML_MAPPING_NODE, what, name);

	return ret ? ret : y_check_fields(c, v, fwhat, used, ignored);
}

/*
 * Which one of names (NULL-terminated) map sets: 1 with *val and *which set,
 * 0 when none, or an error when two are set, or none and required.
 */
int y_one_of(struct ctx *c, const yaml_node_t *map, const char *what,
		  const char *const *names, bool required, yaml_node_t **val,
		  size_t *which)
{
	char list[256] = "";
	size_t found = 0;

	*val = NULL;
	for (size_t i = 0; names[i]; i++) {
		yaml_node_t *v = y_field(c, map, names[i]);

		if (!v)
			continue;
		if (*val)
			return y_fail(c, v, what, "%s and %s are mutually exclusive",
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
	return y_fail(c, map, what, "needs %s", list);
}

/* ---- scalars ----------------------------------------------------------- */

/*
 * A string of 1..limit-1 bytes (0.. when empty_ok; limit counts the NUL as
 * the ABI's limits do). *out is a new copy.
 */
int y_str_at(struct ctx *c, const yaml_node_t *v, const char *what,
		  const char *name, size_t limit, bool empty_ok, char **out)
{
	size_t len;
	int ret;

	ret = y_want(c, v, YAML_SCALAR_NODE, what, name);
	if (ret)
		return ret;
	len = v->data.scalar.length;
	if (memchr(y_sval(v), '\0', len))
		return y_fail(c, v, what, "%s contains a NUL byte", name);
	if (!len && !empty_ok)
		return y_fail(c, v, what, "%s is empty", name);
	if (len >= limit)
		return y_fail(c, v, what, "%s is %zu bytes long, limit is %zu",
			    name, len, limit - 1);
	*out = strdup(y_sval(v));
	return *out ? 0 : oom(c);
}

/* A required string field of map. */
int y_req_str(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name, size_t limit, char **out)
{
	yaml_node_t *v = y_field(c, map, name);

	if (!v)
		return y_missing(c, map, what, name);
	return y_str_at(c, v, what, name, limit, false, out);
}

/* An optional string field of map; absent or empty leaves *out NULL. */
int y_opt_str(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name, size_t limit, char **out)
{
	yaml_node_t *v = y_field(c, map, name);
	int ret;

	if (!v)
		return 0;
	ret = y_str_at(c, v, what, name, limit, true, out);
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
int y_uint_at(struct ctx *c, const yaml_node_t *v, const char *what,
		   const char *name, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s;
	size_t len, i = 0;
	bool neg = false, big = false;
	uint64_t x = 0;
	int ret;

	ret = y_want(c, v, YAML_SCALAR_NODE, what, name);
	if (ret)
		return ret;
	s = y_sval(v);
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
		return y_fail(c, v, what,
			    "%s %s is out of range (%" PRIu64 "-%" PRIu64 ")",
			    name, quote(c, s), min, max);
	*out = x;
	return 0;
not_int:
	return y_fail(c, v, what, "%s '%s' is not a decimal integer", name,
		    quote(c, s));
}

int y_bool_at(struct ctx *c, const yaml_node_t *v, const char *what,
		   const char *name, bool *out)
{
	int ret;

	ret = y_want(c, v, YAML_SCALAR_NODE, what, name);
	if (ret)
		return ret;
	if (y_scalar_is(v, "true") || y_scalar_is(v, "True") ||
	    y_scalar_is(v, "TRUE"))
		*out = true;
	else if (y_scalar_is(v, "false") || y_scalar_is(v, "False") ||
		 y_scalar_is(v, "FALSE"))
		*out = false;
	else
		return y_fail(c, v, what, "%s '%s' is not true or false", name,
			    quote(c, y_sval(v)));
	return 0;
}

/* An optional bool field of map; absent leaves *out alone. */
int y_opt_bool(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, bool *out)
{
	yaml_node_t *v = y_field(c, map, name);

	return v ? y_bool_at(c, v, what, name, out) : 0;
}

/* A required integer field of map, in min..max. */
int y_req_uint(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	yaml_node_t *v;
	int ret = y_req_field(c, map, what, name, &v);

	return ret ? ret : y_uint_at(c, v, what, name, min, max, out);
}

/* An optional integer field of map, in min..max; absent leaves *out alone. */
int y_opt_uint(struct ctx *c, const yaml_node_t *map, const char *what,
		    const char *name, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	yaml_node_t *v = y_field(c, map, name);

	return v ? y_uint_at(c, v, what, name, min, max, out) : 0;
}

/* "5s", "0.25s" (protobuf's JSON form of a Duration: seconds, up to nine
 * fraction digits, "s") in ns; max bounds the result. */
static int duration_str(struct ctx *c, const yaml_node_t *v, const char *what,
			const char *name, uint64_t max, uint64_t *ns)
{
	const char *s = y_sval(v), *p = s;
	uint64_t sec = 0, frac = 0, scale = 1000000000;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		sec = sec * 10 + (uint64_t)(*p - '0');
		if (sec > max / 1000000000)
			return y_fail(c, v, what, "%s '%s' is out of range",
				      name, quote(c, s));
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9' && scale > 1; p++) {
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
		}
	}
	if (strcmp(p, "s") == 0) {
		*ns = sec * 1000000000 + frac;
		if (*ns <= max)
			return 0;
		return y_fail(c, v, what, "%s '%s' is out of range", name,
			      quote(c, s));
	}
bad:
	return y_fail(c, v, what,
		      "%s '%s' is not a duration (seconds with an 's', e.g. \"5s\" or \"0.5s\")",
		      name, quote(c, s));
}

/* An optional google.protobuf.Duration field of map in ns, as Envoy's YAML
 * takes it: "5s", or {seconds, nanos}. *set tells whether it was there. */
int y_opt_duration(struct ctx *c, const yaml_node_t *map, const char *what,
		   const char *name, uint64_t max, bool *set, uint64_t *ns)
{
	static const char *const used[] = { "seconds", "nanos", NULL };
	yaml_node_t *v = y_field(c, map, name);
	char dwhat[WHAT_LEN];
	uint64_t sec = 0, nanos = 0;
	int ret;

	*set = v != NULL;
	if (!v)
		return 0;
	if (v->type == YAML_SCALAR_NODE)
		return duration_str(c, v, what, name, max, ns);
	what_fmt(dwhat, "%s: %s", what, name);
	ret = y_mapping_at(c, v, what, name, dwhat, used, NULL);
	if (!ret)
		ret = y_opt_uint(c, v, dwhat, "seconds", 0, max / 1000000000, &sec);
	if (!ret)
		ret = y_opt_uint(c, v, dwhat, "nanos", 0, 999999999, &nanos);
	if (ret)
		return ret;
	*ns = sec * 1000000000 + nanos;
	if (*ns > max)
		return y_fail(c, v, what, "%s is out of range", name);
	return 0;
}

/* An optional scalar field of map, in *v; NULL when absent. */
int y_opt_scalar(struct ctx *c, const yaml_node_t *map, const char *what,
		      const char *name, yaml_node_t **v)
{
	*v = y_field(c, map, name);
	return *v ? y_want(c, *v, YAML_SCALAR_NODE, what, name) : 0;
}

/* ---- duplicates: km_find_dup (dup.h) --------------------------------- */


/* ---- lists ------------------------------------------------------------- */


/* The sequence field r->name of map, in *seq; NULL when absent and allowed. */
int y_list_field(struct ctx *c, const yaml_node_t *map, const char *what,
		      const struct list_rules *r, yaml_node_t **seq)
{
	yaml_node_t *s = y_field(c, map, r->name);
	size_t n;
	int ret;

	*seq = NULL;
	if (!s)
		return r->required ? y_missing(c, map, what, r->name) : 0;
	ret = y_want(c, s, YAML_SEQUENCE_NODE, what, r->name);
	if (ret)
		return ret;
	n = y_seq_len(s);
	if (!n && r->if_empty)
		return y_fail(c, s, what, "%s", r->if_empty);
	if (r->limit && n > r->limit)
		return y_fail(c, s, what, "%zu %s, limit is %zu", n,
			    r->noun ? r->noun : r->name, r->limit);
	*seq = s;
	return 0;
}

/* n zeroed elements of size bytes at *items (the address of a typed array
 * pointer, as libbpf's libbpf_add_mem() takes one), and *count = n. */
int y_alloc_array(struct ctx *c, size_t n, size_t size, void **items,
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
int y_each_item(struct ctx *c, yaml_node_t *seq, const char *what,
		     const struct list_rules *r, void *items, size_t size,
		     void *arg)
{
	size_t n = seq ? y_seq_len(seq) : 0;

	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = y_seq_item(c, seq, i);
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
int y_read_list(struct ctx *c, const yaml_node_t *map, const char *what,
		     const struct list_rules *r, void **items, size_t *count,
		     size_t size, void *arg)
{
	yaml_node_t *seq;
	int ret;

	ret = y_list_field(c, map, what, r, &seq);
	if (ret || !seq)
		return ret;
	if (items) {
		ret = y_alloc_array(c, y_seq_len(seq), size, items, count);
		if (ret)
			return ret;
	}
	return y_each_item(c, seq, what, r, items ? *items : NULL, size, arg);
}

/*
 * The required name of item i of list, an object of kind: *name read (limit
 * counts the NUL) and what set to "parent: kind 'name'", naming the item in
 * messages from then on ("parent: list[i]" before).
 */
int y_item_name(struct ctx *c, const yaml_node_t *n, const char *parent,
		     const char *list, size_t i, const char *kind,
		     size_t limit, char *what, char **name)
{
	int ret;

	what_index(what, parent, list, i);
	ret = y_req_str(c, n, what, "name", limit, name);
	if (!ret)
		what_named(c, what, parent, kind, *name);
	return ret;
}

/* ---- addresses, localities --------------------------------------------- */

/* An Envoy Address holding a socket_address. */
int y_read_address(struct ctx *c, yaml_node_t *v, const char *what,
			const char *name, struct km_ip *ip, uint16_t *port)
{
	return y_read_host_address(c, v, what, name, NULL, ip, port);
}

/* y_read_address, but with @host (a DNS cluster's endpoint) an address that
 * is not an IP is a name to resolve, in *host (check.c checks it). */
int y_read_host_address(struct ctx *c, yaml_node_t *v, const char *what,
			const char *name, char **host, struct km_ip *ip,
			uint16_t *port)
{
	static const char *const addr_fields[] = { "socket_address", NULL };
	static const char *const sa_fields[] = {
		"address", "port_value", "protocol", NULL
	};
	yaml_node_t *sa, *a, *p;
	uint64_t x;
	int ret;

	ret = y_mapping_at(c, v, what, name, what, addr_fields, NULL);
	if (ret)
		return ret;
	sa = y_field(c, v, "socket_address");
	if (!sa)
		return y_fail(c, v, what, "%s: socket_address is missing", name);
	ret = y_mapping_at(c, sa, what, "socket_address", what, sa_fields, NULL);
	if (!ret)
		ret = y_opt_scalar(c, sa, what, "protocol", &p);
	if (ret)
		return ret;
	if (p && !y_scalar_is(p, "TCP"))
		return y_fail(c, p, what,
			    "protocol %s is not supported (TCP only)",
			    quote(c, y_sval(p)));
	ret = y_req_field(c, sa, what, "address", &a);
	if (!ret)
		ret = y_want(c, a, YAML_SCALAR_NODE, what, "address");
	if (ret)
		return ret;
	if (!memchr(y_sval(a), '\0', a->data.scalar.length) &&
	    !km_ip_parse(y_sval(a), ip)) {
		/* an IP: nothing to resolve, in a DNS cluster too */
	} else if (host) {
		memset(ip, 0, sizeof(*ip));
		ret = y_str_at(c, a, what, "address", KM_NAME_MAX, false, host);
		if (ret)
			return ret;
	} else {
		return y_fail(c, a, what,
			    "address '%s' is not an IPv4 or IPv6 address",
			    quote(c, y_sval(a)));
	}
	ret = y_req_uint(c, sa, what, "port_value", 1, 65535, &x);
	if (ret)
		return ret;
	*port = (uint16_t)x;
	return 0;
}

/* The optional locality field of map. */
int y_read_locality(struct ctx *c, yaml_node_t *map, const char *what,
			 struct km_locality *loc)
{
	static const char *const used[] = {
		"region", "zone", "sub_zone", NULL
	};
	yaml_node_t *v = y_field(c, map, "locality");
	int ret;

	if (!v)
		return 0;
	ret = y_mapping_at(c, v, what, "locality", what, used, NULL);
	if (!ret)
		ret = y_opt_str(c, v, what, "region", KM_NAME_MAX, &loc->region);
	if (!ret)
		ret = y_opt_str(c, v, what, "zone", KM_NAME_MAX, &loc->zone);
	if (!ret)
		ret = y_opt_str(c, v, what, "sub_zone", KM_NAME_MAX,
			      &loc->sub_zone);
	return ret;
}
