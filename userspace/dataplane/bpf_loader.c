// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_loader.h"
#include "capacity.h"
#include "events_ring.h"
#include "kmesh.skel.h"
#include "pins.h"
#include "sys.h"

/* The sk_lookup program is attached per network namespace, by kmeshd:
 * pinned here, the old pin replaced (its links keep the old program until
 * kmeshd moves them to this one). */
static int pin_sk_lookup(struct bpf_program *prog, const char *pin_root,
			 struct km_err *err)
{
	char path[PATH_MAX];
	int ret;

	ret = km_pin_path(path, sizeof(path), pin_root, KM_SKL_PROG_PIN, NULL);
	if (!ret && unlink(path) && errno != ENOENT)
		ret = -errno;
	if (!ret)
		ret = bpf_program__pin(prog, path);
	if (ret)
		km_err_set(err, "%s: pinning the sk_lookup program: %s", path,
			   strerror(-ret));
	return ret;
}

int km_bpf_install(const struct km_install_opts *o,
		   struct km_install_report *rep, struct km_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = o->pin_root);
	const char *pin_root = o->pin_root, *cgroup = o->cgroup;
	struct kmesh_bpf *skel = NULL;
	struct bpf_program *prog;
	char path[PATH_MAX];
	struct stat st;
	int cg_fd, ret;

	memset(rep, 0, sizeof(*rep));
	ret = km_ensure_bpffs(pin_root, err);
	if (ret)
		return ret;
	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &st)) {
		ret = -errno;
		km_err_set(err, "cgroup %s: %s", cgroup, strerror(-ret));
		goto out;
	}

	skel = kmesh_bpf__open_opts(&opts);
	if (!skel) {
		ret = -errno;
		km_err_set(err, "opening the BPF object: %s", strerror(-ret));
		goto out;
	}
	skel->rodata->km_cfg_peer_vip = o->peer_vip;
	skel->rodata->km_cfg_events = o->events;
	/* sockops may read the current process on newer kernels only: else
	 * no km_ev_netns, and bytes are reported at close only */
	skel->rodata->km_cfg_ev_netns = o->events &&
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCK_OPS,
					BPF_FUNC_get_current_pid_tgid, NULL) == 1;
	ret = km_events_ring_prepare(skel->maps.km_events, pin_root,
				     o->events_ring, err);
	if (!ret)
		ret = km_capacity_prepare(skel->obj, pin_root,
					  o->max_services ? o->max_services :
					  KM_MAX_CLUSTERS,
					  o->max_endpoints ? o->max_endpoints :
					  KM_MAX_ENDPOINTS, err);
	if (ret)
		goto out;
	ret = kmesh_bpf__load(skel);
	if (ret) {
		km_err_set(err, "loading the BPF programs: %s (the log above has the verifier's or libbpf's reason; maps pinned by an incompatible kmesh version are removed with 'kmeshd --uninstall')",
			   strerror(-ret));
		goto out;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		bool replaced;

		if (!bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info, &len) &&
		    info.verified_insns > rep->verified_max) {
			rep->verified_max = info.verified_insns;
			snprintf(rep->verified_max_prog,
				 sizeof(rep->verified_max_prog), "%s",
				 bpf_program__name(prog));
		}

		if (bpf_program__type(prog) == BPF_PROG_TYPE_SK_LOOKUP) {
			ret = pin_sk_lookup(prog, pin_root, err);
			if (ret)
				goto out;
			continue;
		}
		ret = km_pin_path(path, sizeof(path), pin_root, KM_LINK_PREFIX,
				  bpf_program__name(prog));
		if (ret)
			goto out;
		if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING) {
			/* the telemetry's iterator: no cgroup */
			ret = km_pin_iter_link(prog, path, err);
			if (ret)
				goto out;
			continue;
		}
		ret = km_pin_cgroup_link(prog, cg_fd, st.st_ino, cgroup,
					 path, &replaced, err);
		if (ret)
			goto out;
		if (replaced)
			rep->replaced++;
		else
			rep->attached++;
	}
