// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshctl: look at and steer the kmesh data plane through its pinned maps.
 * Works whether or not kmeshd is running: the kernel state is the truth.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "bpf_loader.h"
#include "json.h"
#include "kmod.h"
#include "strmap.h"
#include "maps.h"
#include "sockmap_cmd.h"
#include "sys.h"

#define KM_STATE_FILE "/run/kmesh/kmeshd.state"

struct ctl {
	const char *pin_root;
	const char *state_file;
	bool json;
	struct km_maps maps;
	struct km_gen gen;
};

static int die_err(const struct km_err *err)
{
	fprintf(stderr, "kmeshctl: %s\n", err->msg);
	return 1;
}

static int open_maps(struct ctl *c)
{
	struct km_err err = {};
	int ret = km_maps_open(c->pin_root, &c->maps, &err);

	if (ret)
		return die_err(&err);
	if (km_maps_read_gen(&c->maps, &c->gen)) {
		fprintf(stderr, "kmeshctl: reading km_gen: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static const char *addr_str(const struct km_addr *a, char *buf, size_t len)
{
	struct km_ip ip = { .addr = *a };

	ip.family = a->w[0] == 0 && a->w[1] == 0 && a->w[2] == htonl(0xffff) ?
		    KM_FAMILY_INET : KM_FAMILY_INET6;
	return km_ip_str(&ip, buf, len);
}

static const char *hostport(const struct km_addr *a, __be16 port, char *buf,
			    size_t len)
{
	char ip[64];
	bool v6 = !(a->w[0] == 0 && a->w[1] == 0 && a->w[2] == htonl(0xffff));

	addr_str(a, ip, sizeof(ip));
	snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", ip, ntohs(port));
	return buf;
}

static void name_of(struct ctl *c, __u8 kind, __u32 id, char *buf, size_t len)
{
	struct km_name_key k = { .id = id, .kind = kind, .slot = c->gen.slot };
	struct km_name v;

	if (bpf_map_lookup_elem(c->maps.names, &k, &v) == 0)
		snprintf(buf, len, "%s", v.s);
	else
		snprintf(buf, len, "#%u", id);
}

/* ---- iterate one slot of a config map ------------------------------------ */

/* Calls @fn for each key of @fd whose slot byte equals @slot. */
static int for_each_in_slot(int fd, size_t ksz, size_t slot_off, __u8 slot,
			    void (*fn)(struct ctl *, const void *), struct ctl *c)
{
	char cur[64], prev[64];
	bool first = true;
	int n = 0;

	while (bpf_map_get_next_key(fd, first ? NULL : prev, cur) == 0) {
		first = false;
		memcpy(prev, cur, ksz);
		if ((__u8)cur[slot_off] != slot)
			continue;
		n++;
		if (fn)
			fn(c, cur);
	}
	return n;
}

static int count_slot(int fd, size_t ksz, size_t off, __u8 slot)
{
	return for_each_in_slot(fd, ksz, off, slot, NULL, NULL);
}

/* ---- status -------------------------------------------------------------- */

/* The agent's report (kmeshd.state): "key=value" lines. */
#define KM_STATE_MAX_L7 64

struct agent_state {
	bool present;
	long pid;
	char config[512];
	char last_error[600];
	bool last_ok;
	unsigned long long generation;
	int n_l7;
	char l7[KM_STATE_MAX_L7][KM_NAME_MAX];
	bool l7_router;		/* kmeshd loaded its programs with kmesh.ko */
	char l7_why[600];
};

static void read_state(const char *path, struct agent_state *st)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *v;
	size_t cap = 0;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	if (!f)
		return;
	st->present = true;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		v = strchr(line, '=');
		if (!v)
			continue;
		*v++ = 0;
		if (strcmp(line, "pid") == 0)
			st->pid = strtol(v, NULL, 10);
		else if (strcmp(line, "config") == 0)
			snprintf(st->config, sizeof(st->config), "%s", v);
		else if (strcmp(line, "last_ok") == 0)
			st->last_ok = strcmp(v, "1") == 0;
		else if (strcmp(line, "last_error") == 0)
			snprintf(st->last_error, sizeof(st->last_error), "%s", v);
		else if (strcmp(line, "generation") == 0)
			st->generation = strtoull(v, NULL, 10);
		else if (strcmp(line, "l7") == 0 && st->n_l7 < KM_STATE_MAX_L7)
			snprintf(st->l7[st->n_l7++], KM_NAME_MAX, "%s", v);
		else if (strcmp(line, "l7_router") == 0)
			st->l7_router = strcmp(v, "1") == 0;
		else if (strcmp(line, "l7_why") == 0)
			snprintf(st->l7_why, sizeof(st->l7_why), "%s", v);
	}
	free(line);
	fclose(f);
}

/* kernel.bpf_stats_enabled: run counts and times exist only while set. */
static bool bpf_stats_enabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v != 0;
}

