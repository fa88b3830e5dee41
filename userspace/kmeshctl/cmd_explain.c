// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshctl explain: the route kmesh.ko gives an HTTP request, by the live
 * table; with --source or --identity, whether authorization lets the
 * connect through (the same answer as kmeshctl authz check). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "cmd_authz.h"
#include "ctl.h"
#include "explain.h"
#include "json.h"
#include "kmod.h"

/* One HTTP listener of the live slot: a (listener, route table) pair, the
 * smallest of its service addresses, and its default route (fe.targets). */
struct http_fe {
	struct km_frontend fe;
	int n_addrs;
	char name[KM_NAME_MAX];
	char addr[80];
};

#define KM_EXPLAIN_MAX_FES 256

/*
 * The live slot's HTTP frontends whose listener name or address (IP:PORT)
 * is @want (NULL: all), one per (listener, route table). *other counts the
 * @want frontends that are not HTTP (tcp_proxy).
 */
static int find_http_fes(struct ctl *c, const char *want, struct http_fe *out,
			 int *other)
{
	struct km_frontend_key cur, prev;
	bool first = true;
	int n = 0, i;

	while (bpf_map_get_next_key(c->maps.frontend, first ? NULL : &prev, &cur) == 0) {
		struct km_frontend fe;
		char name[KM_NAME_MAX], addr[80];

		first = false;
		prev = cur;
		if (cur.slot != c->gen.slot ||
		    bpf_map_lookup_elem(c->maps.frontend, &cur, &fe))
			continue;
		name_of(c, KM_NAME_LISTENER, fe.listener_id, name, sizeof(name));
		hostport(&cur.addr, cur.port, addr, sizeof(addr));
		if (want && strcmp(want, name) && strcmp(want, addr))
			continue;
		if (!(fe.flags & (KM_FE_L7 | KM_FE_L7_AS_L4))) {
			(*other)++;
			continue;
		}
		for (i = 0; i < n; i++)
			if (out[i].fe.listener_id == fe.listener_id &&
			    out[i].fe.route_id == fe.route_id &&
			    out[i].fe.flags == fe.flags)
				break;
		if (i == KM_EXPLAIN_MAX_FES)
			continue;
		if (i == n) {
			out[n].fe = fe;
			out[n].n_addrs = 0;
			snprintf(out[n].name, sizeof(out[n].name), "%s", name);
			snprintf(out[n].addr, sizeof(out[n].addr), "%s", addr);
			n++;
		}
		/* the smallest address names it, whatever the map order */
		if (strcmp(addr, out[i].addr) < 0)
			snprintf(out[i].addr, sizeof(out[i].addr), "%s", addr);
		out[i].n_addrs++;
	}
	return n;
}

static void print_fes(const struct http_fe *f, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(stderr, "  %s (%s%s, route table %u%s)\n", f[i].name,
			f[i].addr, f[i].n_addrs > 1 ? " and more" : "",
			f[i].fe.route_id,
			f[i].fe.flags & KM_FE_L7 ? "" : ", served as L4");
}

/* The one HTTP frontend @want names, or an error saying why there is none. */
static int pick_http_fe(struct ctl *c, const char *want, struct http_fe *fes,
			struct http_fe **out)
{
	int other = 0, n = find_http_fes(c, want, fes, &other);

	if (n == 1) {
		*out = &fes[0];
		return 0;
	}
	if (n == 0 && want && other) {
		fprintf(stderr, "kmeshctl: explain: listener %s is not HTTP (tcp_proxy): it has no routes to explain\n",
			want);
		return 2;
	}
	if (n == 0) {
		other = 0;
		n = find_http_fes(c, NULL, fes, &other);
		if (want)
			fprintf(stderr, "kmeshctl: explain: no listener or service address '%s' in the live config (generation %llu)%s\n",
				want, (unsigned long long)c->gen.generation,
				n ? "; its HTTP listeners:" : "");
		else
			fprintf(stderr, "kmeshctl: explain: the live config (generation %llu) has no HTTP listener\n",
				(unsigned long long)c->gen.generation);
		print_fes(fes, n);
		return 2;
	}
	if (want && !strcmp(fes[0].name, want))
		fprintf(stderr, "kmeshctl: explain: listener %s serves %d route tables on different ports: give the service address (IP:PORT) instead:\n",
			want, n);
	else
		fprintf(stderr, "kmeshctl: explain: %d HTTP listeners: name one (or a service address IP:PORT):\n",
			n);
	print_fes(fes, n);
	return 2;
}

