// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "state.h"

void km_state_put(FILE *f, const char *key, const char *fmt, ...)
{
	char val[1024] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(val, sizeof(val), fmt, ap);
		va_end(ap);
	}
	km_one_line(val);
	fprintf(f, "%s=%s\n", key, val);
}

int km_state_read(const char *path, km_state_fn fn, void *arg)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *v;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		v = strchr(line, '=');
		if (!v)
			continue;
		*v++ = 0;
		fn(line, v, arg);
	}
	free(line);
	fclose(f);
	return 0;
}
