// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "sys.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71	/* Linux 5.14; older libc headers lack it */
#endif

int km_cgroup2_root(char *buf, size_t len, struct km_err *err)
{
	char line[4096], mnt[PATH_MAX], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;

	if (!f) {
		km_err_set(err, "/proc/self/mountinfo: %s", strerror(errno));
		return -errno;
	}
	/* id parent maj:min root mountpoint opts [optional...] - fstype src */
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 ||
		    strcmp(fstype, "cgroup2") != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(buf, len, "%s", mnt);
		ret = 0;
		break;
	}
	fclose(f);
	if (ret)
		km_err_set(err, "no cgroup v2 hierarchy is mounted (looked in /proc/self/mountinfo); mount one or pass --cgroup");
	return ret;
}

int km_mkdir_p(const char *path, unsigned int mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int km_ensure_bpffs(const char *dir, struct km_err *err)
{
	struct statfs st;
	int ret;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type != BPF_FS_MAGIC &&
	    strncmp(dir, "/sys/fs/bpf/", 12) == 0) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			km_err_set(err, "mounting bpffs at /sys/fs/bpf: %s", strerror(errno));
			return -errno;
		}
	}
	ret = km_mkdir_p(dir, 0700);
	if (ret) {
		km_err_set(err, "%s: %s", dir, strerror(-ret));
		return ret;
	}
	if (statfs(dir, &st) || st.f_type != BPF_FS_MAGIC) {
		km_err_set(err, "%s is not on a bpffs mount", dir);
		return -ENOTSUP;
	}
	return 0;
}

void km_err_path(struct km_err *err, const char *path, int e)
{
	km_err_set(err, "%s: %s%s", path, strerror(e),
		   e == EACCES || e == EPERM ?
		   " (BPF pins and links are root's: run as root)" : "");
}

int km_check_pin_root(const char *dir, struct km_err *err)
{
	struct statfs st;
	int e;

	if (statfs(dir, &st)) {
		e = errno;
		if (e == ENOENT)
			km_err_set(err, "pin root %s does not exist: nothing of kmesh is pinned there (wrong --pin-root?)",
				   dir);
		else
			km_err_path(err, dir, e);
		return -e;
	}
	if (st.f_type != BPF_FS_MAGIC) {
		km_err_set(err, "%s is not on a bpffs mount: refused (kmesh pins only under bpffs, e.g. " KM_PIN_ROOT ")",
			   dir);
		return -ENOTSUP;
	}
	return 0;
}

int km_in_netns(const char *path, int (*fn)(void *arg, struct km_err *err),
		void *arg, struct km_err *err)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int target = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (self < 0 || target < 0) {
		ret = -errno;
		km_err_set(err, "%s: %s", self < 0 ? "/proc/self/ns/net" : path,
			   strerror(errno));
		goto out;
	}
	if (setns(target, CLONE_NEWNET)) {
		ret = -errno;
		km_err_set(err, "%s: entering the network namespace: %s", path,
			   strerror(errno));
		goto out;
	}
	ret = fn(arg, err);
	if (setns(self, CLONE_NEWNET) && !ret) {
		ret = -errno;
		km_err_set(err, "returning to our network namespace: %s", strerror(errno));
	}
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return ret;
}

struct cookie_req {
	const char *path;
	__u64 *cookie;
};

static int read_cookie(void *arg, struct km_err *err)
{
	struct cookie_req *q = arg;
	socklen_t len = sizeof(*q->cookie);
	int ret = 0, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, q->cookie, &len)) {
		ret = -errno;
		km_err_set(err, "%s: reading the netns cookie: %s (needs Linux 5.14)",
			   q->path, strerror(errno));
	}
	if (s >= 0)
		close(s);
	return ret;
}

static int netns_cookie(const char *path, __u64 *cookie, struct km_err *err)
{
	struct cookie_req q = { path, cookie };

	return km_in_netns(path, read_cookie, &q, err);
}

int km_resolve_enroll(const char *path, struct km_enroll_key *key,
		      struct km_err *err)
{
	struct statfs sfs;
	struct stat st;

