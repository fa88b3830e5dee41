// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Must NOT load while kmesh.ko is present: its kfuncs are admitted for
 * connect4/6 only, and this is a bind4 program. */
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
