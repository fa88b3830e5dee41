/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmesh ABI: every type that crosses the kernel/BPF/userspace boundary.
 *
 * This one header is included by the BPF programs (after vmlinux.h), by the
 * kernel module and by the agent and CLI. Nothing here may be mirrored by hand
 * elsewhere. All fields are fixed width with explicit padding, and every map
 * record has a _Static_assert on its size so a change is a deliberate ABI
 * change (bump KM_ABI_VERSION).
 *
 * Map layout and the generation flip
 * ----------------------------------
 * Config records (frontends, clusters, endpoints, names) carry a one-bit
 * "slot" in their key. km_gen[0] names the live slot. The agent writes a new
 * configuration into the other slot, then switches km_gen with one map write:
 * a connect program reads km_gen once and then only looks at records of that
 * slot, so it sees the old config or the new one, never a mix.
 */
#ifndef KMESH_ABI_H
#define KMESH_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KM_ABI_VERSION 11	/* 2: km_route, L7 counters, km_frontend.route_id;
				 * 3: km_cluster.kind, counters for the L7
				 * default route by reason and passthrough,
				 * blackhole, no_cluster;
				 * 4: real-mesh route configs: km_route_big,
				 * KM_FE_L7_BIG, route table version 3;
				 * 5: LEAST_REQUEST and MAGLEV, km_cluster
				 * LB fields and stat key, km_sk_orig tracks
				 * the counted connection, km_cl_stat,
				 * km_ep_stat, km_maglev, cx_overflow;
				 * 6: authorization (authz_abi.h);
				 * 7: telemetry: km_sk_orig grows, km_events,
				 * km_ev_stats;
				 * 8: an authorization refusal's event names
				 * the policy row (km_conn_event.authz_row,
				 * .end) and the bound source;
				 * 9: outlier detection: km_cluster od_*,
				 * km_cl_stat and km_ep_stat grow,
				 * km_sk_orig.od;
				 * 10: inbound authorization (sk_lookup):
				 * km_authz_peer, km_authz_pass,
				 * KM_EV_AUTHZ_INBOUND;
				 * 11: open connections' bytes: km_sk_orig
				 * reported_*, KM_EV_BYTES, km_ev_netns */

/* Pin root for maps and links; the agent mounts bpffs if needed. */
#define KM_PIN_ROOT "/sys/fs/bpf/kmesh"

/* Limits. The agent checks every one when config is read and rejects what
 * does not fit: nothing is ever truncated. Map sizes are twice the
 * per-generation limit because two generations coexist during a switch. */
#define KM_GEN_SLOTS 2
/* Endpoint views per generation slot (km_view_slot()). */
#define KM_VIEWS 2
/* Defaults of kmeshd --max-services and --max-endpoints, which set the
 * per-generation limits and the maps' sizes at load (the map definitions
 * below use these): 50,000 services x 10 endpoints fit. */
/* VIP:port pairs. */
#define KM_MAX_FRONTENDS 65536
/* Clusters: Istio creates one per service port and subset. */
#define KM_MAX_CLUSTERS 65536
/* Usable endpoints in all clusters of one generation. */
#define KM_MAX_ENDPOINTS 524288
/* Endpoints of one cluster: weighted pick is a binary search over the
 * cluster's cumulative weights, KM_EP_SEARCH_STEPS lookups at most. */
#define KM_MAX_CLUSTER_ENDPOINTS 8192
#define KM_EP_SEARCH_STEPS 14	/* ceil(log2(8192)) + 1 */
/* Weighted clusters of one tcp_proxy or route action (Envoy allows more;
 * 32 covers canary splits). Linear scan, so keep it small. */
#define KM_MAX_WEIGHTED 32
/* Sum of weights; keeps cumulative sums inside 32 bits. */
#define KM_MAX_TOTAL_WEIGHT 0x7fffffffu
/* Enrolled cgroups plus network namespaces. */
#define KM_MAX_ENROLL 4096
/* cgroup ancestors checked for enrollment (levels below the root). */
#define KM_MAX_CGROUP_DEPTH 64
/* Names shown by kmeshctl, NUL included (Kubernetes names are <= 253). */
#define KM_NAME_MAX 256
/* Enrolled path as shown by kmeshctl, NUL included. */
#define KM_PATH_MAX 256