/* The synthetic clusters of local replies (model/local_reply.c names
 * them). */
static bool is_local_reply(const char *name)
{
	return !strncmp(name, "(direct_response ", 17) ||
	       !strncmp(name, "(redirect ", 10) ||
	       !strncmp(name, "(fault abort ", 13);
}

/* Cluster @id of the live slot: name and serving policy. */
static void explain_cluster(struct ctl *c, struct km_json *j, __u32 id,
			    __u32 weight, __u32 total, const char *label)
{
	struct km_cluster_key k = { .id = id, .slot = c->gen.slot };
	char name[KM_NAME_MAX];
	struct km_cluster cl;
	bool found = bpf_map_lookup_elem(c->maps.cluster, &k, &cl) == 0;

	name_of(c, KM_NAME_CLUSTER, id, name, sizeof(name));
	if (c->json) {
		km_json_obj(j, NULL);
		km_json_str(j, "name", name);
		km_json_u64(j, "id", id);
		km_json_u64(j, "weight", weight);
		km_json_u64(j, "total_weight", total);
		if (found) {
			km_json_str(j, "lb_policy", km_lb_policy_name(cl.lb_policy));
			km_json_u64(j, "endpoints", cl.n_endpoints);
			km_json_u64(j, "endpoints_configured", cl.n_configured);
			km_json_u64(j, "priority", cl.priority);
			km_json_u64(j, "locality_rank", cl.locality_rank);
		}
		km_json_end(j, '}');
		return;
	}
	printf("%-15s%s", label, name);
	if (total > 1)
		printf(", weight %u of %u (%.1f%%)", weight, total,
		       100.0 * weight / total);
	if (!found)
		printf(": MISSING from km_cluster (the kernel refuses such a connection)\n");
	else if (is_local_reply(name))
		printf(": a local reply, written by kmeshd's responder on loopback\n");
	else if (cl.n_endpoints == 0)
		printf(": %s, no usable endpoint of %u (the kernel refuses the connection: ECONNREFUSED)\n",
		       km_lb_policy_name(cl.lb_policy), cl.n_configured);
	else
		printf(": %s%s, %u of %u endpoints serving (priority %u, locality rank %u)\n",
		       km_lb_policy_name(cl.lb_policy), cl.weighted ? " weighted" : "",
		       cl.n_endpoints, cl.n_configured, cl.priority, cl.locality_rank);
}

/* key: the JSON key and, with ':', the text label ("clusters") */
static void explain_targets(struct ctl *c, struct km_json *j, const char *key,
			    const struct km_explain_target *t, unsigned int n,
			    __u32 total)
{
	char label[32];

	snprintf(label, sizeof(label), "%s:", key);
	for (char *p = label; *p; p++)
		if (*p == '_')
			*p = ' ';
	if (c->json)
		km_json_arr(j, key);
	for (unsigned int i = 0; i < n && i < KM_MAX_WEIGHTED; i++)
		explain_cluster(c, j, t[i].cluster_id, t[i].weight, total,
				i == 0 ? label : "");
	if (c->json)
		km_json_end(j, ']');
}

/* A frontend's default route as explain targets. */
static unsigned int default_targets(const struct km_frontend *fe,
				    struct km_explain_target *t)
{
	__u32 prev = 0;
	unsigned int i;

	for (i = 0; i < fe->n_targets && i < KM_MAX_WEIGHTED; i++) {
		t[i].cluster_id = fe->targets[i].cluster_id;
		t[i].weight = fe->targets[i].cum_weight - prev;
		prev = fe->targets[i].cum_weight;
	}
	return i;
}

static const char *const domain_why[] = {
	[KM_RT_DOM_EXACT] = "exact domain",
	[KM_RT_DOM_SUFFIX] = "longest matching suffix wildcard; no exact domain matched",
	[KM_RT_DOM_PREFIX] = "longest matching prefix wildcard; no exact or suffix domain matched",
	[KM_RT_DOM_ANY] = "the default ('*'); no other domain matched",
};

