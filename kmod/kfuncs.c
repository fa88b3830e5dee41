// SPDX-License-Identifier: GPL-2.0-only
/*
 * kfuncs for the connect4/6 programs (contract: include/kmesh/kmod_abi.h).
 *
 * Registered once for BPF_PROG_TYPE_CGROUP_SOCK_ADDR, the only program type
 * that can call module kfuncs on the connect path on 6.12 (sockops/sk_msg
 * registration fails there). That hook is shared by every cgroup sock_addr
 * attach type, so a .filter admits only connect4 and connect6.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/filter.h>
#include <linux/string.h>

#include "kmesh.h"
#include "kmesh/route_match.h"

/* The parsed first message of the re-run, parsing it on first use. */
static struct km_rerun *km_parsed(struct bpf_sock_addr_kern *ctx)
{
	struct km_rerun *rr = km_rerun_of(ctx);

	if (!rr)
		return NULL;
	if (!rr->parsed) {
		rr->parsed = true;
		rr->parse_ret = km_http_parse(rr->buf, rr->len, &rr->req);
		if (rr->parse_ret < 0)
			km_mod_count(KM_MC_PARSE_ERRORS);
		else if (rr->parse_ret == KM_HTTP_INCOMPLETE)
			km_mod_count(KM_MC_FALLBACKS);
	}
	return rr;
}

static int km_field(struct km_rerun *rr, u32 field, const char *name,
		    u32 name_sz, struct km_http_span *out)
{
	int i;

	if (rr->parse_ret != 0)
		return -ENOENT;
	switch (field) {
	case KM_HTTP_METHOD:
		*out = rr->req.method;
		return 0;
	case KM_HTTP_PATH:
		*out = rr->req.path;
		return 0;
	case KM_HTTP_QUERY:
		*out = rr->req.query;
		return 0;
	case KM_HTTP_TARGET:
		*out = rr->req.target;
		return 0;
	case KM_HTTP_HOST:
		*out = rr->req.host;
		return out->len ? 0 : -ENOENT;
	case KM_HTTP_HEADER:
		if (!name)
			return -EINVAL;
		i = km_http_header(&rr->req, rr->buf, name, strnlen(name, name_sz));
		if (i < 0)
			return i;
		*out = rr->req.headers[i].value;
		return 0;
	}
	return -EINVAL;
}

static int km_copy_out(const struct km_rerun *rr, struct km_http_span sp,
		       char *dst, u32 dst_sz)
{
	if ((u32)sp.len + 1 > dst_sz)
		return -ENOSPC;
	memcpy(dst, rr->buf + sp.off, sp.len);
	dst[sp.len] = '\0';
	return sp.len;
}

static bool km_kind_ok(u32 kind)
{
	u32 k = kind & ~KM_MATCH_ICASE;

	return k >= KM_MATCH_EXACT && k <= KM_MATCH_CONTAINS;
}

__bpf_kfunc_start_defs();

__bpf_kfunc int bpf_km_defer_connect(struct bpf_sock_addr_kern *ctx)
{
	return km_defer_sock(ctx);
}

__bpf_kfunc int bpf_km_msg_copy(struct bpf_sock_addr_kern *ctx, void *dst,
				u32 dst__sz)
{
	struct km_rerun *rr = km_rerun_of(ctx);
	u32 n;

	if (!rr)
		return -ENOENT;
	n = min(rr->len, dst__sz);
	memcpy(dst, rr->buf, n);
	return n;
}

__bpf_kfunc int bpf_km_http_parse(struct bpf_sock_addr_kern *ctx)
{
	struct km_rerun *rr = km_parsed(ctx);

	return rr ? rr->parse_ret : -ENOENT;
}

__bpf_kfunc int bpf_km_http_get(struct bpf_sock_addr_kern *ctx, u32 field,
				char *dst, u32 dst__sz)
{
	struct km_rerun *rr = km_parsed(ctx);
	struct km_http_span sp;
	int ret;

	if (!rr)
		return -ENOENT;
	if (field == KM_HTTP_HEADER)
		return -EINVAL;
	ret = km_field(rr, field, NULL, 0, &sp);
	return ret ? ret : km_copy_out(rr, sp, dst, dst__sz);
}

