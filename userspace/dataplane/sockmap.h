/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sockmap lifecycle (bpf/kmesh_sockmap.bpf.c) and its per-workload bits.
 * Pins live beside the main object's under the pin root: maps by name
 * (km_sm_*), links as sm_link_<program>. */
#ifndef KM_SOCKMAP_H
#define KM_SOCKMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "kmesh/sockmap_abi.h"
#include "model.h"

#define KM_SM_LINK_PREFIX "sm_link_"

extern const char *const km_sm_counter_names[KM_SM_CNT_MAX];

/* Loads the sockmap object, reusing its pinned maps (workload bits and
 * joined sockets survive a restart), attaches sockops to @cgroup and sk_msg
 * to the sockhash. Needs no BPF trampolines. */
int km_sockmap_install(const char *pin_root, const char *cgroup,
		       struct km_err *err);

/* Detaches and unpins everything of the sockmap object. Joined sockets
 * keep working until they close (each holds the programs and the map). */
int km_sockmap_uninstall(const char *pin_root, struct km_err *err);

/* True when the sockops link is pinned under @pin_root. */
bool km_sockmap_loaded(const char *pin_root);

/* Sets (flags != 0) or removes (flags == 0) the bits of the workload named
 * by @path (cgroup v2 dir or netns file, as for kmeshctl enroll). */
int km_sockmap_set(const char *pin_root, const char *path, uint32_t flags,
		   struct km_err *err);

struct km_sm_workload_row {
	struct km_enroll_key key;
	struct km_sm_workload w;
};

/* Workloads with bits: fills up to @max, returns how many or -errno. */
int km_sockmap_workloads(const char *pin_root, struct km_sm_workload_row *out,
			 int max);

struct km_sm_status {
	bool loaded;
	uint64_t counters[KM_SM_CNT_MAX];	/* summed over CPUs */
	int joined;				/* sockets in the sockhash */
	int flows;				/* joined directions */
};

int km_sockmap_status(const char *pin_root, struct km_sm_status *st);

#endif
