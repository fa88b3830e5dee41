/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel's constants the programs use. vmlinux.h carries types, not
 * macros, and the uapi headers cannot be mixed with it, so the values are
 * written here, once, with the header they come from. They are ABI: they
 * never change.
 */
#ifndef KM_BPF_CONSTS_H
#define KM_BPF_CONSTS_H

/* include/uapi/asm-generic/errno-base.h, errno.h */
#define KM_E2BIG 7
#define KM_ENODATA 61
#define KM_ECONNREFUSED 111
#define KM_EALREADY 114

/* include/linux/socket.h */
#define KM_AF_INET 2
#define KM_AF_INET6 10

/* include/uapi/linux/in.h */
#define KM_IPPROTO_TCP 6

/* include/net/sock.h: sk_userlocks */
#define KM_SOCK_RCVBUF_LOCK 2

#endif
