// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshctl dns: the names of STRICT_DNS / LOGICAL_DNS clusters kmeshd
 * resolves, and how their last resolution went (kmeshd.state). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "out.h"
#include "state.h"

#define KM_NAME_STR(x) #x,
static const char *const fields[] = { KM_STATE_DNS_FIELDS(KM_NAME_STR) };
#undef KM_NAME_STR
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
enum { F_CLUSTER, F_HOST, F_TYPE, F_FAMILY, F_STATUS, F_ADDRESSES,
       F_FAILURES, F_LAST_OK, F_REFRESH_MS, F_ERROR };
_Static_assert(F_ERROR + 1 == N_FIELDS, "the fields of state.h, in order");

struct dns_rec {
	char *v[N_FIELDS];
};

struct dns_state {
	char *servers;
	size_t n;
	struct dns_rec *recs;
};

/* "dns_cluster" starts a record; its other fields follow it. */
static void dns_line(const char *key, const char *val, void *arg)
{
	struct dns_state *s = arg;
	struct dns_rec *r;
	size_t f;

	if (!strcmp(key, KM_ST_DNS_SERVERS)) {
		free(s->servers);
		s->servers = strdup(val);
		return;
	}
	if (strncmp(key, KM_ST_DNS, strlen(KM_ST_DNS)))
		return;
	for (f = 0; f < N_FIELDS; f++)
		if (!strcmp(key + strlen(KM_ST_DNS), fields[f]))
			break;
	if (f == N_FIELDS)
		return;
	if (f == F_CLUSTER) {
		r = realloc(s->recs, (s->n + 1) * sizeof(*r));
		if (!r)
			return;
		s->recs = r;
		memset(&r[s->n++], 0, sizeof(*r));
	}
	if (!s->n)
		return;
	r = &s->recs[s->n - 1];
	free(r->v[f]);
	r->v[f] = strdup(val);
}

static const char *fv(const struct dns_rec *r, size_t f)
{
	return r->v[f] ? r->v[f] : "";
}

static void show_rec(struct ctl_out *o, const struct dns_rec *r, time_t now)
{
	long long ok_at = strtoll(fv(r, F_LAST_OK), NULL, 10);
	bool failing = !strcmp(fv(r, F_STATUS), "failing");
	char *list = strdup(fv(r, F_ADDRESSES)), *save = NULL;

	out_obj(o, NULL, NULL);
	out_str(o, "cluster", "cluster '%s' ", fv(r, F_CLUSTER));
	out_str(o, "type", "%s ", fv(r, F_TYPE));
	out_str(o, "name", "%s ", fv(r, F_HOST));
	out_str(o, "family", "(%s): ", fv(r, F_FAMILY));
	out_str(o, "status", failing ? NULL : "%s: ", fv(r, F_STATUS));
	if (failing)
		out_text(o, "FAILING, keeping the last good answer: ");
	out_arr(o, "addresses", NULL);
	for (char *a = list ? strtok_r(list, ", ", &save) : NULL; a;
	     a = strtok_r(NULL, ", ", &save))
		out_str(o, OUT_ITEM, NULL, a);
	out_end(o, ']');
	out_text(o, "%s", *fv(r, F_ADDRESSES) ? fv(r, F_ADDRESSES) :
		 "no address");
	out_u64(o, "failures", NULL, strtoull(fv(r, F_FAILURES), NULL, 10));
	if (failing)
		out_text(o, " (%s, %s in a row)", fv(r, F_ERROR),
			 fv(r, F_FAILURES));
	out_str(o, "error", NULL, *fv(r, F_ERROR) ? fv(r, F_ERROR) : NULL);
	out_i64(o, "last_ok", NULL, ok_at);
	if (ok_at)
		out_text(o, "; last good answer %llds ago", (long long)now - ok_at);
	out_u64(o, "refresh_ms", "; next in %llu ms\n",
		strtoull(fv(r, F_REFRESH_MS), NULL, 10));
	out_end(o, '}');
	free(list);
}

int cmd_dns(struct ctl *c, int argc, char **argv)
{
	struct dns_state s = {};
	struct ctl_out o;
	int ret;

	ret = km_state_read(c->state_file, dns_line, &s);
	if (ret) {
		fprintf(stderr, "kmeshctl: %s: %s (is kmeshd running?)\n",
			c->state_file, strerror(-ret));
		return 1;
	}
	out_init(&o, c->json);
	out_str(&o, "servers", "DNS servers: %s\n", s.servers);
	out_arr(&o, "names", NULL);
	for (size_t i = 0; i < s.n; i++)
		show_rec(&o, &s.recs[i], time(NULL));
	out_end(&o, ']');
	if (!s.n)
		out_text(&o, "(no STRICT_DNS or LOGICAL_DNS cluster in the config)\n");
	out_done(&o);
	for (size_t i = 0; i < s.n; i++)
		for (size_t f = 0; f < N_FIELDS; f++)
			free(s.recs[i].v[f]);
	free(s.recs);
	free(s.servers);
	return 0;
}
