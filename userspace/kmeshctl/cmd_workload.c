// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshctl enroll --namespace NS --workload NAME --service-account SA:
 * the names telemetry gives the enrolled workload's connections
 * (source_workload, source_workload_namespace, source_principal). They
 * live in km_workload, keyed like km_enroll; only userspace reads them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cmd_workload.h"
#include "sys.h"

static int set_name(char *dst, const char *opt, const char *v)
{
	if (strlen(v) >= KM_WL_NAME_MAX) {
		fprintf(stderr, "kmeshctl: enroll %s '%s': longer than %d characters\n",
			opt, v, KM_WL_NAME_MAX - 1);
		return -1;
	}
	/* label values and JSON strings: printable, no quotes to escape */
	for (const char *p = v; *p; p++) {
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f) {
			fprintf(stderr, "kmeshctl: enroll %s '%s': only printable characters without spaces, quotes or backslashes\n",
				opt, v);
			return -1;
		}
	}
	snprintf(dst, KM_WL_NAME_MAX, "%s", v);
	return 0;
}

const char *km_ctl_enroll_args(int argc, char **argv, struct km_workload *w)
{
	const char *path = NULL;

	memset(w, 0, sizeof(*w));
	for (int i = 0; i < argc; i++) {
		char *dst = strcmp(argv[i], "--namespace") == 0 ? w->namespace_ :
			    strcmp(argv[i], "--workload") == 0 ? w->workload :
			    strcmp(argv[i], "--service-account") == 0 ? w->service_account :
			    NULL;

		if (dst && i + 1 < argc) {
			if (set_name(dst, argv[i], argv[i + 1]))
				return NULL;
			i++;
		} else if (dst || argv[i][0] == '-' || path) {
			fprintf(stderr, "kmeshctl: enroll: unexpected '%s' (PATH [--namespace NS] [--workload NAME] [--service-account SA])\n",
				argv[i]);
			return NULL;
		} else {
			path = argv[i];
		}
	}
	if (!path)
		fprintf(stderr, "kmeshctl: enroll: PATH missing\n");
	return path;
}

static int open_pinned(const char *pin_root, const char *name, bool quiet)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0 && !quiet)
		fprintf(stderr, "kmeshctl: %s: %s (a kmeshd with telemetry has not run)\n",
			path, strerror(errno));
	return fd;
}

/* Names of enrollments that no longer exist go too. */
static void prune(int wl, int enroll)
{
	struct km_enroll_key k, next;
	struct km_enroll v;
	bool first = true;

	while (bpf_map_get_next_key(wl, first ? NULL : &k, &next) == 0) {
		first = false;
		k = next;
		if (bpf_map_lookup_elem(enroll, &k, &v) && errno == ENOENT &&
		    bpf_map_delete_elem(wl, &k) == 0)
			first = true;	/* the walk restarts after a delete */
	}
}

int km_ctl_workload_names(const char *pin_root, const char *path,
			  const struct km_workload *w)
{
	struct km_enroll_key k;
	struct km_err err = {};
	int wl, enroll, ret = 0;
	bool named = w && (w->namespace_[0] || w->workload[0] ||
			   w->service_account[0]);

	/* a kmesh without telemetry: only names need the map */
	wl = open_pinned(pin_root, "km_workload", !named);
	if (wl < 0)
		return named ? 1 : 0;
	enroll = open_pinned(pin_root, "km_enroll", false);
	if (enroll < 0) {
		close(wl);
		return 1;
	}
	if (path && km_resolve_enroll(path, &k, &err) == 0) {
		if (named && bpf_map_update_elem(wl, &k, w, BPF_ANY)) {
			fprintf(stderr, "kmeshctl: naming %s: %s\n", path, strerror(errno));
			ret = 1;
		} else if (!named) {
			bpf_map_delete_elem(wl, &k);
		}
	}
	prune(wl, enroll);
	close(enroll);
	close(wl);
	return ret;
}
