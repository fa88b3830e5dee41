// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Local replies from YAML (model/local_reply.h): a route's direct_response
 * and redirect, and envoy.filters.http.fault's abort, on a route
 * (typed_per_filter_config) or in a chain's http_filters. Decoded as given;
 * model/check.c holds the ranges.
 */
#include <openssl/evp.h>

#include "yaml_read.h"

#define URL_FAULT TYPE_URL "envoy.extensions.filters.http.fault.v3.HTTPFault"
#define FILTER_FAULT "envoy.filters.http.fault"

static struct km_m_reply *new_reply(struct ctx *c, yaml_node_t *n, uint8_t kind)
{
	struct km_m_reply *r = calloc(1, sizeof(*r));

	if (!r) {
		oom(c);
		return NULL;
	}
	r->src = y_src_of(c, n);
	r->kind = kind;
	return r;
}

/* protobuf JSON's bytes: base64 */
static int read_b64(struct ctx *c, yaml_node_t *v, const char *what,
		    struct km_m_reply *r)
{
	const char *s = y_sval(v);
	size_t len = strlen(s), pad = 0;
	int n;

	if (len % 4)
		return y_fail(c, v, what, "inline_bytes is not base64");
	r->body = malloc(len / 4 * 3 + 1);
	if (!r->body)
		return oom(c);
	n = EVP_DecodeBlock((unsigned char *)r->body, (const unsigned char *)s,
			    (int)len);
	if (n < 0)
		return y_fail(c, v, what, "inline_bytes is not base64");
	while (pad < len && pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	r->body_len = (size_t)n - pad;
	r->body[r->body_len] = '\0';
	return 0;
}

static int read_body(struct ctx *c, yaml_node_t *b, const char *what,
		     struct km_m_reply *r)
{
	static const char *const used[] = {
		"inline_string", "inline_bytes", "filename",
		"environment_variable", NULL
	};
	char bwhat[WHAT_LEN];
	yaml_node_t *v;
	size_t which;
	int ret;

	what_fmt(bwhat, "%s: direct_response: body", what);
	ret = y_mapping_at(c, b, what, "body", bwhat, used, NULL);
	if (!ret)
		ret = y_one_of(c, b, bwhat, used, true, &v, &which);
	if (ret < 0)
		return ret;
	if (which >= 2)
		return y_fail(c, v, bwhat,
			    "%s is not supported: kmeshd does not read files or its environment for a response body (inline_string or inline_bytes)",
			    used[which]);
	ret = y_want(c, v, YAML_SCALAR_NODE, bwhat, used[which]);
	if (ret)
		return ret;
	if (which == 1)
		return read_b64(c, v, bwhat, r);
	r->body = strdup(y_sval(v));
	if (!r->body)
		return oom(c);
	r->body_len = strlen(r->body);
	return 0;
}

int y_read_direct_response(struct ctx *c, yaml_node_t *v, const char *what,
			   struct km_m_reply **out)
{
	static const char *const used[] = { "status", "body", NULL };
	char dwhat[WHAT_LEN];
	yaml_node_t *b;
	uint64_t x;
	int ret;

	what_fmt(dwhat, "%s: direct_response", what);
	ret = y_mapping_at(c, v, what, "direct_response", dwhat, used, NULL);
	if (ret)
		return ret;
	*out = new_reply(c, v, KM_REPLY_DIRECT);
	if (!*out)
		return -ENOMEM;
	ret = y_req_uint(c, v, dwhat, "status", 0, 65535, &x);
	(*out)->status = (uint16_t)x;
	b = y_field(c, v, "body");
	if (!ret && b)
		ret = read_body(c, b, what, *out);
	return ret;
}

/* RedirectAction.RedirectResponseCode, by name or number */
static int read_code(struct ctx *c, yaml_node_t *v, const char *what,
		     uint16_t *status)
{
	static const struct {
		const char *name;
		uint16_t code;
	} codes[] = {
		{ "MOVED_PERMANENTLY", 301 }, { "FOUND", 302 },
		{ "SEE_OTHER", 303 }, { "TEMPORARY_REDIRECT", 307 },
		{ "PERMANENT_REDIRECT", 308 },
	};
	int ret = y_want(c, v, YAML_SCALAR_NODE, what, "response_code");
	uint64_t x;

	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (y_scalar_is(v, codes[i].name)) {
			*status = codes[i].code;
			return 0;
		}
	ret = y_uint_at(c, v, what, "response_code", 0, 4, &x);
	if (ret)
		return ret;
	*status = codes[x].code;
	return 0;
}

int y_read_redirect(struct ctx *c, yaml_node_t *v, const char *what,
		    struct km_m_reply **out)
{
	static const char *const used[] = {
		"scheme_redirect", "https_redirect", "host_redirect",
		"port_redirect", "path_redirect", "prefix_rewrite",
		"regex_rewrite", "response_code", "strip_query", NULL
	};
	static const char *const schemes[] = {
		"scheme_redirect", "https_redirect", NULL
	};
	static const char *const paths[] = {
		"path_redirect", "prefix_rewrite", "regex_rewrite", NULL
	};
	char rwhat[WHAT_LEN];
	struct km_m_reply *r;
	yaml_node_t *f;
	size_t which;
	bool https = false;
	uint64_t x = 0;
	int ret;

