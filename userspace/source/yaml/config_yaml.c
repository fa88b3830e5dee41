// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Envoy bootstrap YAML (node + static_resources) -> struct km_model.
 *
 * The document is loaded whole (yaml_parser_load) so every node carries its
 * line, then walked by one reader per Envoy message. Each mapping is checked
 * against the fields its reader uses plus the Envoy fields below, which are
 * accepted and ignored because they do not change what kmesh enforces.
 * Anything else is an error, so neither a typo nor an unsupported feature
 * (health_checks, a listener's transport_socket, redirect, ...) is
 * silently dropped.
 *
 * Accepted and ignored:
 *   top level                admin, enrollment (kmeshd's enrollment
 *                            policy: enroll_policy.c reads it)
 *   node                     user_agent_name (id, cluster and metadata are
 *                            read for xDS: ISTIO_VERSION, CLUSTER_ID,
 *                            NAMESPACE, INSTANCE_IPS, NODE_NAME, LABELS)
 *   listener                 stat_prefix, access_log,
 *                            per_connection_buffer_limit_bytes
 *   filter_chains[]          name
 *   tcp_proxy                stat_prefix, access_log
 *   http_connection_manager  stat_prefix, codec_type, http_filters
 *                            (but access-control filters: model/authz.h),
 *                            use_remote_address, access_log,
 *                            common_http_protocol_options,
 *                            stream_idle_timeout, request_timeout
 *   rds                      config_source
 *   route_config             validate_clusters
 *   safe_regex               google_re2
 *   cluster                  per_connection_buffer_limit_bytes,
 *                            common_http_protocol_options,
 *                            typed_extension_protocol_options,
 *                            eds_cluster_config
 *   circuit_breakers         thresholds[].track_remaining
 *   load_assignment          cluster_name
 *   lb_endpoints[]           metadata
 *   endpoint                 hostname, health_check_config
 * "@type" is accepted in typed_config, listener, cluster, route_config and
 * load_assignment, and must then be the expected type URL. A filter's name
 * must be one of the two filters kmesh implements.
 *
 * Accepted and listed as not enforced (enum km_not_enforced, yaml_lb.c;
 * refused instead under KM_CONFIG_STRICT, kmeshd --strict):
 * cluster connect_timeout and outlier_detection, common_lb_config's
 * zone_aware_lb_config, the per-request circuit_breakers thresholds,
 * ring_hash_lb_config's ring sizes; a route's
 * timeout, idle_timeout, retry_policy, request_mirror_policies, path and
 * host rewrites; headers to add or remove (route, virtual host, route
 * config); a virtual host's retry_policy and hedge_policy; tcp_proxy's
 * idle_timeout; the HTTP fault filter; a cluster's transport_socket or
 * transport_socket_matches with Istio's mutual TLS (yaml_cluster.c; other
 * TLS is refused).
 *
 * Objects in messages: by name once it is known ("cluster 'x'"); otherwise
 * by field path with a 0-based index ("listeners[2]", "filter_chains[1]");
 * endpoints by 1-based position in their cluster, counted across locality
 * groups ("endpoint 2"), since that is how a cluster's endpoints are listed.
 */
#include "yaml_read.h"

/* ---- top level --------------------------------------------------------- */

/* Listener and cluster names are unique, as in Envoy. Each item of seq
 * (none when NULL) has been read, so has a valid name. */
static int check_names(struct ctx *c, yaml_node_t *seq, const char *kind)
{
	size_t n = seq ? y_seq_len(seq) : 0, first, dup;
	struct km_dup_ref *refs;
	const char *name;
	bool found;

	if (!n)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return oom(c);
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct km_dup_ref){
			y_sval(y_field(c, y_seq_item(c, seq, i), "name")), i
		};
	found = km_find_dup(refs, n, false, &first, &dup);
	free(refs);
	if (!found)
		return 0;
	name = y_sval(y_field(c, y_seq_item(c, seq, dup), "name"));
	return y_fail(c, y_seq_item(c, seq, dup), NULL,
		    "%s '%s': duplicate name (first at line %d)", kind,
		    quote(c, name), y_line_of(y_seq_item(c, seq, first)));
}

/* node.metadata: the keys istiod reads, as strings; LABELS, a map, becomes
 * "k=v,k=v". Any other key is Istio's or the user's and is ignored. */
