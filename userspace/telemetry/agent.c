// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmesh's own metrics, read at each scrape: the data path's per-CPU
 * counters, the module's, the events ring, the sockmap, map occupancy,
 * and the agent's config and xDS state. Config and xDS state come from
 * the agent's state file (the report kmeshctl reads too), so this thread
 * shares no memory with the agent's event loop.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kmod.h"
#include "maps.h"
#include "sockmap.h"
#include "state.h"
#include "strmap.h"
#include "tel.h"

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help,
		unsigned long long v)
{
	head(f, name, type, help);
	fprintf(f, "%s %llu\n", name, v);
}

/* The state file as key -> value (the last of a repeated key). */
static void put_state(const char *key, const char *value, void *arg)
{
	int err = 0;

	free(km_strmap_put(arg, key, strdup(value), &err));
}

static unsigned long long st_u64(const struct km_strmap *st, const char *k)
{
	const char *v = km_strmap_get(st, k);

	return v ? strtoull(v, NULL, 10) : 0;
}

static void free_state(struct km_strmap *st)
{
	const char *k;
	void *v;

	for (size_t i = 0; km_strmap_next(st, &i, &k, &v);)
		free(v);
	km_strmap_free(st);
}

static void datapath(const struct km_tel_agent *a, FILE *f)
{
	uint64_t c[KM_CNT_MAX];
	struct km_maps mp;
	struct km_err err = {};
	char name[128];

	if (km_maps_open(a->pin_root, &mp, &err))
		return;
	if (km_maps_read_counters(&mp, c) == 0) {
		for (int i = 0; i < KM_CNT_MAX; i++) {
			snprintf(name, sizeof(name), "kmesh_%s_total",
				 km_counter_names[i]);
			one(f, name, "counter", "Data path counter (kmeshctl status).", c[i]);
		}
	}
	km_maps_close(&mp);
}

static void percpu_sum(int fd, __u32 n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals = ncpu > 0 ? calloc(ncpu, sizeof(*vals)) : NULL;

	for (__u32 k = 0; vals && k < n; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				out[k] += vals[c];
	}
	free(vals);
}

static int pinned(const struct km_tel_agent *a, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", a->pin_root, name);
	return bpf_obj_get(path);
}

static unsigned long count_keys(int fd, size_t key_size)
{
	char cur[64], prev[64];
	unsigned long n = 0;

	if (fd < 0 || key_size > sizeof(cur))
		return 0;
	while (bpf_map_get_next_key(fd, n ? prev : NULL, cur) == 0) {
		memcpy(prev, cur, key_size);
		n++;
	}
	return n;
}

static void events(const struct km_tel_agent *a, FILE *f)
{
	uint64_t s[KM_EVS_MAX] = { 0 };
	int fd = pinned(a, "km_ev_stats");

	if (fd >= 0) {
		percpu_sum(fd, KM_EVS_MAX, s);
		close(fd);
	}
	one(f, "kmesh_events_submitted_total", "counter",
	    "Connection events the kernel wrote to the ring.", s[KM_EVS_SUBMITTED]);
	one(f, "kmesh_events_dropped_total", "counter",
	    "Connection events lost because the ring was full (the connection was not affected).",
	    s[KM_EVS_DROPPED]);
	one(f, "kmesh_events_read_total", "counter",
	    "Connection events this kmeshd read from the ring.", a->events_read);
	one(f, "kmesh_events_ring_bytes", "gauge", "Size of the events ring.",
	    a->ring_bytes);
	one(f, "kmesh_access_log_lines_total", "counter",
	    "Access log lines written.", a->log_lines);
	one(f, "kmesh_access_log_errors_total", "counter",
	    "Access log batches (one per drain of the ring) that could not be written.", a->log_errors);
}

static void map_row(FILE *f, const char *map, unsigned long long n,
		    unsigned long long cap)
{
	fprintf(f, "kmesh_map_entries{map=\"%s\"} %llu\n", map, n);
	fprintf(f, "kmesh_map_capacity{map=\"%s\"} %llu\n", map, cap);
}

/* Occupancy of the live generation against the per-generation limits;
 * enrollments by walking the (small) map. */
static void maps(const struct km_tel_agent *a, const struct km_strmap *st,
		 FILE *f)
{
	uint64_t svc = st_u64(st, KM_ST_MAX_SERVICES);
	uint64_t eps = st_u64(st, KM_ST_MAX_ENDPOINTS);
	int fd = pinned(a, "km_enroll");

	head(f, "kmesh_map_entries", "gauge",
	     "Records of the live generation (enrollments: all) per map.");
	head(f, "kmesh_map_capacity", "gauge", "The limit each map's count is held to.");

	map_row(f, "frontend", st_u64(st, KM_ST_FRONTENDS), svc ? svc : KM_MAX_FRONTENDS);
	map_row(f, "cluster", st_u64(st, KM_ST_CLUSTERS), svc ? svc : KM_MAX_CLUSTERS);
	map_row(f, "endpoint", st_u64(st, KM_ST_ENDPOINTS), eps ? eps : KM_MAX_ENDPOINTS);
	map_row(f, "enroll", count_keys(fd, sizeof(struct km_enroll_key)),
		KM_MAX_ENROLL);
	if (fd >= 0)
		close(fd);
}

