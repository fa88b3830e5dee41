// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmesh-cni install [--bin-dir DIR] [--conf-dir DIR] [--socket PATH]
 *
 * The node's side of the DaemonSet's init step (the image has no shell):
 * copies this binary into the host's CNI plugin directory and chains
 * kmesh-cni into the network config the runtime uses, the lexically first
 * *.conflist in the config directory (as libcni picks it). Both writes are
 * a temporary file and a rename, so a runtime never reads half a file; run
 * again, it changes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "control_client.h"
#include "install.h"
#include "sys.h"

static int copy_self(const char *dir, char *dst, size_t len)
{
	char tmp[PATH_MAX], buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	snprintf(dst, len, "%s/kmesh-cni", dir);
	snprintf(tmp, sizeof(tmp), "%s/.kmesh-cni.tmp", dir);
	in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		ret = -errno;
	while (!ret && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			ret = -EIO;
	if (!ret && (n < 0 || fchmod(out, 0755) || fsync(out)))
		ret = -errno;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, dst))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		fprintf(stderr, "kmesh-cni install: copying the plugin to %s: %s\n", dst, strerror(-ret));
	}
	return ret;
}

static int first_conflist(const char *dir, char *out, size_t len)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), found = -ENOENT;

	if (n < 0) {
		fprintf(stderr, "kmesh-cni install: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);

		if (found && l > 9 && !strcmp(names[i]->d_name + l - 9, ".conflist")) {
			snprintf(out, len, "%s/%s", dir, names[i]->d_name);
			found = 0;
		}
		free(names[i]);
	}
	free(names);
	if (found)
		fprintf(stderr, "kmesh-cni install: no *.conflist in %s: kmesh-cni chains onto the node's network plugin; install that first\n",
			dir);
	return found;
}

/* Appends kmesh-cni to the list's plugins, or updates its socket. */
static int chain(const char *file, const char *sock)
{
	json_error_t jerr;
	json_t *conf = json_load_file(file, 0, &jerr), *plugins, *p, *mine = NULL;
	char *s;
	size_t i;
	int ret;

	plugins = json_object_get(conf, "plugins");
	if (!json_is_array(plugins)) {
		fprintf(stderr, "kmesh-cni install: %s: %s\n", file,
			conf ? "no plugins list" : jerr.text);
		json_decref(conf);
		return -EINVAL;
	}
	json_array_foreach(plugins, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "type")) ?: "", "kmesh-cni"))
			mine = p;
	if (!mine) {
		mine = json_pack("{s:s}", "type", "kmesh-cni");
		json_array_append_new(plugins, mine);
	}
	json_object_set_new(mine, "socket", json_string(sock));
	s = json_dumps(conf, JSON_INDENT(2));
	ret = s ? km_write_file_atomic(file, s, strlen(s), 0644) : -ENOMEM;
	if (ret)
		fprintf(stderr, "kmesh-cni install: writing %s: %s\n", file, strerror(-ret));
	free(s);
	json_decref(conf);
	return ret;
}

int km_cni_install(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bin-dir", required_argument, NULL, 'b' },
		{ "conf-dir", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{}
	};
	const char *bin = "/opt/cni/bin", *confdir = "/etc/cni/net.d";
	const char *sock = "/run/kmesh/" KM_CONTROL_SOCK;
	char dst[PATH_MAX], file[PATH_MAX];
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'b': bin = optarg; break;
		case 'c': confdir = optarg; break;
		case 's': sock = optarg; break;
		default:
			fprintf(stderr, "usage: kmesh-cni install [--bin-dir DIR] [--conf-dir DIR] [--socket PATH]\n");
			return 2;
		}
	}
	if (copy_self(bin, dst, sizeof(dst)) || first_conflist(confdir, file, sizeof(file)) ||
	    chain(file, sock))
		return 1;
	printf("kmesh-cni: installed %s; chained into %s (socket %s)\n", dst, file, sock);
	return 0;
}
