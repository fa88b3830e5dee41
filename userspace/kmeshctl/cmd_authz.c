// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshctl authz: the live generation's policy programs (destinations),
 * their counter rows by name, and the totals over every generation; and
 * the enrolled identities kmesh vouches for (docs/authz.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd_authz.h"
#include "ctl.h"

/* authz_eval.h for its types; km_authz_eval() in userspace/model counts */
static inline void km_az_count(void *cctx, __u32 row, int what)
{
	(void)cctx;
	(void)row;
	(void)what;
}

#include "kmesh/authz_eval.h"
#include "json.h"

/* A Kubernetes name: lowercase alphanumerics, '-' and '.', below max. */
static bool k8s_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n >= max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.'))
			return false;
	return true;
}

int km_ctl_ident_args(int *argc, char ***argv, struct km_ctl_ident *id)
{
	memset(id, 0, sizeof(*id));
	while (*argc >= 2 && (*argv)[0][0] == '-') {
		const char *o = (*argv)[0], *v = (*argv)[1];

		if (!strcmp(o, "--namespace"))
			id->ns = v;
		else if (!strcmp(o, "--service-account"))
			id->sa = v;
		else
			break;
		*argc -= 2;
		*argv += 2;
	}
	if (!id->ns != !id->sa) {
		fprintf(stderr, "kmeshctl: enroll: --namespace and --service-account go together\n");
		return -1;
	}
	if (id->ns && (!k8s_name(id->ns, KM_IDENT_NS_MAX) ||
		       !k8s_name(id->sa, KM_IDENT_SA_MAX))) {
		fprintf(stderr, "kmeshctl: enroll: namespace '%s' or service account '%s' is not a Kubernetes name (a-z, 0-9, '-', '.'; under %d and %d characters)\n",
			id->ns, id->sa, KM_IDENT_NS_MAX, KM_IDENT_SA_MAX);
		return -1;
	}
	return 0;
}