	what_fmt(rwhat, "%s: redirect", what);
	ret = y_mapping_at(c, v, what, "redirect", rwhat, used, NULL);
	if (ret)
		return ret;
	*out = r = new_reply(c, v, KM_REPLY_REDIRECT);
	if (!r)
		return -ENOMEM;
	r->status = 301;	/* MOVED_PERMANENTLY, the enum's 0 */
	if (y_one_of(c, v, rwhat, schemes, false, &f, &which) < 0 ||
	    y_one_of(c, v, rwhat, paths, false, &f, &which) < 0)
		return -EINVAL;
	if (y_field(c, v, "regex_rewrite"))
		return y_fail(c, y_field(c, v, "regex_rewrite"), rwhat,
			    "regex_rewrite is not supported (path_redirect or prefix_rewrite)");
	ret = y_opt_str(c, v, rwhat, "scheme_redirect", KM_NAME_MAX, &r->scheme);
	if (!ret)
		ret = y_opt_bool(c, v, rwhat, "https_redirect", &https);
	if (!ret && https && !(r->scheme = strdup("https")))
		ret = oom(c);
	if (!ret)
		ret = y_opt_str(c, v, rwhat, "host_redirect", KM_MAX_MATCH_STR,
			      &r->host);
	if (!ret)
		ret = y_opt_uint(c, v, rwhat, "port_redirect", 0, 65535, &x);
	r->port = (uint32_t)x;
	if (!ret)
		ret = y_opt_str(c, v, rwhat, "path_redirect", KM_MAX_MATCH_STR,
			      &r->path);
	if (!ret)
		ret = y_opt_str(c, v, rwhat, "prefix_rewrite", KM_MAX_MATCH_STR,
			      &r->prefix);
	if (!ret)
		ret = y_opt_bool(c, v, rwhat, "strip_query", &r->strip_query);
	f = y_field(c, v, "response_code");
	if (!ret && f)
		ret = read_code(c, f, rwhat, &r->status);
	return ret;
}

/* FractionalPercent: numerator, denominator HUNDRED (default),
 * TEN_THOUSAND, MILLION */
static int read_percent(struct ctx *c, yaml_node_t *p, const char *what,
			struct km_m_abort *ab)
{
	static const char *const used[] = { "numerator", "denominator", NULL };
	static const char *const dens[] = {
		"HUNDRED", "TEN_THOUSAND", "MILLION", NULL
	};
	static const uint32_t den_of[] = { 100, 10000, 1000000 };
	char pwhat[WHAT_LEN];
	yaml_node_t *d;
	uint64_t x = 0;
	int ret;

	what_fmt(pwhat, "%s: percentage", what);
	ret = y_mapping_at(c, p, what, "percentage", pwhat, used, NULL);
	if (!ret)
		ret = y_opt_uint(c, p, pwhat, "numerator", 0, UINT32_MAX, &x);
	if (ret)
		return ret;
	ab->num = (uint32_t)x;
	ab->den = 100;
	d = y_field(c, p, "denominator");
	if (!d)
		return 0;
	for (size_t i = 0; dens[i]; i++)
		if (y_scalar_is(d, dens[i])) {
			ab->den = den_of[i];
			return 0;
		}
	ret = y_uint_at(c, d, pwhat, "denominator", 0, 2, &x);
	if (!ret)
		ab->den = den_of[x];
	return ret;
}

static int read_abort(struct ctx *c, yaml_node_t *a, const char *what,
		      struct km_m_abort *ab)
{
	static const char *const used[] = {
		"http_status", "percentage", "grpc_status", "header_abort",
		NULL
	};
	char awhat[WHAT_LEN];
	yaml_node_t *p;
	uint64_t x;
	int ret;

