// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What kmeshd accepts without enforcing it (model/notenf.h), from
 * kmeshd.state: status prints a warning per security kind and one summary
 * line, config the whole list by kind with counts and an example.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "notenf.h"
#include "out.h"

static bool security(const struct agent_notenf *e)
{
	return km_notenf_security(km_notenf_kind(e->kind));
}

static void show_full(struct ctl_out *o, const struct agent_state *st)
{
	if (st->n_ne)
		out_text(o, "\nnot enforced (accepted; %s):\n", st->strict ?
			 "kmeshd runs with --strict, so none should be here" :
			 "kmeshd --strict refuses them instead");
	for (int i = 0; i < st->n_ne; i++) {
		const struct agent_notenf *e = &st->ne[i];

		out_obj(o, NULL, NULL);
		out_str(o, "kind", "  %-17s", e->kind);
		out_u64(o, "count", " %6llu", e->count);
		out_bool(o, "security", security(e));
		out_str(o, "what", "  %s", km_notenf_text(km_notenf_kind(e->kind)));
		out_str(o, "example", "; e.g. %s", e->example);
		if (security(e))
			out_text(o, "  (WARNING)");
		out_text(o, "\n");
		out_end(o, '}');
	}
}

static void show_summary(struct ctl_out *o, const struct agent_state *st)
{
	int quiet = 0;

	for (int i = 0; i < st->n_ne; i++) {
		const struct agent_notenf *e = &st->ne[i];

		out_obj(o, NULL, NULL);
		out_str(o, "kind", NULL, e->kind);
		out_u64(o, "count", NULL, e->count);
		out_bool(o, "security", security(e));
		out_str(o, "example", NULL, e->example);
		out_end(o, '}');
		if (!security(e)) {
			quiet++;
			continue;
		}
		out_text(o, "WARNING:     not enforced: %s: %lu (e.g. %s); kmeshd --strict refuses them\n",
			 km_notenf_text(km_notenf_kind(e->kind)), e->count,
			 e->example);
	}
	if (!quiet)
		return;
	out_text(o, "not enforced:");
	for (int i = 0, n = 0; i < st->n_ne; i++)
		if (!security(&st->ne[i]))
			out_text(o, "%s %s %lu", n++ ? "," : "", st->ne[i].kind,
				 st->ne[i].count);
	out_text(o, " (safe to degrade; kmeshctl config lists them)\n");
}

void show_not_enforced(struct ctl_out *o, const struct agent_state *st,
		       bool full)
{
	out_bool(o, "strict", st->strict);
	out_arr(o, "not_enforced", NULL);
	if (full)
		show_full(o, st);
	else
		show_summary(o, st);
	out_end(o, ']');
}
