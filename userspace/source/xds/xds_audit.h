/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * No silent drops (issue 12): every field and filter of a decoded xDS
 * resource is enforced, refused (the resource is NACKed, named, with the
 * reason) or accepted but not enforced (counted by kind in the resource's
 * struct km_notenf, shown by kmeshctl config and status). kmeshd --strict
 * refuses the last class too. The field classes are generated
 * (xds_fields.c, scripts/gen-xds-fields.py); filters and transport
 * sockets are classed here by type.
 */
#ifndef KM_XDS_AUDIT_H
#define KM_XDS_AUDIT_H

#include "xds_read.h"
#include "notenf.h"

enum x_class {
	X_E,	/* enforced: a reader does it; a message is walked */
	X_X,	/* done by kmesh's own means (original destination, sniffing) */
	X_N,	/* accepted, not enforced: counted by kind */
	X_R,	/* refused */
};

struct x_field_rule {
	const char *msg;	/* full message name */
	uint32_t tag;
	const char *name;
	uint8_t cls;		/* enum x_class */
	uint8_t kind;		/* X_N: enum km_notenf_kind */
	const char *why;	/* X_R */
};

extern const struct x_field_rule x_field_rules[];
extern const size_t x_n_field_rules;

/* The fields of @m and of the messages it holds; 0, or -EINVAL with the
 * refusal in c's error. */
int x_audit(struct ctx *c, const ProtobufCMessage *m, const char *what);
/* A network filter other than tcp_proxy and http_connection_manager, and
 * an HTTP filter other than the router: 0 (accepted, counted or known
 * inert), 1 (not classed here: the caller's own rule, RBAC), or -EINVAL. */
int x_audit_net_filter(struct ctx *c, const pb_filter *f, const char *what);
int x_audit_http_filter(struct ctx *c, const pb_http_filter *f,
			const char *what);
/* --strict: what the readers list as not enforced (model/not_enforced.c)
 * in the one resource @one holds is refused too. */
int x_audit_strict(struct ctx *c, const struct km_model *one, const char *what);
/* Listener-wide: Istio's REGISTRY_ONLY (the virtual outbound listener
 * blackholes what no listener serves), which kmesh does not do. */
int x_audit_listener(struct ctx *c, const struct km_m_listener *l,
		     const char *what);

#endif
