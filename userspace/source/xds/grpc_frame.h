/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gRPC message framing, apart from HTTP/2 so it can be tested on its own:
 * each message is a 1-byte compressed flag, a 4-byte big-endian length and
 * the payload. HTTP/2 DATA frames cut that stream anywhere: a message may
 * span many frames, one frame may hold several messages, a prefix may be
 * split. Also the two header values grpc.c interprets (grpc-status,
 * grpc-message).
 */
#ifndef KM_XDS_GRPC_FRAME_H
#define KM_XDS_GRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KM_GRPC_PREFIX_LEN 5
/* Largest message accepted, in either direction. istiod's own limit is
 * 4 MiB by default and raised by operators to tens of MiB for big meshes;
 * above this a peer is broken or hostile, and the buffer is malloc'd. */
#define KM_GRPC_MAX_MSG (64u << 20)

/* Reassembly state. Zero-initialised or km_grpc_frame_init'd. */
struct km_grpc_frame {
	size_t max;		/* message size limit; 0: KM_GRPC_MAX_MSG */
	uint8_t prefix[KM_GRPC_PREFIX_LEN];
	size_t prefix_have;	/* prefix bytes collected */
	size_t msg_len;		/* from the prefix, once complete */
	size_t have;		/* payload bytes collected in buf */
	uint8_t *buf;
	size_t cap;
};

/* Receives one complete message (the prefix stripped); @msg is valid only
 * during the call. A negative return stops km_grpc_frame_feed, which
 * returns it. */
typedef int (*km_grpc_frame_cb)(void *arg, const uint8_t *msg, size_t len);

void km_grpc_frame_init(struct km_grpc_frame *f, size_t max);
void km_grpc_frame_free(struct km_grpc_frame *f);

/* Consumes @len bytes of the message stream, calling @cb for every message
 * they complete. 0, or: -EPROTO for a compressed message (flag 1; we never
 * offer an encoding) or a flag other than 0/1, -EMSGSIZE for a length over
 * the limit (reported as soon as the prefix is complete, before any of the
 * payload is buffered), -ENOMEM, or @cb's negative return. After an error
 * the state is undefined: only km_grpc_frame_free is valid. */
int km_grpc_frame_feed(struct km_grpc_frame *f, const uint8_t *data, size_t len,
		       km_grpc_frame_cb cb, void *arg);

/* True between messages: a stream that ends here lost nothing. */
bool km_grpc_frame_idle(const struct km_grpc_frame *f);

/* The length the last complete prefix announced (for error messages). */
static inline size_t km_grpc_frame_msg_len(const struct km_grpc_frame *f)
{
	return f->msg_len;
}

/* Writes the 5-byte prefix of an uncompressed message of @len bytes. */
void km_grpc_frame_prefix(uint8_t out[KM_GRPC_PREFIX_LEN], uint32_t len);

/* grpc-status: decimal digits only, no sign, no spaces, at most INT32_MAX.
 * The code, or -EINVAL. */
int km_grpc_parse_status(const char *s, size_t len);
/* "UNAUTHENTICATED" for 16; "unknown code" past the table. */
const char *km_grpc_status_name(int status);

/* grpc-message is percent-encoded (gRPC over HTTP/2 spec). Decodes @len
 * bytes of @in into @out (room for @len + 1 bytes; the result is never
 * longer) and NUL-terminates it. Malformed escapes are kept verbatim, as
 * the spec asks, rather than failing or dropping the message. Returns the
 * decoded length. */
size_t km_grpc_pct_decode(char *out, const char *in, size_t len);

#endif
