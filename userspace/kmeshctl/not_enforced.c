// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What kmeshd accepts without enforcing it, from kmeshd.state: the
 * readers' list by Envoy field (model/not_enforced.c) and the xDS audit's
 * by kind (model/notenf.h). status lists them and prints a warning line
 * per security kind; config lists them with what each kind is.
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

void show_not_enforced_warnings(struct ctl_out *o, const struct agent_state *st)
{
	for (int i = 0; i < st->n_ne; i++) {
		const struct agent_notenf *e = &st->ne[i];

		if (security(e))
			out_text(o, "WARNING:     not enforced: %s: %lu resource(s), e.g. %s; kmeshd --strict refuses them\n",
				 km_notenf_text(km_notenf_kind(e->kind)),
				 e->count, e->example);
	}
}

void show_not_enforced_full(struct ctl_out *o, const struct agent_state *st)
{
	out_bool(o, "strict", st->strict);
	out_arr(o, "not_enforced", st->n_ne ? "\nnot enforced (accepted, by kind; kmeshd --strict refuses them):\n" : NULL);
	for (int i = 0; i < st->n_ne; i++) {
		const struct agent_notenf *e = &st->ne[i];
		int k = km_notenf_kind(e->kind);

		out_obj(o, NULL, NULL);
		out_str(o, "kind", "  %-22s", e->kind);
		out_u64(o, "count", " %5llu", e->count);
		out_bool(o, "security", security(e));
		out_str(o, "what", k >= 0 ? "  %s;" : NULL,
			k >= 0 ? km_notenf_text(k) : NULL);
		out_str(o, "example", " e.g. %s", e->example);
		if (security(e))
			out_text(o, "  (WARNING)");
		out_text(o, "\n");
		out_end(o, '}');
	}
	out_end(o, ']');
}
