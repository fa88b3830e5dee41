/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The LB policy part of the compiler: LEAST_REQUEST and MAGLEV settings,
 * hash policies, Maglev tables and the stable stat keys of clusters. */
#ifndef KM_LB_COMPILE_H
#define KM_LB_COMPILE_H

#include "compiler.h"

/* Fills the LB fields of r's clusters (compiled from m) and builds their
 * Maglev tables. */
int km_lb_compile(const struct km_model *m, struct km_records *r,
		  struct km_err *err);

/* km_cluster.stat_key of a cluster name: the same in every generation and
 * kmeshd run. Never 0. */
uint64_t km_stat_key64(const char *name);

#endif