/* HTTP route tables (route_table.h): checked when config is read. */
/* Sized for Istio's port-wide route configs: one virtual host per service
 * on the port, each with its hostnames and ClusterIP as domains. */
#define KM_MAX_VHOSTS 4096	/* virtual hosts per route config */
#define KM_MAX_DOMAINS 64	/* domains per virtual host */
#define KM_MAX_RC_DOMAINS 16384	/* domains per route config, in all */
#define KM_MAX_ROUTES 256	/* routes per virtual host */
/* header and query parameter matchers per route, in all */
#define KM_MAX_HEADER_MATCHES 8
#define KM_MAX_MATCH_STR 1024	/* domain, path, header name/value, NUL incl. */
/* Route configs (compiled route tables) in one generation. A table of at
 * most KM_ROUTE_TABLE_MAX bytes takes one km_route value, preallocated per
 * slot: 2 x 32 x 128 KiB = 8 MiB of kernel memory. A larger one (up to
 * KM_ROUTE_TABLE_BIG) takes a km_route_big value, allocated only while it
 * is used: KM_MAX_BIG_ROUTE_CONFIGS of them per generation. */
#define KM_MAX_ROUTE_CONFIGS 32
#define KM_MAX_BIG_ROUTE_CONFIGS 8

/* IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d), so one key type
 * serves both families and a dual-stack IPv6 socket dialing ::ffff:VIP finds
 * the IPv4 frontend. Words are in network byte order. */
struct km_addr {
	__u32 w[4];
};

enum km_family {
	KM_FAMILY_INET = 4,
	KM_FAMILY_INET6 = 6,
};

enum km_lb_policy {
	KM_LB_ROUND_ROBIN = 0,
	KM_LB_RANDOM = 1,
	KM_LB_LEAST_REQUEST = 2,	/* by active connections (km_ep_stat) */
	KM_LB_MAGLEV = 3,	/* MAGLEV and RING_HASH: km_maglev table */
	KM_LB_POLICY_MAX,
};

/* LEAST_REQUEST: candidates drawn per pick (Envoy's choice_count, >= 2).
 * With choice_count >= the endpoint count every endpoint is a candidate. */
#define KM_LR_CHOICE_DEFAULT 2
#define KM_LR_CHOICE_MAX 16
/* Maglev: Envoy's default table size (a prime); the table of one cluster
 * is at most KM_MAGLEV_SIZE_MAX entries. Entries are endpoint indexes,
 * stored in chunks of KM_MAGLEV_CHUNK; a table takes whole chunks, the
 * tables of one generation at most KM_MAX_MAGLEV_CHUNKS. */
#define KM_MAGLEV_SIZE_DEFAULT 65537
#define KM_MAGLEV_SIZE_MAX 1048573	/* largest prime below 2^20 */
#define KM_MAGLEV_CHUNK 512
#define KM_MAX_MAGLEV_CHUNKS 4096	/* per generation: 4 MiB of tables */

/* Envoy's core.v3.HealthStatus values. Only UNKNOWN and HEALTHY endpoints
 * reach the kernel; the rest are kept out by the compiler. */
enum km_health {
	KM_HEALTH_UNKNOWN = 0,
	KM_HEALTH_HEALTHY = 1,
	KM_HEALTH_UNHEALTHY = 2,
	KM_HEALTH_DRAINING = 3,
	KM_HEALTH_TIMEOUT = 4,
	KM_HEALTH_DEGRADED = 5,
};

/* km_gen: ARRAY, one entry. */
struct km_gen {
	__u64 generation;	/* increases by one per applied config */
	__u32 slot;		/* live slot, 0 or 1 */
	__u32 flags;
};
_Static_assert(sizeof(struct km_gen) == 16, "km_gen ABI");

