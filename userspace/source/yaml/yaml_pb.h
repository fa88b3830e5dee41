/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A YAML mapping -> a protobuf-c message, by the message's descriptor, the
 * way Envoy reads its JSON/YAML into protos: field names as in the
 * .proto, enums by name, wrappers (UInt32Value, ...) as plain numbers,
 * maps as mappings, repeated fields as sequences. An unknown field, a
 * second member of a oneof or a value of the wrong kind is an error with
 * the line. Fields of type @opaque (a message kmesh only needs to see is
 * there) are set present whatever they hold.
 */
#ifndef KM_YAML_PB_H
#define KM_YAML_PB_H

#include <protobuf-c/protobuf-c.h>
#include <yaml.h>

#include "model.h"

/* *out: a new message (free with protobuf_c_message_free_unpacked(*out,
 * NULL)). Errors: "FILE:LINE: WHAT: ...", -EINVAL or -ENOMEM. "@type" is
 * accepted at the top and must then be @type_url. */
int km_yaml_pb(yaml_document_t *doc, const char *file, yaml_node_t *n,
	       const ProtobufCMessageDescriptor *d, const char *type_url,
	       const ProtobufCMessageDescriptor *opaque, const char *what,
	       ProtobufCMessage **out, struct km_err *err);

#endif
