/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The static config source: Envoy's bootstrap YAML (node + static_resources)
 * read into a struct km_model. Each object is checked on its own here (types,
 * ranges, names, per-object limits); what needs the whole model (references
 * between objects, address families, global totals) is the compiler's job.
 */
#ifndef KM_CONFIG_YAML_H
#define KM_CONFIG_YAML_H

#include <stddef.h>

#include "model.h"

/*
 * Input bounds, checked before anything is built: a config file larger than
 * KM_CONFIG_MAX_BYTES, or YAML nested deeper than KM_YAML_MAX_DEPTH
 * collections (Envoy configs need about 20), is refused with a message
 * naming the file (and line and column for the depth).
 */
#define KM_CONFIG_MAX_BYTES (64u << 20)
#define KM_YAML_MAX_DEPTH 64u

/*
 * Both return 0 with *m filled (free it with km_model_free), or a negative
 * errno with err->msg set to one line, "FILE:LINE: RESOURCE: what is wrong",
 * and *m zeroed with nothing leaked. *m is overwritten, not freed, on entry.
 * The file name (or name) becomes m->source; every km_src.file points at it.
 */
int km_config_load_file(const char *path, struct km_model *m,
			struct km_err *err);
int km_config_load_string(const char *name, const char *yaml, size_t len,
			  struct km_model *m, struct km_err *err);
/* The same, with flags: KM_CONFIG_STRICT (kmeshd --strict) refuses what
 * would be accepted without being enforced (the not_enforced list, Istio
 * mTLS among it), naming the file, line and field. */
#define KM_CONFIG_STRICT 1u
int km_config_load_file_flags(const char *path, unsigned int flags,
			      struct km_model *m, struct km_err *err);
int km_config_load_string_flags(const char *name, const char *yaml, size_t len,
				unsigned int flags, struct km_model *m,
				struct km_err *err);
/* With --xds: the file may hold only the bootstrap node (static_resources
 * absent); what it holds is checked as above. */
int km_config_load_node_file(const char *path, struct km_model *m,
			     struct km_err *err);
int km_config_load_node_string(const char *name, const char *yaml, size_t len,
			       struct km_model *m, struct km_err *err);

#endif
