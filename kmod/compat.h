/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences kmesh.ko absorbs, so the logic files keep no
 * version checks. Supported: 6.12 (bookworm-backports, trixie) to 7.2
 * (unstable); each change below was read in the headers and source of both
 * ends (docs/kernel-notes.md, "Kernels"). A boundary that is wrong fails the
 * build (the proto and ops copies are assigned our functions: an
 * incompatible pointer), it does not miscompile.
 */
#ifndef KM_KMOD_COMPAT_H
#define KM_KMOD_COMPAT_H

#include <linux/btf.h>
#include <linux/socket.h>
#include <linux/version.h>

/*
 * The module refuses to be built for a kernel it cannot work on, with the
 * reason, rather than failing somewhere in the middle of the build (or, had
 * it built, at load time). DKMS's BUILD_EXCLUSIVE_KERNEL keeps it from
 * trying; this is the module's own word for anyone who builds by hand.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#error "kmesh.ko needs Linux 6.12 or newer: BPF programs of cgroup sock_addr type call module kfuncs only from 6.12 (docs/kernel-notes.md); on older kernels kmesh runs L4 only"
#endif

/*
 * 6.19 (upstream "net: Convert proto callbacks from sockaddr to
 * sockaddr_unsized"): proto.connect, proto_ops.connect, inet_stream_connect,
 * __cgroup_bpf_run_filter_sock_addr and bpf_sock_addr_kern.uaddr take a
 * struct sockaddr_unsized *. Absent in 6.18 (its BTF), present in 7.2.
 * getname still takes a struct sockaddr *.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
typedef struct sockaddr_unsized km_sockaddr_t;
#else
typedef struct sockaddr km_sockaddr_t;
#endif

/*
 * 6.15 (upstream "net: remove addr_len argument of recvmsg() handlers"):
 * proto.recvmsg lost its int *addr_len. Present in 6.12, absent in 6.18
 * (its BTF) and 7.2. KM_RECVMSG_ARGS declares the trailing parameters,
 * KM_RECVMSG_PASS passes them on.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define KM_RECVMSG_ARGS		int flags
#define KM_RECVMSG_PASS		flags
#else
#define KM_RECVMSG_ARGS		int flags, int *addr_len
#define KM_RECVMSG_PASS		flags, addr_len
#endif

/*
 * 7.x: KF_TRUSTED_ARGS is gone from linux/btf.h; kfunc pointer arguments
 * are trusted by default (the verifier's check that was behind the flag
 * now applies to every kfunc). Keyed on the header itself.
 */
#ifndef KF_TRUSTED_ARGS
#define KF_TRUSTED_ARGS		0
#endif

#endif
