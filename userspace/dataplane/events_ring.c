// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "events_ring.h"

int km_events_ring_prepare(struct bpf_map *ring, const char *pin_root,
			   uint32_t bytes, struct km_err *err)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	long page = sysconf(_SC_PAGESIZE);
	int fd, ret;

	if (!bytes)
		bytes = KM_EV_RING_DEFAULT;
	if ((bytes & (bytes - 1)) || bytes % page) {
		km_err_set(err, "events ring of %u bytes: must be a power of two and a multiple of the page size (%ld)",
			   bytes, page);
		return -EINVAL;
	}
	ret = bpf_map__set_max_entries(ring, bytes);
	if (ret) {
		km_err_set(err, "sizing km_events: %s", strerror(-ret));
		return ret;
	}
	/* libbpf refuses to reuse a pin whose size differs */
	snprintf(path, sizeof(path), "%s/%s", pin_root, bpf_map__name(ring));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.max_entries != bytes) {
		fprintf(stderr, "<5>kmeshd: events ring resized from %u to %u bytes: events not yet read are dropped\n",
			info.max_entries, bytes);
		unlink(path);
	}
	close(fd);
	return 0;
}
