/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshd's control socket, the client side (kmeshctl, kmesh-cni). One
 * request per connection: a JSON object and a newline; kmeshd answers with
 * one JSON object and a newline, {"ok": true, ...} or {"ok": false,
 * "error": "..."}, and closes. The protocol is in docs/deploy.md.
 */
#ifndef KM_CONTROL_CLIENT_H
#define KM_CONTROL_CLIENT_H

#include <jansson.h>

#include "model.h"

/* The socket in kmeshd's state directory. */
#define KM_CONTROL_SOCK "kmeshd.sock"
#define KM_CONTROL_MAX_MSG (64u << 10)

/*
 * Sends @req to the socket at @path and waits at most @timeout_ms for the
 * answer. Returns 0 with *reply (json_decref it), -ENOENT or -ECONNREFUSED
 * when nobody listens there (kmeshd is not running), or another negative
 * errno (-ETIMEDOUT: no answer in time); err->msg names the socket and why.
 */
int km_control_call(const char *path, json_t *req, int timeout_ms,
		    json_t **reply, struct km_err *err);

/* The socket next to a state file (kmeshctl --state-file) in @out. */
void km_control_path_from_state(const char *state_file, char *out, size_t len);

#endif
