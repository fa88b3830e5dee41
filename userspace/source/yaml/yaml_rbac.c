// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Access-control filters in the YAML file (rbac.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envoy/extensions/filters/http/rbac/v3/rbac.pb-c.h"
#include "envoy/extensions/filters/network/rbac/v3/rbac.pb-c.h"
#include "yaml_rbac.h"
#include "yaml_pb.h"
#include "authz.h"
#include "diag.h"
#include "xds_rbac.h"

#define TYPE_URL "type.googleapis.com/"
#define WHAT_LEN 512

static yaml_node_t *field(yaml_document_t *doc, yaml_node_t *map,
			  const char *name)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, name))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *type_of(yaml_document_t *doc, yaml_node_t *tc)
{
	yaml_node_t *t;

	if (!tc || tc->type != YAML_MAPPING_NODE)
		return NULL;
	t = field(doc, tc, "@type");
	if (!t || t->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)t->data.scalar.value;
}

/* The RBAC typed_config as its message, packed into an Any for the xDS
 * decoder. */
static int rbac(yaml_document_t *doc, const char *file, yaml_node_t *tc,
		const char *name, const char *what, bool http,
		struct km_m_chain *ch, struct km_err *err)
{
	const ProtobufCMessageDescriptor *d = http ?
		&envoy__extensions__filters__http__rbac__v3__rbac__descriptor :
		&envoy__extensions__filters__network__rbac__v3__rbac__descriptor;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	char url[256], fwhat[WHAT_LEN];
	ProtobufCMessage *m;
	int ret;

	snprintf(url, sizeof(url), TYPE_URL "%s", d->name);
	snprintf(fwhat, sizeof(fwhat), "%s: filter '%.64s'", what, name);
	ret = km_yaml_pb(doc, file, tc, d, url,
			 &envoy__config__rbac__v3__unparsed__descriptor, fwhat,
			 &m, err);
	if (ret)
		return ret;
	any.type_url = url;
	any.value.len = protobuf_c_message_get_packed_size(m);
	any.value.data = malloc(any.value.len + 1);
	if (!any.value.data) {
		protobuf_c_message_free_unpacked(m, NULL);
		km_err_set(err, "%s: out of memory", file);
		return -ENOMEM;
	}
	protobuf_c_message_pack(m, any.value.data);
	protobuf_c_message_free_unpacked(m, NULL);
	/* the decoder's messages start with what: give it the file:line */
	snprintf(fwhat, sizeof(fwhat), "%s:%d: %s", file,
		 (int)tc->start_mark.line + 1, what);
	ret = http ? km_xds_authz_http_filter(name, &any, fwhat, ch, err) :
		     km_xds_authz_filter(name, &any, fwhat, ch, err);
	free(any.value.data);
	return ret;
}

int km_yaml_authz_filter(yaml_document_t *doc, const char *file,
			 yaml_node_t *f, const char *what, bool http,
			 struct km_m_chain *ch, struct km_err *err)
{
	yaml_node_t *n = field(doc, f, "name"), *tc = field(doc, f, "typed_config");
	const char *name = (const char *)n->data.scalar.value;
	enum km_authz_filter af = km_authz_filter(name, type_of(doc, tc));
	int line = (int)n->start_mark.line + 1;

	for (yaml_node_pair_t *p = f->data.mapping.pairs.start;
	     p < f->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		const char *s = (const char *)k->data.scalar.value;

		if (k->type != YAML_SCALAR_NODE ||
		    (strcmp(s, "name") && strcmp(s, "typed_config"))) {
			km_err_set(err, "%s:%d: %s: filter '%.64s': unknown field '%.64s'",
				   file, (int)k->start_mark.line + 1, what,
				   name, k->type == YAML_SCALAR_NODE ? s : "?");
			km_one_line(err->msg);
			return -EINVAL;
		}
	}
	if (af == (http ? KM_AF_HTTP_RBAC : KM_AF_NET_RBAC)) {
		if (tc)
			return rbac(doc, file, tc, name, what, http, ch, err);
		km_err_set(err, "%s:%d: %s: filter '%.64s': typed_config is missing (an RBAC filter is never skipped)",
			   file, line, what, name);
		km_one_line(err->msg);
		return -EINVAL;
	}
	if (af == KM_AF_NET_EXT_AUTHZ || af == KM_AF_HTTP_EXT_AUTHZ) {
		/* CUSTOM fails closed: xds_rbac.c, by name or @type */
		Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
		char fwhat[WHAT_LEN];

		any.type_url = (char *)(type_of(doc, tc) ? type_of(doc, tc) : "");
		snprintf(fwhat, sizeof(fwhat), "%s:%d: %s", file, line, what);
		return http ? km_xds_authz_http_filter(name, &any, fwhat, ch, err) :
			      km_xds_authz_filter(name, &any, fwhat, ch, err);
	}
	km_err_set(err, "%s:%d: %s: filter '%.64s': %s", file, line, what,
		   name, km_authz_refusal(af));
	km_one_line(err->msg);
	return -EINVAL;
}