static int read_node_metadata(struct ctx *c, yaml_node_t *node, struct km_node *n)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "ISTIO_VERSION", offsetof(struct km_node, istio_version) },
		{ "CLUSTER_ID", offsetof(struct km_node, cluster_id) },
		{ "NAMESPACE", offsetof(struct km_node, namespace_) },
		{ "INSTANCE_IPS", offsetof(struct km_node, instance_ips) },
		{ "NODE_NAME", offsetof(struct km_node, node_name) },
	};
	yaml_node_t *md = y_field(c, node, "metadata"), *labels;
	int ret;

	if (!md)
		return 0;
	ret = y_want(c, md, YAML_MAPPING_NODE, "node", "metadata");
	for (size_t i = 0; !ret && i < sizeof(keys) / sizeof(keys[0]); i++)
		ret = y_opt_str(c, md, "node: metadata", keys[i].key, KM_NAME_MAX,
			      (char **)((char *)n + keys[i].off));
	labels = ret ? NULL : y_field(c, md, "LABELS");
	if (labels) {
		yaml_node_pair_t *p;
		size_t len = 0;
		char *buf;

		ret = y_want(c, labels, YAML_MAPPING_NODE, "node: metadata", "LABELS");
		if (ret)
			return ret;
		for (p = labels->data.mapping.pairs.start; p < labels->data.mapping.pairs.top; p++)
			len += strlen(y_sval(y_node_at(c, p->key))) +
			       strlen(y_sval(y_node_at(c, p->value))) + 2;
		buf = calloc(1, len + 1);
		if (!buf)
			return oom(c);
		for (p = labels->data.mapping.pairs.start; p < labels->data.mapping.pairs.top; p++)
			sprintf(buf + strlen(buf), "%s%s=%s", *buf ? "," : "",
				y_sval(y_node_at(c, p->key)), y_sval(y_node_at(c, p->value)));
		n->labels = buf;
	}
	return ret;
}

/* The optional node field of the top level (Envoy's bootstrap node). */
static int read_node(struct ctx *c, yaml_node_t *root, struct km_model *m)
{
	static const char *const used[] = {
		"locality", "id", "cluster", "metadata", NULL
	};
	static const char *const ignored[] = { "user_agent_name", NULL };
	yaml_node_t *v = y_field(c, root, "node");
	int ret;

	if (!v)
		return 0;
	ret = y_mapping_at(c, v, NULL, "node", "node", used, ignored);
	if (!ret)
		ret = y_read_locality(c, v, "node", &m->node_locality);
	if (!ret)
		ret = y_opt_str(c, v, "node", "id", KM_NAME_MAX * 2, &m->node.id);
	if (!ret)
		ret = y_opt_str(c, v, "node", "cluster", KM_NAME_MAX, &m->node.cluster);
	if (!ret)
		ret = read_node_metadata(c, v, &m->node);
	return ret;
}

static int read_static_resources(struct ctx *c, yaml_node_t *v,
				 struct km_model *m)
{
	static const char *const used[] = { "listeners", "clusters", NULL };
	static const struct list_rules listeners = {
		.name = "listeners", .maps = true, .read_item = y_read_listener,
	};
	static const struct list_rules clusters = {
		.name = "clusters", .maps = true, .read_item = y_read_cluster,
	};
	int ret;

	ret = y_mapping_at(c, v, NULL, "static_resources", "static_resources",
			 used, NULL);
	if (!ret)
		ret = y_read_list(c, v, "static_resources", &listeners,
				(void **)&m->listeners, &m->n_listeners,
				sizeof(*m->listeners), NULL);
	if (!ret)
		ret = check_names(c, y_field(c, v, "listeners"), "listener");
	if (!ret)
		ret = y_read_list(c, v, "static_resources", &clusters,
				(void **)&m->clusters, &m->n_clusters,
				sizeof(*m->clusters), NULL);
	if (!ret)
		ret = check_names(c, y_field(c, v, "clusters"), "cluster");
	return ret;
}

