// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_dns_stub: a DNS server under a test's control, for kmeshd's DNS
 * clusters (kmeshd --dns-server). UDP on one address, loopback in the
 * tests; it serves only the names of its zone file:
 *
 *   km_dns_stub --listen 127.0.0.1:PORT --zone FILE [--ready-file F]
 *
 * PORT 0 takes a free port; the ready file, written once it listens, holds
 * the address it listens on ("127.0.0.1:40123").
 *
 * The zone file is read again for every query, so a test changes the
 * answers by replacing it (write a new file, rename it over). A line:
 *
 *   NAME A ADDR [TTL]        an IPv4 answer (TTL default 30)
 *   NAME AAAA ADDR [TTL]     an IPv6 answer
 *   NAME SERVFAIL            the server fails: rcode 2
 *   NAME REFUSED             rcode 5
 *   NAME DROP                no reply at all (the client times out)
 *
 * Answers keep the file's order. A name with no line of the asked type is
 * NODATA (rcode 0, no answer); a name not in the file is NXDOMAIN. Every
 * query is logged on stdout: "query NAME TYPE rcode=N answers=N".
 */
#include <stdbool.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <strings.h>
#include <unistd.h>

#include "km_tool.h"

#define T_A 1
#define T_AAAA 28
#define MAX_ANSWERS 64

struct answer {
	uint16_t type;
	uint8_t addr[16];
	uint32_t ttl;
};

/* What the zone says about @name for @type: the rcode (-1: drop) and the
 * answers. */
static int lookup(const char *zone, const char *name, uint16_t type,
		  struct answer *ans, int *n)
{
	char line[512], lname[256], kind[16], addr[64];
	bool known = false;
	FILE *f = fopen(zone, "re");
	int rcode = 0;

	*n = 0;
	if (!f)
		return 2;	/* no zone: SERVFAIL */
	while (fgets(line, sizeof(line), f)) {
		unsigned int ttl = 30;
		int k = sscanf(line, "%255s %15s %63s %u", lname, kind, addr, &ttl);
		size_t l;

		if (k < 2 || lname[0] == '#')
			continue;
		l = strlen(lname);
		if (l > 1 && lname[l - 1] == '.')
			lname[l - 1] = 0;
		if (strcasecmp(lname, name))
			continue;
		known = true;
		if (!strcmp(kind, "SERVFAIL"))
			rcode = 2;
		else if (!strcmp(kind, "REFUSED"))
			rcode = 5;
		else if (!strcmp(kind, "DROP"))
			rcode = -1;
		else if (k >= 3 && *n < MAX_ANSWERS &&
			 ((!strcmp(kind, "A") && type == T_A &&
			   inet_pton(AF_INET, addr, ans[*n].addr) == 1) ||
			  (!strcmp(kind, "AAAA") && type == T_AAAA &&
			   inet_pton(AF_INET6, addr, ans[*n].addr) == 1))) {
			ans[*n].type = type;
			ans[*n].ttl = ttl;
			(*n)++;
		}
	}
	fclose(f);
	if (rcode)
		*n = 0;
	return known ? rcode : 3;	/* NXDOMAIN */
}

/* The question's name as text ("a.b.c") and where the question ends. */
static int parse_question(const uint8_t *q, size_t len, char *name,
			  size_t *end, uint16_t *type)
{
	size_t p = 12, o = 0;

	while (p < len && q[p]) {
		size_t l = q[p++];

		if (l > 63 || p + l > len || o + l + 2 > 255)
			return -1;
		if (o)
			name[o++] = '.';
		memcpy(name + o, q + p, l);
		o += l;
		p += l;
	}
	name[o] = 0;
	if (p + 5 > len)
		return -1;
	*type = (uint16_t)(q[p + 1] << 8 | q[p + 2]);
	*end = p + 5;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void serve(int fd, const char *zone)
{
	uint8_t q[512], r[512 + MAX_ANSWERS * 28];
	struct sockaddr_storage from;
	struct answer ans[MAX_ANSWERS];
	socklen_t fl = sizeof(from);
	char name[256];
	uint16_t type;
	size_t end, p;
	ssize_t len;
	int rcode, n;

	len = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (len < 12 || parse_question(q, (size_t)len, name, &end, &type))
		return;
	rcode = lookup(zone, name, type, ans, &n);
	printf("query %s %s rcode=%d answers=%d\n", name,
	       type == T_A ? "A" : type == T_AAAA ? "AAAA" : "other",
	       rcode, n);
	fflush(stdout);
	if (rcode < 0)
		return;
	memcpy(r, q, end);		/* id, flags, question */
	r[2] = 0x84 | (q[2] & 0x79);	/* QR, AA, opcode and RD kept */
	r[3] = 0x80 | (uint8_t)rcode;	/* RA */
	put16(r + 4, 1);
	put16(r + 6, (uint16_t)n);
	put16(r + 8, 0);
	put16(r + 10, 0);
	p = end;
	for (int i = 0; i < n; i++) {
		size_t alen = ans[i].type == T_A ? 4 : 16;

		put16(r + p, 0xc00c);	/* the question's name */
		put16(r + p + 2, ans[i].type);
		put16(r + p + 4, 1);	/* IN */
		put32(r + p + 6, ans[i].ttl);
		put16(r + p + 10, (uint16_t)alen);
		memcpy(r + p + 12, ans[i].addr, alen);
		p += 12 + alen;
	}
	sendto(fd, r, p, 0, (struct sockaddr *)&from, fl);
}

/* ADDR:PORT, where PORT 0 (a free port) is not one parse_addr takes */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	size_t n = strlen(s);
	char buf[128];

	if (n < 3 || n >= sizeof(buf) || strcmp(s + n - 2, ":0"))
		return parse_addr(s, ss, sl);
	snprintf(buf, sizeof(buf), "%.*s:1", (int)(n - 2), s);
	if (parse_addr(buf, ss, sl))
		return -EINVAL;
	/* sin_port and sin6_port sit at the same place */
	((struct sockaddr_in *)ss)->sin_port = 0;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "zone", required_argument, NULL, 'z' },
		{ "ready-file", required_argument, NULL, 'r' },
		{}
	};
	const char *listen_at = NULL, *zone = NULL, *ready = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	int c, fd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_at = optarg; break;
		case 'z': zone = optarg; break;
		case 'r': ready = optarg; break;
		default:
			fprintf(stderr, "usage: km_dns_stub --listen ADDR:PORT --zone FILE [--ready-file F]\n");
			return 2;
		}
	}
	if (!listen_at || !zone || parse_listen(listen_at, &ss, &sl)) {
		fprintf(stderr, "km_dns_stub: --listen ADDR:PORT and --zone FILE are needed\n");
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl)) {
		fprintf(stderr, "km_dns_stub: %s: %s\n", listen_at, strerror(errno));
		return 1;
	}
	if (ready) {
		char tmp[4096], host[INET6_ADDRSTRLEN];
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		FILE *f;

		sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		/* written whole, then renamed: a reader never sees half */
		snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
		f = fopen(tmp, "w");
		if (!f)
			return 1;
		if (ss.ss_family == AF_INET6)
			fprintf(f, "[%s]:%u\n", inet_ntop(AF_INET6, &a6->sin6_addr,
				host, sizeof(host)), ntohs(a6->sin6_port));
		else
			fprintf(f, "%s:%u\n", inet_ntop(AF_INET, &a->sin_addr,
				host, sizeof(host)), ntohs(a->sin_port));
		fclose(f);
		rename(tmp, ready);
	}
	for (;;)
		serve(fd, zone);
}
