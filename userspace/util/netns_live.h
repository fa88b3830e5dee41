/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Which network namespaces still exist, by cookie (stale enrollments). */
#ifndef KM_NETNS_LIVE_H
#define KM_NETNS_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct km_netns_live {
	__u64 *cookies;
	size_t n, cap;
};

/*
 * Collects the cookie of every network namespace something holds: a
 * process (/proc/PID/ns/net), an open file (/proc/PID/fd), or a bind mount
 * (nsfs in /proc/PID/mountinfo, as /run/netns/NAME). A namespace only a
 * socket holds, or only a process whose namespaces we may not look at
 * (a locked-down init, another user namespace's), is not seen. Returns 0,
 * or a negative errno (then nothing may be called stale).
 */
int km_netns_live_scan(struct km_netns_live *l);
bool km_netns_live_has(const struct km_netns_live *l, __u64 cookie);
void km_netns_live_free(struct km_netns_live *l);

#endif
