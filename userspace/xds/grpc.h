/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gRPC over HTTP/2 cleartext (h2c) with libnghttp2: one connection carrying
 * one bidirectional streaming call (ADS). Non-blocking; driven by the
 * agent's epoll loop through km_grpc_fd/_events/_io/_tick.
 *
 * Flow control is sized for responses of several MB (a 16 MiB stream and
 * connection window). Keepalive pings go out no more often than every 15 s
 * (istiod's enforcement policy closes connections that ping faster).
 */
#ifndef KM_XDS_GRPC_H
#define KM_XDS_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct km_grpc;

struct km_grpc_cbs {
	/* One complete gRPC message (the 5-byte prefix stripped). */
	void (*on_message)(void *arg, const uint8_t *msg, size_t len);
	/* The call ended: grpc-status and grpc-message from the trailers
	 * (status >= 0), or the connection failed or was closed (status -1,
	 * @err negative errno, @why a readable reason: "GOAWAY", "stream
	 * reset (code 2)", "connection refused", ...). Called once; after it,
	 * only km_grpc_free is valid. */
	void (*on_close)(void *arg, int status, const char *why, int err);
};

struct km_grpc_opts {
	const char *host;		/* IPv4/IPv6 literal or name */
	uint16_t port;
	const char *authority;		/* :authority; default host:port */
	const char *path;		/* "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources" */
	uint32_t keepalive_ms;		/* 0: none; values under 15000 are raised to 15000 */
	uint32_t window;		/* stream and connection window; 0: 16 MiB */
};

/* Starts a non-blocking connect; the call's HEADERS go out once connected.
 * 0, or negative errno with @err set. */
int km_grpc_open(struct km_grpc **g, const struct km_grpc_opts *o,
		 const struct km_grpc_cbs *cbs, void *arg, struct km_err *err);
int km_grpc_fd(const struct km_grpc *g);
/* EPOLLIN, plus EPOLLOUT while there is something to write or the connect
 * is in progress. */
uint32_t km_grpc_events(const struct km_grpc *g);
/* Handles readiness; may call the callbacks. Negative errno when the
 * connection is gone (on_close has then been called). */
int km_grpc_io(struct km_grpc *g, uint32_t revents);
/* Queues one message (the prefix is added). */
int km_grpc_send(struct km_grpc *g, const uint8_t *msg, size_t len);
/* Keepalive: call at least every second with a monotonic clock; returns
 * the ms until it wants to be called again. */
uint32_t km_grpc_tick(struct km_grpc *g, uint64_t now_ms);
void km_grpc_free(struct km_grpc *g);

#endif