struct enroll_row {
	struct km_enroll_key k;
	struct km_enroll v;
};

static int list_enroll(struct ctl *c, struct enroll_row *rows, int max)
{
	struct km_enroll_key cur, prev;
	bool first = true;
	int n = 0;

	while (n < max && bpf_map_get_next_key(c->maps.enroll, first ? NULL : &prev, &cur) == 0) {
		first = false;
		prev = cur;
		if (bpf_map_lookup_elem(c->maps.enroll, &cur, &rows[n].v) == 0)
			rows[n++].k = cur;
	}
	return n;
}

static const char *enroll_kind(__u32 k)
{
	return k == KM_ENROLL_CGROUP ? "cgroup" : k == KM_ENROLL_NETNS ? "netns" : "?";
}

/* Why HTTP listeners are served as L4 right now, or NULL when kmesh.ko
 * routes them: kmeshd must have loaded its programs with the module (kfunc
 * calls resolve at load time) and deferred connect must be on. */
static const char *l7_as_l4_reason(const struct agent_state *st,
				   const struct km_kmod_info *km)
{
	static char buf[700];

	if (!st->l7_router) {
		snprintf(buf, sizeof(buf), "%s%s", st->l7_why[0] ? st->l7_why :
			 "kmesh.ko was not available when kmeshd loaded its programs",
			 "; load kmesh.ko and restart kmeshd");
		return buf;
	}
	if (!km->genl)
		return "kmesh.ko is not answering";
	if (!km->defer_enabled)
		return "deferred connect is switched off ('kmeshctl module defer on')";
	return NULL;
}

