/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TLS for the xDS client (istiod's secure port 15012), on OpenSSL, the way
 * istio-agent and ztunnel connect: TLS 1.2 or later, ALPN h2, the server's
 * chain verified against the mesh root CA file (the istio-ca-root-cert
 * ConfigMap), and its certificate checked to name the expected identity
 * (a DNS name such as istiod.istio-system.svc, an IP, or a URI SAN such as
 * spiffe://cluster.local/ns/istio-system/sa/istiod). Optionally a client
 * certificate. Plus the bearer token read from a file.
 *
 * Files are read at every connection, not once: the root CA ConfigMap, a
 * client certificate and a projected token all rotate under a running
 * kmeshd.
 *
 * Non-blocking, no global state beyond OpenSSL's own; the socket stays the
 * caller's (km_tls_free does not close it).
 */
#ifndef KM_XDS_TLS_H
#define KM_XDS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"

/* Kubernetes tokens are about 1 KiB; this bounds a wrong file. */
#define KM_TOKEN_MAX 16384

struct km_tls_opts {
	const char *ca_file;	/* PEM trust anchors; required */
	const char *san;	/* expected server identity: DNS name, IP or URI */
	const char *sni;	/* server_name to send; NULL: none */
	const char *cert_file;	/* client certificate chain (PEM); optional */
	const char *key_file;	/* its key; NULL: in cert_file */
};

struct km_tls;

/* Loads the CA file (and the client certificate): 0, or negative errno
 * with @err naming the file and what is wrong with it. */
int km_tls_new(struct km_tls **t, const struct km_tls_opts *o, struct km_err *err);
/* Starts the handshake on a connected non-blocking socket. */
int km_tls_start(struct km_tls *t, int fd);
/* One handshake step, then the certificate's identity and ALPN checks:
 * 0 done, -EAGAIN (call again on km_tls_events), or negative errno with
 * km_tls_why() saying why (untrusted chain, wrong identity, no h2, ...). */
int km_tls_handshake(struct km_tls *t);
/* What the pending operation waits for: EPOLLIN and/or EPOLLOUT. */
uint32_t km_tls_events(const struct km_tls *t);
/* Like recv/send: bytes, 0 at the end of the stream (recv), -EAGAIN, or
 * negative errno with km_tls_why() set. */
ssize_t km_tls_recv(struct km_tls *t, void *buf, size_t len);
ssize_t km_tls_send(struct km_tls *t, const void *buf, size_t len);
const char *km_tls_why(const struct km_tls *t);
/* "TLSv1.3, ALPN h2, server spiffe://..." for logs, once handshaken. */
void km_tls_describe(const struct km_tls *t, char *out, size_t size);
/* Best-effort close_notify, then frees; the fd stays open. NULL too. */
void km_tls_free(struct km_tls *t);

/* The bearer token in @path (whitespace trimmed) as an "authorization"
 * value, "Bearer <token>", in *@hdr (free() it). 0, or negative errno with
 * @err naming the file: missing, unreadable, empty, too big, or not one
 * line of printable text. */
int km_token_header(const char *path, char **hdr, struct km_err *err);

#endif
