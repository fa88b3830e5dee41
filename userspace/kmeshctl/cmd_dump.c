// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshctl dump: frontends, clusters and endpoints as the kernel sees them,
 * and the authorization policies of each destination. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "cmd_authz.h"
#include "ctl.h"
#include "json.h"
#include "lbstat.h"

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

/* Endpoints of cluster @k ejected now (outlier detection). */
static unsigned int n_ejected(struct ctl *c, const struct km_cluster_key *k,
			      const struct km_cluster *cl)
{
	struct km_endpoint_key ek = { .cluster_id = k->id, .slot = k->slot };
	struct km_endpoint ep;
	struct km_ep_stat v;
	unsigned int n = 0;

	for (__u32 i = 0; i < cl->n_endpoints && i < KM_MAX_CLUSTER_ENDPOINTS; i++) {
		ek.index = i;
		if (bpf_map_lookup_elem(c->maps.endpoint, &ek, &ep))
			continue;
		km_lbstat_ep(&c->maps, cl->stat_key, &ep, &v);
		n += km_lbstat_ejected_ms(&v) > 0;
	}
	return n;
}

static void outlier_json(struct ctl *c, const struct km_cluster_key *k,
			 const struct km_cluster *cl, const struct km_cl_stat *st)
{
	km_json_obj(&dj, "outlier_detection");
	km_json_u64(&dj, "consecutive_failures", cl->od_consecutive);
	km_json_u64(&dj, "enforcing_percent", cl->od_enforce);
	km_json_u64(&dj, "base_ejection_ms", cl->od_base_ms);
	km_json_u64(&dj, "max_ejection_ms", cl->od_max_ms);
	km_json_u64(&dj, "interval_ms", cl->od_interval_ms);
	km_json_u64(&dj, "max_ejection_percent", cl->od_max_pct);
	km_json_u64(&dj, "ejections_enforced_total", st->od_ejections);
	km_json_u64(&dj, "ejections_overflow", st->od_overflow);
	km_json_u64(&dj, "ejections_active", n_ejected(c, k, cl));
	km_json_end(&dj, '}');
}

static void outlier_text(struct ctl *c, const struct km_cluster_key *k,
			 const struct km_cluster *cl, const struct km_cl_stat *st)
{
	printf("    outlier detection: %u failed connects in a row eject (%u%%) for %u ms x ejections (at most %u ms), at most %u%% ejected; %llu ejections, %u ejected now, %llu over max_ejection_percent\n",
	       cl->od_consecutive, cl->od_enforce, cl->od_base_ms, cl->od_max_ms,
	       cl->od_max_pct, (unsigned long long)st->od_ejections,
	       n_ejected(c, k, cl), (unsigned long long)st->od_overflow);
}

/* A cluster's live connection counts (km_cl_stat) and LB settings. */
static void lbstat_cluster_json(struct ctl *c, const struct km_cluster_key *k,
				const struct km_cluster *cl)
{
	struct km_cl_stat st;

	km_lbstat_cluster(&c->maps, cl->stat_key, &st);
	if (cl->od_consecutive)
		outlier_json(c, k, cl, &st);
	km_json_u64(&dj, "cx_active", st.cx_active);
	km_json_u64(&dj, "cx_total", st.cx_total);
	km_json_u64(&dj, "upstream_cx_overflow", st.cx_overflow);
	if (cl->lb_policy == KM_LB_LEAST_REQUEST)
		km_json_u64(&dj, "choice_count", cl->choice_count);
	if (cl->lb_policy == KM_LB_MAGLEV) {
		km_json_u64(&dj, "maglev_table_size", cl->maglev_size);
		km_json_bool(&dj, "hash_source_ip", cl->hash_flags & KM_HASH_SOURCE_IP);
	}
}