static int cmd_status(struct ctl *c)
{
	struct km_link_status links[16];
	static struct enroll_row rows[KM_MAX_ENROLL];
	static struct agent_state st;
	uint64_t cnt[KM_CNT_MAX];
	struct km_kmod_info km;
	bool running, stats;
	int nl, nfe, ncl, nep, nen;
	const char *l7_why;

	if (open_maps(c))
		return 1;
	read_state(c->state_file, &st);
	running = st.pid > 0 && kill(st.pid, 0) == 0;
	stats = bpf_stats_enabled();
	km_kmod_info(&km);
	nl = km_bpf_links(c->pin_root, links, 16);
	nfe = count_slot(c->maps.frontend, sizeof(struct km_frontend_key),
			 offsetof(struct km_frontend_key, slot), c->gen.slot);
	ncl = count_slot(c->maps.cluster, sizeof(struct km_cluster_key),
			 offsetof(struct km_cluster_key, slot), c->gen.slot);
	nep = count_slot(c->maps.endpoint, sizeof(struct km_endpoint_key),
			 offsetof(struct km_endpoint_key, slot), c->gen.slot);
	nen = list_enroll(c, rows, KM_MAX_ENROLL);
	km_maps_read_counters(&c->maps, cnt);
	l7_why = l7_as_l4_reason(&st, &km);

	if (c->json) {
		struct km_json j;

		km_json_init(&j, stdout);
		km_json_obj(&j, NULL);
		km_json_obj(&j, "agent");
		km_json_bool(&j, "running", running);
		km_json_i64(&j, "pid", running ? st.pid : 0);
		km_json_str(&j, "config", st.present ? st.config : NULL);
		km_json_bool(&j, "last_reload_ok", st.last_ok);
		km_json_str(&j, "last_error", st.last_ok ? NULL : st.last_error);
		km_json_arr(&j, "l7_listeners");
		for (int i = 0; i < st.n_l7; i++)
			km_json_str(&j, NULL, st.l7[i]);
		km_json_end(&j, ']');
		km_json_str(&j, "l7_mode", l7_why ? "l4" : "kernel");
		km_json_str(&j, "l7_reason", l7_why);
		km_json_arr(&j, "l7_served_as_l4");
		for (int i = 0; l7_why && i < st.n_l7; i++)
			km_json_str(&j, NULL, st.l7[i]);
		km_json_end(&j, ']');
		km_json_end(&j, '}');
		km_json_u64(&j, "generation", c->gen.generation);
		km_json_u64(&j, "slot", c->gen.slot);
		km_json_arr(&j, "programs");
		for (int i = 0; i < nl; i++) {
			km_json_obj(&j, NULL);
			km_json_str(&j, "name", links[i].name);
			km_json_u64(&j, "prog_id", links[i].prog_id);
			km_json_u64(&j, "cgroup_id", links[i].cgroup_id);
			km_json_u64(&j, "run_cnt", links[i].run_cnt);
			km_json_u64(&j, "run_time_ns", links[i].run_time_ns);
			km_json_end(&j, '}');
		}
		km_json_end(&j, ']');
		km_json_obj(&j, "maps");
		km_json_str(&j, "pin_root", c->pin_root);
		km_json_u64(&j, "frontends", nfe);
		km_json_u64(&j, "clusters", ncl);
		km_json_u64(&j, "endpoints", nep);
		km_json_u64(&j, "enrolled", nen);
		km_json_end(&j, '}');
		km_json_obj(&j, "module");
		km_json_bool(&j, "loaded", km.loaded);
		km_json_bool(&j, "btf", km.btf);
		km_json_str(&j, "version", km.genl ? km.version : NULL);
		km_json_u64(&j, "abi", km.abi);
		km_json_bool(&j, "defer_enabled", km.defer_enabled);
		km_json_u64(&j, "deferred", km.deferred);
		km_json_u64(&j, "rerouted", km.rerouted);
		km_json_u64(&j, "parse_errors", km.parse_errors);
		km_json_u64(&j, "fallbacks", km.fallbacks);
		km_json_u64(&j, "in_flight", km.in_flight);
		km_json_bool(&j, "l7_data_path", false);
		km_json_end(&j, '}');
		km_json_obj(&j, "bpf_stats");
		km_json_bool(&j, "enabled", stats);
		km_json_end(&j, '}');
		km_json_obj(&j, "counters");
		for (int i = 0; i < KM_CNT_MAX; i++)
			km_json_u64(&j, km_counter_names[i], cnt[i]);
		km_json_end(&j, '}');
		km_ctl_sockmap_json(&j, c->pin_root);
		km_json_arr(&j, "enrolled");
		for (int i = 0; i < nen; i++) {
			km_json_obj(&j, NULL);
			km_json_str(&j, "kind", enroll_kind(rows[i].k.kind));
			km_json_u64(&j, "id", rows[i].k.id);
			km_json_str(&j, "path", rows[i].v.path);
			km_json_end(&j, '}');
		}
		km_json_end(&j, ']');
		km_json_end(&j, '}');
		return 0;
	}

	printf("agent:       %s", running ? "running" : "not running");
	if (running)
		printf(" (pid %ld, config %s)", st.pid, st.config);
	printf("\ngeneration:  %llu (slot %u)\n", (unsigned long long)c->gen.generation,
	       c->gen.slot);
	if (running)
		printf("last reload: %s%s\n", st.last_ok ? "ok" : "REJECTED: ",
		       st.last_ok ? "" : st.last_error);
	if (running && st.n_l7) {
		if (l7_why)
			printf("L7:          HTTP listeners served as L4 to their default route (%s):", l7_why);
		else
			printf("L7:          HTTP listeners routed by kmesh.ko on each connection's first request:");
		for (int i = 0; i < st.n_l7; i++)
			printf(" %s", st.l7[i]);
		putchar('\n');
	}
	printf("programs:\n");
	for (int i = 0; i < nl; i++) {
		printf("  %-18s prog %u on cgroup %llu", links[i].name,
		       links[i].prog_id, (unsigned long long)links[i].cgroup_id);
		if (stats)
			printf(", %llu runs, %llu ns/run", (unsigned long long)links[i].run_cnt,
			       (unsigned long long)(links[i].run_cnt ?
				links[i].run_time_ns / links[i].run_cnt : 0));
		putchar('\n');
	}
	if (nl > 0 && !stats)
		printf("  (run counts: sysctl kernel.bpf_stats_enabled=1)\n");
	if (nl <= 0)
		printf("  (none attached)\n");
	printf("maps:        %s: %d frontends, %d clusters, %d endpoints live; %d enrolled\n",
	       c->pin_root, nfe, ncl, nep, nen);
	if (km.genl)
		printf("module:      kmesh.ko %s (kfunc ABI %u), BTF %s, deferred connect %s\n"
		       "             deferred %llu, rerouted %llu, parse errors %llu, fallbacks %llu, in flight %llu\n",
		       km.version, km.abi, km.btf ? "present" : "ABSENT (kfuncs unusable)",
		       km.defer_enabled ? "on" : "off",
		       (unsigned long long)km.deferred, (unsigned long long)km.rerouted,
		       (unsigned long long)km.parse_errors, (unsigned long long)km.fallbacks,
		       (unsigned long long)km.in_flight);
	else
		printf("module:      kmesh.ko %s\n", km.loaded ? "loaded, netlink family not answering" :
		       "not loaded (L4 only; 'modprobe kmesh' or 'make dkms-install')");
	printf("counters:\n");
	for (int i = 0; i < KM_CNT_MAX; i++)
		printf("  %-18s %llu\n", km_counter_names[i], (unsigned long long)cnt[i]);
	km_ctl_sockmap_text(c->pin_root);
	printf("enrolled:\n");
	for (int i = 0; i < nen; i++)
		printf("  %-6s %-20llu %s\n", enroll_kind(rows[i].k.kind),
		       (unsigned long long)rows[i].k.id, rows[i].v.path);
	if (nen == 0)
		printf("  (none: no workload is routed; see 'kmeshctl enroll')\n");
	return 0;
}

