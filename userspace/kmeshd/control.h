/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshd's control socket: enroll, unenroll, check and list requests from
 * kmesh-cni and kmeshctl (root only), with each enrollment's pod namespace,
 * workload, service account and container id kept in the state directory
 * so they survive a restart. Protocol: docs/deploy.md.
 */
#ifndef KM_CONTROL_H
#define KM_CONTROL_H

#include "enroll.h"
#include "model.h"

struct km_control;

struct km_control_opts {
	const char *state_dir;	/* the socket and enrollments.json go here */
	const char *pin_root;	/* answered, so a client can tell its kmeshd */
	const char *config;	/* the enrollment policy's file */
	struct km_enroll_maps maps;	/* km_enroll, km_ident */
	void (*log)(int level, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));
};

/* Loads the kept enrollments, prunes rows whose netns or cgroup is gone,
 * reads the policy, and listens. */
int km_control_open(struct km_control **c, const struct km_control_opts *o,
		    struct km_err *err);
int km_control_fd(const struct km_control *c);
/* Serves one connection (the fd is readable). */
void km_control_serve(struct km_control *c);
/* Re-reads the enrollment policy (the config file changed); a bad one is
 * logged and the previous one kept. */
void km_control_reload(struct km_control *c);
void km_control_close(struct km_control *c);
/* kmeshd --check: the policy section, said on stdout or stderr; 0 if good */
int km_control_check_policy(const char *config);

#endif
