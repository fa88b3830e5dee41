/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gRPC over HTTP/2 cleartext (h2c, prior knowledge: no Upgrade), or over
 * TLS with ALPN h2 (tls.h, opts.tls), with libnghttp2: one connection
 * carrying one bidirectional streaming call
 * (ADS). Non-blocking; driven by the agent's epoll loop through
 * km_grpc_fd/_events/_io/_tick. No global state: everything lives in
 * struct km_grpc, so several connections can coexist.
 *
 * The loop: register km_grpc_fd() for km_grpc_events(); on readiness call
 * km_grpc_io(); call km_grpc_tick() at least every second. After each of
 * km_grpc_open, _io, _send and _tick, re-read km_grpc_events() and update
 * the registration: _send (a message queued) and _tick (a PING) make the
 * connection want EPOLLOUT without any readiness having been reported.
 *
 * Flow control is sized for responses of several MB (a 16 MiB stream and
 * connection window, so a whole ADS response is in flight without waiting
 * for WINDOW_UPDATEs). Keepalive pings go out no more often than every 15 s
 * (istiod's enforcement policy closes connections that ping faster).
 */
#ifndef KM_XDS_GRPC_H
#define KM_XDS_GRPC_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "tls.h"

/* Floor for keepalive_ms: grpc-go servers (istiod) answer faster pings
 * with GOAWAY ENHANCE_YOUR_CALM "too_many_pings". */
#define KM_GRPC_MIN_KEEPALIVE_MS 15000
/* A PING not acknowledged within this closes the connection. */
#define KM_GRPC_PING_TIMEOUT_MS 20000
/* One address's TCP connect; then the next address, or failure. */
#define KM_GRPC_CONNECT_TIMEOUT_MS 10000
/* Default stream and connection window. */
#define KM_GRPC_DEFAULT_WINDOW (16u << 20)

struct km_grpc;

/*
 * Callbacks run only from inside km_grpc_io and km_grpc_tick. They may call
 * km_grpc_send (e.g. an ACK from on_message), km_grpc_fd/_events and
 * km_grpc_get_stats; they must not call km_grpc_free, _io or _tick: free
 * after the km_grpc_io/_tick call that reported the close returns.
 */
struct km_grpc_cbs {
	/* One complete gRPC message (the 5-byte prefix stripped); @msg is
	 * valid only during the call. */
	void (*on_message)(void *arg, const uint8_t *msg, size_t len);
	/* The call ended: grpc-status and grpc-message (percent-decoded) from
	 * the trailers (status >= 0, @err 0), or the connection or the call
	 * failed (status -1, @err negative errno, @why a readable reason):
	 *   "connect to 10.0.0.1:15010: Connection refused"  -errno
	 *   "connect to 10.0.0.1:15010: timed out"           -ETIMEDOUT
	 *   "connection closed by peer"                      -ECONNRESET
	 *   "GOAWAY (error code 0: NO_ERROR)"                 -ESHUTDOWN
	 *     (graceful: max connection age, server restart; reconnect now)
	 *   "GOAWAY (error code 11: ENHANCE_YOUR_CALM, too_many_pings)"
	 *                                                    -ECONNRESET
	 *   "stream reset (error code 8: CANCEL)"             -ECONNRESET
	 *   "HTTP status 503", "compressed message", ...     -EPROTO
	 *   "message of N bytes exceeds the 64 MiB limit"    -EMSGSIZE
	 *   "keepalive timeout"                              -ETIMEDOUT
 *   "TLS handshake with 10.0.0.1:15012: TLS: the server's certificate
 *    ... is not trusted by the CA file F: ..."        -EPERM (also: wrong
 *    identity -EPERM; no ALPN h2, alerts -EPROTO; timed out -ETIMEDOUT)
	 * Called exactly once; after it, only km_grpc_free (and the getters)
	 * are valid. */
	void (*on_close)(void *arg, int status, const char *why, int err);
};

struct km_grpc_opts {
	const char *host;		/* IPv4/IPv6 literal or name */
	uint16_t port;
	const char *authority;		/* :authority; default host:port */
	const char *path;		/* "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources" */
	uint32_t keepalive_ms;		/* 0: none; values under 15000 are raised to 15000 */
	uint32_t window;		/* stream and connection window; 0: 16 MiB */
	/* TLS (tls.h) instead of h2c when set: the handshake follows the
	 * TCP connect, within the same connect timeout */
	const struct km_tls_opts *tls;
	const char *authorization;	/* "Bearer ..." header; NULL: none */
	/* Tests only (0 in production): replace KM_GRPC_MIN_KEEPALIVE_MS and
	 * KM_GRPC_PING_TIMEOUT_MS so keepalive can be tested in seconds. */
	uint32_t test_keepalive_floor_ms;
	uint32_t test_ping_timeout_ms;
};

/* Counters since km_grpc_open, for status output and tests. */
struct km_grpc_stats {
	uint64_t bytes_in, bytes_out;		/* TCP payload */
	uint64_t msgs_in, msgs_queued;		/* gRPC messages */
	uint32_t pings_sent, pings_acked;	/* our keepalive PINGs */
	uint32_t window_updates_sent;		/* WINDOW_UPDATE frames */
	bool h2_up;		/* the server's SETTINGS arrived: HTTP/2 is up */
};

/* Resolves @o->host (getaddrinfo: a name blocks here, a literal does not)
 * and starts a non-blocking connect; the preface, SETTINGS and the call's
 * HEADERS go out once connected. A name with several addresses is tried in
 * order on one socket, so km_grpc_fd never changes. Messages may be sent
 * before the connection is up. 0, or negative errno with @err set (no
 * callback is called then, and *@g is NULL). */
int km_grpc_open(struct km_grpc **g, const struct km_grpc_opts *o,
		 const struct km_grpc_cbs *cbs, void *arg, struct km_err *err);
int km_grpc_fd(const struct km_grpc *g);
/* EPOLLIN, plus EPOLLOUT while there is something to write or the connect
 * is in progress. 0 once closed. */
uint32_t km_grpc_events(const struct km_grpc *g);
/* Handles readiness: completes the connect, reads until EAGAIN, writes
 * until EAGAIN or nothing is left; may call the callbacks. 0, or negative
 * errno once the call is over (on_close has then been called; -EPIPE if it
 * ended with a grpc-status). */
int km_grpc_io(struct km_grpc *g, uint32_t revents);
/* Queues one message (the prefix is added); it goes out from km_grpc_io.
 * 0, -EMSGSIZE (over the 64 MiB limit), -ENOMEM, or -EPIPE once closed. */
int km_grpc_send(struct km_grpc *g, const uint8_t *msg, size_t len);
/* Keepalive and connect timeout: call at least every second with a
 * monotonic clock in ms; returns the ms until it wants to be called again
 * (at most 1000). May call on_close. */
uint32_t km_grpc_tick(struct km_grpc *g, uint64_t now_ms);
void km_grpc_get_stats(const struct km_grpc *g, struct km_grpc_stats *st);
/* How the connection is secured, for logs: "plaintext h2c", or the TLS
 * version and the identity verified. */
void km_grpc_describe(const struct km_grpc *g, char *out, size_t size);
/* Closes the connection (a best-effort GOAWAY first) and frees everything;
 * valid at any point outside the callbacks, NULL too. Does not call
 * on_close. */
void km_grpc_free(struct km_grpc *g);

#endif
