// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmesh-cni: a chained CNI plugin (spec 0.4.0, 1.0.0, 1.1.0) that has kmeshd
 * enroll each pod's network namespace. ADD passes the previous result
 * through unchanged once kmeshd has answered; it fails, with the reason, if
 * kmeshd cannot be asked or refuses, unless the network config says
 * "failOpen": true. DEL unenrolls and succeeds when there is nothing to
 * undo. CHECK asks kmeshd whether the pod is enrolled. STATUS says whether
 * kmeshd answers. GC drops the enrollments of containers the runtime no
 * longer has. Config keys: docs/deploy.md. `kmesh-cni install` puts it on
 * a node (install.c).
 *
 * JSON through libjansson: small, in Debian with a static archive (the
 * image's static binaries), and its parse errors carry line and column.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "control_client.h"
#include "install.h"

#define KM_CNI_SOCK "/run/kmesh/" KM_CONTROL_SOCK
#define KM_CNI_TIMEOUT_MS 10000

/* CNI's well-known error codes */
enum {
	CNI_ERR_VERSION = 1,
	CNI_ERR_ENV = 4,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,
	CNI_ERR_AGAIN = 11,
	CNI_ERR_UNAVAILABLE = 50,
	CNI_ERR_KMESH = 100,	/* kmeshd refused */
};

static const char *const supported[] = { "0.4.0", "1.0.0", "1.1.0" };

struct cni {
	const char *cmd, *netns, *cid;
	char ns[256], pod[256];	/* from CNI_ARGS */
	json_t *conf;
	const char *version, *sock, *default_ns;
	bool fail_open;
	int timeout_ms;
};

static int cni_error(const struct cni *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The error result on stdout (the runtime reads it), a copy on stderr. */
static int cni_error(const struct cni *c, int code, const char *fmt, ...)
{
	char msg[1024];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s,s:i,s:s}", "cniVersion",
		      c->version ? c->version : supported[2], "code", code, "msg", msg);
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
	fprintf(stderr, "kmesh-cni: %s %s: %s\n", c->cmd ? c->cmd : "", c->cid ? c->cid : "", msg);
	return 1;
}

static int version(void)
{
	json_t *v = json_array();

	for (size_t i = 0; i < sizeof(supported) / sizeof(*supported); i++)
		json_array_append_new(v, json_string(supported[i]));
	json_dumpf(json_pack("{s:s,s:o}", "cniVersion", supported[2],
			     "supportedVersions", v), stdout, JSON_COMPACT);
	putchar('\n');
	return 0;
}

/* CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod;..." */
static void parse_args(struct cni *c, const char *args)
{
	const char *p = args;

	while (p && *p) {
		const char *end = strchr(p, ';'), *eq = strchr(p, '=');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (eq && eq < p + len) {
			size_t kl = eq - p, vl = len - kl - 1;

			if (kl == 17 && !strncmp(p, "K8S_POD_NAMESPACE", kl))
				snprintf(c->ns, sizeof(c->ns), "%.*s", (int)vl, eq + 1);
			else if (kl == 12 && !strncmp(p, "K8S_POD_NAME", kl))
				snprintf(c->pod, sizeof(c->pod), "%.*s", (int)vl, eq + 1);
		}
		p = end ? end + 1 : NULL;
	}
}

static bool supported_version(const char *v)
{
	for (size_t i = 0; i < sizeof(supported) / sizeof(*supported); i++)
		if (!strcmp(v, supported[i]))
			return true;
	return false;
}

