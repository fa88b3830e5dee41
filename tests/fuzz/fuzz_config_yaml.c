// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the Envoy-style YAML reader
 * (userspace/source/yaml/config_yaml.c): any bytes as a config file. What it
 * promises on any input: 0 with a model (freed without a leak), or a
 * negative errno with one line of error that names where, and the model
 * zeroed. ASan and UBSan watch the rest. Seeds: examples/ and the YAML the
 * unit tests use (tests/fuzz/run.sh yaml).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_yaml.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct km_model zero;
	struct km_model m;
	struct km_err err = {};
	int ret;

	ret = km_config_load_string("f.yaml", (const char *)data, size, &m, &err);
	if (ret == 0) {
		km_model_free(&m);
		return 0;
	}
	CHECK(ret < 0);
	CHECK(err.msg[0] != 0);
	CHECK(strchr(err.msg, '\n') == NULL);
	/* "f.yaml" or "f.yaml:LINE": the message says where */
	CHECK(strncmp(err.msg, "f.yaml", 6) == 0);
	CHECK(memcmp(&m, &zero, sizeof(m)) == 0);
	return 0;
}
