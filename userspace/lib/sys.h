/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Node facts: where cgroup v2 and bpffs are, and what a path names. */
#ifndef KM_SYS_H
#define KM_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* The cgroup v2 mount point from /proc/self/mountinfo. */
int km_cgroup2_root(char *buf, size_t len, struct km_err *err);
/* Mounts bpffs at /sys/fs/bpf when nothing is there, then mkdir -p @dir. */
int km_ensure_bpffs(const char *dir, struct km_err *err);
int km_mkdir_p(const char *path, unsigned int mode);

/* An enrollment target: a cgroup v2 directory (id = cgroup id) or a network
 * namespace file such as /run/netns/NAME or /proc/PID/ns/net (id = netns
 * cookie). */
int km_resolve_enroll(const char *path, struct km_enroll_key *key,
		      struct km_err *err);

/* Reads all of @path into *buf (malloc'd, NUL-terminated; *len without the
 * NUL). Refuses, with the reason in @err and nothing read, a path that is
 * not a regular file (a FIFO would block for ever, /dev/zero never end) and
 * a file over @max bytes (also one that grows past it while being read).
 * Opened non-blocking: a FIFO swapped in between the check and the open
 * cannot block the caller either. */
int km_read_regular_file(const char *path, size_t max, char **buf,
			 size_t *len, struct km_err *err);

/* Writes @len bytes to @path through a temporary file and rename. */
int km_write_file_atomic(const char *path, const char *data, size_t len);

#endif
