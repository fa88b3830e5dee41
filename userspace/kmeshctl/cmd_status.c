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

#include "capacity.h"
#include "ctl.h"
#include "bpf_loader.h"
#include "json.h"
#include "out.h"
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
	else if (!strcmp(key, KM_ST_DNS "status"))
		(*(!strcmp(v, "ok") ? &st->dns_ok : !strcmp(v, "failing") ?
		   &st->dns_failing : &st->dns_pending))++;
	else if (!strcmp(key, KM_ST_STRICT))
		st->strict = !strcmp(v, "1");

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

/* What cmd_status shows, gathered first. */
struct status {
	struct agent_state *st;
	bool running, stats;
	const char *l7_why;
	struct km_link_status links[16];
	int nl, nfe, nen;
	size_t ncl, nep;
	uint64_t cap_fe, cap_cl, cap_ep;	/* per generation */
	struct km_kmod_info km;
	uint64_t cnt[KM_CNT_MAX];
	struct km_enroll_row *rows;
};

/* What the applied config asks for and kmesh accepts without enforcing
 * (model/not_enforced.c): kind, count, an example. */
static void show_not_enforced(struct ctl_out *o, const struct status *s)
{
	const struct agent_state *st = s->st;
	bool text = s->running && st->n_ne;

	out_arr(o, "not_enforced", text ?
		"not enforced (accepted, listed; kmeshd --check says why):\n" : NULL);
	for (int i = 0; i < st->n_ne; i++) {
		out_obj(o, NULL, NULL);
		out_str(o, "kind", text ? "  %s: " : NULL, st->ne[i].kind);
		out_u64(o, "count", text ? "%llu resource(s), " : NULL,
			st->ne[i].count);
		out_str(o, "example", text ? "e.g. '%s'\n" : NULL,
			st->ne[i].example);
		out_end(o, '}');
	}
	out_end(o, ']');
	if (s->running)
		show_not_enforced_warnings(o, st);
}

static void show_agent(struct ctl_out *o, struct ctl *c, const struct status *s)
{
	const struct agent_state *st = s->st;

	out_obj(o, "agent", "agent:       ");
	out_bool(o, "running", s->running);
	out_text(o, "%s", s->running ? "running" : st->stopped ?
		 "not running (it stopped; the programs and the generation below keep serving)" :
		 "not running");
	out_i64(o, "pid", s->running ? " (pid %lld" : NULL,
		s->running ? st->pid : 0);
	out_str(o, "config", s->running ? ", config %s)" : NULL,
		st->present ? st->config : NULL);
	if (!s->running && st->open_err == EACCES)
		out_text(o, " (%s: %s: readable by those who may read the config file, as it quotes config errors)",
			 c->state_file, strerror(st->open_err));
	/* text: the generation sits between the agent and its last reload */
	out_text(o, "\ngeneration:  %llu (slot %u)\n",
		 (unsigned long long)c->gen.generation, c->gen.slot);
	out_bool(o, "last_reload_ok", st->last_ok);
	if (s->running && st->last_ok && st->xds_nacked[0])
		out_text(o, "last reload: ok, but the last xDS response was NACKed for%s (kmeshctl config)\n",
			 st->xds_nacked);
	else if (s->running)
		out_text(o, "last reload: %s", st->last_ok ? "ok\n" : "REJECTED: ");
	out_str(o, "last_error", s->running ? "%s\n" : NULL,
		st->last_ok ? NULL : st->last_error);
	if (s->running && st->n_l7 && s->l7_why)
		out_text(o, "L7:          HTTP listeners served as L4 (%s), each address by its L4 target (default route; a port-wide VIP's own virtual host; a sniffed listener's TCP chain):",
			 s->l7_why);
	else if (s->running && st->n_l7)
		out_text(o, "L7:          HTTP listeners routed by kmesh.ko on each connection's first request:");
	out_arr(o, "l7_listeners", NULL);
	for (int i = 0; i < st->n_l7; i++)
		out_str(o, OUT_ITEM, s->running ? " %s" : NULL, st->l7[i]);
	out_end(o, ']');
	if (s->running && st->n_l7)
		out_text(o, "\n");
	out_str(o, "l7_mode", NULL, s->l7_why ? "l4" : "kernel");
	out_str(o, "l7_reason", NULL, s->l7_why);
	out_arr(o, "l7_served_as_l4", NULL);
	for (int i = 0; s->l7_why && i < st->n_l7; i++)
		out_str(o, OUT_ITEM, NULL, st->l7[i]);
	out_end(o, ']');
	show_not_enforced(o, s);
	out_end(o, '}');
	out_u64(o, "generation", NULL, c->gen.generation);
	out_u64(o, "slot", NULL, c->gen.slot);
}