/* km_frontend: HASH, service VIP:port -> weighted list of clusters. */
struct km_frontend_key {
	struct km_addr addr;
	__be16 port;
	__u8 slot;
	__u8 pad;
};
_Static_assert(sizeof(struct km_frontend_key) == 20, "km_frontend_key ABI");

struct km_target {
	__u32 cluster_id;
	__u32 cum_weight;	/* inclusive running sum over targets[0..i] */
};

enum km_frontend_flags {
	/* An http_connection_manager listener served as L4 to its default
	 * route's clusters (targets[]): no route table (KM_FE_L7 unset). */
	KM_FE_L7_AS_L4 = 1 << 0,
	/* An http_connection_manager listener with a compiled route table,
	 * km_route[km_route_index(slot, route_id)]. targets[] still hold the
	 * default route: the L4 fallback when the module is absent or the
	 * first bytes are not a complete HTTP request head. */
	KM_FE_L7 = 1 << 1,
	/* with KM_FE_L7: the table is km_route_big[km_route_big_index(slot,
	 * route_id)], route_id < KM_MAX_BIG_ROUTE_CONFIGS */
	KM_FE_L7_BIG = 1 << 2,
};

struct km_frontend {
	__u32 listener_id;	/* key into km_names (KM_NAME_LISTENER) */
	__u16 n_targets;	/* 1..KM_MAX_WEIGHTED */
	__u16 flags;		/* enum km_frontend_flags */
	__u32 total_weight;	/* == targets[n_targets - 1].cum_weight */
	__u32 route_id;		/* KM_FE_L7: < KM_MAX_ROUTE_CONFIGS, else 0 */
	struct km_target targets[KM_MAX_WEIGHTED];
};
_Static_assert(sizeof(struct km_frontend) == 16 + 8 * KM_MAX_WEIGHTED,
	       "km_frontend ABI");

/* km_cluster: HASH. Locality and priority fail-over is resolved by the
 * compiler: the kernel holds only the serving level, i.e. the first level
 * (by Envoy priority, then by locality match with the node) that has a
 * usable endpoint. A health change is a new generation. */
struct km_cluster_key {
	__u32 id;
	__u8 slot;
	__u8 pad[3];
};
_Static_assert(sizeof(struct km_cluster_key) == 8, "km_cluster_key ABI");

/* What a connect routed to a cluster gets besides an endpoint. */
enum km_cluster_kind {
	KM_CK_ENDPOINTS = 0,	/* its endpoints (none: refused) */
	KM_CK_PASSTHROUGH = 1,	/* ORIGINAL_DST (Istio's PassthroughCluster):
				 * the connect goes where it was dialed */
	KM_CK_BLACKHOLE = 2,	/* Istio's BlackHoleCluster: refused */
	KM_CK_NO_CLUSTER = 3,	/* a route names a cluster CDS does not have
				 * (validate_clusters false): refused, as
				 * Envoy's NC */
};

