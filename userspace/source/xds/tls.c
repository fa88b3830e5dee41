// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TLS client for the xDS stream (see tls.h). OpenSSL verifies the chain
 * during the handshake; the identity (SAN) is checked after it, by us,
 * because OpenSSL has no check for URI SANs (istiod's SPIFFE id) and
 * because our own check can say what the certificate does name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

static const unsigned char alpn_h2[] = { 2, 'h', '2' };

struct km_tls {
	SSL_CTX *ctx;
	SSL *ssl;
	char *ca_file;
	char *san;
	char *sni;
	bool want_read, want_write;
	bool done;			/* handshaken and checked */
	char serial[80];		/* the server certificate's, for logs */
	char until[40];
	/* the first chain error the verify callback saw */
	int verr;
	char verr_cert[160];		/* "subject ..., issuer ..." */
	char why[400];
};

/* ---- errors ---------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static int tls_fail(struct km_tls *t, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	return ret;
}

/* OpenSSL's earliest queued reason ("certificate verify failed"); clears
 * the queue. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown error";
}

static void name_line(X509_NAME *n, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len;

	out[0] = 0;
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_read(b, out, size - 1);
	out[len > 0 ? len : 0] = 0;
	BIO_free(b);
}

/* Keeps the chain's first error and the certificate it is about, for a
 * message that says which certificate the CA file does not vouch for. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct km_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *c = X509_STORE_CTX_get_current_cert(x);
	char subj[70], iss[70];

	if (ok || !t || t->verr)
		return ok;
	t->verr = X509_STORE_CTX_get_error(x);
	if (c) {
		name_line(X509_get_subject_name(c), subj, sizeof(subj));
		name_line(X509_get_issuer_name(c), iss, sizeof(iss));
		snprintf(t->verr_cert, sizeof(t->verr_cert), "'%s' issued by '%s'", subj, iss);
	}
	return ok;
}

/* ---- identity -------------------------------------------------------------- */

/* "DNS:a, URI:spiffe://b, IP:10.0.0.1" */
static void list_sans(X509 *cert, char *out, size_t size)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;

	out[0] = 0;
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char ip[INET6_ADDRSTRLEN] = "?";
		const char *kind = NULL, *val = NULL;

		if (g->type == GEN_DNS || g->type == GEN_URI) {
			kind = g->type == GEN_DNS ? "DNS" : "URI";
			val = (const char *)ASN1_STRING_get0_data(g->d.ia5);
		} else if (g->type == GEN_IPADD) {
			int len = ASN1_STRING_length(g->d.ip);

			kind = "IP";
			inet_ntop(len == 16 ? AF_INET6 : AF_INET,
				  ASN1_STRING_get0_data(g->d.ip), ip, sizeof(ip));
			val = ip;
		}
		if (kind && used < size)
			used += snprintf(out + used, size - used, "%s%s:%s",
					 used ? ", " : "", kind, val);
	}
	if (!used)
		snprintf(out, size, "no subject alternative name");
	GENERAL_NAMES_free(gens);
}

static bool has_uri(X509 *cert, const char *uri)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; gens && !found && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		found = g->type == GEN_URI &&
			(size_t)ASN1_STRING_length(g->d.ia5) == strlen(uri) &&
			!memcmp(ASN1_STRING_get0_data(g->d.ia5), uri, strlen(uri));
	}
	GENERAL_NAMES_free(gens);
	return found;
}

