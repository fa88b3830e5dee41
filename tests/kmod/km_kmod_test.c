// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_kmod_test: loads the kmesh.ko test programs (tests/vm cases, and the
 * host's "no module" case).
 *
 *   km_kmod_test attach CGROUP VIP4:P A4:P B4:P [VIP6:P A6:P B6:P]
 *	load defer_test.bpf.c, attach connect4/6 to CGROUP, pin under
 *	/sys/fs/bpf/kmtest; prints "attached kmod=yes|no"
 *   km_kmod_test detach
 *   km_kmod_test stats	   deferred, re-runs, routed to B, L4 only, refused
 *   km_kmod_test refused  a bind4 program, and a sysctl program claiming the
 *			   connect4 attach type, calling a kfunc must each fail
 *			   to load; prints the verifier's reasons, exit 0 if
 *			   both are refused
 *   km_kmod_test module   what kmeshctl knows of the module (netlink)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../tools/km_tool.h"
#include "kmod.h"	/* before the skeletons: their data uses its types */
#include "defer_test.skel.h"
#include "kfunc_refused.skel.h"

#define PIN "/sys/fs/bpf/kmtest"

static char verifier_log[65536];
static size_t log_len;

static int capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n = vsnprintf(verifier_log + log_len, sizeof(verifier_log) - log_len, fmt, ap);

	if (n > 0 && log_len + n < sizeof(verifier_log))
		log_len += n;
	return 0;
}

/* The verifier's verdict: the last lines of the log before libbpf's END
 * marker (the whole capture without one). Cuts the log there. */
static const char *log_verdict(void)
{
	char *end = strstr(verifier_log, "-- END PROG LOAD LOG --"), *p;
	int lines = 0;

	if (!end)
		return verifier_log;
	for (p = end; p > verifier_log && lines < 4; p--)
		if (*p == '\n')
			lines++;
	*end = 0;
	return p;
}

static int addr4(const char *s, __u32 *ip, __u16 *port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (parse_addr(s, &ss, &len) || ss.ss_family != AF_INET)
		return -1;
	*ip = ((struct sockaddr_in *)&ss)->sin_addr.s_addr;
	*port = ((struct sockaddr_in *)&ss)->sin_port;
	return 0;
}

