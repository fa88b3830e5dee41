/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What every libFuzzer target here shares: a check that aborts (libFuzzer
 * keeps the input that made it fail). */
#ifndef KM_FUZZ_H
#define KM_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "check failed: %s (line %d)\n",	\
				#cond, __LINE__);			\
			abort();					\
		}							\
	} while (0)

#endif
