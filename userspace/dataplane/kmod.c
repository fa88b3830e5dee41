// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "kmod.h"

#define SYS_MODULE "/sys/module/kmesh"
#define SYS_BTF "/sys/kernel/btf/kmesh"

static int parse_get(struct nl_msg *msg, void *arg)
{
	struct km_kmod_info *info = arg;
	struct nlattr *a[KM_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, a, KM_A_MAX, NULL))
		return NL_SKIP;
	info->genl = true;
	if (a[KM_A_VERSION])
		snprintf(info->version, sizeof(info->version), "%s",
			 nla_get_string(a[KM_A_VERSION]));
	if (a[KM_A_ABI])
		info->abi = nla_get_u32(a[KM_A_ABI]);
	if (a[KM_A_DEFER_ENABLED])
		info->defer_enabled = nla_get_u8(a[KM_A_DEFER_ENABLED]);
#define U64(attr, field) if (a[attr]) info->field = nla_get_u64(a[attr])
	U64(KM_A_DEFERRED, deferred);
	U64(KM_A_REROUTED, rerouted);
	U64(KM_A_PARSE_ERRORS, parse_errors);
	U64(KM_A_FALLBACKS, fallbacks);
	U64(KM_A_IN_FLIGHT, in_flight);
#undef U64
	return NL_OK;
}

/* One request to the family; @cb parses the reply. */
static int genl_call(uint8_t cmd, int defer, nl_recvmsg_msg_cb_t cb, void *arg)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	int fam, ret;

	if (!sk)
		return -ENOMEM;
	ret = genl_connect(sk);
	if (ret)
		goto out;
	fam = genl_ctrl_resolve(sk, KM_GENL_NAME);
	if (fam < 0) {
		ret = -ENOENT;
		goto out;
	}
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, fam, 0, 0, cmd,
				 KM_GENL_VERSION)) {
		ret = -ENOMEM;
		goto out;
	}
	if (defer >= 0 && nla_put_u8(msg, KM_A_DEFER_ENABLED, defer)) {
		ret = -EMSGSIZE;
		goto out;
	}
	if (cb)
		nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	ret = nl_send_auto(sk, msg);
	if (ret >= 0)
		ret = nl_wait_for_ack(sk) ? -EIO : 0;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	/* libnl's own codes are positive: report them as EIO */
	return ret > 0 ? -EIO : ret;
}

void km_kmod_info(struct km_kmod_info *info)
{
	memset(info, 0, sizeof(*info));
	info->loaded = access(SYS_MODULE, F_OK) == 0;
	info->btf = access(SYS_BTF, F_OK) == 0;
	if (info->loaded)
		genl_call(KM_CMD_GET, -1, parse_get, info);
}

static int modprobe(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("modprobe", "modprobe", "-q", "kmesh", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool km_kernel_at_least(const char *release, unsigned major, unsigned minor)
{
	unsigned maj, min;

	if (sscanf(release, "%u.%u", &maj, &min) != 2)
		return true;
	return maj > major || (maj == major && min >= minor);
}

int km_kmod_load(struct km_err *err)
{
	struct km_kmod_info info;
	struct utsname u;
	int rc;

	if (access(SYS_MODULE, F_OK) != 0) {
		if (uname(&u) == 0 &&
		    !km_kernel_at_least(u.release, KM_KMOD_MIN_MAJOR, KM_KMOD_MIN_MINOR)) {
			km_err_set(err, "kernel %s is older than %u.%u, which kmesh.ko needs (module kfuncs in cgroup connect programs); L7 listeners are served as L4",
				   u.release, KM_KMOD_MIN_MAJOR, KM_KMOD_MIN_MINOR);
			return -EOPNOTSUPP;
		}
		rc = modprobe();
		if (access(SYS_MODULE, F_OK) != 0) {
			km_err_set(err, "kmesh.ko is not loaded (modprobe kmesh: %s); L7 listeners are served as L4",
				   rc == 127 ? "modprobe not found" :
				   rc < 0 ? strerror(-rc) :
				   "failed: is it installed for this kernel? see 'make dkms-install'");
			return -ENOENT;
		}
	}
	km_kmod_info(&info);
	if (!info.btf) {
		km_err_set(err, "kmesh.ko is loaded but " SYS_BTF " is missing (module built without BTF: needs pahole and the kernel's vmlinux BTF); its kfuncs are unusable, L7 listeners are served as L4");
		return -ENOEXEC;
	}
	if (!info.genl) {
		km_err_set(err, "kmesh.ko is loaded but its netlink family does not answer");
		return -EPROTO;
	}
	if (info.abi != KM_KMOD_ABI_VERSION) {
		km_err_set(err, "kmesh.ko %s speaks kfunc ABI %u, this kmeshd needs %u: install the matching module; L7 listeners are served as L4",
			   info.version, info.abi, KM_KMOD_ABI_VERSION);
		return -EPROTO;
	}
	return 0;
}

int km_kmod_set_defer(bool on, struct km_err *err)
{
	int ret = genl_call(KM_CMD_SET, on, NULL, NULL);

	if (ret)
		km_err_set(err, "setting kmesh.ko deferral %s: %s", on ? "on" : "off",
			   ret == -ENOENT ? "module not loaded" : strerror(-ret));
	return ret;
}
