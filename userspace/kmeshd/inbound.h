/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inbound authorization (docs/authz.md, "Inbound"): kmeshd attaches the
 * sk_lookup program to its own network namespace and to every enrolled
 * one, and keeps km_authz_peer (the identities kmesh vouches for by
 * address) current.
 */
#ifndef KMD_INBOUND_H
#define KMD_INBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "wl_ident.h"

struct kmd_inbound {
	const char *pin_root;
	int enroll_fd;
	int ident_fd;
	bool trust;		/* --trust-workload-addresses */
	uint64_t scan_ms;
};

/*
 * One pass (at most once a second unless @now): links for the netns that
 * need one, links of netns no longer enrolled removed, and the peer map
 * rebuilt from the enrolled netns with an identity (and, with @ib->trust,
 * from @wls). Each change is said through @log.
 */
void kmd_inbound_scan(struct kmd_inbound *ib, struct km_wl_workload *const *wls,
		      size_t n, bool now, kmd_wl_log_fn log);

#endif