	memset(key, 0, sizeof(*key));
	if (statfs(path, &sfs) || stat(path, &st)) {
		km_err_set(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (sfs.f_type == CGROUP2_SUPER_MAGIC && S_ISDIR(st.st_mode)) {
		/* On cgroup v2 a directory's inode number is its cgroup id. */
		key->kind = KM_ENROLL_CGROUP;
		key->id = st.st_ino;
		return 0;
	}
	if (sfs.f_type == NSFS_MAGIC) {
		key->kind = KM_ENROLL_NETNS;
		return netns_cookie(path, &key->id, err);
	}
	km_err_set(err, "%s: neither a cgroup v2 directory nor a network namespace file (e.g. /run/netns/NAME)",
		   path);
	return -EINVAL;
}

/* Lexically: absolute, no "//", ".", ".." or trailing "/". For a path that
 * no longer exists, where realpath cannot help. */
static void normalize(const char *path, char *out, size_t len)
{
	char in[PATH_MAX * 2], *save, *c;
	size_t n = 0;

	if (path[0] == '/' || !getcwd(in, PATH_MAX))
		in[0] = 0;
	snprintf(in + strlen(in), sizeof(in) - strlen(in), "/%s", path);
	out[0] = 0;
	for (c = strtok_r(in, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			char *slash = strrchr(out, '/');

			n = slash ? (size_t)(slash - out) : 0;
			out[n] = 0;
			continue;
		}
		n += snprintf(out + n, n < len ? len - n : 0, "/%s", c);
		if (n >= len) {
			n = len - 1;
			break;
		}
	}
	if (!out[0])
		snprintf(out, len, "/");
}

void km_enroll_canon(const char *path, char *out, size_t len)
{
	char real[PATH_MAX];

	/* /proc/PID/ns/net resolves to "net:[N]", not a path: keep it */
	if (realpath(path, real) && real[0] == '/' &&
	    strncmp(path, "/proc/", 6) != 0)
		snprintf(out, len, "%s", real);
	else
		normalize(path, out, len);
}

int km_cgroup_level(const char *canon)
{
	char root[PATH_MAX];
	size_t n;
	int level = 0;

	if (km_cgroup2_root(root, sizeof(root), NULL))
		return -1;
	n = strlen(root);
	if (strcmp(root, "/") == 0)
		n = 0;
	else if (strncmp(canon, root, n) != 0 || (canon[n] && canon[n] != '/'))
		return -1;
	for (const char *p = canon + n; *p; p++)
		level += *p == '/' && p[1];
	return level;
}

/* Whether the cgroup with this id still exists: open it by its file handle
 * (on cgroup v2 the handle is the 64-bit id). Unsure counts as alive. */
static bool cgroup_alive(__u64 id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64) };
	char root[PATH_MAX];
	int mnt_id, dfd, fd;
	bool alive = true;

	if (km_cgroup2_root(root, sizeof(root), NULL))
		return true;
	if (name_to_handle_at(AT_FDCWD, root, &h.fh, &mnt_id, 0))
		return true;
	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return true;
	h.fh.handle_bytes = sizeof(__u64);
	h.id = id;
	fd = open_by_handle_at(dfd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	else if (errno == ESTALE || errno == ENOENT)
		alive = false;
	close(dfd);
	return alive;
}

bool km_enroll_alive(const struct km_enroll_key *k, const char *path)
{
	struct km_enroll_key now;

	if (k->kind == KM_ENROLL_CGROUP)
		return cgroup_alive(k->id);
	/* A netns lives as long as a process or a bind mount holds it, which
	 * the recorded path cannot tell; only a different netns at the same
	 * path shows this one's file is gone. */
	if (k->kind == KM_ENROLL_NETNS && access(path, F_OK) == 0 &&
	    km_resolve_enroll(path, &now, &(struct km_err){}) == 0)
		return now.kind != KM_ENROLL_NETNS || now.id == k->id;
	return true;
}

int km_write_file_atomic(const char *path, const char *data, size_t len,
			 mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode))
		ret = -errno;
	else if (write(fd, data, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

