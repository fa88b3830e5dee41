// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Inbound authorization, kmeshd's share (inbound.h, bpf/lib/inbound.h).
 *
 * Which netns get the sk_lookup program: kmeshd's own (the host's, where
 * cgroup-enrolled workloads listen) and every enrolled netns (a pod). Each
 * link is pinned as netns_<cookie>, so it outlives a kmeshd restart like
 * the cgroup links; a restart moves it to the new program in place.
 *
 * Which addresses prove an identity (km_authz_peer): the addresses of an
 * enrolled netns that has one, read from inside that netns (loopback and
 * link-local left out: every netns has its own). An address that two
 * identities claim proves neither, nor one that kmeshd's own netns or an
 * enrolled netns without identity also holds: there the SYN-ACK would
 * reach a local socket, so a sender there could complete the handshake
 * from it. With --trust-workload-addresses the
 * Workload resources' addresses count too (an enrolled netns's own
 * addresses win over them): anyone who can send from such an address on
 * the pod network is then taken for that workload (docs/authz.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "bpf_loader.h"
#include "inbound.h"
#include "sys.h"
#include "ads.h"
#include "pins.h"

struct peer {
	struct km_addr addr;
	struct km_identity id;
	bool local;		/* from an enrolled netns on this node */
};

struct peers {
	struct peer *v;
	size_t n, cap;
};

static bool skip_addr(const struct km_ip *ip)
{
	const struct km_addr *a = &ip->addr;

	if (ip->family == KM_FAMILY_INET)
		return (ntohl(a->w[3]) >> 24) == 127 || (ntohl(a->w[3]) >> 16) == 0xa9fe;
	if (!a->w[0] && !a->w[1] && !a->w[2] && a->w[3] == htonl(1))
		return true;	/* ::1 */
	return (ntohl(a->w[0]) & 0xffc00000) == 0xfe800000;
}

static void peer_add(struct peers *p, const struct km_ip *ip, const char *ns,
		     const char *sa, bool local)
{
	struct peer *e;

	if (skip_addr(ip) || strlen(ns) >= KM_IDENT_NS_MAX ||
	    strlen(sa) >= KM_IDENT_SA_MAX)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct peer *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return;
		p->v = v;
		p->cap = cap;
	}
	e = &p->v[p->n++];
	memset(e, 0, sizeof(*e));
	e->addr = ip->addr;
	memcpy(e->id.ns, ns, strlen(ns));
	memcpy(e->id.sa, sa, strlen(sa));
	e->local = local;
}

static int peer_cmp(const void *a, const void *b)
{
	const struct peer *x = a, *y = b;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	if (c)
		return c;
	return (int)y->local - (int)x->local;	/* local first */
}

/* The netns at @path (cookie @cookie) has the sk_lookup program linked:
 * a new link, or the pinned one moved to @prog_fd. 1 when newly linked. */
static int link_netns(struct kmd_inbound *ib, const char *path, __u64 cookie,
		      int prog_fd, __u32 prog_id, kmd_wl_log_fn log)
{
	char pin[PATH_MAX], msg[PATH_MAX + 128];
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd, nsfd, ret = 0;

	snprintf(pin, sizeof(pin), "%s/%s%llu", ib->pin_root,
		 KM_NETNS_LINK_PREFIX, (unsigned long long)cookie);
	fd = bpf_obj_get(pin);
	if (fd >= 0) {
		if (!bpf_link_get_info_by_fd(fd, &info, &len) &&
		    info.netns.netns_ino) {
			if (info.prog_id != prog_id &&
			    bpf_link_update(fd, prog_fd, NULL)) {
				snprintf(msg, sizeof(msg), "inbound: %s: moving the sk_lookup link to the new program: %s",
					 path, strerror(errno));
				log(msg);
			}
			close(fd);
			return 0;
		}
		close(fd);
		unlink(pin);	/* its netns is gone */
	}
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return 0;
	fd = bpf_link_create(prog_fd, nsfd, BPF_SK_LOOKUP, NULL);
	if (fd < 0 || bpf_obj_pin(fd, pin)) {
		snprintf(msg, sizeof(msg), "inbound: %s: attaching the sk_lookup program: %s (connections to it are not checked on arrival)",
			 path, strerror(errno));
		log(msg);
	} else {
		snprintf(msg, sizeof(msg), "inbound: sk_lookup attached to the netns %s",
			 path);
		log(msg);
		ret = 1;
	}
	if (fd >= 0)
		close(fd);
	close(nsfd);
	return ret;
}

static bool has_cookie(const __u64 *v, size_t n, __u64 c)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == c)
			return true;
	return false;
}

/* Links of netns not in @keep (unenrolled, or gone) are removed. */
static void unlink_others(struct kmd_inbound *ib, const __u64 *keep, size_t n)
{
	size_t pl = strlen(KM_NETNS_LINK_PREFIX);
	char pin[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(ib->pin_root);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, KM_NETNS_LINK_PREFIX, pl) ||
		    has_cookie(keep, n, strtoull(de->d_name + pl, NULL, 10)))
			continue;
		snprintf(pin, sizeof(pin), "%s/%s", ib->pin_root, de->d_name);
		km_pin_drop_link(pin);
	}
	closedir(d);
}

/* The addresses of the netns at @path, enrolled as @k (NULL: kmeshd's
 * own), with its identity or none. */
