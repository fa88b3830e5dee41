/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP/1.x request-head parser and string matching for L7 routing.
 *
 * One implementation, kmod/http_parse.c, is compiled into kmesh.ko (reached
 * from the connect programs through kfuncs) and into userspace (libkmesh.a:
 * unit tests, the fuzzer, kmeshctl), so what a test or the fuzzer proves is
 * what the kernel runs. It uses no libc and no kernel API, never reads past
 * the length it is given, never allocates or recurses, and runs in O(len)
 * (a header lookup in O(headers)).
 *
 * What is accepted (RFC 9112, a practical subset)
 * ---------------------------------------------
 * - The head starts with the request line, byte 0: no leading empty lines
 *   (RFC 9112 2.2 lets a server skip them, but they only occur between
 *   pipelined requests, never in the first write of a connection).
 * - Request line: method SP request-target SP HTTP-version, with exactly one
 *   SP between the parts. The method is a token (RFC 9110 tchar). The
 *   HTTP-version is "HTTP/1.0" or "HTTP/1.1", case-sensitive.
 * - The request-target is visible ASCII (0x21-0x7e): SP, control bytes, DEL
 *   and bytes >= 0x80 are rejected. Its form must be one of
 *     origin-form     "/..." (any method but CONNECT)
 *     absolute-form   scheme "://" authority [ "/" path ] [ "?" query ],
 *                     scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ),
 *                     authority non-empty (any method but CONNECT)
 *     asterisk-form   "*", only with OPTIONS
 *     authority-form  host ":" port, only with, and required by, CONNECT
 *   An authority (of a target or in Host) is host [ ":" *DIGIT ], host being
 *   an IP-literal "[...]" or a non-empty reg-name / IPv4 (unreserved,
 *   pct-encoded and sub-delims characters). userinfo ("user@host") is
 *   rejected: RFC 9110 4.2.4 asks recipients to treat it as an error, and it
 *   is the classic way to make one URL show two hosts.
 * - path: the target up to the first '?' or '#'; empty (len 0) for an
 *   absolute-form target without a path, which means "/" (RFC 9112 3.2.2),
 *   and for authority-form. query: after the '?', up to '#'; len 0 when
 *   absent or empty. A fragment ('#...') is not sent by conforming clients;
 *   when present it is left out of path and query.
 * - Line endings: CRLF, or a bare LF (RFC 9112 2.2 allows a recipient to
 *   accept it; Envoy, nginx and http-parser do). A CR not followed by LF is
 *   rejected anywhere (RFC 9112 2.2: a bare CR is invalid), so no two parsers
 *   can disagree about where a line ends.
 * - Header field line: name ":" OWS value OWS, name a token. Whitespace
 *   between name and colon is rejected (RFC 9112 5.1, a request-smuggling
 *   vector), and so is a line starting with SP/HTAB (obs-fold, RFC 9112 5.2,
 *   also right after the request line). The value is SP, HTAB, VCHAR and
 *   obs-text (0x80-0xff); NUL, other control bytes and DEL are rejected.
 *   Leading and trailing SP/HTAB are not part of the value span.
 * - Host: the value of the Host header, port included, validated as an
 *   authority; an empty Host value is allowed (RFC 9110 7.2). Several Host
 *   lines must carry the same value (ASCII case-insensitive: host names are)
 *   or the head is -EINVAL: a router and the origin must not pick different
 *   ones. For absolute-form and authority-form targets req->host is the
 *   target's authority instead (RFC 9112 3.2.2: the target wins over Host).
 *   A head without Host (HTTP/1.0, or a non-conforming HTTP/1.1 client) is
 *   still parsed, with host.len == 0: the router decides.
 *
 * Return values of km_http_parse()
 * --------------------------------
 *   0                   a complete head is in buf[0..head_len); head_len <=
 *                       len and <= KM_HTTP_MAX_HEAD. Bytes after the head (a
 *                       body, a pipelined request) are never read.
 *   KM_HTTP_INCOMPLETE  the head does not end within buf[0..len) and no byte
 *                       seen is invalid where it stands. Checks that need a
 *                       whole element (the target's form, an authority, a
 *                       duplicate Host) run when that element has ended.
 *   -EINVAL             not an HTTP/1.0 or HTTP/1.1 request head by the rules
 *                       above.
 *   -E2BIG              more than KM_HTTP_MAX_HEADERS field lines, or no end
 *                       of head within the first KM_HTTP_MAX_HEAD bytes
 *                       (nothing past them is read).
 * Errors are reported for the first offending byte or element in buffer
 * order. On any non-zero return *req holds no meaningful data.
 *
 * The first write and INCOMPLETE (the rule the deferred connect follows)
 * -----------------------------------------------------------------------
 * A deferred connect is decided on the bytes of the application's FIRST
 * write (one sendmsg: write, send, writev...) only; later writes are never
 * waited for. The connect program parses exactly those bytes:
 *   - 0: route on the head. Whatever follows it in that write goes to the
 *     chosen upstream unchanged.
 *   - KM_HTTP_INCOMPLETE: the head was split across writes. It is not
 *     guessed at: the connection takes the listener's default route.
 *   - -EINVAL or -E2BIG: not a request head this parser routes on; the
 *     listener's policy for unparsable traffic applies.
 * Every proper prefix of a valid head (one that returns 0) returns
 * KM_HTTP_INCOMPLETE, never 0 and never an error, so a split head is always
 * told apart from a malformed one. A first write of KM_HTTP_MAX_HEAD bytes
 * or more (or a copy of it cut to that size) whose head has not ended is
 * -E2BIG, not INCOMPLETE: no later byte could make that head fit.
 */