/* SANs only, never the subject CN (as grpc-go and Go's TLS do). */
static bool names_identity(X509 *cert, const char *san)
{
	unsigned char buf[16];

	if (strstr(san, "://"))
		return has_uri(cert, san);
	if (inet_pton(AF_INET, san, buf) == 1 || inet_pton(AF_INET6, san, buf) == 1)
		return X509_check_ip_asc(cert, san, 0) == 1;
	return X509_check_host(cert, san, 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
			       X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* Serial and expiry: a log line then tells which certificate was seen. */
static void cert_info(struct km_tls *t, X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	BIO *b = BIO_new(BIO_s_mem());
	int len = 0;

	snprintf(t->serial, sizeof(t->serial), "%s", hex ? hex : "?");
	if (b && ASN1_TIME_print(b, X509_get0_notAfter(cert)))
		len = BIO_read(b, t->until, sizeof(t->until) - 1);
	t->until[len > 0 ? len : 0] = 0;
	BIO_free(b);
	OPENSSL_free(hex);
	BN_free(bn);
}

static int check_peer(struct km_tls *t)
{
	X509 *cert = SSL_get1_peer_certificate(t->ssl);
	const unsigned char *proto = NULL;
	unsigned int plen = 0;
	char sans[200];
	bool ok;

	if (!cert)
		return tls_fail(t, -EPROTO, "TLS: the server sent no certificate");
	ok = names_identity(cert, t->san);
	if (!ok)
		list_sans(cert, sans, sizeof(sans));
	cert_info(t, cert);
	X509_free(cert);
	if (!ok)
		return tls_fail(t, -EPERM, "TLS: the server's certificate is not for '%s': it names %s",
				t->san, sans);
	SSL_get0_alpn_selected(t->ssl, &proto, &plen);
	if (plen != 2 || memcmp(proto, "h2", 2))
		return tls_fail(t, -EPROTO, "TLS: the server did not agree to ALPN h2 (HTTP/2); it is not a gRPC server");
	return 0;
}

/* ---- context ---------------------------------------------------------------- */

/* A readable file, or an error naming it: OpenSSL's own message for a
 * missing file is "system lib". */
static int file_ok(const char *what, const char *path, struct km_err *err)
{
	if (access(path, R_OK) == 0)
		return 0;
	km_err_set(err, "%s %s: %s", what, path, strerror(errno));
	return -errno;
}

static int load_files(struct km_tls *t, const struct km_tls_opts *o, struct km_err *err)
{
	const char *key = o->key_file ? o->key_file : o->cert_file;
	int ret;

	ret = file_ok("CA file", o->ca_file, err);
	if (ret)
		return ret;
	if (SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL) != 1) {
		km_err_set(err, "CA file %s: no PEM certificate in it (%s)", o->ca_file,
			   ssl_reason());
		return -EINVAL;
	}
	if (!o->cert_file)
		return 0;
	ret = file_ok("client certificate", o->cert_file, err);
	if (!ret)
		ret = file_ok("client key", key, err);
	if (ret)
		return ret;
	if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1) {
		km_err_set(err, "client certificate %s: %s", o->cert_file, ssl_reason());
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(t->ctx) != 1) {
		km_err_set(err, "client key %s: %s", key, ssl_reason());
		return -EINVAL;
	}
	return 0;
}

int km_tls_new(struct km_tls **tp, const struct km_tls_opts *o, struct km_err *err)
{
	struct km_tls *t;
	int ret = -ENOMEM;

	*tp = NULL;
	if (!o->ca_file || !o->san || !*o->san) {
		km_err_set(err, "TLS needs a CA file and the server's expected name");
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->ca_file = strdup(o->ca_file);
	t->san = strdup(o->san);
	t->sni = o->sni ? strdup(o->sni) : NULL;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ca_file || !t->san || (o->sni && !t->sni) || !t->ctx)
		goto nomem;
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, verify_cb);
	/* the peer's EOF without close_notify: HTTP/2 framing tells a cut
	 * stream, and the message stays "connection closed by peer" */
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* nghttp2 resends what a blocked write did not take from its own,
	 * possibly moved, buffer */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_set_alpn_protos(t->ctx, alpn_h2, sizeof(alpn_h2)))
		goto nomem;
	ret = load_files(t, o, err);
	if (ret)
		goto fail;
	*tp = t;
	return 0;

nomem:
	km_err_set(err, "TLS setup: out of memory");