static void netns_peers(struct kmd_inbound *ib, const char *path,
			const struct km_enroll_key *k, struct peers *p)
{
	struct km_ip ips[KMD_NETNS_MAX_ADDRS];
	struct km_identity id;
	int n;

	/* no identity: its addresses are claimed by nobody (sync_peers) */
	if (!k || ib->ident_fd < 0 || bpf_map_lookup_elem(ib->ident_fd, k, &id) ||
	    !id.ns[0] || !id.sa[0])
		memset(&id, 0, sizeof(id));
	id.ns[KM_IDENT_NS_MAX - 1] = 0;
	id.sa[KM_IDENT_SA_MAX - 1] = 0;
	n = kmd_netns_addrs(path, ips, KMD_NETNS_MAX_ADDRS);
	for (int i = 0; i < n; i++)
		peer_add(p, &ips[i], id.ns, id.sa, true);
}

/* km_authz_peer := @p, an address two identities claim left out. */
static void sync_peers(int fd, struct peers *p, kmd_wl_log_fn log)
{
	struct km_addr key, next, *prev = NULL;
	size_t out = 0;

	qsort(p->v, p->n, sizeof(*p->v), peer_cmp);
	for (size_t i = 0; i < p->n;) {
		size_t j = i + 1;
		bool clash = false;

		for (; j < p->n && !memcmp(&p->v[j].addr, &p->v[i].addr,
					   sizeof(key)); j++)
			if (p->v[j].local == p->v[i].local &&
			    memcmp(&p->v[j].id, &p->v[i].id, sizeof(p->v[i].id)))
				clash = true;
		/* a local address of no identity proves nothing */
		if (!clash && p->v[i].id.ns[0])
			p->v[out++] = p->v[i];
		i = j;
	}
	p->n = out;
	/* stale keys first, then the current ones */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct peer probe = { .addr = next, .local = true };

		key = next;
		prev = &key;
		if (!bsearch(&probe, p->v, p->n, sizeof(*p->v), peer_cmp)) {
			probe.local = false;
			if (!bsearch(&probe, p->v, p->n, sizeof(*p->v), peer_cmp)) {
				bpf_map_delete_elem(fd, &next);
				prev = NULL;	/* restart: the walk lost its place */
			}
		}
	}
	for (size_t i = 0; i < p->n; i++)
		if (bpf_map_update_elem(fd, &p->v[i].addr, &p->v[i].id, BPF_ANY)) {
			log("inbound: km_authz_peer is full: some peers stay unproven");
			break;
		}
}

void kmd_inbound_scan(struct kmd_inbound *ib, struct km_wl_workload *const *wls,
		      size_t n, bool now, kmd_wl_log_fn log)
{
	struct km_enroll_row *rows = NULL;
	struct peers peers = {};
	struct km_enroll_key self;
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);
	__u64 *keep = NULL;
	char path[PATH_MAX];
	struct km_err err = {};
	size_t n_keep = 0;
	int prog_fd, peer_fd, nr;

	if (!now && km_now_ms() - ib->scan_ms < 900)
		return;
	ib->scan_ms = km_now_ms();
	snprintf(path, sizeof(path), "%s/%s", ib->pin_root, KM_SKL_PROG_PIN);
	prog_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/km_authz_peer", ib->pin_root);
	peer_fd = bpf_obj_get(path);
	rows = calloc(KM_MAX_ENROLL, sizeof(*rows));
	keep = calloc(KM_MAX_ENROLL + 1, sizeof(*keep));
	if (prog_fd < 0 || peer_fd < 0 || !rows || !keep ||
	    bpf_prog_get_info_by_fd(prog_fd, &pi, &len))
		goto out;
	if (!km_resolve_enroll("/proc/self/ns/net", &self, &err)) {
		keep[n_keep++] = self.id;
		link_netns(ib, "/proc/self/ns/net", self.id, prog_fd, pi.id, log);
		netns_peers(ib, "/proc/self/ns/net", NULL, &peers);
	}
	nr = km_enroll_list(ib->enroll_fd, rows, KM_MAX_ENROLL);
	for (int i = 0; i < nr; i++) {
		struct km_enroll_key cur;

		if (rows[i].k.kind != KM_ENROLL_NETNS ||
		    km_resolve_enroll(rows[i].v.path, &cur, &err) ||
		    memcmp(&cur, &rows[i].k, sizeof(cur)))
			continue;
		keep[n_keep++] = cur.id;
		link_netns(ib, rows[i].v.path, cur.id, prog_fd, pi.id, log);
		netns_peers(ib, rows[i].v.path, &rows[i].k, &peers);
	}
	unlink_others(ib, keep, n_keep);
	for (size_t i = 0; ib->trust && i < n; i++) {
		const struct km_wl_workload *w = wls[i];

		if (!*w->ns || !*w->sa || w->foreign_trust_domain)
			continue;
		for (size_t a = 0; a < w->n_addrs; a++)
			peer_add(&peers, &w->addrs[a], w->ns, w->sa, false);
	}
	sync_peers(peer_fd, &peers, log);
out:
	if (prog_fd >= 0)
		close(prog_fd);
	if (peer_fd >= 0)
		close(peer_fd);
	free(peers.v);
	free(rows);
	free(keep);
}