/* DNS clusters' names, by how their last resolution went */
static void show_dns(struct ctl_out *o, const struct status *s)
{
	const struct agent_state *st = s->st;
	int n = st->dns_ok + st->dns_failing + st->dns_pending;

	out_obj(o, "dns", NULL);
	out_u64(o, "names", s->running && n ? "DNS:         %llu names of DNS clusters: " : NULL,
		(uint64_t)n);
	out_u64(o, "ok", s->running && n ? "%llu ok" : NULL, st->dns_ok);
	out_u64(o, "failing", s->running && st->dns_failing ?
		", %llu FAILING (their last good answers kept)" : NULL,
		st->dns_failing);
	out_u64(o, "pending", s->running && st->dns_pending ?
		", %llu not resolved yet" : NULL, st->dns_pending);
	if (s->running && n)
		out_text(o, " (kmeshctl dns)\n");
	out_end(o, '}');
}

static void show_programs(struct ctl_out *o, const struct status *s)
{
	out_arr(o, "programs", "programs:\n");
	for (int i = 0; i < s->nl; i++) {
		const struct km_link_status *l = &s->links[i];

		out_obj(o, NULL, NULL);
		out_str(o, "name", "  %-18s", l->name);
		out_u64(o, "prog_id", " prog %llu", l->prog_id);
		out_u64(o, "cgroup_id", " on cgroup %llu", l->cgroup_id);
		out_u64(o, "run_cnt", s->stats ? ", %llu runs" : NULL, l->run_cnt);
		out_u64(o, "run_time_ns", NULL, l->run_time_ns);
		if (s->stats)
			out_text(o, ", %llu ns/run", (unsigned long long)
				 (l->run_cnt ? l->run_time_ns / l->run_cnt : 0));
		out_text(o, "\n");
		out_end(o, '}');
	}
	out_end(o, ']');
	if (s->nl > 0 && !s->stats)
		out_text(o, "  (run counts: sysctl kernel.bpf_stats_enabled=1)\n");
	if (s->nl <= 0)
		out_text(o, "  (none attached)\n");
}

static void show_maps(struct ctl_out *o, const struct ctl *c,
		      const struct status *s)
{
	out_obj(o, "maps", NULL);
	out_str(o, "pin_root", "maps:        %s:", c->pin_root);
	out_u64(o, "frontends", " %llu", s->nfe);
	out_u64(o, "frontends_capacity", "/%llu frontends,", s->cap_fe);
	out_u64(o, "clusters", " %llu", s->ncl);
	out_u64(o, "clusters_capacity", "/%llu clusters,", s->cap_cl);
	out_u64(o, "endpoints", " %llu", s->nep);
	out_u64(o, "endpoints_capacity", "/%llu endpoints live;", s->cap_ep);
	out_u64(o, "enrolled", " %llu enrolled\n", s->nen);
	out_end(o, '}');
}

