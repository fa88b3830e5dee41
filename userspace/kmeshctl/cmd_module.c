// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshctl module: kmesh.ko's switches. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "ctl.h"
#include "kmod.h"

static int module_defer(struct ctl *c, const char *arg)
{
	struct km_err err = {};
	bool on;

	if (strcmp(arg, "on") && strcmp(arg, "off")) {
		fprintf(stderr, "kmeshctl: module defer %s: expected 'on' or 'off'\n", arg);
		return 2;
	}
	on = strcmp(arg, "on") == 0;
	if (km_kmod_set_defer(on, &err))
		return die_err(&err);
	if (c->json)
		printf("{\"defer_enabled\": %s}\n", on ? "true" : "false");
	else
		printf("kmesh.ko deferred connect %s\n", on ? "on" : "off");
	return 0;
}

/* module defer on|off */
int cmd_module(struct ctl *c, int argc, char **argv)
{
	if (strcmp(argv[1], "defer")) {
		fprintf(stderr, "kmeshctl: module %s: expected 'defer'\n", argv[1]);
		return 2;
	}
	return module_defer(c, argv[2]);
}