/* ---- dump -------------------------------------------------------------- */

static struct km_json dj;

static void dump_frontend(struct ctl *c, const void *key)
{
	const struct km_frontend_key *k = key;
	struct km_frontend fe;
	char buf[80], name[KM_NAME_MAX];
	__u32 prev = 0;

	if (bpf_map_lookup_elem(c->maps.frontend, k, &fe))
		return;
	hostport(&k->addr, k->port, buf, sizeof(buf));
	name_of(c, KM_NAME_LISTENER, fe.listener_id, name, sizeof(name));
	if (c->json) {
		km_json_obj(&dj, NULL);
		km_json_str(&dj, "address", buf);
		km_json_str(&dj, "listener", name);
		km_json_bool(&dj, "l7_served_as_l4", fe.flags & KM_FE_L7_AS_L4);
		km_json_bool(&dj, "http", fe.flags & KM_FE_L7);
		if (fe.flags & KM_FE_L7)
			km_json_u64(&dj, "route_table", fe.route_id);
		km_json_arr(&dj, "clusters");
	} else if (fe.flags & KM_FE_L7) {
		printf("  %-28s listener %s (HTTP, route table %u; default route) ->",
		       buf, name, fe.route_id);
	} else {
		printf("  %-28s listener %s%s ->", buf, name,
		       fe.flags & KM_FE_L7_AS_L4 ? " (HTTP served as L4)" : "");
	}
	for (int i = 0; i < fe.n_targets && i < KM_MAX_WEIGHTED; i++) {
		__u32 w = fe.targets[i].cum_weight - prev;

		prev = fe.targets[i].cum_weight;
		name_of(c, KM_NAME_CLUSTER, fe.targets[i].cluster_id, name, sizeof(name));
		if (c->json) {
			km_json_obj(&dj, NULL);
			km_json_str(&dj, "name", name);
			km_json_u64(&dj, "weight", w);
			km_json_end(&dj, '}');
		} else {
			printf(" %s", name);
			if (fe.n_targets > 1)
				printf(" (weight %u)", w);
		}
	}
	if (c->json) {
		km_json_end(&dj, ']');
		km_json_end(&dj, '}');
	} else {
		putchar('\n');
	}
}

