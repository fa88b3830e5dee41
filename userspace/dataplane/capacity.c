// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Map sizes are set at load from the per-generation limits (kmeshd
 * --max-services, --max-endpoints): two generation slots, and two
 * endpoint views per slot for cluster and endpoint records (abi.h). The
 * config maps are hashes without preallocation, so a large capacity costs
 * kernel memory only for the entries in use; km_rr and km_cl_view are
 * arrays (4 and 8 bytes per cluster).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "capacity.h"
#include "kmesh/abi.h"

#define SV (KM_GEN_SLOTS * KM_VIEWS)

const struct km_cap_row km_cap_rows[] = {
	{ "km_frontend", KM_GEN_SLOTS, 0 },
	{ "km_cluster", SV, 0 },
	{ "km_endpoint", 0, SV },
	{ "km_names", 2 * KM_GEN_SLOTS, 0 },	/* clusters and listeners */
	{ "km_rr", 1, 0 },
	{ "km_cl_view", KM_GEN_SLOTS, 0 },
	{ "km_cl_stat", KM_GEN_SLOTS, 0 },
	{ "km_ep_stat", 0, KM_GEN_SLOTS },
	{}
};

static uint64_t size_of(const struct km_cap_row *r, uint32_t services,
			uint32_t endpoints)
{
	return r->per_service * services + r->per_endpoint * endpoints;
}

/* The pinned map's size, 0 if there is none. */
static uint32_t pinned_size(const char *pin_root, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

int km_capacity_prepare(struct bpf_object *obj, const char *pin_root,
			uint32_t services, uint32_t endpoints, struct km_err *err)
{
	for (const struct km_cap_row *r = km_cap_rows; r->map; r++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, r->map);
		uint64_t want = size_of(r, services, endpoints);
		uint32_t have;
		int ret;

		if (!m || want > UINT32_MAX) {
			km_err_set(err, "%s: %s", r->map, m ? "too large" :
				   "not in the BPF object");
			return m ? -E2BIG : -ENOENT;
		}
		have = pinned_size(pin_root, r->map);
		if (have && have != want) {
			km_err_set(err, "%s/%s is pinned with %u entries, --max-services %u --max-endpoints %u need %llu: start kmeshd with the sizes it was started with, or remove the pins with 'kmeshd --uninstall' (the running config goes with them)",
				   pin_root, r->map, have, services, endpoints,
				   (unsigned long long)want);
			return -EEXIST;
		}
		ret = bpf_map__set_max_entries(m, want);
		if (ret) {
			km_err_set(err, "sizing %s: %s", r->map, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

uint64_t km_capacity_of(int fd, const char *map)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_map_get_info_by_fd(fd, &info, &len))
		return 0;
	for (const struct km_cap_row *r = km_cap_rows; r->map; r++)
		if (!strcmp(r->map, map))
			return info.max_entries /
			       (r->per_service ? r->per_service : r->per_endpoint);
	return 0;
}