static int read_root(struct ctx *c, yaml_node_t *root, struct km_model *m)
{
	static const char *const used[] = { "node", "static_resources", NULL };
	static const char *const ignored[] = { "admin", "enrollment", NULL };
	yaml_node_t *v;
	int ret;

	if (!root || y_is_null(root)) {
		km_err_set(c->d.err, "%s:1: static_resources is missing",
			   c->file);
		return -EINVAL;
	}
	ret = y_mapping_at(c, root, NULL, "the top level", NULL, used, ignored);
	if (!ret)
		ret = read_node(c, root, m);
	/* with xDS the file only names the node; its resources come over
	 * the wire */
	if (!ret && c->node_only && !y_field(c, root, "static_resources"))
		return 0;
	if (!ret)
		ret = y_req_field(c, root, NULL, "static_resources", &v);
	if (!ret)
		ret = read_static_resources(c, v, m);
	return ret;
}

/* libyaml's error as "FILE:LINE: YAML syntax error: problem (context)". */
static int yaml_error(struct ctx *c, const yaml_parser_t *p,
		      const char *yaml, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	int line = (int)p->problem_mark.line + 1;

	switch (p->error) {
	case YAML_NO_ERROR:
		/* libyaml 0.2.5's loader fails some allocations without
		 * setting an error */
	case YAML_MEMORY_ERROR:
		return oom(c);
	case YAML_READER_ERROR:
		/* bad encoding: libyaml gives a byte offset, not a mark */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += yaml[i] == '\n';
		if (p->problem_value != -1)
			km_err_set(c->d.err, "%s:%d: YAML error: %s (byte 0x%02X)",
				   c->file, line, problem, p->problem_value);
		else
			km_err_set(c->d.err, "%s:%d: YAML error: %s", c->file,
				   line, problem);
		break;
	default:
		if (p->context)
			km_err_set(c->d.err,
				   "%s:%d: YAML syntax error: %s (%s at line %d)",
				   c->file, line, problem, p->context,
				   (int)p->context_mark.line + 1);
		else
			km_err_set(c->d.err, "%s:%d: YAML syntax error: %s",
				   c->file, line, problem);
		break;
	}
	one_line(c->d.err->msg);
	return -EINVAL;
}

/*
 * libyaml's loader is quadratic in the nesting depth (100k levels: 19 s), so
 * the depth is counted on the event stream first, which stops at the first
 * level too deep. Syntax errors are left for the loader to report.
 */