/* The network config on stdin: its keys and ours. */
static int read_conf(struct cni *c)
{
	json_error_t jerr;
	json_t *fo, *to;

	c->conf = json_loadf(stdin, 0, &jerr);
	if (!c->conf)
		return cni_error(c, CNI_ERR_DECODE, "decoding the network config on stdin: line %d, column %d: %s",
				 jerr.line, jerr.column, jerr.text);
	if (!json_is_object(c->conf))
		return cni_error(c, CNI_ERR_DECODE, "the network config is not a JSON object");
	c->version = json_string_value(json_object_get(c->conf, "cniVersion"));
	if (!c->version)
		return cni_error(c, CNI_ERR_CONFIG, "the network config has no cniVersion");
	if (!supported_version(c->version)) {
		const char *v = c->version;

		c->version = NULL;
		return cni_error(c, CNI_ERR_VERSION, "incompatible CNI version %s: kmesh-cni supports 0.4.0, 1.0.0 and 1.1.0", v);
	}
	fo = json_object_get(c->conf, "failOpen");
	to = json_object_get(c->conf, "timeoutMs");
	c->sock = json_string_value(json_object_get(c->conf, "socket")) ?: KM_CNI_SOCK;
	c->default_ns = json_string_value(json_object_get(c->conf, "defaultNamespace"));
	if (fo && !json_is_boolean(fo))
		return cni_error(c, CNI_ERR_CONFIG, "failOpen must be true or false");
	c->fail_open = json_is_true(fo);
	c->timeout_ms = to ? (int)json_integer_value(to) : KM_CNI_TIMEOUT_MS;
	if (to && (!json_is_integer(to) || c->timeout_ms < 100 || c->timeout_ms > 300000))
		return cni_error(c, CNI_ERR_CONFIG, "timeoutMs must be an integer from 100 to 300000");
	if (!c->ns[0] && c->default_ns)
		snprintf(c->ns, sizeof(c->ns), "%s", c->default_ns);
	return 0;
}

static const char *pod_name(const struct cni *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", c->ns[0] ? c->ns : "?", c->pod[0] ? c->pod : "?");
	return buf;
}

/* The request about this pod. */
static json_t *pod_req(const struct cni *c, const char *op)
{
	json_t *r = json_pack("{s:s,s:s,s:b}", "op", op, "container_id", c->cid ?: "",
			      "policy", 1);

	if (c->netns && *c->netns)
		json_object_set_new(r, "path", json_string(c->netns));
	if (c->ns[0])
		json_object_set_new(r, "namespace", json_string(c->ns));
	if (c->pod[0])
		json_object_set_new(r, "workload", json_string(c->pod));
	return r;
}

/*
 * Sends @req to kmeshd. 0 with *reply when kmeshd answered ok; else an
 * error code (the CNI code to fail with) and @why says why.
 */
static int call(const struct cni *c, json_t *req, json_t **reply, char *why, size_t len)
{
	struct km_err err = {};
	int ret = km_control_call(c->sock, req, c->timeout_ms, reply, &err);

	json_decref(req);
	if (ret) {
		snprintf(why, len, "%s", err.msg);
		return CNI_ERR_AGAIN;
	}
	if (json_is_true(json_object_get(*reply, "ok")))
		return 0;
	snprintf(why, len, "kmeshd refused: %s",
		 json_string_value(json_object_get(*reply, "error")) ?: "no reason given");
	json_decref(*reply);
	*reply = NULL;
	return CNI_ERR_KMESH;
}

/* A failure; with failOpen, said on stderr and not a failure. */
static int failed(const struct cni *c, int code, const char *what, const char *why)
{
	char pod[600];

	if (!c->fail_open)
		return cni_error(c, code, "%s pod %s: %s (failOpen is off: the pod does not start unmeshed)",
				 what, pod_name(c, pod, sizeof(pod)), why);
	fprintf(stderr, "kmesh-cni: %s pod %s: %s; failOpen: going on without kmesh\n",
		what, pod_name(c, pod, sizeof(pod)), why);
	return -1;
}

static int print_prev(const struct cni *c)
{
	json_dumpf(json_object_get(c->conf, "prevResult"), stdout, JSON_COMPACT);
	putchar('\n');
	return 0;
}

static int need_env(const struct cni *c, bool netns)
{
	if (!c->cid || !*c->cid)
		return cni_error(c, CNI_ERR_ENV, "CNI_CONTAINERID is not set");
	if (netns && (!c->netns || !*c->netns))
		return cni_error(c, CNI_ERR_ENV, "CNI_NETNS is not set");
	if (netns && !json_is_object(json_object_get(c->conf, "prevResult")))
		return cni_error(c, CNI_ERR_CONFIG, "no prevResult: kmesh-cni is a chained plugin, list it after the plugin that makes the interface (e.g. bridge)");
	return 0;
}

static int cmd_add(const struct cni *c)
{
	char why[1100], pod[600];
	json_t *reply;
	int code;

	if (need_env(c, true))
		return 1;
	code = call(c, pod_req(c, "enroll"), &reply, why, sizeof(why));
	if (code)
		return failed(c, code, "enrolling", why) > 0 ? 1 : print_prev(c);
	if (!strcmp(json_string_value(json_object_get(reply, "action")) ?: "", "skipped"))
		fprintf(stderr, "kmesh-cni: pod %s not enrolled: %s\n", pod_name(c, pod, sizeof(pod)),
			json_string_value(json_object_get(reply, "reason")) ?: "");
	json_decref(reply);
	return print_prev(c);
}

