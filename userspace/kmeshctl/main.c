// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshctl: look at and steer the kmesh data plane through its pinned maps.
 * Works whether or not kmeshd is running: the kernel state is the truth.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "bpf_loader.h"
#include "explain.h"
#include "json.h"
#include "kmod.h"
#include "strmap.h"
#include "maps.h"
#include "sockmap_cmd.h"
#include "cmd_workload.h"
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
	int open_err;		/* errno of opening the state file */
	bool stopped;		/* kmeshd marked it running=0 on exit */
	long pid;
	char config[512];
	char last_error[600];
	bool last_ok;
	unsigned long long generation;
	int n_l7;
	char l7[KM_STATE_MAX_L7][KM_NAME_MAX];
	bool l7_router;		/* kmeshd loaded its programs with kmesh.ko */
	char l7_why[600];
	char xds_nacked[64];	/* xDS types whose last response was NACKed */
};

static void read_state(const char *path, struct agent_state *st)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *v;
	size_t cap = 0;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	if (!f) {
		st->open_err = errno;
		return;
	}
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
		else if (strcmp(line, "running") == 0)
			st->stopped = strcmp(v, "0") == 0;
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
		else if (!strncmp(line, "xds_", 4) && strlen(line) == 14 &&
			 !strcmp(line + 7, "_nacked") && !strcmp(v, "1"))
			snprintf(st->xds_nacked + strlen(st->xds_nacked),
				 sizeof(st->xds_nacked) - strlen(st->xds_nacked),
				 " %.3s", line + 4);
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

#define KM_STR_(x) #x
#define KM_STR(x) KM_STR_(x)

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
/* False on a kernel kmesh.ko cannot serve: then no advice to load it. */
static bool kernel_takes_kmod(void)
{
	struct utsname u;

	return uname(&u) != 0 ||
	       km_kernel_at_least(u.release, KM_KMOD_MIN_MAJOR, KM_KMOD_MIN_MINOR);
}

