/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF lifecycle: load, pin, attach, and reuse across agent restarts. */
#ifndef KM_BPF_LOADER_H
#define KM_BPF_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* Links are pinned as PIN_ROOT/link_<program name>. */
#define KM_LINK_PREFIX "link_"
/* The inbound sk_lookup program is pinned as PIN_ROOT/prog_sk_lookup and
 * attached to network namespaces by kmeshd (kmeshd/inbound.c), each link
 * pinned as PIN_ROOT/netns_<netns cookie>. */
#define KM_SKL_PROG_PIN "prog_sk_lookup"
#define KM_NETNS_LINK_PREFIX "netns_"

struct km_install_report {
	int attached;	/* programs attached for the first time */
	int replaced;	/* pinned links switched to the new programs */
	/* the program the verifier worked hardest on: instructions it
	 * processed (its limit is 1M), 0 when the kernel does not say */
	__u32 verified_max;
	char verified_max_prog[64];
};

/*
 * Loads the BPF object, reusing maps pinned under @pin_root (config and
 * enrollment survive), and attaches every program to @cgroup. A program
 * already attached through a pinned link is replaced in place
 * (bpf_link_update), so connects never see a moment without the hooks.
 */
struct km_install_opts {
	const char *pin_root;
	const char *cgroup;
	__u8 peer_vip;		/* enum km_peer_mode: how getpeername shows
				 * the VIP (KM_PEER_OFF: it does not) */
	bool events;		/* telemetry: connection events (km_events) */
	uint32_t events_ring;	/* km_events' size in bytes; 0: default */
	/* per generation (capacity.h); 0: abi.h's defaults */
	uint32_t max_services, max_endpoints;
};

int km_bpf_install(const struct km_install_opts *o,
		   struct km_install_report *rep, struct km_err *err);

/* Detaches kmesh's pinned links and removes kmesh's pins under @pin_root
 * (bpffs only), then the directory. Returns 0 with err->msg set when the
 * directory was kept because it holds pins of other tools. */
int km_bpf_uninstall(const char *pin_root, struct km_err *err);

struct km_link_status {
	char name[64];		/* program name */
	uint32_t prog_id;
	uint64_t cgroup_id;
	uint32_t attach_type;
	uint64_t run_cnt;	/* with kernel.bpf_stats_enabled=1 */
	uint64_t run_time_ns;
};

/* Fills up to @max pinned links; returns how many, or negative errno. */
int km_bpf_links(const char *pin_root, struct km_link_status *out, int max);

#endif