fail:
	km_tls_free(t);
	return ret;
}

/* OpenSSL's socket BIO writes with write(2): a peer that has gone raises
 * SIGPIPE, and that kills kmeshd. The same BIO, writing with
 * send(MSG_NOSIGNAL). */
static int nosig_write(BIO *b, const char *data, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = send(BIO_get_fd(b, NULL), data, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return n;
}

static BIO_METHOD *nosig_method(void)
{
	static BIO_METHOD *m;
	const BIO_METHOD *s = BIO_s_socket();

	if (m)
		return m;
	m = BIO_meth_new(BIO_TYPE_SOCKET, "socket, no SIGPIPE");
	if (!m)
		return NULL;
	BIO_meth_set_write(m, nosig_write);
	BIO_meth_set_read(m, BIO_meth_get_read(s));
	BIO_meth_set_puts(m, BIO_meth_get_puts(s));
	BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(s));
	BIO_meth_set_create(m, BIO_meth_get_create(s));
	BIO_meth_set_destroy(m, BIO_meth_get_destroy(s));
	return m;
}

int km_tls_start(struct km_tls *t, int fd)
{
	BIO_METHOD *m = nosig_method();
	BIO *b = m ? BIO_new(m) : NULL;

	t->ssl = SSL_new(t->ctx);
	if (!t->ssl || !b || SSL_set_app_data(t->ssl, t) != 1 ||
	    (t->sni && SSL_set_tlsext_host_name(t->ssl, t->sni) != 1)) {
		BIO_free(b);
		return tls_fail(t, -ENOMEM, "TLS setup: %s", ssl_reason());
	}
	BIO_set_fd(b, fd, BIO_NOCLOSE);
	SSL_set_bio(t->ssl, b, b);
	SSL_set_connect_state(t->ssl);
	/* the client speaks first: its hello waits only for the connect */
	t->want_write = true;
	return 0;
}

/* ---- I/O ------------------------------------------------------------------- */

/* What an OpenSSL reason usually means here. */
static const char *reason_hint(const char *r)
{
	if (strstr(r, "wrong version number") || strstr(r, "packet length too long"))
		return " (not a TLS server? istiod's plaintext port is 15010, its TLS port 15012)";
	if (strstr(r, "certificate required"))
		return " (the server requires a client certificate: --xds-cert)";
	if (strstr(r, "alert unknown ca") || strstr(r, "alert bad certificate"))
		return " (the server does not accept the client certificate)";
	if (strstr(r, "no application protocol"))
		return " (the server does not speak HTTP/2 over TLS)";
	return "";
}

/* A failed SSL call: -EAGAIN with what it waits for, 0 for the peer's
 * close_notify, or an error. */
static int ssl_result(struct km_tls *t, int rv, const char *when)
{
	int e = SSL_get_error(t->ssl, rv), no = errno;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		t->want_read = true;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		t->want_write = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (!no)
			return 0;
		return tls_fail(t, -no, "TLS %s: %s", when, strerror(no));
	default: {
		const char *r = ssl_reason();

		return tls_fail(t, -EPROTO, "TLS %s: %s%s", when, r, reason_hint(r));
	}
	}
}

static void io_begin(struct km_tls *t)
{
	ERR_clear_error();
	errno = 0;
	t->want_read = t->want_write = false;
}

/* The handshake failed: the clearest cause we know. */
static int handshake_failed(struct km_tls *t, int rv)
{
	long vr = SSL_get_verify_result(t->ssl);
	int ret = ssl_result(t, rv, "handshake");

	if (ret == -EAGAIN)
		return ret;
	if (t->verr || vr != X509_V_OK) {
		ERR_clear_error();
		return tls_fail(t, -EPERM, "TLS: the server's certificate %s is not trusted by the CA file %s: %s",
				t->verr_cert[0] ? t->verr_cert : "", t->ca_file,
				X509_verify_cert_error_string(t->verr ? t->verr : vr));
	}
	if (!ret)
		return tls_fail(t, -ECONNRESET, "TLS: connection closed by peer during the handshake");
	return ret;
}

