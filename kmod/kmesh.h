/* SPDX-License-Identifier: GPL-2.0-only */
/* kmesh.ko internals shared by its files. */
#ifndef KM_KMOD_KMESH_H
#define KM_KMOD_KMESH_H

#include <linux/filter.h>
#include <linux/percpu.h>
#include <net/sock.h>

#include "compat.h"
#include "kmesh/kmod_abi.h"
#include "kmesh/http_parse.h"

/* from VERSION at the repo root, through Kbuild */
#define KM_MOD_VERSION KMESH_VERSION

enum km_mod_counter {
	KM_MC_DEFERRED,
	KM_MC_REROUTED,
	KM_MC_PARSE_ERRORS,
	KM_MC_FALLBACKS,
	KM_MC_MAX,
};

DECLARE_PER_CPU(u64, km_mod_counters[KM_MC_MAX]);
extern atomic_long_t km_in_flight;
extern bool km_defer_enabled;

static inline void km_mod_count(enum km_mod_counter c)
{
	this_cpu_inc(km_mod_counters[c]);
}

u64 km_mod_counter_sum(enum km_mod_counter c);

/*
 * What the re-run of connect4/6 sees in bpf_sock_addr_kern.t_ctx. The
 * magic tells it apart from the pointers other attach types keep there.
 */
#define KM_RERUN_MAGIC 0x6b6d7368u	/* "kmsh" */

struct km_rerun {
	u32 magic;
	u32 len;		/* bytes in buf */
	bool parsed;		/* km_http_parse() ran; its result: */
	int parse_ret;
	struct km_http_req req;
	char buf[KM_FIRST_MSG_MAX];
};

/* The re-run context of @ctx, or NULL when this is not the re-run. */
static inline struct km_rerun *km_rerun_of(const struct bpf_sock_addr_kern *ctx)
{
	struct km_rerun *rr = ctx->t_ctx;

	return rr && rr->magic == KM_RERUN_MAGIC ? rr : NULL;
}

int km_defer_init(void);
void km_defer_exit(void);
int km_defer_sock(struct bpf_sock_addr_kern *ctx);

int km_kfuncs_init(void);

int km_genl_init(void);
void km_genl_exit(void);

#endif
