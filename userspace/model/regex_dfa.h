/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * safe_regex (an RE2 subset) -> DFA table (include/kmesh/regex_dfa.h).
 * docs/regex.md lists what is supported and what is refused.
 */
#ifndef KM_REGEX_DFA_H
#define KM_REGEX_DFA_H

#include <stddef.h>

#include "kmesh/regex_dfa.h"

/* Longest pattern compiled: a route table string (KM_RT_STR_MAX). */
#define KM_RE_MAX_PATTERN 255
/* Group nesting, repetition counts and NFA size: what keeps compile time
 * and memory small whatever the pattern. */
#define KM_RE_MAX_DEPTH 32
#define KM_RE_MAX_REPEAT 100
#define KM_RE_MAX_NFA 2048

/*
 * Compile pattern into a malloc'd DFA table (*out, *out_len; the caller
 * frees it). 0, or -EINVAL with why[0..why_len) saying what was refused
 * and where ("backreference \1 at offset 4: RE2 has none"), or -ENOMEM.
 * out may be NULL to check the pattern only.
 */
int km_regex_compile(const char *pattern, void **out, size_t *out_len,
		     char *why, size_t why_len);

#endif