int km_tls_handshake(struct km_tls *t)
{
	int rv;

	if (t->done)
		return 0;
	io_begin(t);
	rv = SSL_do_handshake(t->ssl);
	if (rv != 1)
		return handshake_failed(t, rv);
	rv = check_peer(t);
	if (!rv)
		t->done = true;
	return rv;
}

uint32_t km_tls_events(const struct km_tls *t)
{
	return (t->want_read ? EPOLLIN : 0) | (t->want_write ? EPOLLOUT : 0);
}

ssize_t km_tls_recv(struct km_tls *t, void *buf, size_t len)
{
	int n;

	io_begin(t);
	n = SSL_read(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return n > 0 ? n : ssl_result(t, n, "read");
}

ssize_t km_tls_send(struct km_tls *t, const void *buf, size_t len)
{
	int n;

	if (!len)
		return 0;
	io_begin(t);
	n = SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	n = ssl_result(t, n, "write");
	return n ? n : -ECONNRESET;
}

const char *km_tls_why(const struct km_tls *t)
{
	return t->why;
}

void km_tls_describe(const struct km_tls *t, char *out, size_t size)
{
	if (!t->done) {
		snprintf(out, size, "TLS (handshake not done)");
		return;
	}
	snprintf(out, size, "%s, ALPN h2, server identity '%s' verified against %s; certificate serial %s, valid until %s",
		 SSL_get_version(t->ssl), t->san, t->ca_file, t->serial, t->until);
}

void km_tls_free(struct km_tls *t)
{
	if (!t)
		return;
	if (t->ssl) {
		/* one non-blocking attempt: never waits for the peer's */
		if (t->done)
			SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	ERR_clear_error();
	free(t->ca_file);
	free(t->san);
	free(t->sni);
	free(t);
}

/* ---- token ----------------------------------------------------------------- */

static int read_small(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*len = 0;
	if (fd < 0)
		return -errno;
	while (*len < size && (n = read(fd, buf + *len, size - *len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		*len += n;
	}
	close(fd);
	return 0;
}

int km_token_header(const char *path, char **hdr, struct km_err *err)
{
	static const char bearer[] = "Bearer ";
	char *buf = malloc(KM_TOKEN_MAX + 1);
	size_t len, start = 0;
	int ret;

	*hdr = NULL;
	if (!buf) {
		km_err_set(err, "token file %s: out of memory", path);
		return -ENOMEM;
	}
	ret = read_small(path, buf, KM_TOKEN_MAX + 1, &len);
	if (ret) {
		km_err_set(err, "token file %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	if (len > KM_TOKEN_MAX) {
		km_err_set(err, "token file %s: over %u bytes, not a token", path, KM_TOKEN_MAX);
		goto out;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		       buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	while (start < len && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n'))
		start++;
	if (start == len) {
		km_err_set(err, "token file %s: empty", path);
		goto out;
	}
	/* a header value: no control characters, and a JWT has no spaces */
	for (size_t i = start; i < len; i++) {
		if (buf[i] <= ' ' || buf[i] >= 0x7f) {
			km_err_set(err, "token file %s: byte %zu is not printable text (0x%02x); not a token",
				   path, i, (unsigned char)buf[i]);
			goto out;
		}
	}
	*hdr = malloc(sizeof(bearer) + len - start);
	if (!*hdr) {
		km_err_set(err, "token file %s: out of memory", path);
		ret = -ENOMEM;
		goto out;
	}
	memcpy(*hdr, bearer, sizeof(bearer) - 1);
	memcpy(*hdr + sizeof(bearer) - 1, buf + start, len - start);
	(*hdr)[sizeof(bearer) - 1 + len - start] = 0;
	ret = 0;
out:
	free(buf);
	return ret;
}
