// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Identities of enrolled network namespaces from Workload resources
 * (wl_ident.h).
 *
 * kmesh vouches for a client by what the kernel knows of its socket: the
 * enrolled netns it sits in. The netns's own addresses tie it to the
 * Workload of this node that istiod says owns them, so that Workload's
 * namespace and service account become the netns's identity. Not the
 * source address of a connect (anyone on the pod network can send from
 * any address): the addresses are read from inside the enrolled netns.
 * A netns whose addresses belong to workloads of two identities gets
 * none. Cgroup enrollments have no address of their own: only
 * `kmeshctl enroll --namespace --service-account` names theirs.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "sys.h"
#include "wl_ident.h"

/* The addresses of the netns at @path, read from inside it (the calling
 * thread enters it and comes back, as util/sys.c does for its cookie). */
int kmd_netns_addrs(const char *path, struct km_ip *out, int max)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int target = open(path, O_RDONLY | O_CLOEXEC);
	struct ifaddrs *ifa = NULL;
	int n = -1;

	if (self < 0 || target < 0 || setns(target, CLONE_NEWNET))
		goto out;
	if (!getifaddrs(&ifa)) {
		n = 0;
		for (struct ifaddrs *i = ifa; i && n < max; i = i->ifa_next) {
			struct km_ip *ip = &out[n];

			if (!i->ifa_addr)
				continue;
			memset(ip, 0, sizeof(*ip));
			if (i->ifa_addr->sa_family == AF_INET) {
				ip->family = KM_FAMILY_INET;
				ip->addr.w[2] = htonl(0xffff);
				ip->addr.w[3] = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			} else if (i->ifa_addr->sa_family == AF_INET6) {
				ip->family = KM_FAMILY_INET6;
				memcpy(&ip->addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			} else {
				continue;
			}
			n++;
		}
		freeifaddrs(ifa);
	}
	if (setns(self, CLONE_NEWNET))
		n = -1;	/* cannot happen: our own netns */
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return n;
}

/* The one workload identity owning any of @ips; NULL when none, or when
 * they belong to two identities. */
static const struct km_wl_workload *owner(struct km_wl_workload *const *wls,
					  size_t n, const char *node,
					  const struct km_ip *ips, int n_ips)
{
	const struct km_wl_workload *found = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct km_wl_workload *w = wls[i];
		bool mine = false;

		if (!*w->ns || !*w->sa || w->foreign_trust_domain ||
		    (node && *node && strcmp(w->node, node)))
			continue;
		for (size_t a = 0; a < w->n_addrs && !mine; a++)
			for (int j = 0; j < n_ips && !mine; j++)
				mine = w->addrs[a].family == ips[j].family &&
				       !memcmp(&w->addrs[a].addr, &ips[j].addr,
					       sizeof(ips[j].addr));
		if (!mine)
			continue;
		if (found && (strcmp(found->ns, w->ns) || strcmp(found->sa, w->sa)))
			return NULL;
		found = w;
	}
	return found;
}

int kmd_wl_idents(const struct km_enroll_maps *mp,
		  struct km_wl_workload *const *wls, size_t n,
		  const char *node, kmd_wl_log_fn log)
{
	struct km_enroll_row *rows;
	int nr, set = 0;

	if (mp->ident < 0 || !n)
		return 0;
	rows = calloc(KM_MAX_ENROLL, sizeof(*rows));
	if (!rows)
		return 0;
	nr = km_enroll_list(mp->enroll, rows, KM_MAX_ENROLL);
	for (int i = 0; i < nr; i++) {
		struct km_identity id;
		struct km_enroll_key now;
		struct km_ip ips[KMD_NETNS_MAX_ADDRS];
		const struct km_wl_workload *w;
		struct km_err err = {};
		char msg[sizeof(err.msg) + 256];
		int n_ips;

		if (rows[i].k.kind != KM_ENROLL_NETNS ||
		    !bpf_map_lookup_elem(mp->ident, &rows[i].k, &id))
			continue;
		/* the path must still name the netns enrolled under it */
		if (km_resolve_enroll(rows[i].v.path, &now, &err) ||
		    memcmp(&now, &rows[i].k, sizeof(now)))
			continue;
		n_ips = kmd_netns_addrs(rows[i].v.path, ips, KMD_NETNS_MAX_ADDRS);
		w = n_ips > 0 ? owner(wls, n, node, ips, n_ips) : NULL;
		if (!w)
			continue;
		if (km_enroll_ident(mp, &rows[i].k, w->ns, w->sa, &err)) {
			snprintf(msg, sizeof(msg), "identity of %s from workload '%s': %s",
				 rows[i].v.path, w->uid, err.msg);
		} else {
			snprintf(msg, sizeof(msg), "identity %s/%s for the enrolled netns %s, from workload '%s' on this node (its address)",
				 w->ns, w->sa, rows[i].v.path, w->uid);
			set++;
		}
		log(msg);
	}
	free(rows);
	return set;
}
