// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshctl enroll, unenroll, enrollments: through kmeshd's control socket
 * when a kmeshd serves this pin root (it keeps who each enrollment is for),
 * else on the pinned map directly; the same code (dataplane/enroll.c)
 * either way.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "control_client.h"
#include "enroll.h"
#include "ctl.h"
#include "json.h"
#include "maps.h"
#include "sys.h"

#define KM_CTL_TIMEOUT_MS 10000

struct ectl {
	const char *pin_root;
	char sock[PATH_MAX];
	bool json;
};

static void print_note(void *arg, const char *msg)
{
	fprintf(stderr, "kmeshctl: %s\n", msg);
}

static void print_done(const struct ectl *c, const char *action,
		       const char *kind, unsigned long long id, const char *path)
{
	struct km_json j;

	if (!c->json) {
		printf("%s %s %s (id %llu)\n", action, kind, path, id);
		return;
	}
	km_json_init(&j, stdout);
	km_json_obj(&j, NULL);
	km_json_str(&j, "action", action);
	km_json_str(&j, "kind", kind);
	km_json_u64(&j, "id", id);
	km_json_str(&j, "path", path);
	km_json_end(&j, '}');
}

/*
 * Asks kmeshd. Returns 1 with *reply when it answered, 0 when no kmeshd
 * serves this pin root (then the map is changed directly), -1 after saying
 * why it failed.
 */
static int ask(const struct ectl *c, json_t *req, json_t **reply)
{
	struct km_err err = {};
	int ret;

	json_object_set_new(req, "pin_root", json_string(c->pin_root));
	ret = km_control_call(c->sock, req, KM_CTL_TIMEOUT_MS, reply, &err);
	json_decref(req);
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		return 0;
	if (ret) {
		fprintf(stderr, "kmeshctl: %s\n", err.msg);
		return -1;
	}
	if (!json_is_true(json_object_get(*reply, "ok")) &&
	    json_object_get(*reply, "pin_root")) {
		json_decref(*reply);	/* a kmeshd for another pin root */
		return 0;
	}
	return 1;
}

static int answered(const struct ectl *c, json_t *reply)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(reply, "notes"), i, v)
		print_note(NULL, json_string_value(v));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "kmeshctl: %s\n",
			json_string_value(json_object_get(reply, "error")) ?: "kmeshd refused");
		return 1;
	}
	print_done(c, json_string_value(json_object_get(reply, "action")) ?: "?",
		   json_string_value(json_object_get(reply, "kind")) ?: "?",
		   (unsigned long long)json_integer_value(json_object_get(reply, "id")),
		   json_string_value(json_object_get(reply, "path")) ?: "?");
	return 0;
}

static int open_map(const struct ectl *c, struct km_maps *m)
{
	struct km_err err = {};

	memset(m, -1, sizeof(*m));
	if (km_maps_open(c->pin_root, m, &err) == 0)
		return 0;
	fprintf(stderr, "kmeshctl: %s\n", err.msg);
	return 1;
}

/* kmeshd is not running: the same enrollment code, on the maps
 * themselves; the identity (namespace and service account, for
 * authorization) lives in a map too, the workload name only in kmeshd */
static int direct(const struct ectl *c, const char *path, bool add,
		  json_t *req)
{
	const char *ns = json_string_value(json_object_get(req, "namespace"));
	const char *sa = json_string_value(json_object_get(req, "service_account"));
	struct km_enroll_done d;
	struct km_enroll_maps em;
	struct km_err err = {};
	struct km_maps m;
	int ret;

	if (open_map(c, &m))
		return 1;
	if (json_object_get(req, "workload"))
		fprintf(stderr, "kmeshctl: kmeshd is not running: the workload name is not kept\n");
	em = (struct km_enroll_maps){ m.enroll, m.ident };
	ret = km_enroll_apply(&em, path, add, &d, print_note, NULL, &err);
	if (!ret && add)
		ret = km_enroll_ident(&em, &d.k, ns, sa, &err);
	km_maps_close(&m);
	if (ret) {
		fprintf(stderr, "kmeshctl: %s\n", err.msg);
		return 1;
	}
	print_done(c, add ? "enrolled" : "unenrolled", km_enroll_kind_str(d.k.kind),
		   (unsigned long long)d.k.id, d.path);
	return 0;
}

static void init(struct ectl *c, const char *pin_root, const char *state_file,
		 bool json)
{
	c->pin_root = pin_root;
	c->json = json;
	km_control_path_from_state(state_file, c->sock, sizeof(c->sock));
}

/* The path as kmeshd must see it: absolute (kmeshd has its own working
 * directory), and /proc/self as this process. */
static void path_for_kmeshd(const char *path, char *out, size_t len)
{
	if (!strncmp(path, "/proc/self/", 11))
		snprintf(out, len, "/proc/%d/%s", (int)getpid(), path + 11);
	else if (!strncmp(path, "/proc/thread-self/", 18))
		snprintf(out, len, "/proc/%d/%s", (int)getpid(), path + 18);
	else
		km_enroll_canon(path, out, len);
}

