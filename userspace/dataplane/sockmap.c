// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kmesh_sockmap.skel.h"
#include "pins.h"
#include "sockmap.h"
#include "sys.h"

const char *const km_sm_counter_names[KM_SM_CNT_MAX] = {
	[KM_SM_CNT_INSERT_ACTIVE] = "joined_connecting",
	[KM_SM_CNT_INSERT_PASSIVE] = "joined_accepted",
	[KM_SM_CNT_INSERT_FAIL] = "join_failed",
	[KM_SM_CNT_PAIRED_ORIG_DST] = "paired_orig_dst",
	[KM_SM_CNT_SKIP_SHORT] = "skipped_short",
	[KM_SM_CNT_SAMPLED] = "sampled_short",
	[KM_SM_CNT_NO_LOCAL_PEER] = "no_local_peer",
	[KM_SM_CNT_REDIRECT] = "redirected_msgs",
	[KM_SM_CNT_REDIRECT_BYTES] = "redirected_bytes",
	[KM_SM_CNT_PASS_NO_PEER] = "tcp_peer_gone",
	[KM_SM_CNT_PASS_BACKPRESSURE] = "tcp_backpressure",
	[KM_SM_CNT_PASS_DRAINING] = "tcp_draining",
	[KM_SM_CNT_CLOSED] = "closed",
};

#define SM_MAP_SOCKS "km_sm_socks"
#define SM_MAP_WORKLOAD "km_sm_workload"
#define SM_MAP_FLOW "km_sm_flow"
#define SM_MAP_COUNTERS "km_sm_counters"

static int open_pinned(const char *root, const char *name)
{
	char path[PATH_MAX];

	if (km_pin_path(path, sizeof(path), root, name, NULL))
		return -ENAMETOOLONG;
	return bpf_obj_get(path);
}

/* sockops: replace the program of a pinned link on the same cgroup in
 * place, so connects never run without it; otherwise attach anew. */
static int attach_sockops(struct bpf_program *prog, const char *cgroup,
			  const char *path, struct km_err *err)
{
	struct stat st;
	bool replaced;
	int cg_fd, ret;

	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &st)) {
		ret = -errno;
		km_err_set(err, "cgroup %s: %s", cgroup, strerror(-ret));
		if (cg_fd >= 0)
			close(cg_fd);
		return ret;
	}
	ret = km_pin_cgroup_link(prog, cg_fd, st.st_ino, cgroup, path,
				 &replaced, err);
	close(cg_fd);
	return ret;
}

/* Version 1 of the object attached fexit/tcp_bpf_recvmsg; version 2 reads
 * the peer socket from sk_msg instead. Drop a link a previous version left. */
static void drop_stale_link(const char *pin_root, const char *prog)
{
	char path[PATH_MAX];

	if (!km_pin_path(path, sizeof(path), pin_root, KM_SM_LINK_PREFIX, prog))
		km_pin_drop_link(path);
}

int km_sockmap_install(const char *pin_root, const char *cgroup,
		       struct km_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
	struct kmesh_sockmap_bpf *skel;
	char path[PATH_MAX];
	int ret;

	ret = km_ensure_bpffs(pin_root, err);
	if (ret)
		return ret;
	skel = kmesh_sockmap_bpf__open_opts(&opts);
	if (!skel) {
		ret = -errno;
		km_err_set(err, "opening the sockmap object: %s", strerror(-ret));
		return ret;
	}
	ret = kmesh_sockmap_bpf__load(skel);
	if (ret) {
		km_err_set(err, "loading the sockmap programs: %s (the log above has the verifier's or libbpf's reason; 'kmeshd --uninstall' removes maps pinned by an incompatible version)",
			   strerror(-ret));
		goto out;
	}
	drop_stale_link(pin_root, "km_sm_recv_exit");
	/* sk_msg is attached to the map, not a cgroup: attaching again
	 * replaces the map's program for sockets joined from now on. */
	if (bpf_prog_attach(bpf_program__fd(skel->progs.km_sm_msg),
			    bpf_map__fd(skel->maps.km_sm_socks),
			    BPF_SK_MSG_VERDICT, 0)) {
		ret = -errno;
		km_err_set(err, "attaching km_sm_msg to " SM_MAP_SOCKS ": %s",
			   strerror(-ret));
		goto out;
	}
	ret = km_pin_path(path, sizeof(path), pin_root, KM_SM_LINK_PREFIX,
		       bpf_program__name(skel->progs.km_sm_sockops));
	if (!ret)
		ret = attach_sockops(skel->progs.km_sm_sockops, cgroup, path, err);
out:
	kmesh_sockmap_bpf__destroy(skel);
	return ret;
}

