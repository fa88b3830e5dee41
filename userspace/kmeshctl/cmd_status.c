// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshctl status: programs, maps, module, generation, counters, enrollments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "ctl.h"
#include "bpf_loader.h"
#include "json.h"
#include "kmod.h"
#include "cmd_sockmap.h"
#include "state.h"
#include "sys.h"

/* "KIND COUNT EXAMPLE" (the example may hold spaces) */
static void read_not_enforced(struct agent_state *st, const char *v)
{
	int n = 0;

	if (sscanf(v, "%63s %lu %n", st->ne[st->n_ne].kind,
		   &st->ne[st->n_ne].count, &n) < 2 || !n)
		return;
	snprintf(st->ne[st->n_ne].example, sizeof(st->ne[0].example), "%s",
		 v + n);
	st->n_ne++;
}

static void state_line(const char *key, const char *v, void *arg)
{
	struct agent_state *st = arg;
	size_t n = strlen(st->xds_nacked);

	if (!strcmp(key, KM_ST_PID))
		st->pid = strtol(v, NULL, 10);
	else if (!strcmp(key, KM_ST_RUNNING))
		st->stopped = !strcmp(v, "0");
	else if (!strcmp(key, KM_ST_CONFIG))
		snprintf(st->config, sizeof(st->config), "%s", v);
	else if (!strcmp(key, KM_ST_LAST_OK))
		st->last_ok = !strcmp(v, "1");
	else if (!strcmp(key, KM_ST_LAST_ERROR))
		snprintf(st->last_error, sizeof(st->last_error), "%s", v);
	else if (!strcmp(key, KM_ST_GENERATION))
		st->generation = strtoull(v, NULL, 10);
	else if (!strcmp(key, KM_ST_L7) && st->n_l7 < KM_STATE_MAX_L7)
		snprintf(st->l7[st->n_l7++], KM_NAME_MAX, "%s", v);
	else if (!strcmp(key, KM_ST_NOT_ENFORCED) && st->n_ne < KM_STATE_MAX_NE)
		read_not_enforced(st, v);
	else if (!strcmp(key, KM_ST_L7_ROUTER))
		st->l7_router = !strcmp(v, "1");
	else if (!strcmp(key, KM_ST_L7_WHY))
		snprintf(st->l7_why, sizeof(st->l7_why), "%s", v);
	/* xds_<type>_nacked=1 */
	else if (!strncmp(key, KM_ST_XDS, 4) && strlen(key) == 14 &&
		 !strcmp(key + 7, "_nacked") && !strcmp(v, "1"))
		snprintf(st->xds_nacked + n, sizeof(st->xds_nacked) - n,
			 " %.3s", key + 4);
}

void read_state(const char *path, struct agent_state *st)
{
	int ret;

	memset(st, 0, sizeof(*st));
	ret = km_state_read(path, state_line, st);
	st->open_err = -ret;
	st->present = !ret;
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

const char *l7_as_l4_reason(const struct agent_state *st,
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

int cmd_status(struct ctl *c, int argc, char **argv)
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
		km_json_arr(&j, "not_enforced");
		for (int i = 0; i < st.n_ne; i++) {
			km_json_obj(&j, NULL);
			km_json_str(&j, "kind", st.ne[i].kind);
			km_json_u64(&j, "count", st.ne[i].count);
			km_json_str(&j, "example", st.ne[i].example);
			km_json_end(&j, '}');
		}
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
	if (running && st.n_ne) {
		printf("not enforced (accepted, listed; kmeshd --check says why):\n");
		for (int i = 0; i < st.n_ne; i++)
			printf("  %s: %lu resource(s), e.g. '%s'\n", st.ne[i].kind,
			       st.ne[i].count, st.ne[i].example);
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
