// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The kernel module's route matcher, built unchanged into libkmesh.a so the
 * unit tests, the fuzzer and kmeshctl run the code kmesh.ko runs. */
#include "../../kmod/route_match.c"