/* A route's match, one matcher per line (text) or array item (JSON). */
static void explain_route_match(struct ctl *c, struct km_json *j,
				const void *t, size_t len, unsigned int vi,
				unsigned int ri, const char *indent)
{
	const struct km_rt_route *r = km_rt_view_route(t, len, vi, ri);
	char buf[KM_RT_STR_MAX * 2 + 64];

	if (!r)
		return;
	km_rt_view_path_text(t, len, r, buf, sizeof(buf));
	if (c->json) {
		km_json_arr(j, "match");
		km_json_str(j, NULL, buf);
	} else {
		printf("%s%s\n", indent, buf);
	}
	for (unsigned int h = 0; h < r->n_headers; h++) {
		const struct km_rt_header_match *m =
			km_rt_view_header(t, len, vi, ri, h);

		if (!m)
			continue;
		km_rt_view_header_text(t, len, m, buf, sizeof(buf));
		if (c->json)
			km_json_str(j, NULL, buf);
		else
			printf("%s%s\n", indent, buf);
	}
	if (c->json)
		km_json_end(j, ']');
}

/* No route: why each route of the virtual host did not match. */
static void explain_no_route(struct ctl *c, struct km_json *j, const void *t,
			     size_t len, const struct km_explain *x)
{
	const struct km_rt_vhost *v = km_rt_view_vhost(t, len, x->res.vhost);
	char name[KM_RT_STR_MAX + 1], buf[KM_RT_STR_MAX * 2 + 64];
	unsigned int n = v ? v->n_routes : 0;

	if (c->json)
		km_json_arr(j, "routes_tried");
	else
		printf("route:         none of its %u routes matches:\n", n);
	for (unsigned int ri = 0; ri < n; ri++) {
		const struct km_rt_route *r = km_rt_view_route(t, len, x->res.vhost, ri);
		__u32 hok = 0;
		bool pok = false, shown;

		if (!r)
			continue;
		km_explain_route_why(t, len, x, ri, &pok, &hok);
		km_rt_view_str(t, len, r->name_off, r->name_len, name, sizeof(name));
		if (c->json) {
			km_json_obj(j, NULL);
			km_json_u64(j, "index", ri);
			km_json_str(j, "name", name[0] ? name : NULL);
			km_json_bool(j, "path_matches", pok);
			km_json_arr(j, "matchers_not_matching");	/* header and query matchers */
		} else {
			printf("  routes[%u]%s%s%s:", ri, name[0] ? " '" : "", name,
			       name[0] ? "'" : "");
		}
		shown = !pok;
		if (!c->json && !pok)
			printf(" %s does not match\n",
			       km_rt_view_path_text(t, len, r, buf, sizeof(buf)));
		for (unsigned int h = 0; h < r->n_headers; h++) {
			const struct km_rt_header_match *m =
				km_rt_view_header(t, len, x->res.vhost, ri, h);

			if (!m || (hok & (1u << h)))
				continue;
			km_rt_view_header_text(t, len, m, buf, sizeof(buf));
			if (c->json)
				km_json_str(j, NULL, buf);
			else
				printf("%s%s does not match\n",
				       shown ? "                 nor " : " ", buf);
			shown = true;
		}
		if (!c->json && !shown)
			printf(" does not match\n");
		if (c->json) {
			km_json_end(j, ']');
			km_json_end(j, '}');
		}
	}
	if (c->json)
		km_json_end(j, ']');
}

/* Each virtual host and its domains, cut to a screenful. */
static void explain_domains(const void *t, size_t len)
{
	const struct km_rt_head *h = km_rt_view_head(t, len);
	char name[KM_RT_STR_MAX + 1], dom[KM_RT_STR_MAX + 2];

	for (unsigned int vi = 0; vi < h->n_vhosts && vi < 16; vi++) {
		const struct km_rt_vhost *v = km_rt_view_vhost(t, len, vi);

		if (!v)
			continue;
		km_rt_view_str(t, len, v->name_off, v->name_len, name, sizeof(name));
		printf("  '%s':", name);
		for (unsigned int di = 0; di < v->n_domains && di < 8; di++) {
			const struct km_rt_domain *d = km_rt_view_domain(t, len, vi, di);

			printf("%s %s", di ? "," : "",
			       d ? km_rt_view_domain_text(t, len, d, dom, sizeof(dom)) : "?");
		}
		if (v->n_domains > 8)
			printf(", ... (%u domains)", v->n_domains);
		putchar('\n');
	}
	if (h->n_vhosts > 16)
		printf("  ... (%u virtual hosts)\n", h->n_vhosts);
}