static void show_module(struct ctl_out *o, const struct status *s)
{
	const struct km_kmod_info *km = &s->km;
	bool up = km->genl;

	out_obj(o, "module", NULL);
	out_bool(o, "loaded", km->loaded);
	out_str(o, "version", up ? "module:      kmesh.ko %s" : NULL,
		up ? km->version : NULL);
	out_u64(o, "abi", up ? " (kfunc ABI %llu)" : NULL, km->abi);
	out_bool(o, "btf", km->btf);
	if (up)
		out_text(o, ", BTF %s, deferred connect %s\n",
			 km->btf ? "present" : "ABSENT (kfuncs unusable)",
			 km->defer_enabled ? "on" : "off");
	out_bool(o, "defer_enabled", km->defer_enabled);
	out_u64(o, "deferred", up ? "             deferred %llu" : NULL,
		km->deferred);
	out_u64(o, "rerouted", up ? ", rerouted %llu" : NULL, km->rerouted);
	out_u64(o, "parse_errors", up ? ", parse errors %llu" : NULL,
		km->parse_errors);
	out_u64(o, "fallbacks", up ? ", fallbacks %llu" : NULL, km->fallbacks);
	out_u64(o, "in_flight", up ? ", in flight %llu\n" : NULL,
		km->in_flight);
	out_bool(o, "l7_data_path", false);
	out_end(o, '}');
	if (up)
		return;
	if (km->loaded)
		out_text(o, "module:      kmesh.ko loaded, netlink family not answering\n");
	else if (kernel_takes_kmod())
		out_text(o, "module:      kmesh.ko not loaded (L4 only; 'modprobe kmesh' or 'make dkms-install')\n");
	else
		out_text(o, "module:      kmesh.ko not loaded (L4 only: it needs a kernel >= %u.%u)\n",
			 KM_KMOD_MIN_MAJOR, KM_KMOD_MIN_MINOR);
}

static void show_counters(struct ctl_out *o, const struct status *s)
{
	out_obj(o, "bpf_stats", NULL);
	out_bool(o, "enabled", s->stats);
	out_end(o, '}');
	out_obj(o, "counters", "counters:\n");
	for (int i = 0; i < KM_CNT_MAX; i++) {
		out_text(o, "  %-18s ", km_counter_names[i]);
		out_u64(o, km_counter_names[i], "%llu\n", s->cnt[i]);
	}
	out_end(o, '}');
}

static void show_enrolled(struct ctl_out *o, const struct status *s)
{
	out_arr(o, "enrolled", "enrolled:\n");
	for (int i = 0; i < s->nen; i++) {
		out_obj(o, NULL, NULL);
		out_str(o, "kind", "  %-6s", km_enroll_kind_str(s->rows[i].k.kind));
		out_u64(o, "id", " %-20llu", s->rows[i].k.id);
		out_str(o, "path", " %s\n", s->rows[i].v.path);
		out_end(o, '}');
	}
	out_end(o, ']');
	if (s->nen == 0)
		out_text(o, "  (none: no workload is routed; see 'kmeshctl enroll')\n");
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	static struct km_enroll_row rows[KM_MAX_ENROLL];
	static struct agent_state st;
	struct status s = { .st = &st, .rows = rows };
	struct ctl_out o;

	if (open_maps(c))
		return 1;
	read_state(c->state_file, &st);
	/* kill(0) answers EPERM for a live process of another user */
	s.running = !st.stopped && st.pid > 0 &&
		    (kill(st.pid, 0) == 0 || errno == EPERM);
	s.stats = bpf_stats_enabled();
	km_kmod_info(&s.km);
	s.nl = km_bpf_links(c->pin_root, s.links, 16);
	s.nfe = count_slot(c->maps.frontend, sizeof(struct km_frontend_key),
			   offsetof(struct km_frontend_key, slot), c->gen.slot);
	km_maps_count_live(&c->maps, c->gen.slot, &s.ncl, &s.nep);
	s.cap_fe = km_capacity_of(c->maps.frontend, "km_frontend");
	s.cap_cl = km_capacity_of(c->maps.cluster, "km_cluster");
	s.cap_ep = km_capacity_of(c->maps.endpoint, "km_endpoint");
	s.nen = km_enroll_list(c->maps.enroll, rows, KM_MAX_ENROLL);
	km_maps_read_counters(&c->maps, s.cnt);
	s.l7_why = l7_as_l4_reason(&st, &s.km);

	out_init(&o, c->json);
	show_agent(&o, c, &s);
	show_dns(&o, &s);
	show_programs(&o, &s);
	show_maps(&o, c, &s);
	show_module(&o, &s);
	show_counters(&o, &s);
	km_ctl_sockmap_show(&o, c->pin_root);
	show_enrolled(&o, &s);
	out_done(&o);
	return 0;
}
