/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of the connect path. All are pinned by name under KM_PIN_ROOT so the
 * agent's restart reuses them (config and enrollment survive). */
#ifndef KM_BPF_MAPS_H
#define KM_BPF_MAPS_H

#include "kmesh/abi.h"
#include "kmesh/route_table.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct km_gen);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_gen SEC(".maps");

/* Config maps hold two generations (cluster and endpoint records two
 * views in each, abi.h); NO_PREALLOC because they are written
 * only by the agent and would otherwise pin their full size in memory. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_FRONTENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_frontend_key);
	__type(value, struct km_frontend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_frontend SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * KM_VIEWS * KM_MAX_CLUSTERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_cluster_key);
	__type(value, struct km_cluster);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_cluster SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * KM_VIEWS * KM_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_endpoint_key);
	__type(value, struct km_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_endpoint SEC(".maps");

/* Each cluster's live endpoint view per generation slot (abi.h,
 * km_view_slot): flipped by kmeshd with one word write. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_CLUSTERS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_cl_view SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * (KM_MAX_CLUSTERS + KM_MAX_FRONTENDS));
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_name_key);
	__type(value, struct km_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_MAX_ENROLL);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_enroll_key);
	__type(value, struct km_enroll);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_enroll SEC(".maps");

/* Round-robin draw per cluster id. Not per slot: a reload keeps the
 * rotation going instead of restarting it at endpoint 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KM_MAX_CLUSTERS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_rr SEC(".maps");

/* Live connection counts (abi.h): keyed by the cluster's stat_key, not by
 * slot or id, so a generation flip and a kmeshd restart keep them. Entries
 * are made by the data path on first use; kmeshd removes idle ones of
 * clusters and endpoints no longer configured. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_CLUSTERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct km_cl_stat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_cl_stat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_ep_stat_key);
	__type(value, struct km_ep_stat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_ep_stat SEC(".maps");

/* Maglev tables of both generations, built by kmeshd. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_MAGLEV_CHUNKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct km_maglev_key);
	__type(value, struct km_maglev_chunk);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct km_sk_orig);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_sk_orig SEC(".maps");

/* KM_PEER_COOKIE (abi.h): slot (cookie % KM_MAX_PEER_SOCKETS) -> what the
 * socket with that cookie dialed */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KM_MAX_PEER_SOCKETS);
	__type(key, __u32);
	__type(value, struct km_peer_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_peer SEC(".maps");

/* Compiled route tables (include/kmesh/route_table.h), indexed by
 * km_route_index(slot, route_id). An ARRAY: values this large cannot come
 * from the no-prealloc hash allocator, and the agent rewrites the idle
 * slot's entries in place before the generation flip. */
struct km_route_blob {
	__u8 b[KM_ROUTE_TABLE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_ROUTE_CONFIGS);
	__type(key, __u32);
	__type(value, struct km_route_blob);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_route SEC(".maps");

/* Tables over KM_ROUTE_TABLE_MAX (a real mesh's port-wide route config),
 * indexed by km_route_big_index(slot, route_id): a HASH without
 * preallocation, so a value of KM_ROUTE_TABLE_BIG bytes exists only while a
 * generation uses it (the agent deletes the rest). */
struct km_route_big_blob {
	__u8 b[KM_ROUTE_TABLE_BIG];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, KM_GEN_SLOTS * KM_MAX_BIG_ROUTE_CONFIGS);
	__type(key, __u32);
	__type(value, struct km_route_big_blob);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_route_big SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_counters SEC(".maps");

/* Telemetry (lib/events.h). The ring's size is set by the agent before
 * load (kmeshd --events-ring-kb); pinned, so events a stopped agent has
 * not read are there for the next one. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KM_EV_RING_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_events SEC(".maps");

/* telemetry: where kmeshd runs km_ev_iter (abi.h) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KM_EV_MAX_NETNS);
	__type(key, __u64);	/* netns cookie */
	__type(value, __u32);	/* tgid */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_ev_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KM_EVS_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_ev_stats SEC(".maps");

/* The route result of the re-run; too big for the stack next to the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct km_route_result);
} km_route_scratch SEC(".maps");

/* The TCP socket of a sockops callback, or NULL (the sockops handlers
 * of telemetry and outlier detection start here). */
static __always_inline struct tcp_sock *
km_sockops_tcp(const struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk = skops->sk;

	return bsk ? bpf_skc_to_tcp_sock(bsk) : NULL;
}

#endif
