// SPDX-License-Identifier: GPL-2.0-only
/* Generic netlink family "kmesh": version, counters, the deferral switch. */
#include <net/genetlink.h>

#include "kmesh.h"

static const struct nla_policy km_policy[KM_A_MAX + 1] = {
	[KM_A_DEFER_ENABLED] = { .type = NLA_U8 },
};

static struct genl_family km_genl_family;

static int km_put_counters(struct sk_buff *msg)
{
	static const int attr[KM_MC_MAX] = {
		[KM_MC_DEFERRED] = KM_A_DEFERRED,
		[KM_MC_REROUTED] = KM_A_REROUTED,
		[KM_MC_PARSE_ERRORS] = KM_A_PARSE_ERRORS,
		[KM_MC_FALLBACKS] = KM_A_FALLBACKS,
	};
	int i;

	for (i = 0; i < KM_MC_MAX; i++)
		if (nla_put_u64_64bit(msg, attr[i], km_mod_counter_sum(i), KM_A_PAD))
			return -EMSGSIZE;
	return nla_put_u64_64bit(msg, KM_A_IN_FLIGHT,
				 atomic_long_read(&km_in_flight), KM_A_PAD);
}

static int km_genl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	void *hdr;

	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &km_genl_family, 0, KM_CMD_GET);
	if (!hdr ||
	    nla_put_string(msg, KM_A_VERSION, KM_MOD_VERSION) ||
	    nla_put_u32(msg, KM_A_ABI, KM_KMOD_ABI_VERSION) ||
	    nla_put_u8(msg, KM_A_DEFER_ENABLED, READ_ONCE(km_defer_enabled)) ||
	    km_put_counters(msg)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int km_genl_set(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, KM_A_DEFER_ENABLED))
		return -EINVAL;
	WRITE_ONCE(km_defer_enabled, !!nla_get_u8(info->attrs[KM_A_DEFER_ENABLED]));
	pr_info("deferred connect %s\n",
		km_defer_enabled ? "enabled" : "disabled");
	return 0;
}

static const struct genl_ops km_genl_ops[] = {
	{ .cmd = KM_CMD_GET, .doit = km_genl_get },
	{ .cmd = KM_CMD_SET, .doit = km_genl_set, .flags = GENL_ADMIN_PERM },
};

static struct genl_family km_genl_family __ro_after_init = {
	.name = KM_GENL_NAME,
	.version = KM_GENL_VERSION,
	.maxattr = KM_A_MAX,
	.policy = km_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = km_genl_ops,
	.n_ops = ARRAY_SIZE(km_genl_ops),
	.resv_start_op = KM_CMD_SET + 1,
};

int km_genl_init(void)
{
	return genl_register_family(&km_genl_family);
}

void km_genl_exit(void)
{
	genl_unregister_family(&km_genl_family);
}
