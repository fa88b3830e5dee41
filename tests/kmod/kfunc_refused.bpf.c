// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Must NOT load while kmesh.ko is present: its kfuncs are admitted for
 * connect4/6 only. km_kmod_test loads each program on its own: a bind4
 * program, and a sysctl program claiming the connect4 attach type (the
 * kernel does not check that field for cgroup sysctl programs, and the
 * CGROUP kfunc hook includes them: the filter must look at the program
 * type as well). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/kfuncs.h"

char LICENSE[] SEC("license") = "GPL";

static const char s[] = "abc";

SEC("cgroup/bind4")
int refused_bind4(struct bpf_sock_addr *ctx)
{
	return bpf_km_str_match(s, sizeof(s), s, sizeof(s), KM_MATCH_EXACT) >= 0;
}

SEC("cgroup/sysctl")
int refused_sysctl(struct bpf_sysctl *ctx)
{
	return bpf_km_str_match(s, sizeof(s), s, sizeof(s), KM_MATCH_EXACT) >= 0;
}