static const char *domain_kind_key(unsigned int kind)
{
	return kind == KM_RT_DOM_EXACT ? "exact" : kind == KM_RT_DOM_SUFFIX ? "suffix" :
	       kind == KM_RT_DOM_PREFIX ? "prefix" : kind == KM_RT_DOM_ANY ? "any" : "?";
}

static const char *status_name(__u32 s)
{
	return s == KM_ROUTE_MATCHED ? "matched" :
	       s == KM_ROUTE_NO_VHOST ? "no_virtual_host" : "no_route";
}

/* The JSON answer's opening: which generation and listener it explains. */
static void explain_json_open(struct ctl *c, struct km_json *j,
			      const struct http_fe *f)
{
	km_json_init(j, stdout);
	km_json_obj(j, NULL);
	km_json_u64(j, "generation", c->gen.generation);
	km_json_str(j, "listener", f->name);
	km_json_str(j, "address", f->addr);
}

static void explain_print(struct ctl *c, const struct http_fe *f,
			  const void *t, size_t len, const struct km_explain *x,
			  const char *l4_why)
{
	const struct km_rt_head *h = km_rt_view_head(t, len);
	const struct km_rt_vhost *v = NULL;
	const struct km_rt_domain *d = NULL;
	const struct km_rt_route *r = NULL;
	char rc[KM_RT_STR_MAX + 1], vh[KM_RT_STR_MAX + 1], rn[KM_RT_STR_MAX + 1];
	char dom[KM_RT_STR_MAX + 2], line[KM_HTTP_MAX_HEAD + 1];
	struct km_explain_target def[KM_MAX_WEIGHTED];
	unsigned int ndef = default_targets(&f->fe, def);
	struct km_json j;
	char *eol;

	km_rt_view_str(t, len, h->name_off, h->name_len, rc, sizeof(rc));
	vh[0] = rn[0] = dom[0] = 0;
	if (x->res.status != KM_ROUTE_NO_VHOST) {
		v = km_rt_view_vhost(t, len, x->res.vhost);
		if (v)
			km_rt_view_str(t, len, v->name_off, v->name_len, vh, sizeof(vh));
		if (x->domain >= 0)
			d = km_rt_view_domain(t, len, x->res.vhost, x->domain);
		if (d)
			km_rt_view_domain_text(t, len, d, dom, sizeof(dom));
	}
	if (x->res.status == KM_ROUTE_MATCHED) {
		r = km_rt_view_route(t, len, x->res.vhost, x->res.route);
		if (r)
			km_rt_view_str(t, len, r->name_off, r->name_len, rn, sizeof(rn));
	}
	/* the request line, as sent */
	snprintf(line, sizeof(line), "%s", x->head);
	eol = strchr(line, '\r');
	if (eol)
		*eol = 0;

	if (c->json) {
		explain_json_open(c, &j, f);
		km_json_u64(&j, "route_table", f->fe.route_id);
		km_json_str(&j, "route_config", rc[0] ? rc : NULL);
		km_json_obj(&j, "request");
		km_json_str(&j, "request_line", line);
		km_json_str(&j, "host", x->req.host.len ? x->host : NULL);
		km_json_bool(&j, "ignore_port", x->port_ignored);
		km_json_str(&j, "head", x->head);
		km_json_end(&j, '}');
		km_json_str(&j, "result", status_name(x->res.status));
		if (v) {
			km_json_obj(&j, "virtual_host");
			km_json_u64(&j, "index", x->res.vhost);
			km_json_str(&j, "name", vh);
			km_json_str(&j, "domain", d ? dom : NULL);
			km_json_str(&j, "domain_kind", d ? domain_kind_key(d->kind) : NULL);
			km_json_end(&j, '}');
		} else {
			km_json_str(&j, "virtual_host", NULL);
		}
		if (r) {
			km_json_obj(&j, "route");
			km_json_u64(&j, "index", x->res.route);
			km_json_str(&j, "name", rn[0] ? rn : NULL);
			explain_route_match(c, &j, t, len, x->res.vhost, x->res.route, "");
			km_json_end(&j, '}');
			explain_targets(c, &j, "clusters", x->targets, x->n_targets,
					x->total_weight);
		} else {
			km_json_str(&j, "route", NULL);
			if (v)
				explain_no_route(c, &j, t, len, x);
			km_json_arr(&j, "clusters");
			km_json_end(&j, ']');
		}
		km_json_str(&j, "kernel_router", l4_why ? "absent" : "kmesh.ko");
		km_json_str(&j, "kernel_router_reason", l4_why);
		if (l4_why)
			explain_targets(c, &j, "default_route", def, ndef,
					f->fe.total_weight);
		km_json_end(&j, '}');
		return;
	}

	printf("listener:      %s (%s%s), route table %u, route config %s%s%s\n",
	       f->name, f->addr, f->n_addrs > 1 ? " and more" : "",
	       f->fe.route_id, rc[0] ? "'" : "", rc[0] ? rc : "(unnamed)",
	       rc[0] ? "'" : "");
	printf("request:       %s", line);
	if (x->req.host.len)
		printf(", host '%s'%s", x->host,
		       x->port_ignored ? " (its port is ignored: ignore_port_in_host_matching)" : "");
	else
		printf(", no Host: only a '*' domain can match");
	putchar('\n');
	if (x->res.status == KM_ROUTE_NO_VHOST) {
		printf("virtual host:  none: no domain of the %u virtual hosts matches the host, and none is '*':\n",
		       h->n_vhosts);
		explain_domains(t, len);
	} else {
		printf("virtual host:  '%s' (virtual_hosts[%u]), domain '%s': %s\n", vh,
		       x->res.vhost, d ? dom : "?",
		       d && d->kind >= KM_RT_DOM_EXACT && d->kind <= KM_RT_DOM_ANY ?
		       domain_why[d->kind] : "?");
	}
	if (r) {
		printf("route:         %s%s%s(routes[%u]), first to match:\n",
		       rn[0] ? "'" : "", rn, rn[0] ? "' " : "", x->res.route);
		explain_route_match(c, NULL, t, len, x->res.vhost, x->res.route,
				    "                 ");
		explain_targets(c, NULL, "clusters", x->targets, x->n_targets,
				x->total_weight);
	} else {
		if (v)
			explain_no_route(c, NULL, t, len, x);
		printf("result:        no %s: kmesh.ko refuses the connection: the application's first write fails with ECONNREFUSED (counted l7_no_route)\n",
		       v ? "route" : "virtual host");
	}
	if (l4_why) {
		printf("note:          HTTP listeners are served as L4 right now (%s):\n"
		       "               connections take the listener's default route instead\n",
		       l4_why);
		explain_targets(c, NULL, "default_route", def, ndef,
				f->fe.total_weight);
	}
}

