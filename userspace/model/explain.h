/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `kmeshctl explain`'s core: which virtual host, route and clusters a
 * compiled route table (route_table.h) gives an HTTP request, decided by
 * the code kmesh.ko runs. The request is written out as a real HTTP/1.1
 * head, parsed by km_http_parse() and matched by km_route_match(), so the
 * answer is the kernel's, not a re-implementation of it. What explain adds
 * (which domain won, why a route did not match) is found by running the
 * same matcher on small tables cut from the real one.
 *
 * Library code: errors come back in struct km_err, nothing is printed.
 */
#ifndef KM_EXPLAIN_H
#define KM_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "kmesh/route_match.h"

struct km_explain_req {
	const char *method;	/* NULL: "GET" */
	/* The request-target as sent: "/path?query" (origin-form),
	 * "http://host/path" (absolute-form: its authority is the Host the
	 * router sees), "*" (OPTIONS). */
	const char *target;
	const char *host;	/* the Host line's value; NULL: no Host line */
	size_t n_headers;
	const char *const *headers;	/* "Name: value" lines, no CR/LF */
};

struct km_explain_target {
	__u32 cluster_id;
	__u32 weight;		/* this cluster's share of total_weight */
};

struct km_explain {
	/* The request head as built and parsed. */
	char head[KM_HTTP_MAX_HEAD + 1];	/* NUL-terminated */
	__u32 head_len;
	struct km_http_req req;

	/* km_route_match()'s answer: res.status is KM_ROUTE_MATCHED,
	 * KM_ROUTE_NO_VHOST or KM_ROUTE_NO_ROUTE. */
	struct km_route_result res;

	/* The Host the router saw (Host line, or the authority of an
	 * absolute-form target; "" if none), and whether the table compares
	 * it without its port (KM_RT_F_IGNORE_PORT). */
	char host[KM_HTTP_MAX_HEAD + 1];
	bool port_ignored;

	/* MATCHED and NO_ROUTE: the index, in the virtual host res.vhost,
	 * of the domain that chose it; -1 if unknown (a damaged table). */
	int domain;

	/* MATCHED: the route's clusters (res.route). */
	unsigned int n_targets;
	struct km_explain_target targets[KM_MAX_WEIGHTED];
	__u32 total_weight;
};

/*
 * Explain rq against the table blob[0..len) (4-byte aligned; a map value
 * longer than the blob is fine). Returns 0 with *x filled, whether or not a
 * route matched (x->res.status), or a negative errno with err set:
 *   -EINVAL  a bad request (a header without ':', CR or LF in a value, an
 *            element km_http_parse() rejects: err names which), or a
 *            malformed table (what km_route_match() answers with -EINVAL);
 *   -E2BIG   more header lines or a longer head than kmesh.ko routes on
 *            (KM_HTTP_MAX_HEADERS, KM_HTTP_MAX_HEAD).
 */
int km_explain(const void *blob, size_t len, const struct km_explain_req *rq,
	       struct km_explain *x, struct km_err *err);

/*
 * Why route ri of the vhost x chose did not match (or did): *path_ok, and
 * bit i of *headers_ok for each matcher i that matches (the route's header
 * matchers, then its query parameter matchers, as km_rt_view_header()
 * numbers them). 0, or -EINVAL for an index outside the table.
 */
int km_explain_route_why(const void *blob, size_t len,
			 const struct km_explain *x, unsigned int ri,
			 bool *path_ok, __u32 *headers_ok);

/* ---- reading a table for printing ----------------------------------------
 * Each checks that what it returns lies inside the blob (and inside the
 * length the blob's head gives), NULL otherwise, so a corrupted map value
 * prints as "?" instead of being read past its end. */

const struct km_rt_head *km_rt_view_head(const void *blob, size_t len);
const struct km_rt_vhost *km_rt_view_vhost(const void *blob, size_t len,
					   unsigned int vi);
const struct km_rt_domain *km_rt_view_domain(const void *blob, size_t len,
					     unsigned int vi, unsigned int di);
const struct km_rt_route *km_rt_view_route(const void *blob, size_t len,
					   unsigned int vi, unsigned int ri);
const struct km_rt_header_match *km_rt_view_header(const void *blob,
						   size_t len, unsigned int vi,
						   unsigned int ri,
						   unsigned int hi);

/* String (off, n) of the blob into buf (size >= 2) as printable text:
 * control bytes and bytes >= 0x7f as '?', cut to fit; "?" when outside the
 * blob. Returns buf. */
const char *km_rt_view_str(const void *blob, size_t len, __u32 off, __u32 n,
			   char *buf, size_t size);

/* A domain as it was configured: "*.a.com", "a.*", "a.com", "*". */
const char *km_rt_view_domain_text(const void *blob, size_t len,
				   const struct km_rt_domain *d, char *buf,
				   size_t size);

/* One matcher as text: "prefix '/api' (case-insensitive)", "header
 * 'x-canary' exact 'yes'", "header 'x' not present", "query parameter 'v'
 * exact '2'". */
const char *km_rt_view_path_text(const void *blob, size_t len,
				 const struct km_rt_route *r, char *buf,
				 size_t size);
const char *km_rt_view_header_text(const void *blob, size_t len,
				   const struct km_rt_header_match *m,
				   char *buf, size_t size);

/* "exact", "suffix wildcard", "prefix wildcard", "any ('*')"; "?" */
const char *km_rt_domain_kind_name(unsigned int kind);

#endif
