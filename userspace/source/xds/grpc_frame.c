// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grpc_frame.h"

/* A reassembly buffer bigger than this is released after its message:
 * one large response should not pin its size for the life of the agent. */
#define KM_GRPC_FRAME_KEEP (1u << 20)

void km_grpc_frame_init(struct km_grpc_frame *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->max = max;
}

void km_grpc_frame_free(struct km_grpc_frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
}

bool km_grpc_frame_idle(const struct km_grpc_frame *f)
{
	return f->prefix_have == 0;
}

void km_grpc_frame_prefix(uint8_t out[KM_GRPC_PREFIX_LEN], uint32_t len)
{
	out[0] = 0;
	out[1] = len >> 24;
	out[2] = len >> 16;
	out[3] = len >> 8;
	out[4] = len;
}

/* Checks a complete prefix and sets msg_len. */
static int frame_prefix_done(struct km_grpc_frame *f)
{
	size_t max = f->max ? f->max : KM_GRPC_MAX_MSG;
	const uint8_t *p = f->prefix;

	f->msg_len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 8 | p[4];
	f->have = 0;
	if (p[0] != 0)
		return -EPROTO;
	if (f->msg_len > max)
		return -EMSGSIZE;
	return 0;
}

/* Grows buf to hold @need bytes, geometrically but never past the
 * announced length: a peer's prefix alone does not make us allocate. */
static int frame_reserve(struct km_grpc_frame *f, size_t need)
{
	size_t cap = f->cap ? f->cap : 4096;
	uint8_t *p;

	if (need <= f->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > f->msg_len)
		cap = f->msg_len;
	p = realloc(f->buf, cap);
	if (!p)
		return -ENOMEM;
	f->buf = p;
	f->cap = cap;
	return 0;
}

/* Back to "between messages". */
static void frame_next(struct km_grpc_frame *f)
{
	f->prefix_have = 0;
	f->have = 0;
	if (f->cap > KM_GRPC_FRAME_KEEP)
		km_grpc_frame_free(f);
}

int km_grpc_frame_feed(struct km_grpc_frame *f, const uint8_t *data, size_t len,
		       km_grpc_frame_cb cb, void *arg)
{
	static const uint8_t empty[1];
	size_t n, need;
	int ret;

	while (len) {
		if (f->prefix_have < KM_GRPC_PREFIX_LEN) {
			n = KM_GRPC_PREFIX_LEN - f->prefix_have;
			if (n > len)
				n = len;
			memcpy(f->prefix + f->prefix_have, data, n);
			f->prefix_have += n;
			data += n;
			len -= n;
			if (f->prefix_have < KM_GRPC_PREFIX_LEN)
				break;
			ret = frame_prefix_done(f);
			if (ret)
				return ret;
			if (!f->msg_len) {
				frame_next(f);
				ret = cb(arg, empty, 0);
				if (ret < 0)
					return ret;
				continue;
			}
			if (!len)
				break;
		}

		need = f->msg_len - f->have;
		if (!f->have && len >= need) {
			/* whole message in this chunk: no copy */
			frame_next(f);
			ret = cb(arg, data, need);
			if (ret < 0)
				return ret;
			data += need;
			len -= need;
			continue;
		}

		n = need < len ? need : len;
		ret = frame_reserve(f, f->have + n);
		if (ret)
			return ret;
		memcpy(f->buf + f->have, data, n);
		f->have += n;
		data += n;
		len -= n;
		if (f->have == f->msg_len) {
			/* frame_next may free buf: deliver first */
			f->prefix_have = 0;
			ret = cb(arg, f->buf, f->msg_len);
			frame_next(f);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

int km_grpc_parse_status(const char *s, size_t len)
{
	int64_t v = 0;

	if (!len || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT32_MAX)
		return -EINVAL;
	return (int)v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t km_grpc_pct_decode(char *out, const char *in, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (in[i] == '%' && i + 2 < len &&
		    (hi = hexval(in[i + 1])) >= 0 && (lo = hexval(in[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return o;
}

const char *km_grpc_status_name(int status)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};

	if (status < 0 || (size_t)status >= sizeof(names) / sizeof(names[0]))
		return "unknown code";
	return names[status];
}
