// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "sockmap.h"
#include "cmd_sockmap.h"
#include "ctl.h"
#include "out.h"
#include "sys.h"

static struct km_sm_workload_row rows[KM_SM_MAX_WORKLOADS];

static const char *flags_str(__u32 f)
{
	if ((f & KM_SM_ENABLED) && (f & KM_SM_ACCELERATE))
		return "accelerate";
	return (f & KM_SM_ENABLED) ? "enabled" : "off";
}

/* netns:NAME is /run/netns/NAME; anything else is a path as for enroll. */
static int workload_path(const char *arg, char *buf, size_t len)
{
	if (strncmp(arg, "netns:", 6) == 0) {
		if (!arg[6] || strchr(arg + 6, '/')) {
			fprintf(stderr, "kmeshctl: %s: expected netns:NAME with a name from 'ip netns list'\n",
				arg);
			return -EINVAL;
		}
		if (snprintf(buf, len, "/run/netns/%s", arg + 6) >= (int)len)
			return -ENAMETOOLONG;
		return 0;
	}
	if (snprintf(buf, len, "%s", arg) >= (int)len) {
		fprintf(stderr, "kmeshctl: %s: path too long\n", arg);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int sockmap_set(const char *pin_root, bool json, const char *arg,
		   __u32 flags)
{
	struct km_err err = {};
	char path[KM_PATH_MAX];
	int ret, n;

	if (workload_path(arg, path, sizeof(path)))
		return 2;
	if (!km_sockmap_loaded(pin_root)) {
		fprintf(stderr, "kmeshctl: sockmap is not loaded under %s: start kmeshd with --sockmap\n",
			pin_root);
		return 1;
	}
	ret = km_sockmap_set(pin_root, path, flags, &err);
	if (ret == -ENOENT && !flags && strstr(err.msg, "No such file")) {
		/* The cgroup or netns is gone: disable by the recorded path. */
		n = km_sockmap_workloads(pin_root, rows, KM_SM_MAX_WORKLOADS);
		for (int i = 0; i < n; i++) {
			if (strcmp(rows[i].w.path, path) == 0) {
				fprintf(stderr, "kmeshctl: %s is gone; use its id with a new path\n",
					path);
				break;
			}
		}
	}
	if (ret) {
		fprintf(stderr, "kmeshctl: %s\n", err.msg);
		return 1;
	}
	if (json)
		printf("{\"sockmap\": \"%s\", \"path\": \"%s\"}\n", flags_str(flags), path);
	else
		printf("sockmap %s for %s%s\n", flags_str(flags), path,
		       flags ? " (connections established from now on)" :
			       " (joined connections stay joined until they close)");
	return 0;
}

void km_ctl_sockmap_show(struct ctl_out *o, const char *pin_root)
{
	struct km_sm_status st;
	int n;

	km_sockmap_status(pin_root, &st);
	out_obj(o, "sockmap", NULL);
	out_bool(o, "loaded", st.loaded);
	if (!st.loaded)
		out_text(o, "sockmap:     not loaded (kmeshd --sockmap)\n");
	out_i64(o, "joined_sockets",
		st.loaded ? "sockmap:     loaded; %lld sockets joined" : NULL,
		st.joined);
	out_i64(o, "joined_directions", st.loaded ? " (%lld directions)\n" : NULL,
		st.flows);
	out_obj(o, "counters", NULL);
	for (int i = 0; i < KM_SM_CNT_MAX; i++) {
		if (st.loaded)
			out_text(o, "  %-18s ", km_sm_counter_names[i]);
		out_u64(o, km_sm_counter_names[i], st.loaded ? "%llu\n" : NULL,
			st.counters[i]);
	}
	out_end(o, '}');
	out_arr(o, "workloads", NULL);
	n = st.loaded ? km_sockmap_workloads(pin_root, rows, KM_SM_MAX_WORKLOADS) : 0;
	for (int i = 0; i < n; i++) {
		const char *mode = flags_str(rows[i].w.flags);

		out_obj(o, NULL, NULL);
		out_text(o, "  %-10s", mode);
		out_str(o, "kind", " %-6s",
			rows[i].key.kind == KM_ENROLL_NETNS ? "netns" : "cgroup");
		out_u64(o, "id", " %-20llu", rows[i].key.id);
		out_str(o, "path", " %s\n", rows[i].w.path);
		out_str(o, "mode", NULL, mode);
		out_end(o, '}');
	}
	out_end(o, ']');
	out_end(o, '}');
	if (st.loaded && n == 0)
		out_text(o, "  (no workload enabled: 'kmeshctl sockmap enable PATH')\n");
}

static int sockmap_status(const char *pin_root, bool json)
{
	struct ctl_out o;

	out_init(&o, json);
	km_ctl_sockmap_show(&o, pin_root);
	out_done(&o);
	return 0;
}

int km_ctl_sockmap(const char *pin_root, bool json, int argc, char **argv)
{
	static const char use[] =
		"usage: kmeshctl sockmap enable [--accelerate] CGROUP-DIR|NETNS-FILE|netns:NAME\n"
		"       kmeshctl sockmap disable CGROUP-DIR|NETNS-FILE|netns:NAME\n"
		"       kmeshctl sockmap status\n";
	bool accel = false;
	int i = 1;

	if (argc < 1) {
		fputs(use, stderr);
		return 2;
	}
	if (strcmp(argv[0], "status") == 0 && argc == 1)
		return sockmap_status(pin_root, json);
	if (strcmp(argv[0], "enable") == 0) {
		if (i < argc && strcmp(argv[i], "--accelerate") == 0) {
			accel = true;
			i++;
		}
		if (i + 1 != argc || argv[i][0] == '-') {
			fprintf(stderr, "kmeshctl: sockmap enable: expected one workload%s\n",
				i < argc && argv[i][0] == '-' ? ", unknown option" : "");
			fputs(use, stderr);
			return 2;
		}
		return sockmap_set(pin_root, json, argv[i],
			       KM_SM_ENABLED | (accel ? KM_SM_ACCELERATE : 0));
	}
	if (strcmp(argv[0], "disable") == 0) {
		if (argc != 2) {
			fprintf(stderr, "kmeshctl: sockmap disable: expected one workload\n");
			fputs(use, stderr);
			return 2;
		}
		return sockmap_set(pin_root, json, argv[1], 0);
	}
	fprintf(stderr, "kmeshctl: sockmap %s: unknown subcommand or arguments\n", argv[0]);
	fputs(use, stderr);
	return 2;
}

/* sockmap enable|disable|status ... */
int cmd_sockmap(struct ctl *c, int argc, char **argv)
{
	return km_ctl_sockmap(c->pin_root, c->json, argc - 1, argv + 1);
}