static int addr6(const char *s, __u32 *ip, __u16 *port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (parse_addr(s, &ss, &len) || ss.ss_family != AF_INET6)
		return -1;
	memcpy(ip, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	*port = ((struct sockaddr_in6 *)&ss)->sin6_port;
	return 0;
}

static int attach(int argc, char **argv)
{
	struct defer_test_bpf *skel;
	struct bpf_link *l4, *l6;
	__u16 p4a, p4b, p4v;
	int cg, ret;

	if (argc != 5 && argc != 8)
		return 2;
	skel = defer_test_bpf__open();
	if (!skel)
		return 1;
	if (addr4(argv[2], (__u32 *)&skel->rodata->vip4, &p4v) ||
	    addr4(argv[3], (__u32 *)&skel->rodata->a4, &p4a) ||
	    addr4(argv[4], (__u32 *)&skel->rodata->b4, &p4b)) {
		fprintf(stderr, "km_kmod_test: bad IPv4 ADDR:PORT\n");
		return 2;
	}
	skel->rodata->vip_port = p4v;
	skel->rodata->a_port = p4a;
	skel->rodata->b_port = p4b;
	if (argc == 8) {
		__u16 q;

		/* same ports as v4: one rodata set */
		if (addr6(argv[5], (__u32 *)skel->rodata->vip6, &q) ||
		    addr6(argv[6], (__u32 *)skel->rodata->a6, &q) ||
		    addr6(argv[7], (__u32 *)skel->rodata->b6, &q)) {
			fprintf(stderr, "km_kmod_test: bad IPv6 [ADDR]:PORT\n");
			return 2;
		}
	}
	ret = defer_test_bpf__load(skel);
	if (ret) {
		fprintf(stderr, "km_kmod_test: load failed: %s: %s\n", strerror(-ret),
			log_verdict());
		return 1;
	}
	cg = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (cg < 0) {
		perror(argv[1]);
		return 1;
	}
	l4 = bpf_program__attach_cgroup(skel->progs.defer4, cg);
	l6 = bpf_program__attach_cgroup(skel->progs.defer6, cg);
	mkdir(PIN, 0700);
	if (!l4 || !l6 || bpf_link__pin(l4, PIN "/connect4") || bpf_link__pin(l6, PIN "/connect6") ||
	    bpf_map__pin(skel->maps.stats, PIN "/stats")) {
		fprintf(stderr, "km_kmod_test: attach/pin failed: %s\n", strerror(errno));
		return 1;
	}
	printf("attached kmod=%s\n",
	       access("/sys/kernel/btf/kmesh", F_OK) == 0 ? "yes" : "no");
	return 0;
}

static int detach(void)
{
	const char *pins[] = { PIN "/connect4", PIN "/connect6", PIN "/stats" };

	for (size_t i = 0; i < 3; i++) {
		int fd = bpf_obj_get(pins[i]);

		if (fd >= 0 && i < 2)
			bpf_link_detach(fd);
		if (fd >= 0)
			close(fd);
		unlink(pins[i]);
	}
	rmdir(PIN);
	return 0;
}

static int stats(void)
{
	static const char *const names[] = { "deferred", "reruns", "to_b", "l4_only", "refused" };
	int fd = bpf_obj_get(PIN "/stats");

	if (fd < 0) {
		perror(PIN "/stats");
		return 1;
	}
	for (__u32 i = 0; i < 5; i++) {
		__u64 v = 0;

		bpf_map_lookup_elem(fd, &i, &v);
		printf("%s%s %llu", i ? " " : "", names[i], (unsigned long long)v);
	}
	putchar('\n');
	return 0;
}

/* 0 if program @name, loaded alone (with expected attach type @eat when
 * not 0), is refused by the verifier's kfunc check */
static int refused_prog(const char *name, enum bpf_attach_type eat)
{
	struct kfunc_refused_bpf *skel = kfunc_refused_bpf__open();
	struct bpf_program *p;
	char *line;
	int ret;

	if (!skel)
		return 1;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, strcmp(bpf_program__name(p), name) == 0);
	p = bpf_object__find_program_by_name(skel->obj, name);
	if (eat)
		bpf_program__set_expected_attach_type(p, eat);
	log_len = 0;
	verifier_log[0] = 0;
	ret = kfunc_refused_bpf__load(skel);
	kfunc_refused_bpf__destroy(skel);
	if (!ret) {
		printf("loaded: %s could call a kmesh kfunc\n", name);
		return 1;
	}
	line = strstr(verifier_log, "calling kernel function");
	if (!line)
		line = strstr(verifier_log, "not allowed");
	if (!line) {
		printf("%s refused, but not by the verifier's kfunc check: %s\n",
		       name, log_verdict());
		return 1;
	}
	*strchrnul(line, '\n') = 0;
	printf("%s refused: %s\n", name, line);
	return 0;
}

static int refused(void)
{
	return refused_prog("refused_bind4", 0) |
	       refused_prog("refused_sysctl", BPF_CGROUP_INET4_CONNECT);
}

static int module(void)
{
	struct km_kmod_info m;

	km_kmod_info(&m);
	printf("loaded=%d btf=%d genl=%d version=%s abi=%u defer=%d deferred=%llu rerouted=%llu parse_errors=%llu fallbacks=%llu in_flight=%llu\n",
	       m.loaded, m.btf, m.genl, m.version, m.abi, m.defer_enabled,
	       (unsigned long long)m.deferred, (unsigned long long)m.rerouted,
	       (unsigned long long)m.parse_errors, (unsigned long long)m.fallbacks,
	       (unsigned long long)m.in_flight);
	return m.genl ? 0 : 1;
}

int main(int argc, char **argv)
{
	int ret = 2;

	libbpf_set_print(capture);
	if (argc >= 2 && strcmp(argv[1], "attach") == 0)
		ret = attach(argc - 1, argv + 1);
	else if (argc == 2 && strcmp(argv[1], "detach") == 0)
		ret = detach();
	else if (argc == 2 && strcmp(argv[1], "stats") == 0)
		ret = stats();
	else if (argc == 2 && strcmp(argv[1], "refused") == 0)
		ret = refused();
	else if (argc == 2 && strcmp(argv[1], "module") == 0)
		ret = module();
	if (ret == 2)
		fprintf(stderr, "usage: km_kmod_test attach CGROUP VIP4:P A4:P B4:P [VIP6 A6 B6] | detach | stats | refused | module\n");
	return ret;
}
