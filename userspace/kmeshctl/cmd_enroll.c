// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshctl enroll, unenroll: route a workload (a cgroup or a netns) or stop. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "ctl.h"
#include "cmd_workload.h"
#include "bpf_loader.h"
#include "json.h"
#include "sys.h"

#define KM_STR_(x) #x
#define KM_STR(x) KM_STR_(x)

/* Rows whose cgroup is gone (or whose netns path now names another netns)
 * route nobody and would fill the table: removed, and said so. */
static bool prune_enroll(struct ctl *c, struct enroll_row *rows, int n,
			 const char *canon, struct km_enroll_key *pruned)
{
	bool same = false;

	for (int i = 0; i < n; i++) {
		char rec[PATH_MAX];

		if (km_enroll_alive(&rows[i].k, rows[i].v.path) ||
		    bpf_map_delete_elem(c->maps.enroll, &rows[i].k))
			continue;
		fprintf(stderr, "kmeshctl: pruned a stale enrollment: %s %s (id %llu) is gone\n",
			enroll_kind(rows[i].k.kind), rows[i].v.path,
			(unsigned long long)rows[i].k.id);
		km_enroll_canon(rows[i].v.path, rec, sizeof(rec));
		if (strcmp(rec, canon) == 0) {
			*pruned = rows[i].k;
			same = true;
		}
	}
	return same;
}

/* Enrollment checks cgroup levels 1 to KM_MAX_CGROUP_DEPTH - 1 (BPF loops
 * are bounded): a deeper cgroup's children would not be routed. */
static int check_cgroup_level(const char *canon)
{
	int level = km_cgroup_level(canon);

	if (level < KM_MAX_CGROUP_DEPTH)
		return 0;
	fprintf(stderr, "kmeshctl: %s is at cgroup level %d: kmesh matches enrolled cgroups at levels 1-%d only (BPF loops are bounded); enroll an ancestor at level %d or above\n",
		canon, level, KM_MAX_CGROUP_DEPTH - 1, KM_MAX_CGROUP_DEPTH - 1);
	return 1;
}

static int enroll(struct ctl *c, const char *path, bool add)
{
	static struct enroll_row rows[KM_MAX_ENROLL];
	struct km_enroll_key k;
	struct km_enroll v = {};
	struct km_err err = {};
	char canon[PATH_MAX];
	struct km_enroll_key gone;
	bool pruned;
	int ret, n;

	if (open_maps(c))
		return 1;
	km_enroll_canon(path, canon, sizeof(canon));
	if (strlen(canon) >= sizeof(v.path)) {
		fprintf(stderr, "kmeshctl: %s: path longer than %d characters\n",
			canon, KM_PATH_MAX - 1);
		return 1;
	}
	n = list_enroll(c, rows, KM_MAX_ENROLL);
	pruned = prune_enroll(c, rows, n, canon, &gone);
	ret = km_resolve_enroll(path, &k, &err);
	if (!add && pruned && (ret || bpf_map_lookup_elem(c->maps.enroll, &k, &v))) {
		/* what was enrolled at this path is gone, and so its row */
		k = gone;
		goto done;
	}
	if (ret && !add && ret == -ENOENT) {
		/* The cgroup or netns is gone: unenroll by the recorded path,
		 * in any spelling. */
		for (int i = 0; i < n; i++) {
			char rec[PATH_MAX];

			km_enroll_canon(rows[i].v.path, rec, sizeof(rec));
			if (strcmp(rec, canon) == 0) {
				k = rows[i].k;
				ret = 0;
			}
		}
		if (ret) {
			fprintf(stderr, "kmeshctl: %s is not enrolled (and does not exist)\n",
				canon);
			return 1;
		}
	}
	if (ret)
		return die_err(&err);
	if (add && k.kind == KM_ENROLL_CGROUP && check_cgroup_level(canon))
		return 1;
	if (add) {
		snprintf(v.path, sizeof(v.path), "%s", canon);
		if (bpf_map_update_elem(c->maps.enroll, &k, &v, BPF_ANY)) {
			fprintf(stderr, "kmeshctl: enrolling %s: %s%s\n", canon, strerror(errno),
				errno == E2BIG ? " (enrollment table full: " KM_STR(KM_MAX_ENROLL) " cgroups and netns at most)" : "");
			return 1;
		}
	} else if (bpf_map_delete_elem(c->maps.enroll, &k)) {
		fprintf(stderr, "kmeshctl: %s is not enrolled\n", canon);
		return 1;
	}
done:
	if (c->json) {
		struct km_json j;

		km_json_init(&j, stdout);
		km_json_obj(&j, NULL);
		km_json_str(&j, "action", add ? "enrolled" : "unenrolled");
		km_json_str(&j, "kind", enroll_kind(k.kind));
		km_json_u64(&j, "id", k.id);
		km_json_str(&j, "path", canon);
		km_json_end(&j, '}');
	} else {
		printf("%s %s %s (id %llu)\n", add ? "enrolled" : "unenrolled",
		       enroll_kind(k.kind), canon, (unsigned long long)k.id);
	}
	return 0;
}

/* enroll PATH [--namespace NS] [--workload NAME] [--service-account SA],
 * unenroll PATH; the names are telemetry's (cmd_workload.c) */
int cmd_enroll(struct ctl *c, int argc, char **argv)
{
	bool add = argv[0][0] == 'e';
	struct km_workload w;
	const char *path = km_ctl_enroll_args(argc - 1, argv + 1, &w);
	int ret;

	if (!path)
		return 2;
	ret = enroll(c, path, add);
	if (!ret)
		ret = km_ctl_workload_names(c->pin_root, path, add ? &w : NULL);
	return ret;
}