#ifndef KMESH_HTTP_PARSE_H
#define KMESH_HTTP_PARSE_H

#if defined(__VMLINUX_H__)
/* BPF: vmlinux.h has the types; only the constants and layout are used */
#elif defined(__KERNEL__)
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <linux/types.h>
#include <stdbool.h>
#include <errno.h>
#endif

/* Envoy's default limit is 100 headers, but a first write with more than 32
 * is not a request a route needs to look into; the struct stays small enough
 * for a BPF stack or map value. More -> -E2BIG. */
#define KM_HTTP_MAX_HEADERS 32
/* One page: the first write of a request is almost always this small, and
 * every span offset fits in __u16. A longer head -> -E2BIG. */
#define KM_HTTP_MAX_HEAD 4096

#define KM_HTTP_INCOMPLETE 1

/* Bytes buf[off, off + len) of the caller's buffer. A zero-length span still
 * has a meaningful off (where the element would be), always <= head_len. */
struct km_http_span {
	__u16 off;
	__u16 len;
};

struct km_http_header {
	struct km_http_span name;
	struct km_http_span value;	/* without leading/trailing SP/HTAB */
};

/* Crosses the module/BPF boundary (kfunc argument): fixed width, no padding. */
struct km_http_req {
	struct km_http_span method;
	struct km_http_span target;	/* request-target as sent */
	struct km_http_span path;	/* target up to '?' or '#' */
	struct km_http_span query;	/* after '?', up to '#'; len 0 if none */
	struct km_http_span host;	/* see "Host" above; len 0 if none */
	__u8 version;			/* 10 or 11 */
	__u8 n_headers;
	__u16 head_len;			/* up to and including the empty line */
	struct km_http_header headers[KM_HTTP_MAX_HEADERS];
};

_Static_assert(sizeof(struct km_http_req) == 24 + 8 * KM_HTTP_MAX_HEADERS,
	       "struct km_http_req layout is ABI");
_Static_assert(KM_HTTP_MAX_HEAD <= 65535, "span offsets are __u16");

int km_http_parse(const char *buf, __u32 len, struct km_http_req *req);

/*
 * Index of the first header whose name equals name[0..name_len) in ASCII
 * case-insensitive comparison, or -ENOENT. The FIRST match wins: for a
 * repeated header the router sees the first line, as Envoy's route header
 * matchers do for single-valued headers. buf is the buffer req was parsed
 * from.
 */
int km_http_header(const struct km_http_req *req, const char *buf,
		   const char *name, __u32 name_len);

enum km_str_match_kind {
	KM_MATCH_EXACT = 1,
	KM_MATCH_PREFIX,
	KM_MATCH_SUFFIX,
	KM_MATCH_CONTAINS,
};

/* Or-ed into the kind: compare ASCII letters case-insensitively; bytes
 * outside A-Z/a-z always compare exactly. */
#define KM_MATCH_ICASE 0x100

/*
 * Does s[0..slen) match pat[0..plen) by kind_flags (a km_str_match_kind,
 * optionally | KM_MATCH_ICASE)? An empty pattern: EXACT matches only the
 * empty string, PREFIX/SUFFIX/CONTAINS match anything. A pattern longer than
 * the subject matches nothing. An unknown kind or flag matches nothing, so a
 * route with a matcher this code does not know is never taken.
 * CONTAINS is a naive scan, O(slen * plen) at worst: both sides are bounded
 * (a head is at most KM_HTTP_MAX_HEAD bytes, patterns by the config limits).
 */
bool km_str_match(const char *s, __u32 slen, const char *pat, __u32 plen,
		  __u32 kind_flags);

#endif /* KMESH_HTTP_PARSE_H */
