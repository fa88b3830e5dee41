/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Enrollment policy: which Kubernetes namespaces' pods kmesh-cni enrolls,
 * from the top-level `enrollment` section of kmeshd's config file:
 *
 *   enrollment:
 *     namespaces: [shop, demo]          # only these are meshed
 *   # or
 *   enrollment:
 *     exclude_namespaces: [kube-system] # all but these
 *
 * No section: every namespace is meshed. Like Istio's
 * istio.io/dataplane-mode namespace label; a watch of that label through
 * the Kubernetes API would fill the same struct (docs/deploy.md).
 */
#ifndef KM_ENROLL_POLICY_H
#define KM_ENROLL_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

struct km_enroll_policy {
	bool set;		/* the file has an enrollment section */
	bool exclude;		/* namespaces are the ones not meshed */
	char **namespaces;
	size_t n;
	char where[300];	/* "FILE:LINE", for answers */
};

/* 0 with *p filled (km_enroll_policy_free it), or a negative errno with
 * err->msg "FILE:LINE: enrollment: what is wrong" and *p empty. A missing
 * file is an empty policy. */
int km_enroll_policy_load_file(const char *path, struct km_enroll_policy *p,
			       struct km_err *err);
int km_enroll_policy_load_string(const char *name, const char *yaml,
				 size_t len, struct km_enroll_policy *p,
				 struct km_err *err);
void km_enroll_policy_free(struct km_enroll_policy *p);

bool km_enroll_policy_meshed(const struct km_enroll_policy *p, const char *ns);
/* One line: "all namespaces", "namespaces a, b (FILE:LINE)", ... */
void km_enroll_policy_describe(const struct km_enroll_policy *p, char *buf,
			       size_t len);

#endif
