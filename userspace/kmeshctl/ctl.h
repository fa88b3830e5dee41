/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmeshctl's shared parts: the command table entry, the context every
 * command gets (pinned maps, output format) and the readers of the pinned
 * maps more than one command uses. One file per command: cmd_<name>.c.
 */
#ifndef KM_CTL_H
#define KM_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "enroll.h"
#include "maps.h"

struct ctl {
	const char *pin_root;
	const char *state_file;
	bool json;
	struct km_maps maps;
	struct km_gen gen;
};

/* A subcommand: argv[0] is its name; main() checks the argument count
 * (min_args..max_args after the name; max_args < 0: any) before run. */
struct ctl_cmd {
	const char *name;
	int min_args, max_args;
	int (*run)(struct ctl *c, int argc, char **argv);
	const char *usage;	/* its lines of kmeshctl's usage */
};

int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_dump(struct ctl *c, int argc, char **argv);
int cmd_explain(struct ctl *c, int argc, char **argv);
int cmd_enroll(struct ctl *c, int argc, char **argv);
int cmd_enrollments(struct ctl *c, int argc, char **argv);
int cmd_config(struct ctl *c, int argc, char **argv);
int cmd_module(struct ctl *c, int argc, char **argv);
int cmd_sockmap(struct ctl *c, int argc, char **argv);
int cmd_dns(struct ctl *c, int argc, char **argv);
int cmd_authz(struct ctl *c, int argc, char **argv);
int cmd_top(struct ctl *c, int argc, char **argv);	/* cmd_top.c */

/* "kmeshctl: MSG" on stderr; returns 1 */
int die_err(const struct km_err *err);
/* opens the pinned maps and reads km_gen; 0, or 1 with the reason printed */
int open_maps(struct ctl *c);
const char *addr_str(const struct km_addr *a, char *buf, size_t len);
const char *hostport(const struct km_addr *a, __be16 port, char *buf,
		     size_t len);
/* a cluster's or listener's name in the live slot, or "#ID" */
void name_of(struct ctl *c, __u8 kind, __u32 id, char *buf, size_t len);
/* Calls @fn for each key of @fd whose slot byte equals @slot; the count. */
int for_each_in_slot(int fd, size_t ksz, size_t slot_off, __u8 slot,
		     void (*fn)(struct ctl *, const void *), struct ctl *c);
int count_slot(int fd, size_t ksz, size_t off, __u8 slot);

/* The agent's report (kmeshd.state): "key=value" lines. */
#define KM_STATE_MAX_L7 64
#define KM_STATE_MAX_NE 32

struct agent_state {
	bool present;
	int open_err;		/* errno of opening the state file */
	bool stopped;		/* kmeshd marked it running=0 on exit */
	long pid;
	char config[512];
	char last_error[600];
	bool last_ok;
	unsigned long long generation;
	int n_l7;
	char l7[KM_STATE_MAX_L7][KM_NAME_MAX];
	bool l7_router;		/* kmeshd loaded its programs with kmesh.ko */
	char l7_why[600];
	char xds_nacked[64];	/* xDS types whose last response was NACKed */
	/* names of DNS clusters by dns_status: ok, failing, pending */
	int dns_ok, dns_failing, dns_pending;
	bool strict;		/* kmeshd --strict */
	/* accepted, not enforced: kind, count, example (state.h) */
	int n_ne;
	struct agent_notenf {
		char kind[64];
		unsigned long count;
		char example[KM_NAME_MAX];
	} ne[KM_STATE_MAX_NE];
};

void read_state(const char *path, struct agent_state *st);
/* What kmeshd accepts without enforcing it (not_enforced.c): a warning
 * line per security kind (status), the list with what each kind is
 * (config). */
struct ctl_out;
void show_not_enforced_warnings(struct ctl_out *o, const struct agent_state *st);
void show_not_enforced_full(struct ctl_out *o, const struct agent_state *st);
/* Why HTTP listeners are served as L4 right now, or NULL when kmesh.ko
 * routes them (cmd_status.c). */
struct km_kmod_info;
const char *l7_as_l4_reason(const struct agent_state *st,
			    const struct km_kmod_info *km);

#endif