int km_ctl_ident_apply(const struct km_maps *mp, const struct km_enroll_key *k,
		       const struct km_ctl_ident *id, bool add)
{
	struct km_identity v = {};

	if (!add || !id->ns) {
		/* no identity: never proven, whatever was said before */
		if (bpf_map_delete_elem(mp->ident, k) && errno != ENOENT) {
			fprintf(stderr, "kmeshctl: removing the identity: %s\n",
				strerror(errno));
			return 1;
		}
		return 0;
	}
	snprintf(v.ns, sizeof(v.ns), "%s", id->ns);
	snprintf(v.sa, sizeof(v.sa), "%s", id->sa);
	if (bpf_map_update_elem(mp->ident, k, &v, BPF_ANY)) {
		fprintf(stderr, "kmeshctl: setting the identity: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- kmeshctl authz ---------------------------------------------------------- */

static int read_count(int fd, __u32 row, struct km_authz_count *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct km_authz_count *v;

	memset(out, 0, sizeof(*out));
	if (ncpu < 0)
		return ncpu;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &row, v) == 0) {
		for (int c = 0; c < ncpu; c++) {
			out->allowed += v[c].allowed;
			out->denied += v[c].denied;
			out->shadow_denied += v[c].shadow_denied;
			out->fail_closed += v[c].fail_closed;
		}
	}
	free(v);
	return 0;
}

static void dest_str(const struct km_authz_key *k, char *buf, size_t len)
{
	static const struct km_addr any;
	struct km_ip ip = { .addr = k->addr, .family = KM_FAMILY_INET6 };
	char a[64];

	if (!memcmp(&k->addr, &any, sizeof(any))) {
		snprintf(buf, len, "*:%u", ntohs(k->port));
		return;
	}
	if (!k->addr.w[0] && !k->addr.w[1] && k->addr.w[2] == htonl(0xffff))
		ip.family = KM_FAMILY_INET;
	km_ip_str(&ip, a, sizeof(a));
	/* port 0: every port of a workload (Istio's ambient API) */
	if (!k->port)
		snprintf(buf, len, ip.family == KM_FAMILY_INET ? "%s:*" : "[%s]:*", a);
	else
		snprintf(buf, len, ip.family == KM_FAMILY_INET ? "%s:%u" : "[%s]:%u",
			 a, ntohs(k->port));
}

static void print_count(struct km_json *j, const char *name,
			const struct km_authz_count *c)
{
	if (j) {
		km_json_obj(j, NULL);
		km_json_str(j, "name", name);
		km_json_u64(j, "allowed", c->allowed);
		km_json_u64(j, "denied", c->denied);
		km_json_u64(j, "shadow_denied", c->shadow_denied);
		km_json_u64(j, "fail_closed", c->fail_closed);
		km_json_end(j, '}');
		return;
	}
	printf("  %8llu %8llu %8llu %8llu  %s\n",
	       (unsigned long long)c->allowed, (unsigned long long)c->denied,
	       (unsigned long long)c->shadow_denied,
	       (unsigned long long)c->fail_closed, name);
}

static void list_dests(const struct km_maps *mp, __u8 slot, struct km_json *j)
{
	struct km_authz_key cur, prev;
	struct km_authz_prog p;
	bool first = true;
	char buf[80];
	int n = 0;

	if (j)
		km_json_arr(j, "destinations");
	else
		printf("destinations (dialed address, or the endpoint a service sends to):\n");
	while (bpf_map_get_next_key(mp->authz, first ? NULL : &prev, &cur) == 0) {
		first = false;
		prev = cur;
		if (cur.slot != slot || bpf_map_lookup_elem(mp->authz, &cur, &p))
			continue;
		dest_str(&cur, buf, sizeof(buf));
		n++;
		if (j) {
			km_json_obj(j, NULL);
			km_json_str(j, "destination", buf);
			km_json_u64(j, "ops", p.n_ops);
			km_json_bool(j, "identity", p.flags & KM_AZP_IDENT);
			km_json_end(j, '}');
		} else {
			printf("  %-28s %u ops%s\n", buf, p.n_ops,
			       p.flags & KM_AZP_IDENT ? ", identity conditions" : "");
		}
	}
	if (j)
		km_json_end(j, ']');
	else if (!n)
		printf("  (none: no policy in this generation; every connect is allowed)\n");
}

static void list_rows(const struct km_maps *mp, __u8 slot, struct km_json *j)
{
	struct km_name_key k = { .kind = KM_NAME_AUTHZ, .slot = slot };
	struct km_authz_count c;
	struct km_name name;

	if (j)
		km_json_arr(j, "policies");
	else
		printf("policies (this generation):\n   allowed   denied   shadow  fail_cl  name\n");
	for (k.id = 0; k.id < KM_MAX_AUTHZ_COUNTERS; k.id++) {
		if (bpf_map_lookup_elem(mp->names, &k, &name))
			break;
		name.s[sizeof(name.s) - 1] = '\0';
		read_count(mp->authz_stats, km_authz_row(slot, k.id), &c);
		print_count(j, name.s, &c);
	}
	if (j)
		km_json_end(j, ']');
}

/* ---- kmeshctl authz check: the kernel's decision for one connect -------- */

static int list(struct ctl *c);

/* The live slot's records, read back from the maps into the shape the
 * compiler made (authz.h), for km_authz_decide(). */
static int load_records(struct ctl *c, __u8 slot, struct km_authz_records *r)
{
	struct km_authz_key key, prev;
	struct km_authz_atom_key ak, aprev;
	struct km_name_key nk = { .kind = KM_NAME_AUTHZ, .slot = slot };
	struct km_name name;
	bool first = true;
	size_t n_ops = 0;

	memset(r, 0, sizeof(*r));
	while (bpf_map_get_next_key(c->maps.authz, first ? NULL : &prev, &key) == 0) {
		struct km_authz_prog p;

		first = false;
		prev = key;
		if (key.slot != slot || bpf_map_lookup_elem(c->maps.authz, &key, &p))
			continue;
		r->keys = realloc(r->keys, (r->n_targets + 1) * sizeof(*r->keys));
		r->progs = realloc(r->progs, (r->n_targets + 1) * sizeof(*r->progs));
		if (!r->keys || !r->progs)
			return -ENOMEM;
		key.slot = 0;
		r->keys[r->n_targets] = key;
		r->progs[r->n_targets++] = p;
		if (p.first + p.n_ops > n_ops)
			n_ops = p.first + p.n_ops;
	}
	if (n_ops > KM_MAX_AUTHZ_OPS)
		return -E2BIG;
	r->ops = calloc(n_ops ? n_ops : 1, sizeof(*r->ops));
	if (!r->ops)
		return -ENOMEM;
	for (r->n_ops = 0; r->n_ops < n_ops; r->n_ops++) {
		__u32 k = km_authz_op_index(slot, r->n_ops);

		if (bpf_map_lookup_elem(c->maps.authz_ops, &k, &r->ops[r->n_ops]))
			return -errno;
	}
	first = true;
	while (bpf_map_get_next_key(c->maps.authz_atom, first ? NULL : &aprev, &ak) == 0) {
		__u32 id;

		first = false;
		aprev = ak;
		if (ak.slot != slot || bpf_map_lookup_elem(c->maps.authz_atom, &ak, &id))
			continue;
		r->atoms = realloc(r->atoms, (r->n_atoms + 1) * sizeof(*r->atoms));
		r->atom_ids = realloc(r->atom_ids, (r->n_atoms + 1) * sizeof(*r->atom_ids));
		if (!r->atoms || !r->atom_ids)
			return -ENOMEM;
		ak.slot = 0;
		r->atoms[r->n_atoms] = ak;
		r->atom_ids[r->n_atoms++] = id;
	}
	for (nk.id = 0; nk.id < KM_MAX_AUTHZ_COUNTERS; nk.id++) {
		if (bpf_map_lookup_elem(c->maps.names, &nk, &name))
			break;
		name.s[sizeof(name.s) - 1] = '\0';
		r->row_names = realloc(r->row_names, (r->n_rows + 1) * sizeof(char *));
		if (!r->row_names || !(r->row_names[r->n_rows] = strdup(name.s)))
			return -ENOMEM;
		r->n_rows++;
	}
	return 0;
}

static void answer_json(struct ctl *c, const char *dest, bool had,
			const struct km_az_state *st, const char *policy)
{
	struct km_json j;

	km_json_init(&j, stdout);
	km_json_obj(&j, NULL);
	km_json_str(&j, "destination", dest);
	km_json_u64(&j, "generation", c->gen.generation);
	km_json_bool(&j, "policies", had);
	km_json_bool(&j, "allowed", !had || st->verdict == KM_AZV_ALLOW);
	if (had && st->verdict == KM_AZV_DENY) {
		km_json_str(&j, "why", km_authz_why_str(st->why));
		km_json_bool(&j, "fail_closed", st->unknown);
		km_json_str(&j, "policy", policy);
	}
	km_json_end(&j, '}');
}

int km_ctl_authz_answer(struct ctl *c, const struct km_ctl_authz_query *q)
{
	struct km_authz_records r;
	struct km_az_env env = {};
	struct km_az_state st;
	char ns[KM_IDENT_NS_MAX] = "", *sa = NULL;
	const char *policy = "-";
	struct km_ip ip;
	uint16_t port;
	bool had;
	int ret;

	if (km_host_ip(q->dest, &ip, &port) || !port) {
		fprintf(stderr, "kmeshctl: destination '%s': expected IP:PORT\n", q->dest);
		return 2;
	}
	env.dst = ip.addr;
	env.dport = port;
	/* no source: unknown, as for a socket not bound at connect */
	if (q->source) {
		if (km_host_ip(q->source, &ip, &port)) {
			fprintf(stderr, "kmeshctl: --source '%s': expected IP or IP:PORT\n", q->source);
			return 2;
		}
		env.src = ip.addr;
		env.src_known = 1;
	}
	if (q->identity) {
		snprintf(ns, sizeof(ns), "%s", q->identity);
		sa = strchr(ns, '/');
		if (!sa || sa == ns || !sa[1]) {
			fprintf(stderr, "kmeshctl: --identity '%s': expected NAMESPACE/SERVICE_ACCOUNT\n", q->identity);
			return 2;
		}
		*sa++ = '\0';
	}
	if (open_maps(c))
		return 2;
	ret = load_records(c, c->gen.slot & 1, &r);
	if (ret) {
		fprintf(stderr, "kmeshctl: reading the policies: %s\n", strerror(-ret));
		km_authz_records_free(&r);
		return 2;
	}
	had = km_authz_decide(&r, &env, sa ? ns : NULL, sa, &st, NULL);
	if (had && st.verdict == KM_AZV_DENY && km_authz_why_has_row(st.why) &&
	    st.row < r.n_rows)
		policy = r.row_names[st.row];
	if (c->json)
		answer_json(c, q->dest, had, &st, policy);
	else if (!had)
		printf("allowed: no policy at this destination\n");
	else if (st.verdict == KM_AZV_ALLOW)
		printf("allowed by the policies (generation %llu)\n",
		       (unsigned long long)c->gen.generation);
	else
		printf("denied (ECONNREFUSED): %s%s: %s\n", km_authz_why_str(st.why),
		       st.unknown ? KM_AUTHZ_FAIL_CLOSED_STR : "", policy);
	km_authz_records_free(&r);
	return had && st.verdict == KM_AZV_DENY ? 1 : 0;
}

/* check DEST [--source IP[:PORT]] [--identity NS/SA] */
static int check(struct ctl *c, int argc, char **argv)
{
	struct km_ctl_authz_query q = {};

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--source") && i + 1 < argc)
			q.source = argv[++i];
		else if (!strcmp(argv[i], "--identity") && i + 1 < argc)
			q.identity = argv[++i];
		else if (!q.dest && argv[i][0] != '-')
			q.dest = argv[i];
		else
			goto usage;
	}
	if (!q.dest)
		goto usage;
	return km_ctl_authz_answer(c, &q);
usage:
	fprintf(stderr, "kmeshctl: usage: authz check IP:PORT [--source IP[:PORT]] [--identity NS/SA]\n");
	return 2;
}