static void dump_cluster(struct ctl *c, const void *key)
{
	const struct km_cluster_key *k = key;
	struct km_endpoint_key ek = { .cluster_id = k->id, .slot = k->slot };
	struct km_endpoint ep;
	struct km_cluster cl;
	char name[KM_NAME_MAX], buf[80];

	if (bpf_map_lookup_elem(c->maps.cluster, k, &cl))
		return;
	name_of(c, KM_NAME_CLUSTER, k->id, name, sizeof(name));
	if (c->json) {
		km_json_obj(&dj, NULL);
		km_json_str(&dj, "name", name);
		km_json_u64(&dj, "id", k->id);
		km_json_str(&dj, "lb_policy", km_lb_policy_name(cl.lb_policy));
		km_json_bool(&dj, "weighted", cl.weighted);
		km_json_u64(&dj, "priority", cl.priority);
		km_json_u64(&dj, "locality_rank", cl.locality_rank);
		km_json_u64(&dj, "endpoints_configured", cl.n_configured);
		km_json_u64(&dj, "max_connections", cl.max_connections);
		km_json_arr(&dj, "endpoints");
	} else {
		printf("  %s: %s%s, %u of %u endpoints serving (priority %u, locality rank %u)\n",
		       name, km_lb_policy_name(cl.lb_policy), cl.weighted ? " weighted" : "",
		       cl.n_endpoints, cl.n_configured, cl.priority, cl.locality_rank);
	}
	for (__u32 i = 0; i < cl.n_endpoints && i < KM_MAX_CLUSTER_ENDPOINTS; i++) {
		ek.index = i;
		if (bpf_map_lookup_elem(c->maps.endpoint, &ek, &ep))
			continue;
		hostport(&ep.addr, ep.port, buf, sizeof(buf));
		if (c->json) {
			km_json_obj(&dj, NULL);
			km_json_str(&dj, "address", buf);
			km_json_u64(&dj, "weight", ep.weight);
			km_json_str(&dj, "health", km_health_name(ep.health));
			km_json_end(&dj, '}');
		} else {
			printf("    %-28s weight %u %s\n", buf, ep.weight,
			       km_health_name(ep.health));
		}
	}
	if (c->json) {
		km_json_end(&dj, ']');
		km_json_end(&dj, '}');
	}
}

static int cmd_dump(struct ctl *c)
{
	if (open_maps(c))
		return 1;
	km_json_init(&dj, stdout);
	if (c->json) {
		km_json_obj(&dj, NULL);
		km_json_u64(&dj, "generation", c->gen.generation);
		km_json_arr(&dj, "frontends");
	} else {
		printf("generation %llu\nfrontends:\n", (unsigned long long)c->gen.generation);
	}
	for_each_in_slot(c->maps.frontend, sizeof(struct km_frontend_key),
			 offsetof(struct km_frontend_key, slot), c->gen.slot,
			 dump_frontend, c);
	if (c->json) {
		km_json_end(&dj, ']');
		km_json_arr(&dj, "clusters");
	} else {
		printf("clusters:\n");
	}
	for_each_in_slot(c->maps.cluster, sizeof(struct km_cluster_key),
			 offsetof(struct km_cluster_key, slot), c->gen.slot,
			 dump_cluster, c);
	if (c->json) {
		km_json_end(&dj, ']');
		km_json_end(&dj, '}');
	}
	return 0;
}

