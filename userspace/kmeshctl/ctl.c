// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What more than one kmeshctl command reads (ctl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "ctl.h"

int die_err(const struct km_err *err)
{
	fprintf(stderr, "kmeshctl: %s\n", err->msg);
	return 1;
}

int open_maps(struct ctl *c)
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

const char *addr_str(const struct km_addr *a, char *buf, size_t len)
{
	struct km_ip ip = { .addr = *a };

	ip.family = a->w[0] == 0 && a->w[1] == 0 && a->w[2] == htonl(0xffff) ?
		    KM_FAMILY_INET : KM_FAMILY_INET6;
	return km_ip_str(&ip, buf, len);
}

const char *hostport(const struct km_addr *a, __be16 port, char *buf,
			    size_t len)
{
	char ip[64];
	bool v6 = !(a->w[0] == 0 && a->w[1] == 0 && a->w[2] == htonl(0xffff));

	addr_str(a, ip, sizeof(ip));
	snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", ip, ntohs(port));
	return buf;
}

void name_of(struct ctl *c, __u8 kind, __u32 id, char *buf, size_t len)
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
int for_each_in_slot(int fd, size_t ksz, size_t slot_off, __u8 slot,
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

int count_slot(int fd, size_t ksz, size_t off, __u8 slot)
{
	return for_each_in_slot(fd, ksz, off, slot, NULL, NULL);
}

