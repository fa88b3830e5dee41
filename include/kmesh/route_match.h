/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP route matching over a compiled route table (route_table.h).
 *
 * One implementation, kmod/route_match.c, runs in kmesh.ko (through a kfunc,
 * on the head km_http_parse() parsed) and in userspace (libkmesh.a: unit
 * tests, the fuzzer, kmeshctl explaining a decision from the map), like
 * http_parse.c: no libc, no kernel API, no allocation, no recursion, every
 * loop bounded by an abi.h limit, no read past the blob length.
 *
 * Virtual host selection (Envoy's RouteMatcher::findVirtualHost, checked
 * against envoyproxy/envoy source/common/router/config_impl.cc and
 * HeaderUtility::getPortStart in source/common/http/header_utility.cc)
 * -----------------------------------------------------------------------
 * - The Host is req->host: the Host header, or the authority of an
 *   absolute-form target (http_parse.h). Compared ASCII case-insensitively.
 * - Port: Envoy does NOT retry without the port. By default the Host is
 *   matched as sent, so "a.com:8080" matches the domain "a.com:8080" and
 *   not "a.com" (Envoy's FAQ "Why is my route not found?"; Istio lists both
 *   forms in its domains). With KM_RT_F_IGNORE_PORT (the route config's
 *   ignore_port_in_host_matching) the port is cut first, as getPortStart
 *   does: from the last ':' unless a ']' comes after it, so "[::1]" keeps
 *   its colons and "a.com:" becomes "a.com".
 * - Precedence: an exact domain; else the longest matching suffix wildcard
 *   ("*.a.com", "*-b.a.com"); else the longest prefix wildcard ("a.*");
 *   else the "*" vhost. A wildcard matches at least one character:
 *   "*.a.com" does not match ".a.com" (Envoy: wildcard_length >= host size
 *   skips). Equal-length wildcards cannot both match one Host.
 * - No Host (HTTP/1.0) or an empty one: only "*" can match. (Envoy answers
 *   an HTTP/1.1 request without Host with 400; a route config with only a
 *   "*" vhost takes it, the same here.)
 *
 * Route selection (Envoy's route_components.proto RouteMatch)
 * -----------------------------------------------------------
 * The routes of the vhost in order; the first whose path match, all header
 * matchers and all query parameter matchers match is taken.
 * - Path: req->path (no query, no fragment); an absolute-form target with
 *   no path is "/". prefix: starts with; path: equals; path_separated_prefix:
 *   starts with, then the path ends or continues with '/' ("/api" matches
 *   "/api", "/api/x", "/api?q", not "/apix"). case_sensitive false compares
 *   the path ASCII case-insensitively (it does not touch header matching).
 *   safe_regex: the regex matches the whole path (RE2's FullMatch, as
 *   Envoy), case_sensitive has no effect on it (Envoy: the same); it runs
 *   as a DFA, one step per byte (regex_dfa.h, docs/regex.md).
 *   CONNECT (no path) matches no route: Envoy
 *   takes CONNECT only through connect_matcher, which is not compiled.
 * - Headers (HeaderUtility::matchHeaders): a header that is present is
 *   matched (exact/prefix/suffix/contains with ignore_case, safe_regex on
 *   the whole value with ignore_case ignored as Envoy does, or present_match
 *   = its value), then inverted by invert_match. A missing header matches
 *   only present_match: false, or an inverted present_match: true
 *   (treat_missing_header_as_empty is not supported: an inverted exact
 *   matcher does not match a missing header, as in Envoy). A repeated header
 *   is seen by its FIRST line (km_http_header); Envoy would join the values
 *   with ',': routes on repeated headers are not reliable either way.
 * - Query parameters (ConfigUtility::QueryParameterMatcher::matches in
 *   source/common/router/config_utility.cc over
 *   Utility::QueryParamsMulti::parseQueryString in
 *   source/common/http/utility.cc, both checked in envoyproxy/envoy):
 *   - The query is req->query: after the target's first '?', up to a '#'.
 *     Envoy takes it from the first '?' of :path to the end; it answers a
 *     request with a fragment 400 (http_reject_path_with_fragment, on by
 *     default) or, with that off, strips the fragment first. kmesh routes
 *     such a request on the query without the fragment, Envoy's stripping
 *     behaviour (the deliberate difference: no request is refused here).
 *   - It is split on '&'. In each element the name runs to the first '='
 *     and the value is the rest (further '=' included); an element without
 *     '=' is a parameter whose value is "" ("?debug" has debug = "").
 *     Empty elements ("a=1&&b") name no parameter a matcher can ask for
 *     (names are at least one byte).
 *   - Nothing is decoded: names and values are compared as sent, so "%76=2"
 *     is not the parameter "v" and "v=%32" is not "2"; '+' is not a space
 *     (Envoy's router calls parseQueryString, not parseAndDecodeQueryString).
 *   - Names are compared exactly, case-sensitively: "a" is not "A" and not
 *     "ab".
 *   - A repeated parameter is seen by its FIRST occurrence, as Envoy's
 *     getFirstValue: "v=1&v=2" has v = "1".
 *   - string_match (exact/prefix/suffix/contains, ignore_case on the value
 *     only; safe_regex on the whole value) needs the parameter; a missing one does not match. present_match
 *     true: the parameter is there (any value, "" included); false: it is
 *     not (Envoy's enable_new_query_param_present_match_behavior, on by
 *     default; older Envoys read false as "present" too). A matcher with
 *     neither checks presence. There is no invert_match.
 *   - Header and query parameter matchers of a route are at most
 *     KM_MAX_HEADER_MATCHES in all (they share the table's records).
 *
 * Return values of km_route_match()
 * ---------------------------------
 *   0        matched: res->status KM_ROUTE_MATCHED, vhost, route, action.
 *   -ENOENT  res->status KM_ROUTE_NO_VHOST (res->vhost meaningless) or
 *            KM_ROUTE_NO_ROUTE (res->vhost is the vhost chosen).
 *   -EINVAL  the blob (or req) is malformed: bad magic/version/length, a
 *            count over its limit, an offset or string outside the blob, an
 *            unknown kind, a misaligned blob, or an inconsistent action.
 *            res->status KM_ROUTE_BAD_TABLE.
 * A corrupted blob that still passes these checks gives some valid answer,
 * never a read outside [table, table + len).
 */
#ifndef KMESH_ROUTE_MATCH_H
#define KMESH_ROUTE_MATCH_H

#include "http_parse.h"
#include "route_table.h"

enum km_route_status {
	KM_ROUTE_MATCHED = 0,
	KM_ROUTE_NO_VHOST = 1,
	KM_ROUTE_NO_ROUTE = 2,
	KM_ROUTE_BAD_TABLE = 3,
};

struct km_route_result {
	__u32 status;		/* enum km_route_status */
	__u16 vhost;		/* index into the table's vhosts */
	__u16 route;		/* index into that vhost's routes */
	/* The route's weighted clusters in the record an L4 frontend uses,
	 * so one km_pick_target() picks for both (listener_id, flags: 0). */
	struct km_frontend action;
};
_Static_assert(sizeof(struct km_route_result) == 8 + sizeof(struct km_frontend),
	       "km_route_result crosses the kfunc boundary");

/*
 * Match the request req, parsed by km_http_parse() from buf (which holds at
 * least req->head_len bytes), against the route table table[0..len). The
 * table must be 4-byte aligned (malloc and map values are).
 */
int km_route_match(const void *table, __u32 len, const char *buf,
		   const struct km_http_req *req, struct km_route_result *res);

/* The cluster id of a matched result for draw (a round-robin counter or a
 * random number): km_pick_target() (lb_pick.h), so every total_weight
 * consecutive draws give each cluster exactly its weight. -1 if res holds
 * no match or no valid action. */
long km_route_pick_cluster(const struct km_route_result *res, __u32 draw);

#endif /* KMESH_ROUTE_MATCH_H */