static void config(const struct km_tel_agent *a, const struct km_strmap *st,
		   FILE *f)
{
	one(f, "kmesh_config_generation", "gauge",
	    "The config generation serving.", st_u64(st, KM_ST_GENERATION));
	one(f, "kmesh_config_last_apply_ok", "gauge",
	    "1 if the last config attempt was applied, 0 if it was rejected.",
	    st_u64(st, KM_ST_LAST_OK));
	one(f, "kmesh_config_applied_timestamp_seconds", "gauge",
	    "When the serving generation was applied.", st_u64(st, KM_ST_APPLIED_AT));
	head(f, "kmesh_config_apply_duration_seconds", "gauge",
	     "How long the last applied generation took, from model to switched maps.");
	fprintf(f, "kmesh_config_apply_duration_seconds %.3f\n",
		a->apply_ms / 1000.0);
	one(f, "kmesh_listeners", "gauge", "Listeners of the serving config.",
	    st_u64(st, KM_ST_LISTENERS));
}

static void xds(const struct km_strmap *st, FILE *f)
{
	static const char *const types[] = { "lds", "rds", "cds", "eds" };
	static const struct { const char *key, *name, *type, *help; } per[] = {
		{ "resources", "kmesh_xds_resources", "gauge", "Resources held per type." },
		{ "acks", "kmesh_xds_acks_total", "counter", "Responses ACKed per type." },
		{ "nacks", "kmesh_xds_nacks_total", "counter", "Responses NACKed per type." },
		{ "nacked", "kmesh_xds_nacked", "gauge", "1 if the last response of the type was NACKed." },
	};
	char key[64];
	const char *v;

	if (!km_strmap_get(st, KM_ST_XDS "server"))
		return;
	one(f, "kmesh_xds_connected", "gauge", "1 while the ADS stream is up.",
	    st_u64(st, KM_ST_XDS "connected"));
	one(f, "kmesh_xds_reconnects_total", "counter", "ADS reconnects.",
	    st_u64(st, KM_ST_XDS "reconnects"));
	for (size_t p = 0; p < sizeof(per) / sizeof(per[0]); p++) {
		head(f, per[p].name, per[p].type, per[p].help);
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			snprintf(key, sizeof(key), KM_ST_XDS "%s_%s", types[t], per[p].key);
			if (km_strmap_get(st, key))
				fprintf(f, "%s{type=\"%s\"} %llu\n", per[p].name,
					types[t], st_u64(st, key));
		}
	}
	head(f, "kmesh_xds_last_ack_info", "gauge",
	     "The version last ACKed per type, as a label.");
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		snprintf(key, sizeof(key), KM_ST_XDS "%s_version", types[t]);
		v = km_strmap_get(st, key);
		if (v && !strpbrk(v, "\"\\"))
			fprintf(f, "kmesh_xds_last_ack_info{type=\"%s\",version=\"%s\"} 1\n",
				types[t], v);
	}
}

static void module(FILE *f)
{
	struct km_kmod_info k;

	km_kmod_info(&k);
	one(f, "kmesh_module_loaded", "gauge", "1 if kmesh.ko is loaded.", k.loaded);
	if (!k.genl)
		return;
	one(f, "kmesh_module_deferred_total", "counter",
	    "Connects kmesh.ko deferred to the first write.", k.deferred);
	one(f, "kmesh_module_rerouted_total", "counter",
	    "Deferred connects routed on their first bytes.", k.rerouted);
	one(f, "kmesh_module_parse_errors_total", "counter",
	    "First writes that were not a routable HTTP head.", k.parse_errors);
	one(f, "kmesh_module_fallbacks_total", "counter",
	    "Deferred connects that fell back to the default route.", k.fallbacks);
	one(f, "kmesh_module_in_flight", "gauge",
	    "Deferred connects waiting for their first write.", k.in_flight);
}

static void sockmap(const struct km_tel_agent *a, FILE *f)
{
	struct km_sm_status st;

	if (km_sockmap_status(a->pin_root, &st) || !st.loaded)
		return;
	one(f, "kmesh_sockmap_joined_sockets", "gauge",
	    "Sockets in the sockhash (node-local connections joined).", st.joined);
	head(f, "kmesh_sockmap_total", "counter", "Sockmap counters (kmeshctl sockmap status).");
	for (int i = 0; i < KM_SM_CNT_MAX; i++)
		fprintf(f, "kmesh_sockmap_total{counter=\"%s\"} %llu\n",
			km_sm_counter_names[i], (unsigned long long)st.counters[i]);
}

static void process(FILE *f)
{
	long pages = 0, rss = 0;
	FILE *s = fopen("/proc/self/statm", "r");

	if (s) {
		if (fscanf(s, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(s);
	}
	one(f, "kmesh_agent_resident_bytes", "gauge", "kmeshd's resident memory.",
	    (unsigned long long)rss * sysconf(_SC_PAGESIZE));
}

void km_tel_agent_write(const struct km_tel_agent *a, FILE *f)
{
	struct km_strmap st = {};

	km_state_read(a->state_file, put_state, &st);
	datapath(a, f);
	module(f);
	events(a, f);
	sockmap(a, f);
	maps(a, &st, f);
	config(a, &st, f);
	xds(&st, f);
	process(f);
	free_state(&st);
}
