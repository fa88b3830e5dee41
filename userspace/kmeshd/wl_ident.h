/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Workload mode: the identity of an enrolled network namespace from the
 * Workload resource of this node that owns its address (docs/authz.md,
 * "Identity").
 */
#ifndef KMD_WL_IDENT_H
#define KMD_WL_IDENT_H

#include "authz_workload.h"
#include "enroll.h"

typedef void (*kmd_wl_log_fn)(const char *msg);

#define KMD_NETNS_MAX_ADDRS 32

/* The addresses of the netns at @path, read from inside it (the calling
 * thread enters it and comes back): how many (at most @max), or -1. */
int kmd_netns_addrs(const char *path, struct km_ip *out, int max);

/*
 * For each enrolled netns that has no identity: its addresses; when they
 * belong to Workloads on @node (every node when NULL or empty) of exactly
 * one namespace/service account, that identity is set (km_ident), and
 * said through @log. An identity already set (kmeshctl enroll
 * --namespace/--service-account, or an earlier pass) is left alone.
 * Returns how many identities were set.
 */
int kmd_wl_idents(const struct km_enroll_maps *mp,
		  struct km_wl_workload *const *wls, size_t n,
		  const char *node, kmd_wl_log_fn log);

#endif
