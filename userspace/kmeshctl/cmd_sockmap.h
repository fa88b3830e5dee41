/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* kmeshctl sockmap: enable|disable|status, and the sockmap part of status. */
#ifndef KM_CTL_SOCKMAP_H
#define KM_CTL_SOCKMAP_H

#include <stdbool.h>

#include "json.h"

/* argv: what follows "sockmap". Returns the exit code. */
int km_ctl_sockmap(const char *pin_root, bool json, int argc, char **argv);

/* The sockmap part of kmeshctl status (JSON member "sockmap"). */
struct ctl_out;
void km_ctl_sockmap_show(struct ctl_out *o, const char *pin_root);

#endif