int km_sockmap_uninstall(const char *pin_root, struct km_err *err)
{
	static const char *const maps[] = {
		"km_sm_socks", "km_sm_workload", "km_sm_pending", "km_sm_flow",
		"km_sm_dest", "km_sm_counters",
	};
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int ret = 0;
	size_t i;

	ret = km_check_pin_root(pin_root, err);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	d = opendir(pin_root);
	if (!d) {
		ret = -errno;
		km_err_path(err, pin_root, -ret);
		return ret;
	}
	/* Links first: no new socket is joined once sockops is gone. */
	while ((de = readdir(d))) {
		int e;

		if (strncmp(de->d_name, KM_SM_LINK_PREFIX,
			    strlen(KM_SM_LINK_PREFIX)) != 0)
			continue;
		if (km_pin_path(path, sizeof(path), pin_root, de->d_name, NULL))
			continue;
		e = km_pin_drop_link(path);
		if (e && !ret) {
			ret = e;
			km_err_path(err, path, -e);
		}
	}
	closedir(d);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (km_pin_path(path, sizeof(path), pin_root, maps[i], NULL))
			continue;
		if (unlink(path) && errno != ENOENT && !ret) {
			ret = -errno;
			km_err_set(err, "%s: %s", path, strerror(errno));
		}
	}
	return ret;
}

bool km_sockmap_loaded(const char *pin_root)
{
	char path[PATH_MAX];

	if (km_pin_path(path, sizeof(path), pin_root, KM_SM_LINK_PREFIX,
		     "km_sm_sockops"))
		return false;
	return access(path, F_OK) == 0;
}

int km_sockmap_set(const char *pin_root, const char *path, uint32_t flags,
		   struct km_err *err)
{
	struct km_sm_workload w = {};
	struct km_enroll_key key;
	int fd, ret;

	if (strlen(path) >= sizeof(w.path)) {
		km_err_set(err, "%s: path longer than %d bytes", path,
			   (int)sizeof(w.path) - 1);
		return -ENAMETOOLONG;
	}
	ret = km_resolve_enroll(path, &key, err);
	if (ret)
		return ret;
	fd = open_pinned(pin_root, SM_MAP_WORKLOAD);
	if (fd < 0) {
		ret = -errno;
		km_err_set(err, "%s/" SM_MAP_WORKLOAD ": %s (is kmeshd running with --sockmap?)",
			   pin_root, strerror(-ret));
		return ret;
	}
	if (flags) {
		w.flags = flags;
		snprintf(w.path, sizeof(w.path), "%s", path);
		ret = bpf_map_update_elem(fd, &key, &w, BPF_ANY) ? -errno : 0;
	} else {
		ret = bpf_map_delete_elem(fd, &key) ? -errno : 0;
		if (ret == -ENOENT)
			km_err_set(err, "%s: sockmap is not enabled for it", path);
	}
	if (ret && ret != -ENOENT)
		km_err_set(err, "%s: updating " SM_MAP_WORKLOAD ": %s", path,
			   strerror(-ret));
	close(fd);
	return ret;
}

int km_sockmap_workloads(const char *pin_root, struct km_sm_workload_row *out,
			 int max)
{
	struct km_enroll_key cur, prev;
	int fd, n = 0;
	bool first = true;

	fd = open_pinned(pin_root, SM_MAP_WORKLOAD);
	if (fd < 0)
		return -errno;
	while (n < max && bpf_map_get_next_key(fd, first ? NULL : &prev, &cur) == 0) {
		first = false;
		prev = cur;
		if (bpf_map_lookup_elem(fd, &cur, &out[n].w) == 0)
			out[n++].key = cur;
	}
	close(fd);
	return n;
}

static int count_keys(int fd, size_t key_size)
{
	char cur[64], prev[64];
	int n = 0;

	if (key_size > sizeof(cur))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, n ? prev : NULL, cur) == 0 && n < (1 << 20)) {
		memcpy(prev, cur, key_size);
		n++;
	}
	return n;
}

int km_sockmap_status(const char *pin_root, struct km_sm_status *st)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	__u32 i;
	int fd, c;

	memset(st, 0, sizeof(*st));
	st->loaded = km_sockmap_loaded(pin_root);
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	fd = open_pinned(pin_root, SM_MAP_COUNTERS);
	if (fd < 0)
		return st->loaded ? -errno : 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals) {
		close(fd);
		return -ENOMEM;
	}
	for (i = 0; i < KM_SM_CNT_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			st->counters[i] += vals[c];
	}
	free(vals);
	close(fd);
	/* A sockhash cannot be read from userspace by key walk with values,
	 * but its keys can be walked. */
	fd = open_pinned(pin_root, SM_MAP_SOCKS);
	if (fd >= 0) {
		st->joined = count_keys(fd, sizeof(struct km_sm_key));
		close(fd);
	}
	fd = open_pinned(pin_root, SM_MAP_FLOW);
	if (fd >= 0) {
		st->flows = count_keys(fd, sizeof(struct km_sm_key));
		close(fd);
	}
	return 0;
}
