// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Local replies from xDS (model/local_reply.h): a route's direct_response
 * and redirect, and envoy.filters.http.fault's abort, per route
 * (typed_per_filter_config, as istiod sends a VirtualService's fault) and
 * in an HCM's http_filters. The same rules as the YAML reader
 * (yaml_reply.c); ranges in model/check.c.
 */
#include "xds_read.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb-c.h"

#define URL_FAULT TYPE_URL "envoy.extensions.filters.http.fault.v3.HTTPFault"
#define URL_FILTER_CONFIG TYPE_URL "envoy.config.route.v3.FilterConfig"
#define FILTER_FAULT "envoy.filters.http.fault"

typedef Envoy__Extensions__Filters__Http__Fault__V3__HTTPFault pb_fault;
typedef Envoy__Config__Route__V3__RedirectAction pb_redirect;
typedef Envoy__Config__Route__V3__DirectResponseAction pb_direct;

static struct km_m_reply *new_reply(struct ctx *c, uint8_t kind)
{
	struct km_m_reply *r = calloc(1, sizeof(*r));

	if (!r) {
		oom(c);
		return NULL;
	}
	r->src = xds_src;
	r->kind = kind;
	return r;
}

static int read_direct(struct ctx *c, const pb_direct *d, const char *what,
		       struct km_m_reply *r)
{
	const Envoy__Config__Core__V3__DataSource *b = d->body;
	const char *s = NULL;
	size_t n = 0;

	if (x_no_unknown_fields(c, &d->base, what, "direct_response"))
		return -EINVAL;
	r->status = d->status > 65535 ? 65535 : (uint16_t)d->status;
	if (!b)
		return 0;
	switch (b->specifier_case) {
	case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_STRING:
		s = b->inline_string;
		n = strlen(s);
		break;
	case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_BYTES:
		s = (const char *)b->inline_bytes.data;
		n = b->inline_bytes.len;
		break;
	case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER__NOT_SET:
		return 0;
	default:
		return x_fail(c, what,
			    "direct_response: body: %s is not supported: kmeshd does not read files or its environment for a response body (inline_string or inline_bytes)",
			    b->specifier_case == ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_FILENAME ?
			    "filename" : "environment_variable");
	}
	r->body = malloc(n + 1);
	if (!r->body)
		return oom(c);
	memcpy(r->body, s ? s : "", n);
	r->body[n] = '\0';
	r->body_len = n;
	return 0;
}

static int read_redirect(struct ctx *c, const pb_redirect *p, const char *what,
			 struct km_m_reply *r)
{
	static const uint16_t codes[] = { 301, 302, 303, 307, 308 };
	int ret = 0;

	if (x_no_unknown_fields(c, &p->base, what, "redirect"))
		return -EINVAL;
	if ((unsigned int)p->response_code >= sizeof(codes) / sizeof(codes[0]))
		return x_fail(c, what, "redirect: response_code %d is not supported",
			    (int)p->response_code);
	r->status = codes[p->response_code];
	r->port = p->port_redirect;
	r->strip_query = p->strip_query;
	switch (p->scheme_rewrite_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__SCHEME_REWRITE_SPECIFIER_HTTPS_REDIRECT:
		if (p->https_redirect && !(r->scheme = strdup("https")))
			return oom(c);
		break;
	case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__SCHEME_REWRITE_SPECIFIER_SCHEME_REDIRECT:
		ret = x_opt_str(c, p->scheme_redirect, what, "scheme_redirect",
				KM_NAME_MAX, &r->scheme);
		break;
	default:
		break;
	}
	if (!ret)
		ret = x_opt_str(c, p->host_redirect, what, "host_redirect",
				KM_MAX_MATCH_STR, &r->host);
	if (ret)
		return ret;
	switch (p->path_rewrite_specifier_case) {
	case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_PATH_REDIRECT:
		return x_opt_str(c, p->path_redirect, what, "path_redirect",
				 KM_MAX_MATCH_STR, &r->path);
	case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_PREFIX_REWRITE:
		return x_opt_str(c, p->prefix_rewrite, what, "prefix_rewrite",
				 KM_MAX_MATCH_STR, &r->prefix);
	case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_REGEX_REWRITE:
		return x_fail(c, what,
			    "redirect: regex_rewrite is not supported (path_redirect or prefix_rewrite)");
	default:
		return 0;
	}
}

/* direct_response or redirect: the route's reply, and the path match a
 * prefix_rewrite replaces */
int x_read_reply(struct ctx *c, const pb_route *pr, const char *rwhat,
		 struct km_m_route *r)
{
	bool direct = pr->action_case ==
		ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_DIRECT_RESPONSE;
	struct km_m_reply *rep = new_reply(c, direct ? KM_REPLY_DIRECT :
						       KM_REPLY_REDIRECT);
	int ret;

	if (!rep)
		return -ENOMEM;
	r->action.reply = rep;
	r->action.src = xds_src;
	ret = direct ? read_direct(c, pr->direct_response, rwhat, rep) :
		       read_redirect(c, pr->redirect, rwhat, rep);
	if (ret || !r->path || r->path_kind == KM_PATH_REGEX)
		return ret;
	rep->matched = strdup(r->path);
	return rep->matched ? 0 : oom(c);
}

static const uint32_t den_of[] = { 100, 10000, 1000000 };

/* An HTTPFault: its abort into @ab, a delay listed as not enforced; what
 * narrows which requests fault is refused (kmesh would abort more than
 * asked). */
static int read_fault(struct ctx *c, const pb_fault *f, const char *what,
		      struct km_m_abort *ab, uint32_t *ne)
{
	const Envoy__Extensions__Filters__Http__Fault__V3__FaultAbort *a = f->abort;

	if (f->upstream_cluster && *f->upstream_cluster)
		return x_fail(c, what, "fault filter: upstream_cluster is not supported");
	if (f->n_headers || f->n_downstream_nodes || f->response_rate_limit)
		return x_fail(c, what, "fault filter: %s is not supported",
			    f->n_headers ? "headers" : f->n_downstream_nodes ?
			    "downstream_nodes" : "response_rate_limit");
	ab->set = true;
	ab->src = xds_src;
	if (f->delay)
		*ne |= KM_NE_FAULT;
	if (!a)
		return 0;
	if (a->error_type_case !=
	    ENVOY__EXTENSIONS__FILTERS__HTTP__FAULT__V3__FAULT_ABORT__ERROR_TYPE_HTTP_STATUS)
		return x_fail(c, what,
			    "fault filter: abort: only http_status is supported (grpc_status and header_abort are not)");
	ab->status = a->http_status > 65535 ? 65535 : (uint16_t)a->http_status;
	ab->den = 100;
	if (a->percentage) {
		if ((unsigned int)a->percentage->denominator >= 3)
			return x_fail(c, what, "fault filter: abort: percentage denominator %d is not supported",
				    (int)a->percentage->denominator);
		ab->num = a->percentage->numerator;
		ab->den = den_of[a->percentage->denominator];
	}
	return 0;
}

/* An Any holding an HTTPFault, directly or in a FilterConfig. */
static int read_fault_any(struct ctx *c, const Google__Protobuf__Any *v,
			  const char *what, struct km_m_abort *ab, uint32_t *ne)
{
	Envoy__Config__Route__V3__FilterConfig *fc = NULL;
	pb_fault *f;
	int ret;

	if (v && v->type_url && !strcmp(v->type_url, URL_FILTER_CONFIG)) {
		fc = envoy__config__route__v3__filter_config__unpack(NULL,
				v->value.len, v->value.data);
		if (!fc)
			return x_fail(c, what, "FilterConfig does not decode");
		v = fc->config;
	}
	if (!v || !v->type_url || strcmp(v->type_url, URL_FAULT)) {
		ret = x_fail(c, what, "type URL '%.128s' is not %s",
			     v && v->type_url ? v->type_url : "", URL_FAULT);
		goto out;
	}
	f = envoy__extensions__filters__http__fault__v3__httpfault__unpack(NULL,
			v->value.len, v->value.data);
	if (!f) {
		ret = x_fail(c, what, "HTTPFault does not decode");
		goto out;
	}
	ret = read_fault(c, f, what, ab, ne);
	envoy__extensions__filters__http__fault__v3__httpfault__free_unpacked(f, NULL);
out:
	if (fc)
		envoy__config__route__v3__filter_config__free_unpacked(fc, NULL);
	return ret;
}

/* A route's typed_per_filter_config entry for the fault filter; the others
 * are left to their readers (xds_rbac.c refuses per-route access
 * control). */
int x_read_route_fault(struct ctx *c, const pb_route *pr, const char *rwhat,
		       struct km_m_action *a)
{
	char fwhat[WHAT_LEN];

	for (size_t i = 0; i < pr->n_typed_per_filter_config; i++) {
		const Envoy__Config__Route__V3__Route__TypedPerFilterConfigEntry *e =
			pr->typed_per_filter_config[i];

		if (!e->key || strcmp(e->key, FILTER_FAULT))
			continue;
		what_fmt(fwhat, "%s: typed_per_filter_config '%s'", rwhat,
			 FILTER_FAULT);
		if (read_fault_any(c, e->value, fwhat, &a->abort,
				   &a->not_enforced))
			return -EINVAL;
	}
	return 0;
}

/* The HCM's fault filter, with its own abort if it has one. */
int x_read_fault_filter(struct ctx *c, const pb_http_filter *hf,
			const char *what, struct km_m_chain *ch)
{
	char fwhat[WHAT_LEN];

	ch->fault.filter = true;
	if (hf->config_type_case !=
	    ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_FILTER__CONFIG_TYPE_TYPED_CONFIG ||
	    !hf->typed_config)
		return 0;
	what_fmt(fwhat, "%s: http_filters '%s'", what, FILTER_FAULT);
	if (read_fault_any(c, hf->typed_config, fwhat, &ch->fault.abort,
			   &ch->not_enforced))
		return -EINVAL;
	ch->fault.abort.set = false;	/* the filter's own */
	return 0;
}