/* A listener that has no route table: every connection takes its default
 * route. */
static void explain_as_l4(struct ctl *c, const struct http_fe *f)
{
	struct km_explain_target def[KM_MAX_WEIGHTED];
	unsigned int n = default_targets(&f->fe, def);
	struct km_json j;

	if (c->json) {
		explain_json_open(c, &j, f);
		km_json_str(&j, "result", "served_as_l4");
		explain_targets(c, &j, "default_route", def, n, f->fe.total_weight);
		km_json_end(&j, '}');
		return;
	}
	printf("listener:      %s (%s%s): HTTP served as L4, no route table: every connection takes its default route, whatever the request\n",
	       f->name, f->addr, f->n_addrs > 1 ? " and more" : "");
	explain_targets(c, NULL, "default_route", def, n, f->fe.total_weight);
}

static void explain_usage(FILE *f)
{
	fprintf(f, "usage: kmeshctl explain [--host HOST] --path PATH [--method METHOD]\n"
		   "                        [--header 'Name: value']... [-o json] [LISTENER]\n"
		   "       kmeshctl explain --source IP[:PORT] [--identity NS/SA] [--path PATH ...] IP:PORT\n"
		   "LISTENER: a listener name or a service address IP:PORT; optional when there\n"
		   "is one HTTP listener. --source and --identity (either one) ask whether\n"
		   "authorization lets a connect to IP:PORT through, and by which policy\n"
		   "(docs/authz.md); --identity alone: the source address is unknown, as for\n"
		   "a socket not bound before connect. Exit 0: a route matched (and the connect\n"
		   "is allowed); 1: none, or denied (the connection is refused); 2: bad\n"
		   "arguments or maps.\n");
}

/*
 * Which virtual host, route and clusters kmesh.ko gives a request on an
 * HTTP listener, by the live route table (km_route) and the matcher the
 * module runs (explain.h). 0 matched, 1 no route, 2 usage or map error.
 */