/* Nothing left undone stops a pod's removal: an unreachable kmeshd prunes
 * the stale netns when it starts. */
static int cmd_del(const struct cni *c)
{
	char why[1100], pod[600];
	json_t *reply, *req;
	int code;

	if (need_env(c, false))
		return 1;
	req = pod_req(c, "unenroll");
	json_object_set_new(req, "missing_ok", json_true());
	code = call(c, req, &reply, why, sizeof(why));
	if (code == CNI_ERR_AGAIN) {
		fprintf(stderr, "kmesh-cni: DEL pod %s: %s; kmeshd prunes the enrollment when it starts\n",
			pod_name(c, pod, sizeof(pod)), why);
		return 0;
	}
	if (code)
		return cni_error(c, code, "unenrolling pod %s: %s", pod_name(c, pod, sizeof(pod)), why);
	json_decref(reply);
	return 0;
}

static int cmd_check(const struct cni *c)
{
	char why[1100];
	json_t *reply;
	int code;

	if (need_env(c, true))
		return 1;
	code = call(c, pod_req(c, "check"), &reply, why, sizeof(why));
	if (code)
		return failed(c, code, "checking", why) > 0 ? 1 : 0;
	json_decref(reply);
	return 0;
}

static int cmd_status(const struct cni *c)
{
	char why[1100];
	json_t *reply;
	int code;

	code = call(c, json_pack("{s:s}", "op", "status"), &reply, why, sizeof(why));
	if (!code) {
		json_decref(reply);
		return 0;
	}
	if (c->fail_open) {
		fprintf(stderr, "kmesh-cni: STATUS: %s; failOpen: available anyway\n", why);
		return 0;
	}
	return cni_error(c, CNI_ERR_UNAVAILABLE, "kmesh is not available: %s", why);
}

/* GC (1.1): cni.dev/valid-attachments lists the containers still there */
static int cmd_gc(const struct cni *c)
{
	json_t *valid = json_array(), *att, *reply;
	char why[1100];
	size_t i;
	int code;

	json_array_foreach(json_object_get(c->conf, "cni.dev/valid-attachments"), i, att) {
		const char *id = json_string_value(json_object_get(att, "containerID"));

		if (id)
			json_array_append_new(valid, json_string(id));
	}
	code = call(c, json_pack("{s:s,s:o}", "op", "gc", "valid", valid), &reply, why, sizeof(why));
	if (code == CNI_ERR_AGAIN) {
		fprintf(stderr, "kmesh-cni: GC: %s; kmeshd prunes stale enrollments when it starts\n", why);
		return 0;
	}
	if (code)
		return cni_error(c, code, "GC: %s", why);
	json_decref(reply);
	return 0;
}

int main(int argc, char **argv)
{
	struct cni c = {
		.cmd = getenv("CNI_COMMAND"),
		.netns = getenv("CNI_NETNS"),
		.cid = getenv("CNI_CONTAINERID"),
	};
	int ret;

	if (argc > 1 && !strcmp(argv[1], "install"))
		return km_cni_install(argc - 1, argv + 1);
	if (argc > 1 || !c.cmd) {
		fprintf(stderr, "kmesh-cni %s: a CNI plugin, run by the container runtime with CNI_COMMAND set (docs/deploy.md)\n",
			KMESH_VERSION);
		return argc > 1 && !strcmp(argv[1], "--version") ? 0 :
		       cni_error(&c, CNI_ERR_ENV, "CNI_COMMAND is not set");
	}
	if (!strcmp(c.cmd, "VERSION"))
		return version();
	parse_args(&c, getenv("CNI_ARGS"));
	if (read_conf(&c))
		ret = 1;
	else if (!strcmp(c.cmd, "ADD"))
		ret = cmd_add(&c);
	else if (!strcmp(c.cmd, "DEL"))
		ret = cmd_del(&c);
	else if (!strcmp(c.cmd, "CHECK"))
		ret = cmd_check(&c);
	else if (!strcmp(c.cmd, "STATUS"))
		ret = cmd_status(&c);
	else if (!strcmp(c.cmd, "GC"))
		ret = cmd_gc(&c);
	else
		ret = cni_error(&c, CNI_ERR_ENV, "unknown CNI_COMMAND '%s' (ADD, DEL, CHECK, STATUS, GC, VERSION)", c.cmd);
	json_decref(c.conf);
	return ret;
}