/* ---- config (xDS) ------------------------------------------------------- */

static int cmd_config(struct ctl *c)
{
	static const char *const types[] = { "cds", "eds", "lds", "rds" };
	static const char *const general[] = { "server", "mode", "connected", "node_id",
		"reconnects", "last_error", "skipped_filters", "skipped_typed_configs",
		"skipped_chains", "skipped_listeners",
		"last_response_bytes", "last_response_ms" };
	static const char *const fields[] = { "version", "nonce", "resources", "acks",
		"nacks", "last_nack" };
	struct km_strmap st = {};
	FILE *f = fopen(c->state_file, "re");
	char *line = NULL, key[64], *v;
	const char *val[6];
	size_t cap = 0, i = 0;
	struct km_json j;
	const char *k;
	void *pv;
	ssize_t n;
	int err;

	if (!f) {
		fprintf(stderr, "kmeshctl: %s: %s (is kmeshd running?)\n", c->state_file,
			strerror(errno));
		return 1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		if (strncmp(line, "xds_", 4) == 0 && (v = strchr(line, '='))) {
			*v++ = 0;
			free(km_strmap_put(&st, line + 4, strdup(v), &err));
		}
	}
	free(line);
	fclose(f);
	if (c->json) {
		km_json_init(&j, stdout);
		km_json_obj(&j, NULL);
		while (km_strmap_next(&st, &i, &k, &pv))
			km_json_str(&j, k, pv);
		km_json_end(&j, '}');
	} else if (!st.len) {
		printf("kmeshd is not using xDS (its config is a file: see 'kmeshctl status')\n");
	} else {
		for (i = 0; i < sizeof(general) / sizeof(general[0]); i++)
			printf("%-22s %s\n", general[i],
			       (char *)(km_strmap_get(&st, general[i]) ?: ""));
		printf("\n%-5s %-20s %-20s %9s %6s %6s  last NACK\n", "type", "version",
		       "nonce", "resources", "acks", "nacks");
		for (size_t t = 0; t < 4; t++) {
			for (size_t f2 = 0; f2 < 6; f2++) {
				snprintf(key, sizeof(key), "%s_%s", types[t], fields[f2]);
				val[f2] = km_strmap_get(&st, key) ?: "";
			}
			printf("%-5s %-20.20s %-20.20s %9s %6s %6s  %s\n", types[t], val[0],
			       val[1], val[2], val[3], val[4], val[5]);
		}
	}
	for (i = 0; km_strmap_next(&st, &i, &k, &pv);)
		free(pv);
	km_strmap_free(&st);
	return 0;
}

/* ---- module ------------------------------------------------------------ */

static int cmd_module_defer(struct ctl *c, const char *arg)
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

/* ---- enroll ------------------------------------------------------------ */

