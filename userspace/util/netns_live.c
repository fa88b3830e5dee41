// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Live network namespaces by cookie (netns_live.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns_live.h"
#include "sys.h"

/* inode numbers already resolved, so each netns is entered once */
struct seen {
	unsigned long *ino;
	size_t n, cap;
};

static int push(void **arr, size_t *n, size_t *cap, size_t sz, const void *v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *na = realloc(*arr, nc * sz);

		if (!na)
			return -ENOMEM;
		*arr = na;
		*cap = nc;
	}
	memcpy((char *)*arr + *n * sz, v, sz);
	(*n)++;
	return 0;
}

static bool seen_has(const struct seen *s, unsigned long ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ino[i] == ino)
			return true;
	return false;
}

/* @path names a netns (inode @ino): record its cookie once. A namespace
 * that vanished meanwhile is simply not live. */
static int add(struct km_netns_live *l, struct seen *s, const char *path,
	       unsigned long ino)
{
	struct km_enroll_key k;
	int ret;

	if (seen_has(s, ino))
		return 0;
	ret = push((void **)&s->ino, &s->n, &s->cap, sizeof(ino), &ino);
	if (ret || km_resolve_enroll(path, &k, &(struct km_err){}) ||
	    k.kind != KM_ENROLL_NETNS)
		return ret;
	return push((void **)&l->cookies, &l->n, &l->cap, sizeof(k.id), &k.id);
}

/* "net:[4026531840]" -> its inode */
static bool net_ino(const char *s, unsigned long *ino)
{
	return sscanf(s, "net:[%lu]", ino) == 1;
}

static int scan_fds(struct km_netns_live *l, struct seen *s, const char *pid)
{
	char dir[300], path[PATH_MAX], link[64];
	struct dirent *e;
	unsigned long ino;
	int ret = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	d = opendir(dir);
	if (!d)
		return 0;	/* exited */
	while (!ret && (e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (net_ino(link, &ino))
			ret = add(l, s, path, ino);
	}
	closedir(d);
	return ret;
}

static unsigned long mnt_ns(const char *pid)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/mnt", pid);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* nsfs bind mounts: "ID PARENT MAJ:MIN net:[N] MOUNTPOINT ...": ours at
 * their paths; another mount namespace's through its process's root. A
 * process whose namespaces kmeshd may not look at is not seen. */
static int scan_mounts(struct km_netns_live *l, struct seen *s, const char *pid,
		       unsigned long self_mnt)
{
	char path[PATH_MAX + 300], root[PATH_MAX], mnt[PATH_MAX];
	unsigned long ino, m = mnt_ns(pid);
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	if (!m || (m == self_mnt && strcmp(pid, "self")))
		return 0;	/* not ours to see, or seen as "self" */
	snprintf(path, sizeof(path), "/proc/%s/mountinfo", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!ret && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    !net_ino(root, &ino) || seen_has(s, ino))
			continue;
		if (m == self_mnt)
			snprintf(path, sizeof(path), "%s", mnt);
		else
			snprintf(path, sizeof(path), "/proc/%s/root%s", pid, mnt);
		ret = add(l, s, path, ino);
	}
	free(line);
	fclose(f);
	return ret;
}

static int scan_pid(struct km_netns_live *l, struct seen *s, const char *pid,
		    unsigned long self_mnt)
{
	char path[300];
	struct stat st;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	if (stat(path, &st) == 0)
		ret = add(l, s, path, st.st_ino);
	if (!ret)
		ret = scan_fds(l, s, pid);
	if (!ret)
		ret = scan_mounts(l, s, pid, self_mnt);
	return ret;
}

int km_netns_live_scan(struct km_netns_live *l)
{
	unsigned long self_mnt = mnt_ns("self");
	struct seen s = {};
	struct dirent *e;
	int ret = 0;
	DIR *d;

	memset(l, 0, sizeof(*l));
	d = opendir("/proc");
	if (!d)
		return -errno;
	ret = scan_pid(l, &s, "self", self_mnt);
	while (!ret && (e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0]))
			ret = scan_pid(l, &s, e->d_name, self_mnt);
	closedir(d);
	free(s.ino);
	if (ret)
		km_netns_live_free(l);
	return ret;
}

bool km_netns_live_has(const struct km_netns_live *l, __u64 cookie)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->cookies[i] == cookie)
			return true;
	return false;
}

void km_netns_live_free(struct km_netns_live *l)
{
	free(l->cookies);
	memset(l, 0, sizeof(*l));
}
