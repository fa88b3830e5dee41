/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Watching the config file for kmeshd: what counts as "the file is ready to
 * be read again", as an inotify watch on its directory sees it.
 *
 *   - a completed write: IN_CLOSE_WRITE of the file, or a rename onto it
 *     (IN_MOVED_TO); an open file being written (IN_MODIFY) is not;
 *   - a swap of what the path resolves to: Kubernetes ConfigMap volumes
 *     rename a "..data" symlink to a new timestamped directory; the file's
 *     own name sees no event, so any entry created, moved or deleted in
 *     the directory makes the watch stat the path again and compare;
 *   - the directory itself deleted or moved away: the watch is lost (said
 *     once); km_watch_rearm() watches the path again when it is back,
 *     which counts as a change.
 * kmeshd reloads KM_WATCH_SETTLE_MS after the last event that touched the
 * file: every change restarts the wait, so a file written in bursts loads
 * once, after its last write.
 */
#ifndef KM_WATCH_H
#define KM_WATCH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define KM_WATCH_SETTLE_MS 100

enum km_watch_event {
	KM_WATCH_NONE,		/* nothing about the config */
	KM_WATCH_ACTIVITY,	/* the file is being changed: wait longer */
	KM_WATCH_CHANGED,	/* a completed change: reload after settling */
	KM_WATCH_LOST,		/* the directory went away: watch lost */
};

struct km_watch {
	int fd;			/* inotify; poll it for input */
	int wd;			/* -1 while the directory is gone */
	char dir[PATH_MAX];
	char base[NAME_MAX + 1];
	const char *path;
	dev_t dev;		/* what the path resolved to last time */
	ino_t ino;
};

/* 0, or -errno (inotify itself failed). A missing directory is not an
 * error: the watch starts lost and km_watch_rearm() finds it later. */
int km_watch_open(struct km_watch *w, const char *path);
void km_watch_close(struct km_watch *w);
/* Reads the pending events: the strongest of them for the config. */
enum km_watch_event km_watch_read(struct km_watch *w);
/* While lost: watch the directory again if it is back. true if so (the
 * file may be a new one: reload). */
bool km_watch_rearm(struct km_watch *w);

#endif
