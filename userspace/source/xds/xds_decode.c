// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The xDS decoder's messages, scalars and addresses (xds_read.h). */
#include "xds_read.h"

void x_ctx_init(struct ctx *c, struct km_err *err)
{
	memset(c, 0, sizeof(*c));
	km_diag_init(&c->d, err, "xds");
	x_audit_ctx(c);
}

/* ---- messages: util/diag.h; the object path names the resource ---------- */

int __attribute__((format(printf, 3, 4)))
x_fail(struct ctx *c, const char *what, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = km_diag_vfail(&c->d, NULL, what, fmt, ap);
	va_end(ap);
	return ret;
}


/* "kind 'name': cannot decode resource (N bytes)", the name found by the
 * shallow scan when there is one. */
int x_decode_error(struct ctx *c, const char *kind, const char *type_url,
			const uint8_t *buf, size_t len)
{
	char *name = km_xds_resource_name(type_url, buf, len);

	if (name)
		x_fail(c, NULL, "%s '%s': cannot decode resource (%zu bytes)",
		     kind, quote(c, name), len);
	else
		x_fail(c, NULL, "%s: cannot decode resource (%zu bytes)", kind,
		     len);
	free(name);
	return -EINVAL;
}

/* An enum value's name from the generated descriptor, or NULL. */
const char *x_enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);

	return ev ? ev->name : NULL;
}

/* A message the reader knows every field of: an unknown field is a newer
 * criterion this build cannot apply. */
int x_no_unknown_fields(struct ctx *c, const ProtobufCMessage *m,
			     const char *what, const char *name)
{
	if (!m->n_unknown_fields)
		return 0;
	return x_fail(c, what, "%s: field %u is not supported", name,
		    (unsigned int)m->unknown_fields[0].tag);
}

/* ---- scalars ----------------------------------------------------------- */

/*
 * A string of 1..limit-1 bytes (0.. when empty_ok; limit counts the NUL as
 * the ABI's limits do). Protobuf has no absent string: empty is "missing".
 * *out is a new copy.
 */
int x_str_at(struct ctx *c, const char *s, const char *what,
		  const char *name, size_t limit, bool empty_ok, char **out)
{
	size_t len;

	if (!s)
		s = "";
	len = strlen(s);
	if (!len && !empty_ok)
		return x_fail(c, what, "%s is missing", name);
	if (len >= limit)
		return x_fail(c, what, "%s is %zu bytes long, limit is %zu", name,
			    len, limit - 1);
	*out = strdup(s);
	return *out ? 0 : oom(c);
}

/* An optional string; empty leaves *out NULL. */
int x_opt_str(struct ctx *c, const char *s, const char *what,
		   const char *name, size_t limit, char **out)
{
	if (!s || !*s)
		return 0;
	return x_str_at(c, s, what, name, limit, true, out);
}

int x_u32_in(struct ctx *c, uint32_t v, const char *what,
		  const char *name, uint32_t min, uint32_t max)
{
	if (v < min || v > max)
		return x_fail(c, what, "%s %" PRIu32 " is out of range (%" PRIu32 "-%" PRIu32 ")",
			    name, v, min, max);
	return 0;
}

/* ---- duplicates: km_find_dup (dup.h) --------------------------------- */


/* ---- addresses, localities --------------------------------------------- */

/* An Envoy Address holding a TCP socket_address with an IP and a port. */
int x_read_address(struct ctx *c, const pb_address *a, const char *what,
			const char *name, struct km_ip *ip, uint16_t *port)
{
	return x_read_host_address(c, a, what, name, NULL, ip, port);
}

/* x_read_address, but with @host (a DNS cluster's endpoint) an address that
 * is not an IP is a name to resolve, in *host (check.c checks it). */
int x_read_host_address(struct ctx *c, const pb_address *a, const char *what,
			const char *name, char **host, struct km_ip *ip,
			uint16_t *port)
{
	const pb_socket_address *sa;
	const char *proto;

	if (!a)
		return x_fail(c, what, "%s is missing", name);
	switch (a->address_case) {
	case ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS:
		break;
	case ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_PIPE:
		return x_fail(c, what, "%s: pipe is not supported (socket_address only)",
			    name);
	case ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_ENVOY_INTERNAL_ADDRESS:
		return x_fail(c, what,
			    "%s: envoy_internal_address is not supported (socket_address only)",
			    name);
	default:
		return x_fail(c, what, "%s: socket_address is missing", name);
	}
	sa = a->socket_address;
	if (sa->protocol != ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PROTOCOL__TCP) {
		proto = x_enum_name(&envoy__config__core__v3__socket_address__protocol__descriptor,
				  sa->protocol);
		if (proto)
			return x_fail(c, what,
				    "protocol %s is not supported (TCP only)",
				    proto);
		return x_fail(c, what, "unknown protocol %d", sa->protocol);
	}
	if (!sa->address || !*sa->address)
		return x_fail(c, what, "address is missing");
	if (!km_ip_parse(sa->address, ip)) {
		/* an IP: nothing to resolve, in a DNS cluster too */
	} else if (host) {
		memset(ip, 0, sizeof(*ip));
		int ret = x_str_at(c, sa->address, what, "address",
				   KM_NAME_MAX, false, host);

		if (ret)
			return ret;
	} else {
		return x_fail(c, what,
			    "address '%s' is not an IPv4 or IPv6 address",
			    quote(c, sa->address));
	}
	switch (sa->port_specifier_case) {
	case ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE:
		break;
	case ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_NAMED_PORT:
		return x_fail(c, what,
			    "named_port '%s' is not supported (port_value only)",
			    quote(c, sa->named_port));
	default:
		return x_fail(c, what, "port_value is missing");
	}
	if (x_u32_in(c, sa->port_value, what, "port_value", 1, 65535))
		return -EINVAL;
	*port = (uint16_t)sa->port_value;
	return 0;
}

int x_read_locality(struct ctx *c, const pb_locality *l, const char *what,
			 struct km_locality *loc)
{
	int ret;

	ret = x_opt_str(c, l->region, what, "region", KM_NAME_MAX, &loc->region);
	if (!ret)
		ret = x_opt_str(c, l->zone, what, "zone", KM_NAME_MAX, &loc->zone);
	if (!ret)
		ret = x_opt_str(c, l->sub_zone, what, "sub_zone", KM_NAME_MAX,
			      &loc->sub_zone);
	return ret;
}
