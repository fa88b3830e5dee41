/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A small streaming JSON writer for `-o json` and the agent's state file. */
#ifndef KM_JSON_H
#define KM_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define KM_JSON_MAX_DEPTH 16

struct km_json {
	FILE *f;
	int depth;
	bool first[KM_JSON_MAX_DEPTH];
	bool compact;		/* one line (JSON lines), set after init */
};

void km_json_init(struct km_json *j, FILE *f);
/* @key is NULL inside arrays and at the top level. */
void km_json_obj(struct km_json *j, const char *key);
void km_json_arr(struct km_json *j, const char *key);
void km_json_end(struct km_json *j, char close);	/* '}' or ']' */
void km_json_str(struct km_json *j, const char *key, const char *v);
void km_json_u64(struct km_json *j, const char *key, uint64_t v);
void km_json_i64(struct km_json *j, const char *key, int64_t v);
void km_json_bool(struct km_json *j, const char *key, bool v);

#endif