static int cmd_enroll(struct ctl *c, const char *path, bool add)
{
	static struct enroll_row rows[KM_MAX_ENROLL];
	struct km_enroll_key k;
	struct km_enroll v = {};
	struct km_err err = {};
	int ret, n;

	if (open_maps(c))
		return 1;
	if (strlen(path) >= sizeof(v.path)) {
		fprintf(stderr, "kmeshctl: %s: path longer than %d characters\n",
			path, KM_PATH_MAX - 1);
		return 1;
	}
	ret = km_resolve_enroll(path, &k, &err);
	if (ret && !add && ret == -ENOENT) {
		/* The cgroup or netns is gone: unenroll by the recorded path. */
		n = list_enroll(c, rows, KM_MAX_ENROLL);
		for (int i = 0; i < n; i++) {
			if (strcmp(rows[i].v.path, path) == 0) {
				k = rows[i].k;
				ret = 0;
			}
		}
	}
	if (ret)
		return die_err(&err);
	if (add) {
		snprintf(v.path, sizeof(v.path), "%s", path);
		if (bpf_map_update_elem(c->maps.enroll, &k, &v, BPF_ANY)) {
			fprintf(stderr, "kmeshctl: enrolling %s: %s%s\n", path, strerror(errno),
				errno == E2BIG ? " (enrollment table full)" : "");
			return 1;
		}
	} else if (bpf_map_delete_elem(c->maps.enroll, &k)) {
		fprintf(stderr, "kmeshctl: %s is not enrolled\n", path);
		return 1;
	}
	if (c->json) {
		struct km_json j;

		km_json_init(&j, stdout);
		km_json_obj(&j, NULL);
		km_json_str(&j, "action", add ? "enrolled" : "unenrolled");
		km_json_str(&j, "kind", enroll_kind(k.kind));
		km_json_u64(&j, "id", k.id);
		km_json_str(&j, "path", path);
		km_json_end(&j, '}');
	} else {
		printf("%s %s %s (id %llu)\n", add ? "enrolled" : "unenrolled",
		       enroll_kind(k.kind), path, (unsigned long long)k.id);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kmeshctl [-o text|json] [--pin-root DIR] COMMAND\n"
		"commands:\n"
		"  status            programs, maps, module, config generation, counters, enrollments\n"
		"  dump              frontends, clusters and endpoints as the kernel sees them\n"
		"  enroll PATH       route a workload: a cgroup v2 directory or a netns file\n"
		"                    (/run/netns/NAME, /proc/PID/ns/net)\n"
		"  unenroll PATH     stop routing it\n"
		"  config            the xDS state: connection, versions and nonces per type,\n"
		"                    resource counts, the last NACK and its reason\n"
		"  module defer on|off  switch kmesh.ko's deferred connect (off: L7 served as L4)\n"
		"  sockmap enable [--accelerate] PATH|netns:NAME  join node-local connections of a\n"
		"                    workload (--accelerate: also app<->proxy via REDIRECT 15001/15006)\n"
		"  sockmap disable PATH|netns:NAME   stop joining its new connections\n"
		"  sockmap status    sockmap counters, joined sockets, enabled workloads\n");
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
	const char *cmd;
	int o, ret = 2;

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
	cmd = argv[optind++];
	/* allow `kmeshctl status -o json` too */
	while (optind < argc && strcmp(argv[optind], "-o") == 0 && optind + 1 < argc) {
		c.json = strcmp(argv[optind + 1], "json") == 0;
		optind += 2;
	}
	if (strcmp(cmd, "status") == 0 && optind == argc)
		ret = cmd_status(&c);
	else if (strcmp(cmd, "dump") == 0 && optind == argc)
		ret = cmd_dump(&c);
	else if (strcmp(cmd, "config") == 0 && optind == argc)
		ret = cmd_config(&c);
	else if (strcmp(cmd, "module") == 0 && optind + 2 == argc &&
		 strcmp(argv[optind], "defer") == 0)
		ret = cmd_module_defer(&c, argv[optind + 1]);
	else if (strcmp(cmd, "sockmap") == 0)
		ret = km_ctl_sockmap(c.pin_root, c.json, argc - optind, argv + optind);
	else if ((strcmp(cmd, "enroll") == 0 || strcmp(cmd, "unenroll") == 0) &&
		 optind + 1 == argc)
		ret = cmd_enroll(&c, argv[optind], cmd[0] == 'e');
	else {
		fprintf(stderr, "kmeshctl: bad command line: '%s'%s\n", cmd,
			optind < argc ? " with unexpected arguments" : "");
		usage(stderr);
	}
	km_maps_close(&c.maps);
	return ret;
}
