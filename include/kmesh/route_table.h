/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Compiled HTTP route table: one route configuration (Envoy's
 * RouteConfiguration cut to what kmesh enforces) as ONE flat, pointer-free
 * blob. userspace/model/route_build.c writes it, it lives in a BPF map value,
 * and kmod/route_match.c matches requests against it in kmesh.ko and in
 * kmeshctl alike. The matcher trusts nothing in it: every count is checked
 * against its abi.h limit and every offset against the blob length before it
 * is read (bad blob -> -EINVAL).
 *
 * Layout (all offsets are from the start of the blob, records 4-aligned,
 * little-endian like every other map value: the host writes, the host reads)
 *
 *   struct km_rt_head
 *   struct km_rt_vhost        [n_vhosts]             at head.vhost_off
 *   struct km_rt_domain       [vhost.n_domains]      at vhost.domain_off
 *   struct km_rt_route        [vhost.n_routes]       at vhost.route_off
 *   struct km_rt_header_match [route.n_headers]      at route.header_off
 *   struct km_target          [route.n_targets]      at route.target_off
 *   struct km_rt_index                               at head.index_off
 *   __u32                     [n_buckets + 1]        at index.bucket_off
 *   struct km_rt_dref         [index.n_exact]        at index.exact_off
 *   struct km_rt_dref         [index.n_wild]         at index.wild_off
 *   struct km_rt_regexes, __u32 [n]                  at head.regex_off
 *   struct km_dfa (regex_dfa.h), one per regex       at regexes' off[i]
 *   string pool: bytes referenced by (off, len) pairs; the builder puts a
 *   NUL after each string for readers that print them, the matcher never
 *   relies on it.
 *
 * The builder emits the arrays in this order; the matcher does not depend on
 * any order, nor on strings being distinct.
 */
#ifndef KMESH_ROUTE_TABLE_H
#define KMESH_ROUTE_TABLE_H

#if defined(__VMLINUX_H__)
/* BPF: vmlinux.h has the types */
#else
#include <linux/types.h>
#endif

#include "abi.h"

#define KM_RT_MAGIC 0x54524d4bu	/* "KMRT" in a little-endian dump */
/* 2: KM_RT_H_QUERY. A version-1 matcher would take a query parameter
 * matcher for a header matcher; it refuses a version-2 blob instead
 * (-EINVAL: the listener's default route), never misroutes on it.
 * 3: the domain index (struct km_rt_index), 4096 virtual hosts.
 * 4: safe_regex (KM_RT_PATH_REGEX, KM_RT_HDR_REGEX: DFA tables). */
#define KM_RT_VERSION 4

/*
 * Largest blob: the km_route map's value size. The worst config the abi.h
 * limits allow does NOT fit: 64 vhosts x 64 routes x 8 header or query
 * parameter matchers x two 255-byte strings alone is ~16 MiB, past the
 * 4 MiB KMALLOC_MAX_SIZE that bounds any map value. Real route configs
 * under those limits (64 vhosts, a few domains and routes each) take tens
 * of KiB, so the cap is 128 KiB: the map, preallocated for
 * KM_MAX_ROUTE_CONFIGS per slot, costs 8 MiB. The builder returns -E2BIG
 * with the config's name when a config would exceed it; it never
 * truncates.
 */
#define KM_ROUTE_TABLE_MAX (128u * 1024u)
/*
 * A larger table goes to km_route_big (abi.h), whose values are allocated
 * only while used: Istio's port-wide route config of a 4,096-service mesh
 * (one virtual host per service, its names and ClusterIP as domains) takes
 * about 1.5 MiB. 3 MiB stays under KMALLOC_MAX_SIZE (4 MiB) with the hash
 * element's overhead.
 */
#define KM_ROUTE_TABLE_BIG (3u * 1024u * 1024u)
/* A string's bytes, NUL not included (abi.h's limit counts the NUL). */
#define KM_RT_STR_MAX (KM_MAX_MATCH_STR - 1)

enum km_rt_flags {
	/*
	 * Match the Host without its port: RouteConfiguration's
	 * ignore_port_in_host_matching (also what the HCM's
	 * strip_any_host_port does to the routing decision). Unset, the Host
	 * is matched as sent, port included, as Envoy does by default.
	 */
	KM_RT_F_IGNORE_PORT = 1 << 0,
};

