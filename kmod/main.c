// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmesh.ko: kfuncs and deferred connect for the kmesh L7 data path.
 *
 * This is the foundation: the module builds through Kbuild against the
 * node's headers, loads and unloads cleanly, and states the ABI version the
 * BPF objects and agent expect. kfuncs, deferred connect and the generic
 * netlink family arrive with their issue (see ../shared/kernel-notes.md).
 */
#include <linux/init.h>
#include <linux/module.h>

#include "kmesh/abi.h"

#define KM_MOD_VERSION "0.1.0"

static int __init km_init(void)
{
	pr_info("kmesh: loaded, version %s, ABI %d\n", KM_MOD_VERSION,
		KM_ABI_VERSION);
	return 0;
}

static void __exit km_exit(void)
{
	pr_info("kmesh: unloaded\n");
}

module_init(km_init);
module_exit(km_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmesh: in-kernel service mesh data plane helpers");
MODULE_VERSION(KM_MOD_VERSION);