/* ---- kmeshctl dump's part: policies per destination ------------------------ */

static const char *engine_action(__u8 flags)
{
	if (flags & KM_AZE_SHADOW)
		return flags & KM_AZE_DENY ? "shadow DENY" : "shadow ALLOW";
	return flags & KM_AZE_DENY ? "DENY" : "ALLOW";
}

static const char *row_name(const struct km_authz_records *r, __u32 row)
{
	return row < r->n_rows ? r->row_names[row] : "-";
}

/* An engine's row name without its ": no ALLOW policy matched" */
static const char *engine_name(const struct km_authz_records *r, __u32 row,
			       char *buf, size_t len)
{
	char *cut;

	snprintf(buf, len, "%s", row_name(r, row));
	cut = strstr(buf, ": no ");
	if (cut)
		*cut = '\0';
	return buf;
}

/* One destination's engines, in the order they apply, and their
 * policies (the POLICY ops of the program: what the compiler kept for
 * this destination). */
static void dump_prog(const struct km_authz_records *r,
		      const struct km_authz_prog *p, struct km_json *j)
{
	const struct km_authz_op *op;
	char name[KM_NAME_MAX];
	int policies = -1;	/* of the open engine; -1: none open */
	__u8 flags = 0;

	for (__u32 i = 0; i < p->n_ops && p->first + i < r->n_ops; i++) {
		op = &r->ops[p->first + i];
		if (op->code == KM_AZ_ENGINE || op->code == KM_AZ_END) {
			if (policies == 0 && !(flags & (KM_AZE_DENY | KM_AZE_SHADOW)) && !j)
				printf("      (no policy: denies every connect)\n");
			if (policies >= 0 && j) {
				km_json_end(j, ']');
				km_json_end(j, '}');
			}
			if (op->code == KM_AZ_END)
				break;
			flags = op->arg;
			policies = 0;
			if (j) {
				km_json_obj(j, NULL);
				km_json_str(j, "action", engine_action(flags));
				km_json_str(j, "engine", engine_name(r, op->id, name, sizeof(name)));
				km_json_arr(j, "policies");
			} else {
				printf("    %s: %s\n", engine_action(flags),
				       engine_name(r, op->id, name, sizeof(name)));
			}
		} else if (op->code == KM_AZ_POLICY && policies >= 0) {
			policies++;
			if (j)
				km_json_str(j, NULL, row_name(r, op->id));
			else
				printf("      %s\n", row_name(r, op->id));
		}
	}
}