struct km_rt_head {
	__u32 magic;		/* KM_RT_MAGIC */
	__u16 version;		/* KM_RT_VERSION */
	__u16 flags;		/* enum km_rt_flags */
	__u32 len;		/* bytes of the blob, this header included */
	__u32 name_off;		/* route config name (for kmeshctl) */
	__u16 name_len;
	__u16 n_vhosts;		/* <= KM_MAX_VHOSTS */
	__u32 vhost_off;
	__u32 index_off;	/* struct km_rt_index */
	__u32 regex_off;	/* struct km_rt_regexes; 0: the table has none */
};
_Static_assert(sizeof(struct km_rt_head) == 32, "km_rt_head ABI");

/*
 * The virtual host for a Host, found without a scan of every domain.
 * Exact domains are hashed (km_rt_hash of the lowercase string) into
 * 1 << bucket_bits buckets: bucket b's entries are exact[start[b] ..
 * start[b + 1]), where start is the __u32 array at bucket_off. Wildcard
 * domains ("*.x", "x.*", "*") are listed in wild[], scanned only when no
 * exact domain matches, which keeps Envoy's precedence: exact, then the
 * longest suffix, then the longest prefix, then "*".
 */
struct km_rt_index {
	__u32 bucket_off;
	__u32 exact_off;
	__u32 wild_off;
	__u32 n_exact;		/* <= KM_MAX_RC_DOMAINS */
	__u32 n_wild;		/* <= KM_MAX_RC_DOMAINS */
	__u16 bucket_bits;	/* <= KM_RT_MAX_BUCKET_BITS */
	__u16 pad;
};
_Static_assert(sizeof(struct km_rt_index) == 24, "km_rt_index ABI");

#define KM_RT_MAX_BUCKET_BITS 15

/*
 * The table's compiled regexes: n offsets (__u32, from the blob's start)
 * follow this record, each of a struct km_dfa (regex_dfa.h) that lies in
 * the blob. A route's or matcher's `regex` is an index into them.
 */
struct km_rt_regexes {
	__u32 n;		/* <= KM_RT_MAX_REGEXES */
	__u32 pad;
};
_Static_assert(sizeof(struct km_rt_regexes) == 8, "km_rt_regexes ABI");

#define KM_RT_MAX_REGEXES 0xffff	/* indexes are __u16 */

/* A domain of the index: its struct km_rt_domain record, and the index of
 * the virtual host it belongs to. */
struct km_rt_dref {
	__u32 domain_off;
	__u16 vhost;
	__u16 pad;
};
_Static_assert(sizeof(struct km_rt_dref) == 8, "km_rt_dref ABI");

/* FNV-1a over the ASCII-lowercased bytes: the builder and the matcher
 * (kernel and userspace) hash exact domains and Hosts with it. */
static inline __u32 km_rt_hash(const char *s, __u32 len)
{
	__u32 h = 2166136261u, i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 16777619u;
	}
	return h;
}

struct km_rt_vhost {
	__u32 name_off;
	__u16 name_len;
	__u16 n_domains;	/* 1..KM_MAX_DOMAINS */
	__u32 domain_off;
	__u16 n_routes;		/* <= KM_MAX_ROUTES, in config order */
	__u16 pad;
	__u32 route_off;
	__u32 pad2;
};
_Static_assert(sizeof(struct km_rt_vhost) == 24, "km_rt_vhost ABI");

/* Envoy's domain forms; the stored string is lowercase. */
enum km_rt_domain_kind {
	KM_RT_DOM_EXACT = 1,	/* "foo.com", "foo.com:8080": the whole Host */
	KM_RT_DOM_SUFFIX = 2,	/* "*.foo.com": stores ".foo.com" */
	KM_RT_DOM_PREFIX = 3,	/* "foo.*": stores "foo." */
	KM_RT_DOM_ANY = 4,	/* "*": stores "" */
};

struct km_rt_domain {
	__u32 off;
	__u16 len;
	__u8 kind;		/* enum km_rt_domain_kind */
	__u8 pad;
};
_Static_assert(sizeof(struct km_rt_domain) == 8, "km_rt_domain ABI");