/* enroll PATH [--namespace NS] [--workload NAME] [--service-account SA],
 * unenroll PATH */
int cmd_enroll(struct ctl *ctl, int argc, char **argv)
{
	static const char *const keys[][2] = {
		{ "--namespace", "namespace" }, { "--workload", "workload" },
		{ "--service-account", "service_account" },
	};
	bool add = argv[0][0] == 'e';
	const char *arg = NULL;
	char path[PATH_MAX];
	json_t *req, *reply;
	struct ectl c;
	int ret, i, k;

	init(&c, ctl->pin_root, ctl->state_file, ctl->json);
	req = json_pack("{s:s}", "op", add ? "enroll" : "unenroll");
	/* the path, and the options before or after it */
	for (i = 1; i < argc; i++) {
		for (k = 0; k < 3 && strcmp(argv[i], keys[k][0]); k++)
			;
		if (k == 3 && !arg && argv[i][0] != '-') {
			arg = argv[i];
			continue;
		}
		if (k == 3 || i + 1 >= argc || !add) {
			fprintf(stderr, "kmeshctl: %s: unexpected argument '%s' (enroll takes a path and --namespace, --workload, --service-account, each with a value)\n",
				add ? "enroll" : "unenroll", argv[i]);
			json_decref(req);
			return 2;
		}
		json_object_set_new(req, keys[k][1], json_string(argv[++i]));
	}
	if (!arg) {
		fprintf(stderr, "kmeshctl: %s: the path of a cgroup v2 directory or a netns file is missing\n",
			add ? "enroll" : "unenroll");
		json_decref(req);
		return 2;
	}
	if (add && !json_object_get(req, "namespace") !=
		   !json_object_get(req, "service_account"))
		fprintf(stderr, "kmeshctl: enroll: an identity needs both --namespace and --service-account: none is kept\n");
	path_for_kmeshd(arg, path, sizeof(path));
	json_object_set_new(req, "path", json_string(path));
	json_incref(req);	/* ask() drops one reference */
	ret = ask(&c, req, &reply);
	if (ret == 0)
		ret = direct(&c, arg, add, req);
	else if (ret > 0) {
		ret = answered(&c, reply);
		json_decref(reply);
	} else {
		ret = 1;
	}
	json_decref(req);
	return ret;
}

static const char *or_dash(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "-";
}

static int print_list(const struct ectl *c, json_t *arr)
{
	json_t *e;
	size_t i;

	if (c->json) {
		json_t *top = json_pack("{s:O}", "enrollments", arr);

		json_dumpf(top, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(top);
		return 0;
	}
	printf("%-6s %-20s %-24s %-20s %-16s %s\n", "KIND", "ID", "POD", "SERVICE ACCOUNT",
	       "CONTAINER", "PATH");
	json_array_foreach(arr, i, e) {
		char pod[300];

		snprintf(pod, sizeof(pod), "%s/%s", or_dash(e, "namespace"), or_dash(e, "workload"));
		printf("%-6s %-20llu %-24s %-20s %-16.12s %s\n", or_dash(e, "kind"),
		       (unsigned long long)json_integer_value(json_object_get(e, "id")),
		       strcmp(pod, "-/-") ? pod : "-", or_dash(e, "service_account"),
		       or_dash(e, "container_id"), or_dash(e, "path"));
	}
	if (!json_array_size(arr))
		printf("(none)\n");
	return 0;
}

/* kmeshd is not running: the rows, without who they are for */
static int list_direct(const struct ectl *c)
{
	struct km_enroll_row *rows = calloc(KM_MAX_ENROLL, sizeof(*rows));
	json_t *arr = json_array();
	struct km_maps m;
	int n, ret = 1;

	if (rows && !open_map(c, &m)) {
		n = km_enroll_list(m.enroll, rows, KM_MAX_ENROLL);
		for (int i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s,s:I,s:s}",
				"kind", km_enroll_kind_str(rows[i].k.kind),
				"id", (json_int_t)rows[i].k.id, "path", rows[i].v.path));
		km_maps_close(&m);
		ret = print_list(c, arr);
	}
	free(rows);
	json_decref(arr);
	return ret;
}

/* enrollments */
int cmd_enrollments(struct ctl *ctl, int argc, char **argv)
{
	json_t *reply;
	struct ectl c;
	int ret;

	init(&c, ctl->pin_root, ctl->state_file, ctl->json);
	ret = ask(&c, json_pack("{s:s}", "op", "list"), &reply);
	if (ret <= 0)
		return ret < 0 ? 1 : list_direct(&c);
	if (!json_is_true(json_object_get(reply, "ok")))
		ret = answered(&c, reply);
	else
		ret = print_list(&c, json_object_get(reply, "enrollments"));
	json_decref(reply);
	return ret;
}
