// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshctl config: the xDS client's state from kmeshd.state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "ctl.h"
#include "json.h"
#include "out.h"
#include "state.h"
#include "strmap.h"

/* The xDS client's keys (state.h), without their "xds_" */
static void xds_line(const char *key, const char *v, void *arg)
{
	int err;

	if (!strncmp(key, KM_ST_XDS, strlen(KM_ST_XDS)))
		free(km_strmap_put(arg, key + strlen(KM_ST_XDS), strdup(v),
				   &err));
}

#define KM_NAME_STR(x) #x,
int cmd_config(struct ctl *c, int argc, char **argv)
{
	static const char *const types[] = { KM_STATE_XDS_TYPES(KM_NAME_STR) };
	static const char *const general[] = {
		KM_STATE_XDS_GENERAL(KM_NAME_STR)
	};
	/* the table's columns: every field but "nacked" */
	static const char *const fields[] = { KM_STATE_XDS_FIELDS(KM_NAME_STR) };
	const size_t n_fields = sizeof(fields) / sizeof(fields[0]) - 1;
	static struct agent_state ast;
	struct km_strmap st = {};
	struct ctl_out o;
	const char *val[sizeof(fields) / sizeof(fields[0])];
	char key[64];
	size_t i = 0;
	const char *k;
	void *pv;
	int ret;

	ret = km_state_read(c->state_file, xds_line, &st);
	if (ret) {
		fprintf(stderr, "kmeshctl: %s: %s (is kmeshd running?)\n",
			c->state_file, strerror(-ret));
		return 1;
	}
	read_state(c->state_file, &ast);
	out_init(&o, c->json);
	if (c->json) {
		while (km_strmap_next(&st, &i, &k, &pv))
			km_json_str(&o.j, k, pv);
		show_not_enforced_full(&o, &ast);
	} else if (!st.len) {
		printf("kmeshd is not using xDS (its config is a file: see 'kmeshctl status')\n");
	} else {
		for (i = 0; i < sizeof(general) / sizeof(general[0]); i++)
			printf("%-22s %s\n", general[i],
			       (char *)(km_strmap_get(&st, general[i]) ?: ""));
		printf("\n%-5s %-20s %-20s %9s %6s %6s  last NACK\n", "type", "version",
		       "nonce", "resources", "acks", "nacks");
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			for (size_t f = 0; f < n_fields; f++) {
				snprintf(key, sizeof(key), "%s_%s", types[t], fields[f]);
				val[f] = km_strmap_get(&st, key) ?: "";
			}
			printf("%-5s %-20.20s %-20.20s %9s %6s %6s  %s\n", types[t], val[0],
			       val[1], val[2], val[3], val[4], val[5]);
		}
		show_not_enforced_full(&o, &ast);
	}
	out_done(&o);
	for (i = 0; km_strmap_next(&st, &i, &k, &pv);)
		free(pv);
	km_strmap_free(&st);
	return 0;
}
#undef KM_NAME_STR
