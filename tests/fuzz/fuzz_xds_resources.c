// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the xDS resource decoder (userspace/source/xds/resources.c):
 * the first byte picks the type (0 Cluster, 1 ClusterLoadAssignment,
 * 2 Listener, 3 RouteConfiguration), the rest is the resource's bytes as
 * istiod sends them. What it promises on any input: 0 (or KM_XDS_SKIP for a
 * listener) with a result that frees cleanly, or a negative errno with one
 * line of error. Seeds: the unit tests' fixture and every bad-case resource
 * (KM_XDS_SEEDS=DIR build/tests/test_xds_resources; tests/fuzz/run.sh xds).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resources.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct km_xds_skipped skipped = {};
	struct km_m_route_config rc;
	struct km_m_listener li;
	struct km_m_cluster cl;
	struct km_err err = {};
	char *cla_name = NULL;
	int ret;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		ret = km_xds_cluster(data + 1, size - 1, &cl, &skipped, &err);
		if (ret == 0)
			km_cluster_free(&cl);
		break;
	case 1:
		ret = km_xds_cla(data + 1, size - 1, &cla_name, &cl, &err);
		if (ret == 0) {
			CHECK(cla_name != NULL);
			km_cluster_free(&cl);
		}
		free(cla_name);
		break;
	case 2:
		ret = km_xds_listener(data + 1, size - 1, &li, &skipped, &err);
		if (ret == 0)
			km_listener_free(&li);
		break;
	default:
		ret = km_xds_route_config(data + 1, size - 1, &rc, &err);
		if (ret == 0)
			km_route_config_free(&rc);
		break;
	}
	if (ret >= 0)
		return 0;
	CHECK(err.msg[0] != 0);
	CHECK(strchr(err.msg, '\n') == NULL);
	return 0;
}