struct km_cluster {
	__u32 n_endpoints;	/* usable endpoints in the serving level */
	__u32 total_weight;	/* sum of their weights */
	__u8 lb_policy;		/* enum km_lb_policy */
	__u8 weighted;		/* 1 if the weights differ */
	__u8 locality_rank;	/* serving level: 0 = node's own locality */
	__u8 kind;		/* enum km_cluster_kind */
	__u32 priority;		/* serving level: Envoy priority */
	__u32 n_configured;	/* endpoints in the config, all levels */
	/* circuit_breakers thresholds (DEFAULT priority), 0 = unset.
	 * max_connections is enforced at connect (KM_CNT_CX_OVERFLOW); the
	 * others are per request and only shown. */
	__u32 max_connections;
	__u32 max_pending_requests;
	__u32 max_requests;
	__u32 max_retries;
	__u8 choice_count;	/* LEAST_REQUEST: 2..KM_LR_CHOICE_MAX */
	__u8 lr_bias;		/* LEAST_REQUEST, weighted: active_request_bias
				 * 0 or 1 */
	__u8 hash_flags;	/* enum km_hash_flags (MAGLEV) */
	__u8 pad;
	/* Stable identity for km_cl_stat and km_ep_stat: a hash of the
	 * cluster's name, the same in every generation and every kmeshd
	 * run (cluster ids are not). km_stat_key64(). */
	__u64 stat_key;
	__u32 maglev_chunk;	/* MAGLEV: first km_maglev chunk */
	__u32 maglev_size;	/* MAGLEV: table entries, a prime */
	/* Outlier detection (include/kmesh/outlier.h), 0 = off: this many
	 * failed connects in a row to an endpoint eject it, in od_enforce
	 * percent of the cases, for od_base_ms x its ejections (at most
	 * od_max_ms), while at most od_max_pct percent of n_endpoints are
	 * ejected. One past ejection is forgiven per od_interval_ms the
	 * endpoint stays in. */
	__u32 od_consecutive;
	__u32 od_base_ms;
	__u32 od_max_ms;
	__u32 od_interval_ms;
	__u8 od_enforce;
	__u8 od_max_pct;
	__u8 od_one;		/* always_eject_one_host: the first ejection
				 * passes od_max_pct */
	__u8 pad2[5];
};
_Static_assert(sizeof(struct km_cluster) == 80, "km_cluster ABI");

enum km_hash_flags {
	/* hash_policy connection_properties.source_ip (tcp_proxy: source_ip):
	 * the key is the source address; without it the pick is random, as
	 * Envoy's with no hash policy. */
	KM_HASH_SOURCE_IP = 1 << 0,
};

/* km_maglev: HASH, (chunk, slot) -> endpoint indexes; entry i of a
 * cluster's table is chunk maglev_chunk + i / KM_MAGLEV_CHUNK, slot
 * i % KM_MAGLEV_CHUNK. */
struct km_maglev_key {
	__u32 chunk;
	__u8 slot;
	__u8 pad[3];
};
_Static_assert(sizeof(struct km_maglev_key) == 8, "km_maglev_key ABI");

struct km_maglev_chunk {
	__u16 ep[KM_MAGLEV_CHUNK];
};
_Static_assert(KM_MAX_CLUSTER_ENDPOINTS <= 65536, "maglev entries are __u16");

/* km_cl_stat: HASH, km_cluster.stat_key -> live figures of a cluster.
 * Not per slot, so they survive a generation flip and (pinned) a kmeshd
 * restart. Created by the data path on first use. */
struct km_cl_stat {
	__u64 cx_active;	/* routed connections not yet released */
	__u64 cx_overflow;	/* refused by max_connections (Envoy's
				 * upstream_cx_overflow) */
	__u64 cx_total;		/* routed connections, ever */
	__u64 od_ejections;	/* outlier ejections, ever (Envoy's
				 * outlier_detection.ejections_enforced_total) */
	__u64 od_overflow;	/* ejections max_ejection_percent refused
				 * (Envoy's ejections_overflow) */
};
_Static_assert(sizeof(struct km_cl_stat) == 40, "km_cl_stat ABI");

/* km_ep_stat: HASH, (cluster stat_key, endpoint address) -> active
 * connections of that endpoint in that cluster (Envoy counts per host of a
 * cluster). What LEAST_REQUEST compares. */
struct km_ep_stat_key {
	__u64 cluster;		/* km_cluster.stat_key */
	struct km_addr addr;
	__be16 port;
	__u8 pad[6];
};
_Static_assert(sizeof(struct km_ep_stat_key) == 32, "km_ep_stat_key ABI");

struct km_ep_stat {
	__u64 cx_active;
	/* outlier detection (outlier.h) */
	__u64 od_until_ns;	/* ejected until (bpf_ktime_get_ns) */
	__u64 od_uneject_ns;	/* when the last ejection ended */
	__u32 od_consec;	/* failed connects in a row */
	__u32 od_ejections;	/* the multiplier of base_ejection_time */
	__u32 od_ejected;	/* 1 while ejected */
	__u32 pad;
};
_Static_assert(sizeof(struct km_ep_stat) == 40, "km_ep_stat ABI");

