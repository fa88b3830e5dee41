/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Pins on bpffs and the cgroup links kmesh keeps there, for both BPF
 * objects (bpf_loader.c: kmesh.bpf.o; sockmap.c: kmesh_sockmap.bpf.o). A
 * program stays attached through its pinned link after kmeshd exits, and a
 * restart replaces the program in place: connects never run without one.
 */
#ifndef KM_PINS_H
#define KM_PINS_H

#include <stdbool.h>
#include <stddef.h>

#include <bpf/libbpf.h>

#include "diag.h"

/* "ROOT/A" or "ROOT/AB" into buf; -ENAMETOOLONG when it does not fit */
int km_pin_path(char *buf, size_t len, const char *root, const char *a,
		const char *b);

/*
 * Attaches @prog to the cgroup @cg_fd (inode @cg_id, named @cgroup in
 * messages) through a link pinned at @path. A link already pinned there for
 * the same cgroup and attach type gets the new program in place (*replaced
 * true); one for another cgroup is detached and replaced by a new link.
 */
int km_pin_cgroup_link(struct bpf_program *prog, int cg_fd, __u64 cg_id,
		       const char *cgroup, const char *path, bool *replaced,
		       struct km_err *err);

/* Pins an iterator link of @prog (iter/...) at @path, in place of the
 * one there; run it with bpf_iter_create() on the pinned link. */
int km_pin_iter_link(struct bpf_program *prog, const char *path,
		     struct km_err *err);

/* Detaches the link pinned at @path, if any, and removes the pin: 0, or
 * -errno from unlink (ENOENT is 0). */
int km_pin_drop_link(const char *path);

#endif