static const char *l7_as_l4_reason(const struct agent_state *st,
				   const struct km_kmod_info *km)
{
	static char buf[700];

	if (!st->l7_router) {
		snprintf(buf, sizeof(buf), "%s%s", st->l7_why[0] ? st->l7_why :
			 "kmesh.ko was not available when kmeshd loaded its programs",
			 kernel_takes_kmod() ? "; load kmesh.ko and restart kmeshd" : "");
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
	/* kill(0) answers EPERM for a live process of another user */
	running = !st.stopped && st.pid > 0 &&
		  (kill(st.pid, 0) == 0 || errno == EPERM);
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

	printf("agent:       %s", running ? "running" : st.stopped ?
	       "not running (it stopped; the programs and the generation below keep serving)" :
	       "not running");
	if (running)
		printf(" (pid %ld, config %s)", st.pid, st.config);
	else if (st.open_err == EACCES)
		printf(" (%s: %s: readable by those who may read the config file, as it quotes config errors)",
		       c->state_file, strerror(st.open_err));
	printf("\ngeneration:  %llu (slot %u)\n", (unsigned long long)c->gen.generation,
	       c->gen.slot);
	if (running && st.last_ok && st.xds_nacked[0])
		printf("last reload: ok, but the last xDS response was NACKed for%s (kmeshctl config)\n",
		       st.xds_nacked);
	else if (running)
		printf("last reload: %s%s\n", st.last_ok ? "ok" : "REJECTED: ",
		       st.last_ok ? "" : st.last_error);
	if (running && st.n_l7) {
		if (l7_why)
			printf("L7:          HTTP listeners served as L4 (%s), each address by its L4 target (default route; a port-wide VIP's own virtual host; a sniffed listener's TCP chain):", l7_why);
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
	else if (km.loaded)
		printf("module:      kmesh.ko loaded, netlink family not answering\n");
	else if (kernel_takes_kmod())
		printf("module:      kmesh.ko not loaded (L4 only; 'modprobe kmesh' or 'make dkms-install')\n");
	else
		printf("module:      kmesh.ko not loaded (L4 only: it needs a kernel >= %u.%u)\n",
		       KM_KMOD_MIN_MAJOR, KM_KMOD_MIN_MINOR);
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

/* ---- explain ------------------------------------------------------------- */

/* One HTTP listener of the live slot: a (listener, route table) pair, the
 * smallest of its service addresses, and its default route (fe.targets). */
struct http_fe {
	struct km_frontend fe;
	int n_addrs;
	char name[KM_NAME_MAX];
	char addr[80];
};

#define KM_EXPLAIN_MAX_FES 256

/*
 * The live slot's HTTP frontends whose listener name or address (IP:PORT)
 * is @want (NULL: all), one per (listener, route table). *other counts the
 * @want frontends that are not HTTP (tcp_proxy).
 */
static int find_http_fes(struct ctl *c, const char *want, struct http_fe *out,
			 int *other)
{
	struct km_frontend_key cur, prev;
	bool first = true;
	int n = 0, i;

	while (bpf_map_get_next_key(c->maps.frontend, first ? NULL : &prev, &cur) == 0) {
		struct km_frontend fe;
		char name[KM_NAME_MAX], addr[80];

		first = false;
		prev = cur;
		if (cur.slot != c->gen.slot ||
		    bpf_map_lookup_elem(c->maps.frontend, &cur, &fe))
			continue;
		name_of(c, KM_NAME_LISTENER, fe.listener_id, name, sizeof(name));
		hostport(&cur.addr, cur.port, addr, sizeof(addr));
		if (want && strcmp(want, name) && strcmp(want, addr))
			continue;
		if (!(fe.flags & (KM_FE_L7 | KM_FE_L7_AS_L4))) {
			(*other)++;
			continue;
		}
		for (i = 0; i < n; i++)
			if (out[i].fe.listener_id == fe.listener_id &&
			    out[i].fe.route_id == fe.route_id &&
			    out[i].fe.flags == fe.flags)
				break;
		if (i == KM_EXPLAIN_MAX_FES)
			continue;
		if (i == n) {
			out[n].fe = fe;
			out[n].n_addrs = 0;
			snprintf(out[n].name, sizeof(out[n].name), "%s", name);
			snprintf(out[n].addr, sizeof(out[n].addr), "%s", addr);
			n++;
		}
		/* the smallest address names it, whatever the map order */
		if (strcmp(addr, out[i].addr) < 0)
			snprintf(out[i].addr, sizeof(out[i].addr), "%s", addr);
		out[i].n_addrs++;
	}
	return n;
}

static void print_fes(const struct http_fe *f, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(stderr, "  %s (%s%s, route table %u%s)\n", f[i].name,
			f[i].addr, f[i].n_addrs > 1 ? " and more" : "",
			f[i].fe.route_id,
			f[i].fe.flags & KM_FE_L7 ? "" : ", served as L4");
}

/* The one HTTP frontend @want names, or an error saying why there is none. */
static int pick_http_fe(struct ctl *c, const char *want, struct http_fe *fes,
			struct http_fe **out)
{
	int other = 0, n = find_http_fes(c, want, fes, &other);

	if (n == 1) {
		*out = &fes[0];
		return 0;
	}
	if (n == 0 && want && other) {
		fprintf(stderr, "kmeshctl: explain: listener %s is not HTTP (tcp_proxy): it has no routes to explain\n",
			want);
		return 2;
	}
	if (n == 0) {
		other = 0;
		n = find_http_fes(c, NULL, fes, &other);
		if (want)
			fprintf(stderr, "kmeshctl: explain: no listener or service address '%s' in the live config (generation %llu)%s\n",
				want, (unsigned long long)c->gen.generation,
				n ? "; its HTTP listeners:" : "");
		else
			fprintf(stderr, "kmeshctl: explain: the live config (generation %llu) has no HTTP listener\n",
				(unsigned long long)c->gen.generation);
		print_fes(fes, n);
		return 2;
	}
	if (want && !strcmp(fes[0].name, want))
		fprintf(stderr, "kmeshctl: explain: listener %s serves %d route tables on different ports: give the service address (IP:PORT) instead:\n",
			want, n);
	else
		fprintf(stderr, "kmeshctl: explain: %d HTTP listeners: name one (or a service address IP:PORT):\n",
			n);
	print_fes(fes, n);
	return 2;
}

/* Cluster @id of the live slot: name and serving policy. */
static void explain_cluster(struct ctl *c, struct km_json *j, __u32 id,
			    __u32 weight, __u32 total, const char *label)
{
	struct km_cluster_key k = { .id = id, .slot = c->gen.slot };
	char name[KM_NAME_MAX];
	struct km_cluster cl;
	bool found = bpf_map_lookup_elem(c->maps.cluster, &k, &cl) == 0;

	name_of(c, KM_NAME_CLUSTER, id, name, sizeof(name));
	if (c->json) {
		km_json_obj(j, NULL);
		km_json_str(j, "name", name);
		km_json_u64(j, "id", id);
		km_json_u64(j, "weight", weight);
		km_json_u64(j, "total_weight", total);
		if (found) {
			km_json_str(j, "lb_policy", km_lb_policy_name(cl.lb_policy));
			km_json_u64(j, "endpoints", cl.n_endpoints);
			km_json_u64(j, "endpoints_configured", cl.n_configured);
			km_json_u64(j, "priority", cl.priority);
			km_json_u64(j, "locality_rank", cl.locality_rank);
		}
		km_json_end(j, '}');
		return;
	}
	printf("%-15s%s", label, name);
	if (total > 1)
		printf(", weight %u of %u (%.1f%%)", weight, total,
		       100.0 * weight / total);
	if (!found)
		printf(": MISSING from km_cluster (the kernel refuses such a connection)\n");
	else if (cl.n_endpoints == 0)
		printf(": %s, no usable endpoint of %u (the kernel refuses the connection: ECONNREFUSED)\n",
		       km_lb_policy_name(cl.lb_policy), cl.n_configured);
	else
		printf(": %s%s, %u of %u endpoints serving (priority %u, locality rank %u)\n",
		       km_lb_policy_name(cl.lb_policy), cl.weighted ? " weighted" : "",
		       cl.n_endpoints, cl.n_configured, cl.priority, cl.locality_rank);
}

/* key: the JSON key and, with ':', the text label ("clusters") */
static void explain_targets(struct ctl *c, struct km_json *j, const char *key,
			    const struct km_explain_target *t, unsigned int n,
			    __u32 total)
{
	char label[32];

	snprintf(label, sizeof(label), "%s:", key);
	for (char *p = label; *p; p++)
		if (*p == '_')
			*p = ' ';
	if (c->json)
		km_json_arr(j, key);
	for (unsigned int i = 0; i < n && i < KM_MAX_WEIGHTED; i++)
		explain_cluster(c, j, t[i].cluster_id, t[i].weight, total,
				i == 0 ? label : "");
	if (c->json)
		km_json_end(j, ']');
}

/* A frontend's default route as explain targets. */
static unsigned int default_targets(const struct km_frontend *fe,
				    struct km_explain_target *t)
{
	__u32 prev = 0;
	unsigned int i;

	for (i = 0; i < fe->n_targets && i < KM_MAX_WEIGHTED; i++) {
		t[i].cluster_id = fe->targets[i].cluster_id;
		t[i].weight = fe->targets[i].cum_weight - prev;
		prev = fe->targets[i].cum_weight;
	}
	return i;
}

static const char *const domain_why[] = {
	[KM_RT_DOM_EXACT] = "exact domain",
	[KM_RT_DOM_SUFFIX] = "longest matching suffix wildcard; no exact domain matched",
	[KM_RT_DOM_PREFIX] = "longest matching prefix wildcard; no exact or suffix domain matched",
	[KM_RT_DOM_ANY] = "the default ('*'); no other domain matched",
};

/* A route's match, one matcher per line (text) or array item (JSON). */
static void explain_route_match(struct ctl *c, struct km_json *j,
				const void *t, size_t len, unsigned int vi,
				unsigned int ri, const char *indent)
{
	const struct km_rt_route *r = km_rt_view_route(t, len, vi, ri);
	char buf[KM_RT_STR_MAX * 2 + 64];

	if (!r)
		return;
	km_rt_view_path_text(t, len, r, buf, sizeof(buf));
	if (c->json) {
		km_json_arr(j, "match");
		km_json_str(j, NULL, buf);
	} else {
		printf("%s%s\n", indent, buf);
	}
	for (unsigned int h = 0; h < r->n_headers; h++) {
		const struct km_rt_header_match *m =
			km_rt_view_header(t, len, vi, ri, h);

		if (!m)
			continue;
		km_rt_view_header_text(t, len, m, buf, sizeof(buf));
		if (c->json)
			km_json_str(j, NULL, buf);
		else
			printf("%s%s\n", indent, buf);
	}
	if (c->json)
		km_json_end(j, ']');
}

/* No route: why each route of the virtual host did not match. */
static void explain_no_route(struct ctl *c, struct km_json *j, const void *t,
			     size_t len, const struct km_explain *x)
{
	const struct km_rt_vhost *v = km_rt_view_vhost(t, len, x->res.vhost);
	char name[KM_RT_STR_MAX + 1], buf[KM_RT_STR_MAX * 2 + 64];
	unsigned int n = v ? v->n_routes : 0;

	if (c->json)
		km_json_arr(j, "routes_tried");
	else
		printf("route:         none of its %u routes matches:\n", n);
	for (unsigned int ri = 0; ri < n; ri++) {
		const struct km_rt_route *r = km_rt_view_route(t, len, x->res.vhost, ri);
		__u32 hok = 0;
		bool pok = false, shown;

		if (!r)
			continue;
		km_explain_route_why(t, len, x, ri, &pok, &hok);
		km_rt_view_str(t, len, r->name_off, r->name_len, name, sizeof(name));
		if (c->json) {
			km_json_obj(j, NULL);
			km_json_u64(j, "index", ri);
			km_json_str(j, "name", name[0] ? name : NULL);
			km_json_bool(j, "path_matches", pok);
			km_json_arr(j, "matchers_not_matching");	/* header and query matchers */
		} else {
			printf("  routes[%u]%s%s%s:", ri, name[0] ? " '" : "", name,
			       name[0] ? "'" : "");
		}
		shown = !pok;
		if (!c->json && !pok)
			printf(" %s does not match\n",
			       km_rt_view_path_text(t, len, r, buf, sizeof(buf)));
		for (unsigned int h = 0; h < r->n_headers; h++) {
			const struct km_rt_header_match *m =
				km_rt_view_header(t, len, x->res.vhost, ri, h);

			if (!m || (hok & (1u << h)))
				continue;
			km_rt_view_header_text(t, len, m, buf, sizeof(buf));
			if (c->json)
				km_json_str(j, NULL, buf);
			else
				printf("%s%s does not match\n",
				       shown ? "                 nor " : " ", buf);
			shown = true;
		}
		if (!c->json && !shown)
			printf(" does not match\n");
		if (c->json) {
			km_json_end(j, ']');
			km_json_end(j, '}');
		}
	}
	if (c->json)
		km_json_end(j, ']');
}

/* Each virtual host and its domains, cut to a screenful. */
static void explain_domains(const void *t, size_t len)
{
	const struct km_rt_head *h = km_rt_view_head(t, len);
	char name[KM_RT_STR_MAX + 1], dom[KM_RT_STR_MAX + 2];

	for (unsigned int vi = 0; vi < h->n_vhosts && vi < 16; vi++) {
		const struct km_rt_vhost *v = km_rt_view_vhost(t, len, vi);

		if (!v)
			continue;
		km_rt_view_str(t, len, v->name_off, v->name_len, name, sizeof(name));
		printf("  '%s':", name);
		for (unsigned int di = 0; di < v->n_domains && di < 8; di++) {
			const struct km_rt_domain *d = km_rt_view_domain(t, len, vi, di);

			printf("%s %s", di ? "," : "",
			       d ? km_rt_view_domain_text(t, len, d, dom, sizeof(dom)) : "?");
		}
		if (v->n_domains > 8)
			printf(", ... (%u domains)", v->n_domains);
		putchar('\n');
	}
	if (h->n_vhosts > 16)
		printf("  ... (%u virtual hosts)\n", h->n_vhosts);
}

static const char *domain_kind_key(unsigned int kind)
{
	return kind == KM_RT_DOM_EXACT ? "exact" : kind == KM_RT_DOM_SUFFIX ? "suffix" :
	       kind == KM_RT_DOM_PREFIX ? "prefix" : kind == KM_RT_DOM_ANY ? "any" : "?";
}

static const char *status_name(__u32 s)
{
	return s == KM_ROUTE_MATCHED ? "matched" :
	       s == KM_ROUTE_NO_VHOST ? "no_virtual_host" : "no_route";
}

/* The JSON answer's opening: which generation and listener it explains. */
static void explain_json_open(struct ctl *c, struct km_json *j,
			      const struct http_fe *f)
{
	km_json_init(j, stdout);
	km_json_obj(j, NULL);
	km_json_u64(j, "generation", c->gen.generation);
	km_json_str(j, "listener", f->name);
	km_json_str(j, "address", f->addr);
}

static void explain_print(struct ctl *c, const struct http_fe *f,
			  const void *t, size_t len, const struct km_explain *x,
			  const char *l4_why)
{
	const struct km_rt_head *h = km_rt_view_head(t, len);
	const struct km_rt_vhost *v = NULL;
	const struct km_rt_domain *d = NULL;
	const struct km_rt_route *r = NULL;
	char rc[KM_RT_STR_MAX + 1], vh[KM_RT_STR_MAX + 1], rn[KM_RT_STR_MAX + 1];
	char dom[KM_RT_STR_MAX + 2], line[KM_HTTP_MAX_HEAD + 1];
	struct km_explain_target def[KM_MAX_WEIGHTED];
	unsigned int ndef = default_targets(&f->fe, def);
	struct km_json j;
	char *eol;

	km_rt_view_str(t, len, h->name_off, h->name_len, rc, sizeof(rc));
	vh[0] = rn[0] = dom[0] = 0;
	if (x->res.status != KM_ROUTE_NO_VHOST) {
		v = km_rt_view_vhost(t, len, x->res.vhost);
		if (v)
			km_rt_view_str(t, len, v->name_off, v->name_len, vh, sizeof(vh));
		if (x->domain >= 0)
			d = km_rt_view_domain(t, len, x->res.vhost, x->domain);
		if (d)
			km_rt_view_domain_text(t, len, d, dom, sizeof(dom));
	}
	if (x->res.status == KM_ROUTE_MATCHED) {
		r = km_rt_view_route(t, len, x->res.vhost, x->res.route);
		if (r)
			km_rt_view_str(t, len, r->name_off, r->name_len, rn, sizeof(rn));
	}
	/* the request line, as sent */
	snprintf(line, sizeof(line), "%s", x->head);
	eol = strchr(line, '\r');
	if (eol)
		*eol = 0;

	if (c->json) {
		explain_json_open(c, &j, f);
		km_json_u64(&j, "route_table", f->fe.route_id);
		km_json_str(&j, "route_config", rc[0] ? rc : NULL);
		km_json_obj(&j, "request");
		km_json_str(&j, "request_line", line);
		km_json_str(&j, "host", x->req.host.len ? x->host : NULL);
		km_json_bool(&j, "ignore_port", x->port_ignored);
		km_json_str(&j, "head", x->head);
		km_json_end(&j, '}');
		km_json_str(&j, "result", status_name(x->res.status));
		if (v) {
			km_json_obj(&j, "virtual_host");
			km_json_u64(&j, "index", x->res.vhost);
			km_json_str(&j, "name", vh);
			km_json_str(&j, "domain", d ? dom : NULL);
			km_json_str(&j, "domain_kind", d ? domain_kind_key(d->kind) : NULL);
			km_json_end(&j, '}');
		} else {
			km_json_str(&j, "virtual_host", NULL);
		}
		if (r) {
			km_json_obj(&j, "route");
			km_json_u64(&j, "index", x->res.route);
			km_json_str(&j, "name", rn[0] ? rn : NULL);
			explain_route_match(c, &j, t, len, x->res.vhost, x->res.route, "");
			km_json_end(&j, '}');
			explain_targets(c, &j, "clusters", x->targets, x->n_targets,
					x->total_weight);
		} else {
			km_json_str(&j, "route", NULL);
			if (v)
				explain_no_route(c, &j, t, len, x);
			km_json_arr(&j, "clusters");
			km_json_end(&j, ']');
		}
		km_json_str(&j, "kernel_router", l4_why ? "absent" : "kmesh.ko");
		km_json_str(&j, "kernel_router_reason", l4_why);
		if (l4_why)
			explain_targets(c, &j, "default_route", def, ndef,
					f->fe.total_weight);
		km_json_end(&j, '}');
		return;
	}

	printf("listener:      %s (%s%s), route table %u, route config %s%s%s\n",
	       f->name, f->addr, f->n_addrs > 1 ? " and more" : "",
	       f->fe.route_id, rc[0] ? "'" : "", rc[0] ? rc : "(unnamed)",
	       rc[0] ? "'" : "");
	printf("request:       %s", line);
	if (x->req.host.len)
		printf(", host '%s'%s", x->host,
		       x->port_ignored ? " (its port is ignored: ignore_port_in_host_matching)" : "");
	else
		printf(", no Host: only a '*' domain can match");
	putchar('\n');
	if (x->res.status == KM_ROUTE_NO_VHOST) {
		printf("virtual host:  none: no domain of the %u virtual hosts matches the host, and none is '*':\n",
		       h->n_vhosts);
		explain_domains(t, len);
	} else {
		printf("virtual host:  '%s' (virtual_hosts[%u]), domain '%s': %s\n", vh,
		       x->res.vhost, d ? dom : "?",
		       d && d->kind >= KM_RT_DOM_EXACT && d->kind <= KM_RT_DOM_ANY ?
		       domain_why[d->kind] : "?");
	}
	if (r) {
		printf("route:         %s%s%s(routes[%u]), first to match:\n",
		       rn[0] ? "'" : "", rn, rn[0] ? "' " : "", x->res.route);
		explain_route_match(c, NULL, t, len, x->res.vhost, x->res.route,
				    "                 ");
		explain_targets(c, NULL, "clusters", x->targets, x->n_targets,
				x->total_weight);
	} else {
		if (v)
			explain_no_route(c, NULL, t, len, x);
		printf("result:        no %s: kmesh.ko refuses the connection: the application's first write fails with ECONNREFUSED (counted l7_no_route)\n",
		       v ? "route" : "virtual host");
	}
	if (l4_why) {
		printf("note:          HTTP listeners are served as L4 right now (%s):\n"
		       "               connections take the listener's default route instead\n",
		       l4_why);
		explain_targets(c, NULL, "default_route", def, ndef,
				f->fe.total_weight);
	}
}

/* A listener that has no route table: every connection takes its default
 * route. */
static void explain_as_l4(struct ctl *c, const struct http_fe *f)
{
	struct km_explain_target def[KM_MAX_WEIGHTED];
	unsigned int n = default_targets(&f->fe, def);
	struct km_json j;

	if (c->json) {
		explain_json_open(c, &j, f);
		km_json_str(&j, "result", "served_as_l4");
		explain_targets(c, &j, "default_route", def, n, f->fe.total_weight);
		km_json_end(&j, '}');
		return;
	}
	printf("listener:      %s (%s%s): HTTP served as L4, no route table: every connection takes its default route, whatever the request\n",
	       f->name, f->addr, f->n_addrs > 1 ? " and more" : "");
	explain_targets(c, NULL, "default_route", def, n, f->fe.total_weight);
}

static void explain_usage(FILE *f)
{
	fprintf(f, "usage: kmeshctl explain [--host HOST] --path PATH [--method METHOD]\n"
		   "                        [--header 'Name: value']... [-o json] [LISTENER]\n"
		   "LISTENER: a listener name or a service address IP:PORT; optional when there\n"
		   "is one HTTP listener. Exit 0: a route matched; 1: none (the connection is\n"
		   "refused); 2: bad arguments or maps.\n");
}

/*
 * Which virtual host, route and clusters kmesh.ko gives a request on an
 * HTTP listener, by the live route table (km_route) and the matcher the
 * module runs (explain.h). 0 matched, 1 no route, 2 usage or map error.
 */
static int cmd_explain(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "path", required_argument, NULL, 'P' },
		{ "method", required_argument, NULL, 'm' },
		{ "header", required_argument, NULL, 'e' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static struct http_fe fes[KM_EXPLAIN_MAX_FES];
	static struct km_explain x;
	static struct agent_state st;
	struct km_explain_req rq = {};
	const char **headers = calloc(argc, sizeof(char *));
	const char *want = NULL, *l4_why;
	struct km_kmod_info km;
	struct km_err err = {};
	struct http_fe *f;
	void *table = NULL;
	__u32 idx;
	int o, ret = 2;

	if (!headers)
		return 2;
	optind = 0;	/* glibc: start over on this argv */
	while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'H': rq.host = optarg; break;
		case 'P': rq.target = optarg; break;
		case 'm': rq.method = optarg; break;
		case 'e': headers[rq.n_headers++] = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "kmeshctl: -o %s: expected 'text' or 'json'\n", optarg);
				goto out;
			}
			c->json = strcmp(optarg, "json") == 0;
			break;
		case 'h': explain_usage(stdout); ret = 0; goto out;
		default: explain_usage(stderr); goto out;
		}
	}
	rq.headers = headers;
	if (optind + 1 == argc)
		want = argv[optind];
	if (optind + 1 < argc || !rq.target) {
		fprintf(stderr, "kmeshctl: explain: %s\n", !rq.target ?
			"--path is required" : "one LISTENER at most");
		explain_usage(stderr);
		goto out;
	}

	if (km_maps_open(c->pin_root, &c->maps, &err)) {
		fprintf(stderr, "kmeshctl: %s\n", err.msg);
		goto out;
	}
	if (km_maps_read_gen(&c->maps, &c->gen)) {
		fprintf(stderr, "kmeshctl: reading km_gen: %s\n", strerror(errno));
		goto out;
	}
	ret = pick_http_fe(c, want, fes, &f);
	if (ret)
		goto out;
	ret = 2;
	if (!(f->fe.flags & KM_FE_L7)) {
		explain_as_l4(c, f);
		ret = 0;
		goto out;
	}
	table = malloc(KM_ROUTE_TABLE_MAX);
	idx = km_route_index(c->gen.slot, f->fe.route_id);
	if (!table || bpf_map_lookup_elem(c->maps.route, &idx, table)) {
		fprintf(stderr, "kmeshctl: explain: reading km_route[%u] (route table %u of slot %u): %s\n",
			idx, f->fe.route_id, c->gen.slot, strerror(table ? errno : ENOMEM));
		goto out;
	}
	if (km_explain(table, KM_ROUTE_TABLE_MAX, &rq, &x, &err)) {
		fprintf(stderr, "kmeshctl: explain: %s\n", err.msg);
		goto out;
	}
	read_state(c->state_file, &st);
	km_kmod_info(&km);
	l4_why = l7_as_l4_reason(&st, &km);
	explain_print(c, f, table, KM_ROUTE_TABLE_MAX, &x, l4_why);
	ret = x.res.status == KM_ROUTE_MATCHED ? 0 : 1;