static void lbstat_cluster_text(struct ctl *c, const struct km_cluster_key *k,
				const struct km_cluster *cl)
{
	struct km_cl_stat st;

	km_lbstat_cluster(&c->maps, cl->stat_key, &st);
	printf("    connections: %llu active, %llu routed", (unsigned long long)st.cx_active,
	       (unsigned long long)st.cx_total);
	if (cl->max_connections || st.cx_overflow)
		printf(", max_connections %u, %llu refused (upstream_cx_overflow)",
		       cl->max_connections, (unsigned long long)st.cx_overflow);
	if (cl->lb_policy == KM_LB_LEAST_REQUEST)
		printf(", choice_count %u", cl->choice_count);
	if (cl->lb_policy == KM_LB_MAGLEV)
		printf(", Maglev table %u entries, hash %s", cl->maglev_size,
		       cl->hash_flags & KM_HASH_SOURCE_IP ? "source IP" : "none (random)");
	putchar('\n');
	if (cl->od_consecutive)
		outlier_text(c, k, cl, &st);
}

static void dump_cluster(struct ctl *c, const void *key)
{
	const struct km_cluster_key *k = key;
	struct km_endpoint_key ek = { .cluster_id = k->id, .slot = k->slot };
	struct km_endpoint ep;
	struct km_cluster cl;
	struct km_ep_stat es;
	char name[KM_NAME_MAX], buf[80];

	if (k->slot != km_maps_view_slot(&c->maps, c->gen.slot, k->id) ||
	    bpf_map_lookup_elem(c->maps.cluster, k, &cl))
		return;		/* the idle view */
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
		lbstat_cluster_json(c, k, &cl);
		km_json_arr(&dj, "endpoints");
	} else {
		printf("  %s: %s%s, %u of %u endpoints serving (priority %u, locality rank %u)\n",
		       name, km_lb_policy_name(cl.lb_policy), cl.weighted ? " weighted" : "",
		       cl.n_endpoints, cl.n_configured, cl.priority, cl.locality_rank);
		lbstat_cluster_text(c, k, &cl);
	}
	for (__u32 i = 0; i < cl.n_endpoints && i < KM_MAX_CLUSTER_ENDPOINTS; i++) {
		ek.index = i;
		if (bpf_map_lookup_elem(c->maps.endpoint, &ek, &ep))
			continue;
		hostport(&ep.addr, ep.port, buf, sizeof(buf));
		km_lbstat_ep(&c->maps, cl.stat_key, &ep, &es);
		if (c->json) {
			km_json_obj(&dj, NULL);
			km_json_str(&dj, "address", buf);
			km_json_u64(&dj, "weight", ep.weight);
			km_json_str(&dj, "health", km_health_name(ep.health));
			km_json_u64(&dj, "active", es.cx_active);
			if (cl.od_consecutive) {
				km_json_u64(&dj, "ejected_ms_left", km_lbstat_ejected_ms(&es));
				km_json_u64(&dj, "ejections", es.od_ejections);
				km_json_u64(&dj, "consecutive_failures", es.od_consec);
			}
			km_json_end(&dj, '}');
		} else {
			printf("    %-28s weight %u %s, %llu active", buf, ep.weight,
			       km_health_name(ep.health), (unsigned long long)es.cx_active);
			if (cl.od_consecutive && km_lbstat_ejected_ms(&es))
				printf(", ejected (%llu ms left)",
				       (unsigned long long)km_lbstat_ejected_ms(&es));
			if (cl.od_consecutive && es.od_consec)
				printf(", %u failed connects in a row", es.od_consec);
			putchar('\n');
		}
	}
	if (c->json) {
		km_json_end(&dj, ']');
		km_json_end(&dj, '}');
	}
}

int cmd_dump(struct ctl *c, int argc, char **argv)
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
	for (__u32 view = 0; view < KM_VIEWS; view++)
		for_each_in_slot(c->maps.cluster, sizeof(struct km_cluster_key),
				 offsetof(struct km_cluster_key, slot),
				 km_view_slot(c->gen.slot, view), dump_cluster, c);
	if (c->json)
		km_json_end(&dj, ']');
	km_ctl_authz_dump(c, c->json ? &dj : NULL);
	if (c->json)
		km_json_end(&dj, '}');
	return 0;
}