static int check_depth(struct ctx *c, const char *yaml, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned int depth = 0;
	int ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return oom(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml,
				     len);
	while (!done && !ret && yaml_parser_parse(&parser, &ev)) {
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > KM_YAML_MAX_DEPTH) {
				km_err_set(c->d.err,
					   "%s:%zu:%zu: YAML nested deeper than %u levels: refused",
					   c->file, ev.start_mark.line + 1,
					   ev.start_mark.column + 1,
					   KM_YAML_MAX_DEPTH);
				ret = -EINVAL;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/* Loads the one document of the stream into *doc. */
static int load_document(struct ctx *c, const char *yaml, size_t len,
			 yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int ret;

	ret = check_depth(c, yaml, len);
	if (ret)
		return ret;
	if (!yaml_parser_initialize(&parser))
		return oom(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml,
				     len);
	if (!yaml_parser_load(&parser, doc)) {
		ret = yaml_error(c, &parser, yaml, len);
		goto out;
	}
	/* a second document would be ignored by a one-document reader */
	if (!yaml_parser_load(&parser, &extra)) {
		ret = yaml_error(c, &parser, yaml, len);
	} else {
		root = yaml_document_get_root_node(&extra);
		if (root)
			ret = y_fail(c, root, NULL,
				   "a second YAML document is not supported");
		yaml_document_delete(&extra);
	}
	if (ret)
		yaml_document_delete(doc);
out:
	yaml_parser_delete(&parser);
	return ret;
}

#define LOAD_NODE_ONLY 0x100u	/* with KM_CONFIG_* flags */

static int load_string(const char *name, const char *yaml, size_t len,
		       unsigned int flags, struct km_model *m, struct km_err *err)
{
	struct km_err scratch;
	struct ctx c = {
		.node_only = flags & LOAD_NODE_ONLY,
		.strict = flags & KM_CONFIG_STRICT,
	};
	yaml_document_t doc;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!err)
		err = &scratch;
	err->msg[0] = '\0';
	if (!name)
		name = "<string>";
	if (!yaml) {
		yaml = "";
		len = 0;
	}
	m->source = strdup(name);
	if (!m->source) {
		km_err_set(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	c.file = m->source;
	km_diag_init(&c.d, err, c.file);

	ret = load_document(&c, yaml, len, &doc);
	if (ret)
		goto out;
	c.doc = &doc;
	ret = read_root(&c, yaml_document_get_root_node(&doc), m);
	yaml_document_delete(&doc);
out:
	if (ret)
		km_model_free(m);
	return ret;
}

int km_config_load_string(const char *name, const char *yaml, size_t len,
			  struct km_model *m, struct km_err *err)
{
	return load_string(name, yaml, len, 0, m, err);
}

int km_config_load_string_flags(const char *name, const char *yaml, size_t len,
				unsigned int flags, struct km_model *m,
				struct km_err *err)
{
	return load_string(name, yaml, len, flags & KM_CONFIG_STRICT, m, err);
}

/*
 * Reads a regular file of at most KM_CONFIG_MAX_BYTES into *buf. Opened
 * non-blocking so a FIFO at the path cannot stall the caller, and checked
 * with fstat so a device (a symlink to /dev/zero) is refused before a read.
 * The limit is enforced while reading too: the file may grow meanwhile.
 */
static int read_config_file(const char *path, char **buf, size_t *len,
			    struct km_err *err)
{
	size_t cap;
	struct stat st;
	int fd, ret = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		km_err_set(err, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		km_err_set(err, "%s: cannot stat: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		km_err_set(err, "%s: not a regular file (%s): refused", path,
			   S_ISFIFO(st.st_mode) ? "a FIFO" :
			   S_ISCHR(st.st_mode) ? "a character device" :
			   S_ISBLK(st.st_mode) ? "a block device" :
			   S_ISDIR(st.st_mode) ? "a directory" :
			   S_ISSOCK(st.st_mode) ? "a socket" : "special");
		ret = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > KM_CONFIG_MAX_BYTES)
		goto too_big;
	cap = (size_t)st.st_size + 1;
	*buf = malloc(cap);
	if (!*buf) {
		km_err_set(err, "%s: out of memory (%lld bytes)", path,
			   (long long)st.st_size);
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t got;

		if (*len == cap) {
			char *nb;

			if (cap > KM_CONFIG_MAX_BYTES)
				goto too_big;
			cap = cap * 2 > KM_CONFIG_MAX_BYTES + 1 ?
			      KM_CONFIG_MAX_BYTES + 1 : cap * 2;
			nb = realloc(*buf, cap);
			if (!nb) {
				km_err_set(err, "%s: out of memory", path);
				ret = -ENOMEM;
				goto out;
			}
			*buf = nb;
		}
		got = read(fd, *buf + *len, cap - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			km_err_set(err, "%s: cannot read: %s", path,
				   strerror(-ret));
			goto out;
		}
		if (!got)
			break;
		*len += got;
	}
	if (*len > KM_CONFIG_MAX_BYTES)
		goto too_big;
	goto out;
too_big:
	km_err_set(err, "%s: larger than the %u MiB limit for a config file",
		   path, KM_CONFIG_MAX_BYTES >> 20);
	ret = -EFBIG;
out:
	if (ret) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	close(fd);
	return ret;
}

static int load_file(const char *path, unsigned int flags, struct km_model *m,
		     struct km_err *err)
{
	struct km_err scratch;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!err)
		err = &scratch;
	ret = read_config_file(path, &buf, &len, err);
	if (!ret)
		ret = load_string(path, buf, len, flags, m, err);
	free(buf);
	return ret;
}

int km_config_load_file(const char *path, struct km_model *m,
			struct km_err *err)
{
	return load_file(path, 0, m, err);
}

int km_config_load_file_flags(const char *path, unsigned int flags,
			      struct km_model *m, struct km_err *err)
{
	return load_file(path, flags & KM_CONFIG_STRICT, m, err);
}

int km_config_load_node_file(const char *path, struct km_model *m,
			     struct km_err *err)
{
	return load_file(path, LOAD_NODE_ONLY, m, err);
}

int km_config_load_node_string(const char *name, const char *yaml, size_t len,
			       struct km_model *m, struct km_err *err)
{
	return load_string(name, yaml, len, LOAD_NODE_ONLY, m, err);
}
