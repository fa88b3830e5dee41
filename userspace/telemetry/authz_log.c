// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One log line per connect authorization denied (docs/authz.md), from the
 * KM_EV_REFUSED events the connect hook writes: who dialed what, why, and
 * the policy row that decided, named as kmeshctl authz names it.
 *
 * A flood of denials (a scanner, a client retrying in a loop) must not
 * fill the journal: at most KM_TEL_AUTHZ_LOG_BURST lines a second; the
 * rest are counted and said in one line when their second is over. The
 * counters (kmeshctl authz) count every denial whatever the log says.
 */
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "tel.h"

#define NS_PER_S 1000000000ull

/* "cgroup 1234, shop/cart", or without the identity part when none */
static void source_str(char *buf, size_t len, const struct km_tel_conn *c)
{
	const struct km_conn_event *ev = c->ev;
	const char *kind = ev->src_kind == KM_ENROLL_CGROUP ? "cgroup" :
			   ev->src_kind == KM_ENROLL_NETNS ? "netns" : NULL;

	if (!kind) {
		snprintf(buf, len, "not enrolled");
		return;
	}
	if (strcmp(c->src_namespace, KM_TEL_UNKNOWN) &&
	    strcmp(c->src_service_account, KM_TEL_UNKNOWN))
		snprintf(buf, len, "%s %llu, %s/%s", kind,
			 (unsigned long long)ev->src_id, c->src_namespace,
			 c->src_service_account);
	else
		snprintf(buf, len, "%s %llu, no identity", kind,
			 (unsigned long long)ev->src_id);
}

void km_tel_authz_format(char *buf, size_t len, const struct km_tel_conn *c)
{
	const struct km_conn_event *ev = c->ev;
	unsigned int why = ev->end & KM_EV_AUTHZ_WHY_MASK;
	char src[KM_NAME_MAX], ep[KM_TEL_ADDR_MAX + 16] = "";

	if (ev->end & KM_EV_AUTHZ_INBOUND) {
		/* the server side: the peer as it arrived */
		snprintf(buf, len, "authorization: denied inbound %s (%s) -> %s: %s%s: %s",
			 c->local, ev->end & KM_EV_AUTHZ_PEER_PROVEN ?
			 "identity proven by its address" : "unproven peer",
			 c->vip, km_authz_why_str(why),
			 ev->end & KM_EV_AUTHZ_FAIL_CLOSED ? KM_AUTHZ_FAIL_CLOSED_STR : "",
			 km_authz_why_has_row(why) ? c->authz_policy : "-");
		return;
	}
	source_str(src, sizeof(src), c);
	if (strcmp(c->endpoint, "-"))
		snprintf(ep, sizeof(ep), " (endpoint %s)", c->endpoint);
	snprintf(buf, len, "authorization: denied %s (%s) -> %s%s: %s%s: %s",
		 strcmp(c->local, "-") ? c->local : "unbound socket", src,
		 c->vip, ep, km_authz_why_str(why),
		 ev->end & KM_EV_AUTHZ_FAIL_CLOSED ? KM_AUTHZ_FAIL_CLOSED_STR : "",
		 km_authz_why_has_row(why) ? c->authz_policy : "-");
}

void km_tel_authz_flush(struct km_tel_authz_log *l, FILE *f)
{
	if (l->dropped)
		fprintf(f, "<4>kmeshd: authorization: %llu more denials not logged (at most %d lines a second; kmeshctl authz counts every one)\n",
			(unsigned long long)l->dropped, KM_TEL_AUTHZ_LOG_BURST);
	l->dropped = 0;
}

void km_tel_authz_tick(struct km_tel_authz_log *l, uint64_t now_ns, FILE *f)
{
	if (now_ns - l->window_ns < NS_PER_S)
		return;
	km_tel_authz_flush(l, f);
	l->window_ns = now_ns;
	l->logged = 0;
}

void km_tel_authz_deny(struct km_tel_authz_log *l, const struct km_tel_conn *c,
		       uint64_t now_ns, FILE *f)
{
	char line[3 * KM_NAME_MAX];

	km_tel_authz_tick(l, now_ns, f);
	if (l->logged >= KM_TEL_AUTHZ_LOG_BURST) {
		l->dropped++;
		return;
	}
	l->logged++;
	km_tel_authz_format(line, sizeof(line), c);
	fprintf(f, "<4>kmeshd: %s\n", line);
}