/*
 * Endpoint views: a cluster's record and endpoints exist in two views per
 * generation slot, so one cluster's endpoint set can be replaced without a
 * new generation (docs/design.md, "Incremental endpoint updates"). The slot
 * byte of km_cluster_key, km_endpoint_key and km_maglev_key is
 * km_view_slot(generation slot, view); km_cl_view (ARRAY of __u32, index
 * km_cl_view_index()) holds each cluster's live view, 0 or 1: one aligned
 * word that differs from its old value in one bit, read once per connect.
 */
static inline __u8 km_view_slot(__u32 slot, __u32 view)
{
	return (__u8)((slot & 1) | ((view & 1) << 1));
}

static inline __u32 km_cl_view_index(__u32 slot, __u32 id)
{
	return id * 2 + (slot & 1);
}

/* km_endpoint: HASH, (cluster, index) -> address. index < n_endpoints. */
struct km_endpoint_key {
	__u32 cluster_id;
	__u32 index;
	__u8 slot;
	__u8 pad[3];
};
_Static_assert(sizeof(struct km_endpoint_key) == 12, "km_endpoint_key ABI");

struct km_endpoint {
	struct km_addr addr;
	__be16 port;
	__u8 family;		/* enum km_family */
	__u8 health;		/* enum km_health */
	__u32 weight;
	__u32 cum_weight;	/* inclusive running sum over [0..index] */
};
_Static_assert(sizeof(struct km_endpoint) == 28, "km_endpoint ABI");

/* km_route: ARRAY of KM_GEN_SLOTS * KM_MAX_ROUTE_CONFIGS compiled route
 * tables (route_table.h), each value KM_ROUTE_TABLE_MAX bytes; route config
 * @id of generation slot @slot is at index km_route_index(slot, id). */
static inline __u32 km_route_index(__u32 slot, __u32 id)
{
	return (slot & 1) * KM_MAX_ROUTE_CONFIGS + id;
}

/* km_route_big: HASH (no preallocation) of up to KM_GEN_SLOTS *
 * KM_MAX_BIG_ROUTE_CONFIGS tables of up to KM_ROUTE_TABLE_BIG bytes. */
static inline __u32 km_route_big_index(__u32 slot, __u32 id)
{
	return (slot & 1) * KM_MAX_BIG_ROUTE_CONFIGS + id;
}

/* km_names: HASH, names for kmeshctl; the data path never reads it. */
enum km_name_kind {
	KM_NAME_LISTENER = 1,
	KM_NAME_CLUSTER = 2,
};

struct km_name_key {
	__u32 id;
	__u8 kind;		/* enum km_name_kind */
	__u8 slot;
	__u16 pad;
};
_Static_assert(sizeof(struct km_name_key) == 8, "km_name_key ABI");

struct km_name {
	char s[KM_NAME_MAX];
};

/* km_enroll: HASH, which workloads kmesh touches. */
enum km_enroll_kind {
	KM_ENROLL_CGROUP = 1,	/* id = cgroup v2 id (inode of the dir) */
	KM_ENROLL_NETNS = 2,	/* id = netns cookie (SO_NETNS_COOKIE) */
};

struct km_enroll_key {
	__u64 id;
	__u32 kind;		/* enum km_enroll_kind */
	__u32 pad;
};
_Static_assert(sizeof(struct km_enroll_key) == 16, "km_enroll_key ABI");

struct km_enroll {
	char path[KM_PATH_MAX];	/* as given to kmeshctl enroll */
};

