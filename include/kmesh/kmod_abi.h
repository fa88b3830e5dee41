/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmesh.ko ABI: the kfunc contract with the BPF programs and the generic
 * netlink family the agent talks to. Included by the module, bpf/ and the
 * agent.
 *
 * kfuncs (BPF_PROG_TYPE_CGROUP_SOCK_ADDR, connect4/connect6 only; pass
 * bpf_cast_to_kern_ctx(ctx)):
 *
 *   int bpf_km_defer_connect(struct bpf_sock_addr_kern *ctx)
 *	First run (the application's connect()): mark the socket for deferred
 *	connect and return 0. The destination at the time of the call (the
 *	service VIP) is what the re-run will see; the address the program
 *	leaves in ctx is the fallback, used when the socket reads before it
 *	writes. Returns -EALREADY when this run IS the re-run with the first
 *	bytes: route now. Other negative errno: not deferred (-EOPNOTSUPP:
 *	disabled or not a plain TCP socket; -EBUSY: socket in use by something
 *	else); the connect proceeds as L4.
 *   int bpf_km_msg_copy(struct bpf_sock_addr_kern *ctx, void *dst, u32 dst__sz)
 *	Re-run only: copy the first message (up to KM_FIRST_MSG_MAX bytes,
 *	and at most dst__sz) into dst; returns the length, -ENOENT outside the
 *	re-run.
 *   int bpf_km_http_parse(struct bpf_sock_addr_kern *ctx)
 *	Re-run only: parse the first message as an HTTP/1.x request head
 *	(kmod/http_parse.c). 0 ok, 1 incomplete (the head did not fit in the
 *	first write: route on the listener's default), -EINVAL not HTTP,
 *	-E2BIG over a limit, -ENOENT outside the re-run.
 *   int bpf_km_http_get(struct bpf_sock_addr_kern *ctx, u32 field,
 *			 char *dst, u32 dst__sz)
 *	Copy a parsed field (enum km_http_field) into dst, NUL-terminated;
 *	returns its length, -ENOSPC if it does not fit, -ENOENT if absent or
 *	not parsed.
 *   int bpf_km_http_header(struct bpf_sock_addr_kern *ctx,
 *			    const char *name, u32 name__sz,
 *			    char *dst, u32 dst__sz)
 *	Value of the first header named @name (NUL-terminated within
 *	name__sz), case-insensitive; like bpf_km_http_get otherwise.
 *   int bpf_km_http_match(struct bpf_sock_addr_kern *ctx,
 *			   const struct km_http_matcher *m, u32 m__sz)
 *	Match a field (or, with KM_HTTP_HEADER, the header m->name) against
 *	m->pat by m->kind. 1 match, 0 no match, -ENOENT field absent, -EINVAL
 *	bad matcher. (One struct, because a BPF call takes at most five
 *	arguments; route records keep matchers in this form in map values.)
 *   int bpf_km_str_match(const char *s, u32 s__sz, const char *pat,
 *			  u32 pat__sz, u32 kind)
 *	The same matching on two NUL-terminated BPF strings.
 *   int bpf_km_route(struct bpf_sock_addr_kern *ctx, void *table,
 *		      u32 table__sz, void *res, u32 res__sz)
 *	Re-run only: match the parsed first message against the compiled
 *	route table (route_table.h, a km_route map value) with
 *	kmod/route_match.c, the code kmeshctl explain runs. 0: the matcher
 *	ran and res->status says what it found (KM_ROUTE_MATCHED with the
 *	route's clusters in res->action, KM_ROUTE_NO_VHOST, KM_ROUTE_NO_ROUTE,
 *	KM_ROUTE_BAD_TABLE). -ENODATA: the head did not end within the first
 *	write; -EBADMSG: not an HTTP/1.x request head; -E2BIG: over a parser
 *	limit (all three: the caller takes the listener's default route);
 *	-ESRCH: not the re-run; -EINVAL: res__sz too small. res is a
 *	struct km_route_result (route_match.h), passed as void * because the
 *	verifier accepts a (ptr, __sz) pair only for flat memory.
 *
 * Per-request routing (not done: a connection keeps its first choice, as in
 * upstream Kmesh) would keep this contract: the matcher takes any parsed
 * head and any table, so an sk_msg program could call the same matcher on
 * each request head through a kfunc registered for BPF_PROG_TYPE_SK_MSG
 * (6.12 refuses module kfuncs there, kernel-notes.md) or the module could
 * run it from its own sendmsg; what is missing is moving an established
 * connection, not the matching.
 *
 * Strings from BPF are NUL-terminated within their __sz buffer (a fixed
 * buffer in a map value or on the stack); without a NUL the whole buffer
 * is the string.
 */
#ifndef KMESH_KMOD_ABI_H
#define KMESH_KMOD_ABI_H

#include "abi.h"

/* Bump with any change to a kfunc signature or the netlink family. */
#define KM_KMOD_ABI_VERSION 2

/* First bytes kept for the re-run. A request head that does not end within
 * them parses as -E2BIG (http_parse.h) and takes the listener's policy for
 * unparsable traffic. */
#define KM_FIRST_MSG_MAX 4096

enum km_http_field {
	KM_HTTP_METHOD = 1,
	KM_HTTP_PATH = 2,	/* up to '?' */
	KM_HTTP_QUERY = 3,	/* after '?' */
	KM_HTTP_HOST = 4,	/* Host header or absolute-form authority */
	KM_HTTP_TARGET = 5,	/* request-target as sent */
	KM_HTTP_HEADER = 6,	/* bpf_km_http_match: the header @name */
};

/* A header or request-field matcher (bpf_km_http_match). */
struct km_http_matcher {
	__u32 field;		/* enum km_http_field */
	__u32 kind;		/* enum km_str_match_kind, | KM_MATCH_ICASE */
	__u16 name_len;		/* KM_HTTP_HEADER: bytes of name */
	__u16 pat_len;		/* bytes of pat */
	__u32 pad;
	char name[KM_MAX_MATCH_STR];
	char pat[KM_MAX_MATCH_STR];
};
_Static_assert(sizeof(struct km_http_matcher) == 16 + 2 * KM_MAX_MATCH_STR,
	       "km_http_matcher ABI");

/* Generic netlink family "kmesh". */
#define KM_GENL_NAME "kmesh"
#define KM_GENL_VERSION 1

enum km_genl_cmd {
	KM_CMD_UNSPEC,
	KM_CMD_GET,		/* -> version, ABI, defer switch, counters */
	KM_CMD_SET,		/* KM_A_DEFER_ENABLED (admin) */
	__KM_CMD_MAX,
};

enum km_genl_attr {
	KM_A_UNSPEC,
	KM_A_VERSION,		/* string */
	KM_A_ABI,		/* u32, KM_KMOD_ABI_VERSION */
	KM_A_DEFER_ENABLED,	/* u8 */
	KM_A_DEFERRED,		/* u64: sockets whose connect was deferred */
	KM_A_REROUTED,		/* u64: re-runs that changed the destination */
	KM_A_PARSE_ERRORS,	/* u64: first bytes that were not an HTTP head */
	KM_A_FALLBACKS,		/* u64: deferred sockets connected without
				 * routing on their first bytes (read first,
				 * incomplete head, deferral switched off) */
	KM_A_IN_FLIGHT,		/* u64: sockets deferred right now */
	KM_A_PAD,
	__KM_A_MAX,
};
#define KM_A_MAX (__KM_A_MAX - 1)

#endif