void km_ctl_authz_dump(struct ctl *c, struct km_json *j)
{
	struct km_authz_records r;
	char buf[80];
	int ret;

	ret = load_records(c, c->gen.slot & 1, &r);
	if (j)
		km_json_arr(j, "authorization");
	else
		printf("authorization (policies per destination, in the order they apply):\n");
	if (ret)
		fprintf(stderr, "kmeshctl: reading the policies: %s\n", strerror(-ret));
	for (size_t i = 0; !ret && i < r.n_targets; i++) {
		dest_str(&r.keys[i], buf, sizeof(buf));
		if (j) {
			km_json_obj(j, NULL);
			km_json_str(j, "destination", buf);
			km_json_arr(j, "engines");
		} else {
			printf("  %s\n", buf);
		}
		dump_prog(&r, &r.progs[i], j);
		if (j) {
			km_json_end(j, ']');
			km_json_end(j, '}');
		}
	}
	if (j)
		km_json_end(j, ']');
	else if (!ret && !r.n_targets)
		printf("  (none: every connect is allowed)\n");
	km_authz_records_free(&r);
}

int cmd_authz(struct ctl *c, int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "check"))
		return check(c, argc - 2, argv + 2);
	if (argc > 1) {
		fprintf(stderr, "kmeshctl: usage: authz [check IP:PORT [--source IP[:PORT]] [--identity NS/SA]]\n");
		return 2;
	}
	return list(c);
}