/*
 * What getpeername needs of a routed socket: the service address it
 * dialed, and the endpoint it was sent to. Where it is kept is the agent's
 * choice at load (km_cfg_peer_vip):
 *   KM_PEER_COOKIE   km_peer, an array of KM_MAX_PEER_SOCKETS slots indexed
 *                    by the socket's cookie: one store per routed connect,
 *                    no allocation, no lock. Cookies are handed out in
 *                    order, so a slot is taken again only after
 *                    KM_MAX_PEER_SOCKETS newer sockets asked for one; the
 *                    slot keeps the cookie, and a socket whose slot was
 *                    taken (or torn by a concurrent store) sees its
 *                    endpoint, never another socket's VIP;
 *   KM_PEER_STORAGE  km_sk_orig, socket storage: exact for every socket,
 *                    an allocation per routed connect and a free at close;
 *   KM_PEER_OFF      nothing: getpeername shows the endpoint.
 * Telemetry (lib/events.h) writes its fields into the same record: the
 * socket storage when the socket has one, else the cookie slot, whatever
 * the mode.
 */
enum km_peer_mode {
	KM_PEER_OFF = 0,
	KM_PEER_STORAGE = 1,
	KM_PEER_COOKIE = 2,
};

#define KM_MAX_PEER_SOCKETS 131072	/* a power of two */


struct km_sk_orig {
	struct km_addr vip;
	struct km_addr endpoint;
	__be16 vip_port;
	__be16 endpoint_port;
	__u32 cluster_id;
	/* The connection counted in km_cl_stat / km_ep_stat (@counted set):
	 * released by the cgroup/sock_release program, or moved when the
	 * socket is routed again (a deferred L7 connect's re-run). */
	__u64 stat_key;		/* km_cluster.stat_key */
	__u8 counted;
	__u8 od;		/* its cluster has outlier detection: the
				 * connect's outcome is reported (outlier.h) */
	__u8 pad[6];
	/* telemetry (km_events): the rest of struct km_conn_ids, written
	 * where getpeername's record is (socket storage, else the cookie
	 * slot) */
	__u64 src_id;		/* the enrollment that matched: km_enroll_key */
	__u32 src_kind;
	__u32 listener_id;
	__u32 route_id;		/* L7: route config; KM_EV_NONE otherwise */
	__u16 vhost;		/* L7: index of the virtual host, the route */
	__u16 route;
	__u64 generation;	/* the config generation that routed it */
	__u64 start_ns;		/* bpf_ktime_get_ns() at the TCP connect */
	__u32 flags;		/* enum km_sko_flags */
	__u32 pad2;
	/* bytes already reported by KM_EV_BYTES events while it was open
	 * (written under the socket lock: the iterator's and the close's) */
	__u64 reported_sent;
	__u64 reported_received;
};
_Static_assert(sizeof(struct km_sk_orig) == 120, "km_sk_orig ABI");

struct km_peer_slot {
	__u64 cookie;
	struct km_sk_orig o;
};
_Static_assert(sizeof(struct km_peer_slot) == 128, "km_peer_slot ABI");

enum km_sko_flags {
	KM_SKO_EVENTS = 1 << 0,	/* report this connection (km_events) */
	KM_SKO_OPENED = 1 << 1,	/* its open event is out: close follows */
};

/*
 * km_events: RINGBUF of connection events, read by kmeshd (telemetry).
 * A routed connection gives KM_EV_OPEN at its TCP connect and KM_EV_CLOSE
 * when it reaches TCP_CLOSE; the close record repeats everything the open
 * one had, so it stands alone (an agent restarted in between loses
 * nothing). A connect kmesh refuses gives one KM_EV_REFUSED. A full ring
 * drops the event and counts it in km_ev_stats: the data path never
 * waits.
 */
#define KM_EV_NONE 0xffffffffu		/* an id that is not known */
/* Bytes, a power of 2 pages: about 7,000 events, 350 ms of 10,000
 * connections/s (two events each) against the agent's 100 ms drain. The
 * agent maps it (twice, for wrap-around), so it counts in kmeshd's RSS. */
#define KM_EV_RING_DEFAULT (1u << 20)

/* km_conn_event.reason of a connect authorization denied (it counts in
 * km_authz_stats, not km_counters) */
