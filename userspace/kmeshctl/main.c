// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshctl: look at and steer the kmesh data plane through its pinned maps.
 * Works whether or not kmeshd is running: the kernel state is the truth.
 * One file per command (cmd_<name>.c), dispatched from the table below.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bpf_loader.h"
#include "ctl.h"
#include "state.h"

static const struct ctl_cmd cmds[] = {
	{ "status", 0, 0, cmd_status,
	  "  status            programs, maps, module, config generation, counters, enrollments\n" },
	{ "dump", 0, 0, cmd_dump,
	  "  dump              frontends, clusters, endpoints and authorization policies\n" },
	{ "explain", 0, -1, cmd_explain,
	  "  explain [--host H] --path P [--method M] [--header 'K: V']... [LISTENER]\n"
	  "                    which virtual host, route and clusters kmesh.ko gives that\n"
	  "                    HTTP request, by the live route table (exit 0 routed, 1 refused)\n"
	  "  explain --source IP[:PORT] [--identity NS/SA] IP:PORT\n"
	  "                    whether authorization allows that connect, and by which\n"
	  "                    policy (as authz check; exit 0 allowed, 1 denied)\n" },
	{ "enroll", 1, 7, cmd_enroll,
	  "  enroll PATH [--namespace NS] [--workload NAME] [--service-account SA]\n"
	  "                    route a workload: a cgroup v2 directory or a netns file\n"
	  "                    (/run/netns/NAME, /proc/PID/ns/net); through kmeshd when it runs\n" },
	{ "unenroll", 1, 1, cmd_enroll,
	  "  unenroll PATH     stop routing it\n" },
	{ "enrollments", 0, 0, cmd_enrollments,
	  "  enrollments       what is enrolled, and for which pod (kmeshd keeps that)\n" },
	{ "authz", 0, -1, cmd_authz,
	  "  authz             authorization: destinations with policies, counters per policy\n"
	  "  authz check IP:PORT [--source IP[:PORT]] [--identity NS/SA]\n"
	  "                    allowed or denied, by which policy, as the kernel decides a\n"
	  "                    connect there (exit 1 denied)\n" },
	{ "config", 0, 0, cmd_config,
	  "  config            the xDS state: connection, versions and nonces per type,\n"
	  "                    resource counts, the last NACK and its reason\n" },
	{ "dns", 0, 0, cmd_dns,
	  "  dns               the names of STRICT_DNS / LOGICAL_DNS clusters: their addresses,\n"
	  "                    the last resolution, failures (the last good answer is kept)\n" },
	{ "module", 2, 2, cmd_module,
	  "  module defer on|off  switch kmesh.ko's deferred connect (off: L7 served as L4)\n" },
	{ "sockmap", 0, -1, cmd_sockmap,
	  "  sockmap enable [--accelerate] PATH|netns:NAME  join node-local connections of a\n"
	  "                    workload (--accelerate: also app<->proxy via REDIRECT 15001/15006)\n"
	  "  sockmap disable PATH|netns:NAME   stop joining its new connections\n"
	  "  sockmap status    sockmap counters, joined sockets, enabled workloads\n" },
	{ "top", 0, 4, cmd_top,
	  "  top [--metrics ADDR:PORT] [-n COUNT]  live connections/s, bytes/s and errors per\n"
	  "                    service and workload from kmeshd's /metrics (-o json: one snapshot)\n" },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: kmeshctl [-o text|json] [--pin-root DIR] COMMAND\n"
		"commands:\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fputs(cmds[i].usage, f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pin-root", required_argument, NULL, 'p' },
		{ "state-file", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct ctl c = { .pin_root = KM_PIN_ROOT, .state_file = KM_STATE_FILE };
	const struct ctl_cmd *cmd = NULL;
	int o, nargs, ret = 2;
	char **cargv;

	memset(&c.maps, -1, sizeof(c.maps));	/* every fd -1: nothing open */

	while ((o = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "kmeshctl: -o %s: expected 'text' or 'json'\n", optarg);
				return 2;
			}
			c.json = strcmp(optarg, "json") == 0;
			break;
		case 'p': c.pin_root = optarg; break;
		case 's': c.state_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cargv = &argv[optind++];
	/* allow `kmeshctl status -o json` too */
	while (optind < argc && strcmp(argv[optind], "-o") == 0 && optind + 1 < argc) {
		c.json = strcmp(argv[optind + 1], "json") == 0;
		memmove(&argv[optind], &argv[optind + 2],
			(size_t)(argc - optind - 2) * sizeof(*argv));
		argc -= 2;
	}
	nargs = argc - optind;
	for (size_t i = 0; i < N_CMDS && !cmd; i++)
		if (!strcmp(cmds[i].name, cargv[0]))
			cmd = &cmds[i];
	if (cmd && nargs >= cmd->min_args &&
	    (cmd->max_args < 0 || nargs <= cmd->max_args)) {
		ret = cmd->run(&c, nargs + 1, cargv);
	} else {
		fprintf(stderr, "kmeshctl: bad command line: '%s'%s\n", cargv[0],
			cmd ? (nargs < cmd->min_args ? " with too few arguments" :
			       " with unexpected arguments") :
			" is not a command");
		usage(stderr);
	}
	km_maps_close(&c.maps);
	return ret;
}