	what_fmt(awhat, "%s: abort", what);
	ret = y_mapping_at(c, a, what, "abort", awhat, used, NULL);
	if (ret)
		return ret;
	ab->src = y_src_of(c, a);
	if (y_field(c, a, "grpc_status") || y_field(c, a, "header_abort"))
		return y_fail(c, a, awhat,
			    "only http_status is supported (grpc_status and header_abort are not)");
	ret = y_req_uint(c, a, awhat, "http_status", 0, 65535, &x);
	ab->status = (uint16_t)x;
	p = y_field(c, a, "percentage");
	if (!ret && p)
		ret = read_percent(c, p, awhat, ab);
	return ret;
}

/* An HTTPFault config (a filter's typed_config, or a route's
 * typed_per_filter_config entry): its abort into @ab; a delay is listed as
 * not enforced (@ne). What would narrow which requests fault (headers,
 * upstream_cluster, downstream_nodes) is refused: kmesh would abort more
 * than asked. */
static int read_fault(struct ctx *c, yaml_node_t *f, const char *what,
		      struct km_m_abort *ab, uint32_t *ne)
{
	static const char *const used[] = {
		"@type", "abort", "delay", "headers", "upstream_cluster",
		"downstream_nodes", "max_active_faults", "response_rate_limit",
		"abort_percent_runtime", "delay_percent_runtime",
		"abort_http_status_runtime", "max_active_faults_runtime",
		"abort_grpc_status_runtime", "delay_duration_runtime",
		"response_rate_limit_percent_runtime",
		"disable_downstream_cluster_stats", "filter_metadata", NULL
	};
	static const char *const narrowing[] = {
		"headers", "upstream_cluster", "downstream_nodes",
		"response_rate_limit", NULL
	};
	yaml_node_t *a, *d;
	int ret;

	ret = y_want(c, f, YAML_MAPPING_NODE, what, "typed_config");
	if (!ret)
		ret = y_check_fields(c, f, what, used, NULL);
	if (!ret)
		ret = y_check_type_url(c, f, what, URL_FAULT);
	if (ret)
		return ret;
	for (size_t i = 0; narrowing[i]; i++)
		if (y_field(c, f, narrowing[i]))
			return y_fail(c, y_field(c, f, narrowing[i]), what,
				    "fault filter: %s is not supported",
				    narrowing[i]);
	ab->set = true;
	d = y_field(c, f, "delay");
	if (d && (ret = y_not_enforced(c, d, what, "fault delay", KM_NE_FAULT,
				       ne)))
		return ret;
	a = y_field(c, f, "abort");
	return a ? read_abort(c, a, what, ab) : 0;
}

/* A route's typed_per_filter_config: the fault filter's entry; any other
 * filter's per-route config is refused by name. */
int y_read_route_filters(struct ctx *c, yaml_node_t *m, const char *what,
			 struct km_m_action *a)
{
	char fwhat[WHAT_LEN];
	int ret = y_want(c, m, YAML_MAPPING_NODE, what,
			 "typed_per_filter_config");

	if (ret)
		return ret;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = y_node_at(c, p->key), *v = y_node_at(c, p->value);

		what_fmt(fwhat, "%s: typed_per_filter_config '%s'", what,
			 y_sval(k));
		if (!y_scalar_is(k, FILTER_FAULT))
			return y_fail(c, k, fwhat,
				    "per-route config of this filter is not supported (only %s)",
				    FILTER_FAULT);
		ret = read_fault(c, v, fwhat, &a->abort, &a->not_enforced);
		if (ret)
			return ret;
	}
	return 0;
}

/* A chain's http_filters: the fault filter is noted with its abort. */
int y_note_fault_filter(struct ctx *c, yaml_node_t *tc, const char *what,
			struct km_m_chain *ch)
{
	yaml_node_t *fs = y_field(c, tc, "http_filters"), *f, *cfg, *t, *name;
	char fwhat[WHAT_LEN];

	if (!fs || fs->type != YAML_SEQUENCE_NODE)
		return 0;
	for (size_t i = 0; i < y_seq_len(fs); i++) {
		f = y_seq_item(c, fs, i);
		if (f->type != YAML_MAPPING_NODE)
			continue;
		name = y_field(c, f, "name");
		cfg = y_field(c, f, "typed_config");
		t = cfg && cfg->type == YAML_MAPPING_NODE ?
			y_field(c, cfg, "@type") : NULL;
		if (!(name && y_scalar_is(name, FILTER_FAULT)) &&
		    !(t && y_scalar_is(t, URL_FAULT)))
			continue;
		ch->fault.filter = true;
		if (!cfg)
			continue;
		what_fmt(fwhat, "%s: http_filters[%zu] '%s'", what, i,
			 FILTER_FAULT);
		if (read_fault(c, cfg, fwhat, &ch->fault.abort,
			       &ch->not_enforced))
			return -EINVAL;
		ch->fault.abort.set = false;	/* the filter's own */
	}
	return 0;
}
