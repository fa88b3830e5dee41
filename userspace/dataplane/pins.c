// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pins.h"

int km_pin_path(char *buf, size_t len, const char *root, const char *a,
		const char *b)
{
	if (snprintf(buf, len, "%s/%s%s", root, a, b ? b : "") >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int km_pin_drop_link(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

/* The link pinned at @path takes @prog in place when it is attached to the
 * same cgroup with the same attach type: 1 done, 0 not such a link. */
static int update_in_place(struct bpf_program *prog, __u64 cg_id,
			   const char *path, struct km_err *err)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path), ret = 0;

	if (fd < 0)
		return 0;
	if (bpf_link_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.type == BPF_LINK_TYPE_CGROUP &&
	    info.cgroup.cgroup_id == cg_id &&
	    info.cgroup.attach_type == bpf_program__expected_attach_type(prog)) {
		ret = bpf_link_update(fd, bpf_program__fd(prog), NULL) ? -errno : 1;
		if (ret < 0)
			km_err_set(err, "%s: replacing the attached program: %s",
				   path, strerror(-ret));
	}
	close(fd);
	return ret;
}

int km_pin_cgroup_link(struct bpf_program *prog, int cg_fd, __u64 cg_id,
		       const char *cgroup, const char *path, bool *replaced,
		       struct km_err *err)
{
	struct bpf_link *link;
	int ret;

	*replaced = false;
	ret = update_in_place(prog, cg_id, path, err);
	if (ret) {
		*replaced = ret > 0;
		return ret < 0 ? ret : 0;
	}
	/* Pinned for another cgroup (--cgroup changed), or not at all */
	km_pin_drop_link(path);
	link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!link) {
		ret = -errno;
		km_err_set(err, "attaching %s to %s: %s", bpf_program__name(prog),
			   cgroup, strerror(-ret));
		return ret;
	}
	ret = bpf_link__pin(link, path);
	if (ret)
		km_err_set(err, "pinning %s: %s", path, strerror(-ret));
	else	/* the pin holds the attachment now; closing our fd keeps it */
		bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return ret;
}

int km_pin_iter_link(struct bpf_program *prog, const char *path,
		     struct km_err *err)
{
	struct bpf_link *link;
	int ret;

	/* an iterator link cannot take a new program: a new link */
	km_pin_drop_link(path);
	link = bpf_program__attach_iter(prog, NULL);
	if (!link) {
		ret = -errno;
		km_err_set(err, "creating the iterator %s: %s",
			   bpf_program__name(prog), strerror(-ret));
		return ret;
	}
	ret = bpf_link__pin(link, path);
	if (ret)
		km_err_set(err, "pinning %s: %s", path, strerror(-ret));
	bpf_link__destroy(link);
	return ret;
}
