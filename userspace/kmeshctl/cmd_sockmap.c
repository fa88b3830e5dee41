// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "sockmap.h"
#include "cmd_sockmap.h"
#include "ctl.h"
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

void km_ctl_sockmap_json(struct km_json *j, const char *pin_root)
{
	struct km_sm_status st;
	int n;

	km_sockmap_status(pin_root, &st);
	km_json_obj(j, "sockmap");
	km_json_bool(j, "loaded", st.loaded);
	km_json_i64(j, "joined_sockets", st.joined);
	km_json_i64(j, "joined_directions", st.flows);
	km_json_obj(j, "counters");
	for (int i = 0; i < KM_SM_CNT_MAX; i++)
		km_json_u64(j, km_sm_counter_names[i], st.counters[i]);
	km_json_end(j, '}');
	km_json_arr(j, "workloads");
	n = st.loaded ? km_sockmap_workloads(pin_root, rows, KM_SM_MAX_WORKLOADS) : 0;
	for (int i = 0; i < n; i++) {
		km_json_obj(j, NULL);
		km_json_str(j, "kind", rows[i].key.kind == KM_ENROLL_NETNS ? "netns" : "cgroup");
		km_json_u64(j, "id", rows[i].key.id);
		km_json_str(j, "path", rows[i].w.path);
		km_json_str(j, "mode", flags_str(rows[i].w.flags));
		km_json_end(j, '}');
	}
	km_json_end(j, ']');
	km_json_end(j, '}');
}

void km_ctl_sockmap_text(const char *pin_root)
{
	struct km_sm_status st;
	int n;

	km_sockmap_status(pin_root, &st);
	if (!st.loaded) {
		printf("sockmap:     not loaded (kmeshd --sockmap)\n");
		return;
	}
	printf("sockmap:     loaded; %d sockets joined (%d directions)\n",
	       st.joined, st.flows);
	for (int i = 0; i < KM_SM_CNT_MAX; i++)
		printf("  %-18s %llu\n", km_sm_counter_names[i],
		       (unsigned long long)st.counters[i]);
	n = km_sockmap_workloads(pin_root, rows, KM_SM_MAX_WORKLOADS);
	for (int i = 0; i < n; i++)
		printf("  %-10s %-6s %-20llu %s\n", flags_str(rows[i].w.flags),
		       rows[i].key.kind == KM_ENROLL_NETNS ? "netns" : "cgroup",
		       (unsigned long long)rows[i].key.id, rows[i].w.path);
	if (n == 0)
		printf("  (no workload enabled: 'kmeshctl sockmap enable PATH')\n");
}

static int sockmap_status(const char *pin_root, bool json)
{
	if (json) {
		struct km_json j;

		km_json_init(&j, stdout);
		km_json_obj(&j, NULL);
		km_ctl_sockmap_json(&j, pin_root);
		km_json_end(&j, '}');
	} else {
		km_ctl_sockmap_text(pin_root);
	}
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