int cmd_explain(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "path", required_argument, NULL, 'P' },
		{ "method", required_argument, NULL, 'm' },
		{ "header", required_argument, NULL, 'e' },
		{ "source", required_argument, NULL, 's' },
		{ "identity", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static struct http_fe fes[KM_EXPLAIN_MAX_FES];
	static struct km_explain x;
	static struct agent_state st;
	struct km_explain_req rq = {};
	struct km_ctl_authz_query aq = {};
	int authz = 0;
	const char **headers = calloc(argc, sizeof(char *));
	const char *want = NULL, *l4_why;
	struct km_kmod_info km;
	struct km_err err = {};
	struct http_fe *f;
	void *table = NULL;
	__u32 idx;
	size_t tlen;
	bool big;
	int o, ret = 2;

	if (!headers)
		return 2;
	optind = 0;	/* glibc: start over on this argv */
	while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'H': rq.host = optarg; break;
		case 'P': rq.target = optarg; break;
		case 'm': rq.method = optarg; break;
		case 'e': headers[rq.n_headers++] = optarg; break;
		case 's': aq.source = optarg; break;
		case 'i': aq.identity = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "kmeshctl: -o %s: expected 'text' or 'json'\n", optarg);
				goto out;
			}
			c->json = strcmp(optarg, "json") == 0;
			break;
		case 'h': explain_usage(stdout); ret = 0; goto out;
		default: explain_usage(stderr); goto out;
		}
	}
	rq.headers = headers;
	if (optind + 1 == argc)
		want = argv[optind];
	if (aq.source || aq.identity) {
		/* authorization first: a denied connect never sends a request */
		if (!want || optind + 1 < argc || (c->json && rq.target)) {
			fprintf(stderr, "kmeshctl: explain: %s\n", !want || optind + 1 < argc ?
				"--source and --identity need one destination IP:PORT" :
				"-o json answers --source/--identity or --path, not both");
			explain_usage(stderr);
			goto out;
		}
		aq.dest = want;
		authz = km_ctl_authz_answer(c, &aq);
		if (authz == 2 || !rq.target) {
			ret = authz;
			goto out;
		}
	}
	if (optind + 1 < argc || !rq.target) {
		fprintf(stderr, "kmeshctl: explain: %s\n", !rq.target ?
			"--path is required" : "one LISTENER at most");
		explain_usage(stderr);
		goto out;
	}

	if (km_maps_open(c->pin_root, &c->maps, &err)) {
		fprintf(stderr, "kmeshctl: %s\n", err.msg);
		goto out;
	}
	if (km_maps_read_gen(&c->maps, &c->gen)) {
		fprintf(stderr, "kmeshctl: reading km_gen: %s\n", strerror(errno));
		goto out;
	}
	ret = pick_http_fe(c, want, fes, &f);
	if (ret)
		goto out;
	ret = 2;
	if (!(f->fe.flags & KM_FE_L7)) {
		explain_as_l4(c, f);
		ret = authz;
		goto out;
	}
	big = f->fe.flags & KM_FE_L7_BIG;
	tlen = big ? KM_ROUTE_TABLE_BIG : KM_ROUTE_TABLE_MAX;
	table = malloc(tlen);
	idx = big ? km_route_big_index(c->gen.slot, f->fe.route_id) :
		    km_route_index(c->gen.slot, f->fe.route_id);
	if (!table || bpf_map_lookup_elem(big ? c->maps.route_big : c->maps.route,
					  &idx, table)) {
		fprintf(stderr, "kmeshctl: explain: reading %s[%u] (route table %u of slot %u): %s\n",
			big ? "km_route_big" : "km_route", idx, f->fe.route_id,
			c->gen.slot, strerror(table ? errno : ENOMEM));
		goto out;
	}
	if (km_explain(table, tlen, &rq, &x, &err)) {
		fprintf(stderr, "kmeshctl: explain: %s\n", err.msg);
		goto out;
	}
	read_state(c->state_file, &st);
	km_kmod_info(&km);
	l4_why = l7_as_l4_reason(&st, &km);
	explain_print(c, f, table, tlen, &x, l4_why);
	ret = x.res.status == KM_ROUTE_MATCHED && !authz ? 0 : 1;
out:
	free(table);
	free(headers);
	return ret;
}