out:
	/* Programs stay alive through their pinned links, maps through
	 * their pins. */
	kmesh_bpf__destroy(skel);
	if (cg_fd >= 0)
		close(cg_fd);
	return ret;
}

/* A pin kmesh makes: a link, or a map of its objects pinned by name. The
 * maps' names come from the object itself, so they cannot drift. */
static bool own_pin(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map;

	if (strncmp(name, KM_LINK_PREFIX, strlen(KM_LINK_PREFIX)) == 0 ||
	    strncmp(name, KM_NETNS_LINK_PREFIX, strlen(KM_NETNS_LINK_PREFIX)) == 0 ||
	    strcmp(name, KM_SKL_PROG_PIN) == 0)
		return true;
	bpf_object__for_each_map(map, obj) {
		if (strcmp(bpf_map__name(map), name) == 0)
			return true;
	}
	return false;
}

/*
 * Removes kmesh's pins under @pin_root, and nothing else: a wrong
 * --pin-root such as /sys/fs/bpf itself must not cost other tools their
 * pins. The directory goes when nothing else is left in it.
 */
int km_bpf_uninstall(const char *pin_root, struct km_err *err)
{
	struct kmesh_bpf *skel;
	struct dirent *de;
	char path[PATH_MAX], other[NAME_MAX + 1] = "";
	int ret, e, n_other = 0;
	DIR *d;

	ret = km_check_pin_root(pin_root, err);
	if (ret)
		return ret;
	skel = kmesh_bpf__open();
	if (!skel) {
		ret = -errno;
		km_err_set(err, "opening the BPF object: %s", strerror(-ret));
		return ret;
	}
	d = opendir(pin_root);
	if (!d) {
		ret = -errno;
		km_err_path(err, pin_root, -ret);
		goto out;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!own_pin(skel->obj, de->d_name)) {
			if (!n_other++)
				snprintf(other, sizeof(other), "%s", de->d_name);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", pin_root, de->d_name);
		/* a map's pin is not a link: only unlinked */
		e = km_pin_drop_link(path);
		if (e && !ret) {
			ret = e;
			km_err_path(err, path, -e);
		}
	}
	closedir(d);
	if (ret)
		goto out;
	if (n_other)
		km_err_set(err, "%s kept: it holds %d file(s) kmesh did not pin, e.g. '%s'",
			   pin_root, n_other, other);
	else if (rmdir(pin_root)) {
		ret = -errno;
		km_err_set(err, "%s: %s", pin_root, strerror(errno));
	}
out:
	kmesh_bpf__destroy(skel);
	return ret;
}

int km_bpf_links(const char *pin_root, struct km_link_status *out, int max)
{
	DIR *d = opendir(pin_root);
	struct dirent *de;
	char path[PATH_MAX];
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		struct bpf_link_info li = {};
		struct bpf_prog_info pi = {};
		__u32 len = sizeof(li);
		int fd, pfd;

		if (strncmp(de->d_name, KM_LINK_PREFIX, strlen(KM_LINK_PREFIX)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		/* cgroup attachments only (not the telemetry's iterator) */
		if (bpf_link_get_info_by_fd(fd, &li, &len) == 0 &&
		    li.type == BPF_LINK_TYPE_CGROUP) {
			struct km_link_status *s = &out[n++];

			memset(s, 0, sizeof(*s));
			snprintf(s->name, sizeof(s->name), "%s",
				 de->d_name + strlen(KM_LINK_PREFIX));
			s->prog_id = li.prog_id;
			s->cgroup_id = li.cgroup.cgroup_id;
			s->attach_type = li.cgroup.attach_type;
			pfd = bpf_prog_get_fd_by_id(li.prog_id);
			len = sizeof(pi);
			if (pfd >= 0 && bpf_prog_get_info_by_fd(pfd, &pi, &len) == 0) {
				s->run_cnt = pi.run_cnt;
				s->run_time_ns = pi.run_time_ns;
			}
			if (pfd >= 0)
				close(pfd);
		}
		close(fd);
	}
	closedir(d);
	return n;
}