static int list(struct ctl *c)
{
	struct km_authz_count total;
	struct km_json jj, *j = NULL;
	__u8 slot;

	if (open_maps(c))
		return 1;
	slot = c->gen.slot & 1;
	if (c->json) {
		j = &jj;
		km_json_init(j, stdout);
		km_json_obj(j, NULL);
		km_json_u64(j, "generation", c->gen.generation);
		km_json_bool(j, "enabled", c->gen.flags & KM_GEN_AUTHZ);
	} else {
		printf("authorization: generation %llu, %s\n",
		       (unsigned long long)c->gen.generation,
		       c->gen.flags & KM_GEN_AUTHZ ?
		       "policies enforced at connect" : "no policies");
	}
	list_dests(&c->maps, slot, j);
	list_rows(&c->maps, slot, j);
	read_count(c->maps.authz_stats, KM_AUTHZ_ROW_TOTAL, &total);
	if (j) {
		km_json_obj(j, "total");
		km_json_u64(j, "allowed", total.allowed);
		km_json_u64(j, "denied", total.denied);
		km_json_end(j, '}');
		km_json_end(j, '}');
	} else {
		printf("total (every generation): allowed %llu, denied %llu\n",
		       (unsigned long long)total.allowed,
		       (unsigned long long)total.denied);
	}
	return 0;
}
