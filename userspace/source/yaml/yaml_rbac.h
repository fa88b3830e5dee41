/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Access-control filters in the YAML file (model/authz.h): an RBAC
 * filter's typed_config is read into its protobuf message by field name
 * (yaml_pb.c) and handed to the xDS decoder (source/xds/rbac.c), so both
 * sources accept and refuse the same things with the same words; errors
 * carry the file and the line. Every other access-control filter is
 * refused with the reason.
 */
#ifndef KM_YAML_RBAC_H
#define KM_YAML_RBAC_H

#include <stdbool.h>
#include <yaml.h>

#include "model.h"

/* Filter @f (a mapping with name and typed_config) of a chain (@http:
 * an http_connection_manager's http_filters entry); @what names the chain
 * or the http_connection_manager. */
int km_yaml_authz_filter(yaml_document_t *doc, const char *file,
			 yaml_node_t *f, const char *what, bool http,
			 struct km_m_chain *ch, struct km_err *err);

#endif
