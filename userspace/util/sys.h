/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Node facts: where cgroup v2 and bpffs are, and what a path names. */
#ifndef KM_SYS_H
#define KM_SYS_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include <stdbool.h>

#include "kmesh/abi.h"
#include "diag.h"

/* The cgroup v2 mount point from /proc/self/mountinfo. */
int km_cgroup2_root(char *buf, size_t len, struct km_err *err);
/* Mounts bpffs at /sys/fs/bpf when nothing is there, then mkdir -p @dir. */
int km_ensure_bpffs(const char *dir, struct km_err *err);
/* For removing pins: @dir must exist and be on bpffs; the message says
 * which is wrong (missing, not bpffs, or no permission: not root). */
int km_check_pin_root(const char *dir, struct km_err *err);
/* "PATH: strerror(e)", saying that root is needed for EACCES and EPERM */
void km_err_path(struct km_err *err, const char *path, int e);
int km_mkdir_p(const char *path, unsigned int mode);

/* An enrollment target: a cgroup v2 directory (id = cgroup id) or a network
 * namespace file such as /run/netns/NAME or /proc/PID/ns/net (id = netns
 * cookie). */
int km_resolve_enroll(const char *path, struct km_enroll_key *key,
		      struct km_err *err);

/* Runs @fn(@arg, @err) with the calling thread in the network namespace at
 * @path, then back in ours (a socket @fn opens stays in that netns). fn's
 * return, or a negative errno with err naming the path. */
int km_in_netns(const char *path, int (*fn)(void *arg, struct km_err *err),
		void *arg, struct km_err *err);

/* The one spelling of an enrolled path: resolved (symlinks, "//", "dir/",
 * relative), or normalized lexically when it no longer exists. */
void km_enroll_canon(const char *path, char *out, size_t len);
/* A canonical cgroup v2 path's level below the hierarchy's root (the root
 * is 0), or -1 when it is not under the cgroup v2 mount. */
int km_cgroup_level(const char *canon);
/* False when the enrolled cgroup is gone, or another netns is at @path. */
bool km_enroll_alive(const struct km_enroll_key *k, const char *path);

/* Writes @len bytes to @path through a temporary file and rename; the file
 * gets @mode whatever the umask. */
int km_write_file_atomic(const char *path, const char *data, size_t len,
			 mode_t mode);

#endif
