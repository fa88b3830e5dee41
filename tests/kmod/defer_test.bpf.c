// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test program for kmesh.ko (tests/vm): a VIP whose connect is deferred and
 * routed on the first bytes. Path prefix "/b" goes to backend B, "/a" to
 * backend A; anything else (or no module) to A, the L4 fallback, which is
 * also where a read-before-write socket goes. The L7 router proper is
 * bpf/; this exercises the module's mechanism and kfuncs alone.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/kfuncs.h"

#define KM_EALREADY 114

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader. Addresses in network order, v6 as four words. */
const volatile __u32 vip4, a4, b4;
const volatile __u32 vip6[4], a6[4], b6[4];
const volatile __u16 vip_port, a_port, b_port;	/* network order */

/* What happened, for the test to check: [0] deferred, [1] re-runs,
 * [2] routed to B, [3] L4 only (no module), [4] defer refused. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static void bump(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &i);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Not const: the verifier treats a kfunc's (pointer, __sz) pair as
 * writable memory and refuses .rodata ("write into map forbidden"). */
struct km_http_matcher path_b = {
	.field = KM_HTTP_PATH, .kind = KM_MATCH_PREFIX, .pat_len = 2, .pat = "/b",
};

/* 1 = B, 0 = A */
static int decide(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_addr_kern *k;
	int ret;

	if (!km_kmod_present()) {
		bump(3);
		return 0;
	}
	k = bpf_cast_to_kern_ctx(ctx);
	ret = bpf_km_defer_connect(k);
	if (ret == 0) {
		bump(0);
		return 0;	/* the fallback for read-first sockets */
	}
	if (ret != -KM_EALREADY) {
		bump(4);
		return 0;
	}
	bump(1);
	if (bpf_km_http_match(k, &path_b, sizeof(path_b)) == 1) {
		bump(2);
		return 1;
	}
	return 0;
}

SEC("cgroup/connect4")
int defer4(struct bpf_sock_addr *ctx)
{
	int b;

	if (ctx->user_ip4 != vip4 || ctx->user_port != vip_port)
		return 1;
	b = decide(ctx);
	ctx->user_ip4 = b ? b4 : a4;
	ctx->user_port = b ? b_port : a_port;
	return 1;
}

SEC("cgroup/connect6")
int defer6(struct bpf_sock_addr *ctx)
{
	int b;

	if (ctx->user_ip6[0] != vip6[0] || ctx->user_ip6[1] != vip6[1] ||
	    ctx->user_ip6[2] != vip6[2] || ctx->user_ip6[3] != vip6[3] ||
	    ctx->user_port != vip_port)
		return 1;
	b = decide(ctx);
	ctx->user_ip6[0] = b ? b6[0] : a6[0];
	ctx->user_ip6[1] = b ? b6[1] : a6[1];
	ctx->user_ip6[2] = b ? b6[2] : a6[2];
	ctx->user_ip6[3] = b ? b6[3] : a6[3];
	ctx->user_port = b ? b_port : a_port;
	return 1;
}
