// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmesh.ko: kfuncs and deferred connect for the kmesh L7 data path, on
 * stock kernels >= 6.12 without patches. See defer.c for the mechanism,
 * kfuncs.c for what BPF can call and genl.c for the agent's interface.
 */
#include <linux/init.h>
#include <linux/module.h>

#include "kmesh.h"

DEFINE_PER_CPU(u64, km_mod_counters[KM_MC_MAX]);
atomic_long_t km_in_flight = ATOMIC_LONG_INIT(0);

bool km_defer_enabled = true;
module_param_named(defer, km_defer_enabled, bool, 0644);
MODULE_PARM_DESC(defer, "Defer connects for L7 routing (default on); off serves L7 listeners as L4");

u64 km_mod_counter_sum(enum km_mod_counter c)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(km_mod_counters[c], cpu);
	return sum;
}

static int __init km_init(void)
{
	int ret;

	ret = km_defer_init();
	if (ret)
		return ret;
	ret = km_kfuncs_init();
	if (ret) {
		pr_err("registering kfuncs failed: %d\n", ret);
		goto err_defer;
	}
	ret = km_genl_init();
	if (ret) {
		pr_err("registering generic netlink family failed: %d\n", ret);
		goto err_defer;	/* kfunc sets go with the module's BTF */
	}
	pr_info("loaded, version %s, kfunc ABI %d\n", KM_MOD_VERSION,
		KM_KMOD_ABI_VERSION);
	return 0;

err_defer:
	km_defer_exit();
	return ret;
}

static void __exit km_exit(void)
{
	km_genl_exit();
	/* waits until no thread can be inside, or return into, our code */
	km_defer_exit();
	pr_info("unloaded\n");
}

module_init(km_init);
module_exit(km_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmesh: in-kernel service mesh data plane helpers (kfuncs, deferred connect)");
MODULE_VERSION(KM_MOD_VERSION);