__bpf_kfunc int bpf_km_http_header(struct bpf_sock_addr_kern *ctx,
				   const char *name, u32 name__sz,
				   char *dst, u32 dst__sz)
{
	struct km_rerun *rr = km_parsed(ctx);
	struct km_http_span sp;
	int ret;

	if (!rr)
		return -ENOENT;
	ret = km_field(rr, KM_HTTP_HEADER, name, name__sz, &sp);
	return ret ? ret : km_copy_out(rr, sp, dst, dst__sz);
}

__bpf_kfunc int bpf_km_http_match(struct bpf_sock_addr_kern *ctx,
				  const struct km_http_matcher *m, u32 m__sz)
{
	struct km_rerun *rr = km_parsed(ctx);
	struct km_http_span sp;
	int ret;

	if (!rr)
		return -ENOENT;
	if (m__sz < sizeof(*m) || !km_kind_ok(m->kind) ||
	    m->name_len > sizeof(m->name) || m->pat_len > sizeof(m->pat))
		return -EINVAL;
	ret = km_field(rr, m->field, m->name, m->name_len, &sp);
	if (ret)
		return ret;
	return km_str_match(rr->buf + sp.off, sp.len, m->pat, m->pat_len, m->kind);
}

__bpf_kfunc int bpf_km_str_match(const char *s, u32 s__sz, const char *pat,
				 u32 pat__sz, u32 kind)
{
	if (!km_kind_ok(kind))
		return -EINVAL;
	return km_str_match(s, strnlen(s, s__sz), pat, strnlen(pat, pat__sz),
			    kind);
}

/* res is void *: the verifier takes a (ptr, __sz) pair only for memory of
 * scalars or flat structs, and km_route_result nests km_frontend. */
__bpf_kfunc int bpf_km_route(struct bpf_sock_addr_kern *ctx, void *table,
			     u32 table__sz, void *res, u32 res__sz)
{
	struct km_rerun *rr = km_parsed(ctx);

	if (!rr)
		return -ESRCH;
	if (res__sz < sizeof(*res))
		return -EINVAL;
	switch (rr->parse_ret) {
	case 0:
		break;
	case KM_HTTP_INCOMPLETE:
		return -ENODATA;
	case -E2BIG:
		return -E2BIG;
	default:
		return -EBADMSG;
	}
	/* The status in res says what the matcher found; a bad table is
	 * KM_ROUTE_BAD_TABLE there, never a read outside table__sz. */
	km_route_match(table, table__sz, rr->buf, &rr->req,
		       (struct km_route_result *)res);
	return 0;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(km_kfunc_ids)
BTF_ID_FLAGS(func, bpf_km_defer_connect, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_km_msg_copy, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_km_http_parse, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_km_http_get, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_km_http_header, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_km_http_match, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_km_str_match)
BTF_ID_FLAGS(func, bpf_km_route, KF_TRUSTED_ARGS)
BTF_KFUNCS_END(km_kfunc_ids)

/*
 * 0 admits the call; only connect4/6 programs may call ours.
 *  - The kernel keeps filters per BTF (this module's kfunc table), so only
 *    our kfuncs get here, and @kfunc_id is not looked up in km_kfunc_ids:
 *    where the module's BTF is relocated against the running kernel's
 *    (distilled base BTF, .BTF.base: built with pahole >= 1.28, as on
 *    trixie and unstable), the kernel's copy of the set and @kfunc_id carry
 *    relocated ids and our set does not, so a lookup there fails and would
 *    admit every program.
 *  - The program type is checked as well as the attach type: the hook also
 *    serves cgroup sysctl and device programs (and sock_ops from 7.x),
 *    whose expected attach type the kernel does not check at load.
 */
static int km_kfunc_filter(const struct bpf_prog *prog, u32 kfunc_id)
{
	if (prog->type == BPF_PROG_TYPE_CGROUP_SOCK_ADDR &&
	    (prog->expected_attach_type == BPF_CGROUP_INET4_CONNECT ||
	     prog->expected_attach_type == BPF_CGROUP_INET6_CONNECT))
		return 0;
	return -EACCES;
}

static const struct btf_kfunc_id_set km_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &km_kfunc_ids,
	.filter = km_kfunc_filter,
};

int km_kfuncs_init(void)
{
	/* One registration per hook: a second one, or any failure, drops
	 * every earlier registration of this module (kernel-notes.md). */
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
					 &km_kfunc_set);
}
