/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* systemd's notify protocol (Type=notify), without libsystemd: one datagram
 * to $NOTIFY_SOCKET. Written here so kmeshd links statically (the VM tests
 * run it in an initramfs) and Debian ships no static libsystemd. */
#ifndef KM_NOTIFY_H
#define KM_NOTIFY_H

/* Sends "READY=1", "STATUS=...", ...; a no-op without NOTIFY_SOCKET.
 * Returns 0, or negative errno. */
int km_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