#define KM_EV_REASON_AUTHZ 0xffff
/* Such an event's .end: why (enum km_az_why, authz_eval.h), with this bit
 * when the deny rests on a condition kmesh cannot evaluate (fail closed);
 * .authz_row: the counter row that decided (slot-relative, names in
 * km_names KM_NAME_AUTHZ), for a bad op the op index; 0 (no row) for a
 * program missing, too long or unfinished, or an evaluation preempted. */
#define KM_EV_AUTHZ_FAIL_CLOSED 0x80
/* ... and this bit when the server side (sk_lookup) denied an arriving
 * connection: .local is the peer's address and port, .vip the local
 * address and port it was sent to, no enrollment; with
 * KM_EV_AUTHZ_PEER_PROVEN when the peer's identity was known by its
 * address (km_authz_peer). */
#define KM_EV_AUTHZ_INBOUND 0x40
#define KM_EV_AUTHZ_PEER_PROVEN 0x20
#define KM_EV_AUTHZ_WHY_MASK 0x1f

enum km_ev_type {
	KM_EV_OPEN = 1,
	KM_EV_CLOSE = 2,
	KM_EV_REFUSED = 3,
	KM_EV_BYTES = 4,	/* an open connection's bytes since the last
				 * report (the iter/tcp program, which kmeshd
				 * runs every few seconds in each network
				 * namespace of km_ev_netns) */
};

/* KM_EV_BYTES reports connections open at least this long */
#define KM_EV_BYTES_MIN_AGE_NS 1000000000ull
/* km_ev_netns: network namespaces with routed connections (their
 * cookie -> the last process that connected from it, whose
 * /proc/PID/ns/net kmeshd enters to run the iterator) */
#define KM_EV_MAX_NETNS 1024

/* How a connection ended (KM_EV_CLOSE) */
enum km_ev_end {
	KM_END_FIN = 0,		/* both FINs exchanged */
	KM_END_PEER_RESET,	/* RST from the endpoint (sk_err set) */
	KM_END_LOCAL_RESET,	/* the application aborted it (close with
				 * unread data, SO_LINGER 0) */
	KM_END_CONNECT_FAILED,	/* never established: refused by the
				 * endpoint or timed out (SYN_SENT) */
};

struct km_conn_event {
	__u8 type;		/* enum km_ev_type */
	__u8 end;		/* close: enum km_ev_end; authz refused:
				 * why (KM_EV_AUTHZ_FAIL_CLOSED) */
	__u16 reason;		/* refused: the enum km_counter counted,
				 * or KM_EV_REASON_AUTHZ */
	__u32 src_kind;		/* km_enroll_key of the enrolled source */
	__u64 src_id;
	__u64 cookie;		/* socket cookie: ties open and close */
	__u64 start_ns;		/* bpf_ktime_get_ns() at the connect */
	__u64 end_ns;		/* close: at TCP_CLOSE; else start_ns */
	__u64 generation;	/* config generation: names of ids */
	__u64 bytes_sent;	/* close: application bytes the endpoint
				 * acknowledged (SYN and FIN not counted);
				 * bytes: since the last report */
	__u64 bytes_received;	/* close: application bytes received;
				 * bytes: since the last report */
	struct km_addr vip;	/* the service address dialed */
	struct km_addr endpoint;	/* where it went (refused: zero; authz
				 * refused by the endpoint's policy: it) */
	struct km_addr local;	/* the client's own address (refused:
				 * zero: it never connected; authz refused:
				 * the bound source, else zero) */
	__be16 vip_port;
	__be16 endpoint_port;
	__be16 local_port;
	__u16 authz_row;	/* authz refused: the row that decided */
	__u32 listener_id;	/* KM_EV_NONE: not known */
	__u32 cluster_id;	/* KM_EV_NONE: not known */
	__u32 route_id;		/* L7 only, else KM_EV_NONE */
	__u16 vhost;
	__u16 route;
	/* close: of bytes_sent and bytes_received, what KM_EV_BYTES events
	 * reported while it was open */
	__u64 reported_sent;
	__u64 reported_received;
};
_Static_assert(sizeof(struct km_conn_event) == 152, "km_conn_event ABI");

