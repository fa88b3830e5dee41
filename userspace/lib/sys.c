// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static int netns_cookie(const char *path, __u64 *cookie, struct km_err *err)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int target = open(path, O_RDONLY | O_CLOEXEC);
	socklen_t len = sizeof(*cookie);
	int ret = 0, s = -1;

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
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len)) {
		ret = -errno;
		km_err_set(err, "%s: reading the netns cookie: %s (needs Linux 5.14)",
			   path, strerror(errno));
	}
	if (setns(self, CLONE_NEWNET) && !ret) {
		ret = -errno;
		km_err_set(err, "returning to our network namespace: %s", strerror(errno));
	}
out:
	if (s >= 0)
		close(s);
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return ret;
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

int km_write_file_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int km_read_regular_file(const char *path, size_t max, char **buf,
			 size_t *len, struct km_err *err)
{
	struct stat st;
	size_t got = 0;
	char *b = NULL;
	ssize_t n;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		km_err_set(err, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		km_err_set(err, "%s: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		km_err_set(err, "%s: is %s, not a regular file: refused without reading it",
			   path, file_kind(st.st_mode));
		ret = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		km_err_set(err, "%s: %lld bytes, more than the %zu a config may have",
			   path, (long long)st.st_size, max);
		ret = -EFBIG;
		goto out;
	}
	/* one byte more than the size, to see a file that grew */
	b = malloc((size_t)st.st_size + 2);
	if (!b) {
		km_err_set(err, "%s: out of memory", path);
		ret = -ENOMEM;
		goto out;
	}
	while ((n = read(fd, b + got, (size_t)st.st_size + 1 - got)) > 0)
		got += (size_t)n;
	if (n < 0) {
		ret = -errno;
		km_err_set(err, "%s: reading: %s", path, strerror(-ret));
		goto out;
	}
	if (got > (size_t)st.st_size) {
		km_err_set(err, "%s: grew while it was read; try again once it is written",
			   path);
		ret = -EAGAIN;
		goto out;
	}
	b[got] = 0;
	*buf = b;
	*len = got;
	b = NULL;
	ret = 0;
out:
	free(b);
	close(fd);
	return ret;
}
