/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* kmesh.ko from userspace: load it, check it, talk to it (generic netlink
 * family "kmesh" through libnl-genl). */
#ifndef KM_KMOD_H
#define KM_KMOD_H

#include <stdbool.h>
#include <stdint.h>

#include "kmesh/kmod_abi.h"
#include "model.h"

struct km_kmod_info {
	bool loaded;		/* /sys/module/kmesh */
	bool btf;		/* /sys/kernel/btf/kmesh: kfuncs usable */
	bool genl;		/* the netlink family answered */
	char version[32];
	uint32_t abi;
	bool defer_enabled;
	uint64_t deferred, rerouted, parse_errors, fallbacks, in_flight;
};

/* Fills what can be known; never fails for an absent module. */
void km_kmod_info(struct km_kmod_info *info);

/*
 * Makes sure kmesh.ko is loaded: runs `modprobe kmesh` when it is not.
 * 0 when the module is loaded with BTF and the ABI kmesh expects;
 * otherwise negative errno with @err saying why (L4 works regardless).
 */
int km_kmod_load(struct km_err *err);

/* The oldest kernel kmesh.ko is built and tested for: module kfuncs
 * callable from cgroup connect4/6 programs (kernel-notes.md). */
#define KM_KMOD_MIN_MAJOR 6
#define KM_KMOD_MIN_MINOR 12

/*
 * True when a uname release string ("6.12.95+deb12-amd64", "6.1.0-50-amd64")
 * is at least major.minor. A string that does not start with "N.N" is given
 * the benefit of the doubt (true): modprobe then decides.
 */
bool km_kernel_at_least(const char *release, unsigned major, unsigned minor);

/* Switch deferred connect on or off (CAP_NET_ADMIN). */
int km_kmod_set_defer(bool on, struct km_err *err);

#endif