/* km_ev_stats: PERCPU_ARRAY */
enum km_ev_stat {
	KM_EVS_SUBMITTED = 0,	/* events written to the ring */
	KM_EVS_DROPPED,		/* events lost: the ring was full */
	KM_EVS_MAX,
};


/* km_counters: PERCPU_ARRAY indexed by reason. Order is ABI. */
/*
 * The data path's counters, one list: the enum (KM_CNT_<ID>) and the names
 * kmeshctl prints (km_counter_names) are made from it, so they cannot drift.
 */
#define KM_COUNTERS(X)							\
	/* connect rewritten to an endpoint */				\
	X(ROUTED, "routed")						\
	/* service with no usable endpoint: refused */			\
	X(NO_ENDPOINT, "no_endpoint")					\
	/* service address dialed by a non-enrolled workload: left alone */	\
	X(NOT_ENROLLED, "not_enrolled")					\
	/* destination is not a service frontend */			\
	X(MAP_MISS, "map_miss")						\
	/* a record the frontend points to is missing, or (xDS) its cluster	\
	 * is gone: refused */						\
	X(INCONSISTENT, "inconsistent")					\
	/* routed, and the listener is L7 served as L4 */		\
	X(L7_AS_L4, "l7_served_as_l4")					\
	/* getpeername answered with the VIP */				\
	X(PEER_VIP, "getpeername_vip")					\
	/* IPv6 endpoint for an IPv4 socket: refused */			\
	X(FAMILY, "family_mismatch")					\
	/* L7 (KM_FE_L7 listeners, kmesh.ko loaded) */			\
	/* connect held until the first write */			\
	X(L7_DEFERRED, "l7_deferred")					\
	/* first bytes matched a route: routed by it */			\
	X(L7_ROUTED, "l7_routed")					\
	/* no virtual host or route matched: the first write fails with	\
	 * ECONNREFUSED */						\
	X(L7_NO_ROUTE, "l7_no_route")					\
	/* first bytes not a complete HTTP head (or a bad route table):	\
	 * default route; the sum of the four reasons below */		\
	X(L7_DEFAULT, "l7_default_route")				\
	/* head not complete in the first write (split across writes) */	\
	X(L7_DEFAULT_INCOMPLETE, "l7_default_incomplete")		\
	/* head over a parser limit (more than 32 header lines, longer than	\
	 * 4096 bytes) */						\
	X(L7_DEFAULT_OVER_LIMIT, "l7_default_over_limit")		\
	/* not an HTTP/1.x request head */				\
	X(L7_DEFAULT_NOT_HTTP, "l7_default_not_http")			\
	/* the route table is missing or malformed */			\
	X(L7_DEFAULT_BAD_TABLE, "l7_default_bad_table")			\
	/* route to an ORIGINAL_DST cluster: left on the address dialed */	\
	X(PASSTHROUGH, "passthrough")					\
	/* route to BlackHoleCluster: refused */			\
	X(BLACKHOLE, "blackhole")					\
	/* route to a cluster CDS does not have: refused */		\
	X(NO_CLUSTER, "no_cluster")					\
	/* over the cluster's max_connections: refused (per cluster:	\
	 * km_cl_stat) */						\
	X(CX_OVERFLOW, "upstream_cx_overflow")				\
	/* outlier detection ejected an endpoint (per cluster: km_cl_stat) */ \
	X(OD_EJECTED, "outlier_ejections")				\
	/* an ejection max_ejection_percent refused */			\
	X(OD_OVERFLOW, "outlier_ejections_overflow")

#define KM_CNT_ENUM(id, name) KM_CNT_##id,
enum km_counter {
	KM_COUNTERS(KM_CNT_ENUM)
	KM_CNT_MAX,
};
#undef KM_CNT_ENUM

#include "authz_abi.h"

#endif /* KMESH_ABI_H */