out:
	free(table);
	free(headers);
	return ret;
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

static int cmd_enroll(struct ctl *c, const char *path, bool add)
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kmeshctl [-o text|json] [--pin-root DIR] COMMAND\n"
		"commands:\n"
		"  status            programs, maps, module, config generation, counters, enrollments\n"
		"  dump              frontends, clusters and endpoints as the kernel sees them\n"
		"  explain [--host H] --path P [--method M] [--header 'K: V']... [LISTENER]\n"
		"                    which virtual host, route and clusters kmesh.ko gives that\n"
		"                    HTTP request, by the live route table (exit 0 routed, 1 refused)\n"
		"  enroll PATH       route a workload: a cgroup v2 directory or a netns file\n"
		"                    (/run/netns/NAME, /proc/PID/ns/net); --namespace NS\n"
		"                    --workload NAME --service-account SA name it in telemetry\n"
		"  unenroll PATH     stop routing it\n"
		"  config            the xDS state: connection, versions and nonces per type,\n"
		"                    resource counts, the last NACK and its reason\n"
		"  module defer on|off  switch kmesh.ko's deferred connect (off: L7 served as L4)\n"
		"  sockmap enable [--accelerate] PATH|netns:NAME  join node-local connections of a\n"
		"                    workload (--accelerate: also app<->proxy via REDIRECT 15001/15006)\n"
		"  sockmap disable PATH|netns:NAME   stop joining its new connections\n"
		"  sockmap status    sockmap counters, joined sockets, enabled workloads\n"
		"  top [--metrics ADDR:PORT] [-n COUNT]  live connections/s, bytes/s and errors per\n"
		"                    service and workload from kmeshd's /metrics (-o json: one snapshot)\n");
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
	else if (strcmp(cmd, "explain") == 0)
		ret = cmd_explain(&c, argc - optind + 1, argv + optind - 1);
	else if (strcmp(cmd, "sockmap") == 0)
		ret = km_ctl_sockmap(c.pin_root, c.json, argc - optind, argv + optind);
	else if ((strcmp(cmd, "enroll") == 0 || strcmp(cmd, "unenroll") == 0) &&
		 optind < argc) {
		struct km_workload w;
		const char *path = km_ctl_enroll_args(argc - optind, argv + optind, &w);

		ret = path ? cmd_enroll(&c, path, cmd[0] == 'e') : 2;
		if (!ret)
			ret = km_ctl_workload_names(c.pin_root, path,
						    cmd[0] == 'e' ? &w : NULL);
	} else if (strcmp(cmd, "top") == 0)
		ret = km_ctl_top(c.json, argc - optind, argv + optind);
	else {
		fprintf(stderr, "kmeshctl: bad command line: '%s'%s\n", cmd,
			optind < argc ? " with unexpected arguments" : "");
		usage(stderr);
	}
	km_maps_close(&c.maps);
	return ret;
}
