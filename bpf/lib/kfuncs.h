/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kmesh.ko's kfuncs as BPF sees them (contract: include/kmesh/kmod_abi.h).
 * All weak: an object using them loads with and without the module; guard
 * every call with km_kmod_present().
 */
#ifndef KM_BPF_KFUNCS_H
#define KM_BPF_KFUNCS_H

#include "kmesh/kmod_abi.h"
#include "kmesh/http_parse.h"
#include "kmesh/route_match.h"

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

extern int bpf_km_defer_connect(struct bpf_sock_addr_kern *ctx) __ksym __weak;
extern int bpf_km_msg_copy(struct bpf_sock_addr_kern *ctx, void *dst,
			   __u32 dst__sz) __ksym __weak;
extern int bpf_km_http_parse(struct bpf_sock_addr_kern *ctx) __ksym __weak;
extern int bpf_km_http_get(struct bpf_sock_addr_kern *ctx, __u32 field,
			   char *dst, __u32 dst__sz) __ksym __weak;
extern int bpf_km_http_header(struct bpf_sock_addr_kern *ctx, const char *name,
			      __u32 name__sz, char *dst, __u32 dst__sz) __ksym __weak;
extern int bpf_km_http_match(struct bpf_sock_addr_kern *ctx,
			     const struct km_http_matcher *m, __u32 m__sz) __ksym __weak;
extern int bpf_km_str_match(const char *s, __u32 s__sz, const char *pat,
			    __u32 pat__sz, __u32 kind) __ksym __weak;
extern int bpf_km_route(struct bpf_sock_addr_kern *ctx, void *table,
			__u32 table__sz, void *res, __u32 res__sz) __ksym __weak;

/* The module is loaded (with BTF) and the kernel can cast the ctx. */
#define km_kmod_present() \
	(bpf_ksym_exists(bpf_km_defer_connect) && bpf_ksym_exists(bpf_cast_to_kern_ctx))

/* ... and has the L7 router (kmod ABI 2). */
#define km_kmod_router_present() \
	(km_kmod_present() && bpf_ksym_exists(bpf_km_route))

#endif
