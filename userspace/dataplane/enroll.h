/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Enrollment: the rows of km_enroll (which cgroups and network namespaces
 * kmesh routes). The one implementation behind kmeshd's control socket and
 * kmeshctl enroll/unenroll when kmeshd is not running.
 */
#ifndef KM_ENROLL_H
#define KM_ENROLL_H

#include <limits.h>
#include <stdbool.h>

#include <kmesh/abi.h>

#include "model.h"

struct km_enroll_row {
	struct km_enroll_key k;
	struct km_enroll v;
};

/* What km_enroll_apply did: the row, and the path in its one spelling. */
struct km_enroll_done {
	struct km_enroll_key k;
	char path[PATH_MAX];
};

/* The maps enrollment writes: km_enroll, and km_ident (-1: no identity
 * map, authorization not loaded). A row removed here (unenrolled or
 * pruned) loses its identity too, so a cgroup or netns that comes back
 * with the same id never inherits one. */
struct km_enroll_maps {
	int enroll;
	int ident;
};

/* Told each line worth saying that is not an error (a pruned row). */
typedef void (*km_enroll_note_fn)(void *arg, const char *msg);

const char *km_enroll_kind_str(__u32 kind);

/* The rows of map @fd, at most @max; returns how many. */
int km_enroll_list(int fd, struct km_enroll_row *rows, int max);

/* The netns rows of map @fd whose path still names their netns (one that is
 * gone, or whose file now names another, left out): the namespaces kmeshd
 * can enter. At most @max; returns how many. */
int km_enroll_netns_live(int fd, struct km_enroll_row *rows, int max);

/* Removes the rows whose cgroup is gone or whose netns path now names
 * another netns (they route nobody and would fill the table), noting each.
 * Returns how many were removed. */
int km_enroll_prune(const struct km_enroll_maps *mp, km_enroll_note_fn note,
		    void *arg);

/*
 * Enrolls (@add) or unenrolls @path, a cgroup v2 directory or a netns file,
 * after pruning stale rows. Unenrolling a path that no longer exists finds
 * its row by the recorded path. Returns 0 with @done filled, -ENOENT when
 * unenrolling what is not enrolled, or another negative errno; err->msg
 * says what was wrong and names the path.
 */
int km_enroll_apply(const struct km_enroll_maps *mp, const char *path, bool add,
		    struct km_enroll_done *done, km_enroll_note_fn note,
		    void *arg, struct km_err *err);

/*
 * Enrolled identities (km_ident, include/kmesh/authz_abi.h): the namespace
 * and service account kmesh vouches for, which authorization policies can
 * name. Sets @k's identity (both names given: Kubernetes names), or
 * removes it (either missing). 0, or a negative errno with err set.
 */
int km_enroll_ident(const struct km_enroll_maps *mp,
		    const struct km_enroll_key *k, const char *ns,
		    const char *sa, struct km_err *err);

#endif