enum km_rt_path_kind {
	KM_RT_PATH_PREFIX = 1,
	KM_RT_PATH_EXACT = 2,
	KM_RT_PATH_SEPARATED_PREFIX = 3,	/* prefix, then end or '/' */
	/* safe_regex: the route's regex (a DFA) matches the whole path */
	KM_RT_PATH_REGEX = 4,
};

enum km_rt_route_flags {
	KM_RT_R_ICASE = 1 << 0,	/* case_sensitive: false (path only) */
};

struct km_rt_route {
	__u32 name_off;
	__u16 name_len;
	__u16 path_len;
	__u32 path_off;
	__u8 path_kind;		/* enum km_rt_path_kind */
	__u8 flags;		/* enum km_rt_route_flags */
	/* header and query parameter matchers, <= KM_MAX_HEADER_MATCHES in
	 * all (8 per route), every one must match */
	__u8 n_headers;
	__u8 pad;
	__u32 header_off;
	__u16 n_targets;	/* 1..KM_MAX_WEIGHTED */
	__u16 regex;		/* KM_RT_PATH_REGEX: index of its DFA */
	__u32 total_weight;	/* == targets[n_targets - 1].cum_weight */
	__u32 target_off;	/* struct km_target[] (abi.h): cluster ids */
};
_Static_assert(sizeof(struct km_rt_route) == 32, "km_rt_route ABI");

/* 1..4 are http_parse.h's enum km_str_match_kind, passed to km_str_match. */
enum km_rt_header_kind {
	KM_RT_HDR_EXACT = 1,
	KM_RT_HDR_PREFIX = 2,
	KM_RT_HDR_SUFFIX = 3,
	KM_RT_HDR_CONTAINS = 4,
	KM_RT_HDR_PRESENT = 5,
	/* safe_regex: the matcher's regex (a DFA) matches the whole value;
	 * KM_RT_H_ICASE has no effect on it, as in Envoy */
	KM_RT_HDR_REGEX = 6,
};

enum km_rt_header_flags {
	KM_RT_H_INVERT = 1 << 0,	/* invert_match */
	KM_RT_H_ICASE = 1 << 1,		/* string_match.ignore_case */
	KM_RT_H_PRESENT = 1 << 2,	/* present_match's value (true) */
	/* A query parameter matcher (RouteMatch.query_parameters): name is
	 * a query parameter, looked up in the request's query as
	 * route_match.h says; never with KM_RT_H_INVERT (Envoy's
	 * QueryParameterMatcher has no invert_match). */
	KM_RT_H_QUERY = 1 << 3,
};

/*
 * A header matcher: name is lowercase. Besides ordinary header names, three
 * pseudo-headers are understood: ":method", ":path" (path and query, as
 * Envoy's :path) and ":authority" (the Host the vhost was chosen by).
 * A query parameter matcher (KM_RT_H_QUERY): name is the parameter's name as
 * configured (case-sensitive, not decoded). The builder emits a route's
 * header matchers first, then its query parameter matchers; both count
 * toward the route's n_headers.
 */
struct km_rt_header_match {
	__u32 name_off;
	__u32 value_off;
	__u16 name_len;		/* >= 1 */
	__u16 value_len;
	__u8 kind;		/* enum km_rt_header_kind */
	__u8 flags;		/* enum km_rt_header_flags */
	__u16 regex;		/* KM_RT_HDR_REGEX: index of its DFA */
};
_Static_assert(sizeof(struct km_rt_header_match) == 16,
	       "km_rt_header_match ABI");

_Static_assert(sizeof(struct km_target) == 8, "km_target ABI");
_Static_assert(KM_ROUTE_TABLE_BIG < 0x7fffffffu, "offsets fit in __u32");
_Static_assert(KM_MAX_VHOSTS <= 0xffff, "km_rt_dref.vhost holds them");
_Static_assert(KM_RT_STR_MAX <= 0xffff, "string lengths are __u16");
_Static_assert(KM_MAX_HEADER_MATCHES <= 0xff, "n_headers is __u8");
_Static_assert(KM_MAX_VHOSTS <= 0xffff && KM_MAX_ROUTES <= 0xffff &&
	       KM_MAX_DOMAINS <= 0xffff && KM_MAX_WEIGHTED <= 0xffff,
	       "counts are __u16");

#endif /* KMESH_ROUTE_TABLE_H */
