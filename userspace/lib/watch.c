// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The config file watch (watch.h). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch.h"

#define KM_WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |	\
		       IN_CREATE | IN_DELETE | IN_MODIFY |		\
		       IN_DELETE_SELF | IN_MOVE_SELF)

/* true if what the path names now is not what it named last time */
static bool target_changed(struct km_watch *w)
{
	struct stat st;

	if (stat(w->path, &st)) {
		st.st_dev = 0;
		st.st_ino = 0;
	}
	if (st.st_dev == w->dev && st.st_ino == w->ino)
		return false;
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	return true;
}

int km_watch_open(struct km_watch *w, const char *path)
{
	char tmp[PATH_MAX];

	memset(w, 0, sizeof(*w));
	w->wd = -1;
	w->path = path;
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(w->dir, sizeof(w->dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(w->base, sizeof(w->base), "%s", basename(tmp));
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd < 0)
		return -errno;
	target_changed(w);
	km_watch_rearm(w);
	return 0;
}

void km_watch_close(struct km_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->wd = -1;
}

bool km_watch_rearm(struct km_watch *w)
{
	if (w->wd >= 0)
		return false;
	w->wd = inotify_add_watch(w->fd, w->dir, KM_WATCH_MASK);
	if (w->wd < 0)
		return false;
	target_changed(w);
	return true;
}

static enum km_watch_event stronger(enum km_watch_event a,
				    enum km_watch_event b)
{
	return a > b ? a : b;
}

enum km_watch_event km_watch_read(struct km_watch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	enum km_watch_event e = KM_WATCH_NONE;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->wd != w->wd)
				continue;	/* a watch already dropped */
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				/* moved away, the watch would follow the old
				 * directory: drop it, watch the path again */
				if (!(ev->mask & IN_IGNORED))
					inotify_rm_watch(w->fd, w->wd);
				w->wd = -1;
				e = stronger(e, KM_WATCH_LOST);
				continue;
			}
			if (ev->len && strcmp(ev->name, w->base) == 0) {
				if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
					target_changed(w);
					e = stronger(e, KM_WATCH_CHANGED);
				} else {
					e = stronger(e, KM_WATCH_ACTIVITY);
				}
				continue;
			}
			/* another entry: a symlink swap (ConfigMap "..data")
			 * changes what the path resolves to */
			if ((ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
					 IN_DELETE)) && target_changed(w))
				e = stronger(e, KM_WATCH_CHANGED);
		}
	}
	return e;
}
