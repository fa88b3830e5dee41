// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * safe_regex -> DFA table for kmod/route_match.c (regex_dfa.h).
 *
 * Pattern -> Thompson NFA (parsed and built in one pass) -> byte classes
 * (bytes no NFA edge tells apart share one column) -> subset construction
 * into the table include/kmesh/regex_dfa.h describes. The matcher then does
 * one table lookup per input byte: no backtracking, time linear in the
 * input whatever the pattern. What can blow up is the DFA, so its states
 * and transitions are capped (KM_DFA_MAX_STATES, KM_DFA_MAX_TRANS) and a
 * pattern that needs more is refused, as is one whose NFA is over
 * KM_RE_MAX_NFA nodes. The parser recurses only into groups, at most
 * KM_RE_MAX_DEPTH deep.
 *
 * No Debian library gives a table a kernel can run: RE2 (libre2) builds its
 * DFA lazily inside its C++ objects and exports none; PCRE2's "DFA" matcher
 * is an NFA simulation over its bytecode; re2c and ragel generate C source
 * at build time, not tables for patterns that arrive at run time;
 * Hyperscan's databases are opaque SIMD bytecode. docs/regex.md says so.
 *
 * Semantics are RE2's FullMatch (Envoy's safe_regex) over UTF-8: '.' and
 * negated classes match one whole UTF-8 character (one ASCII byte or a
 * well-formed 2-4 byte sequence), never a stray byte; '.' does not match
 * '\n'. Everything else supported is ASCII, (?i) too: it folds ASCII
 * letters and refuses a non-ASCII literal. docs/regex.md lists the subset.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regex_dfa.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum { N_EPS, N_SET, N_BOL, N_EOL, N_MATCH };

struct nnode {
	uint8_t type;
	int out1, out2;		/* -1: none */
	uint8_t set[32];	/* N_SET: the bytes it takes */
};

/* A piece of NFA: nodes [lo, re->nn) at the time it was made, entered at
 * start, left through end (an N_EPS whose out1 is still -1). */
struct frag {
	int lo, start, end;
};

/* 128 ASCII bits: what a class or an escape stands for */
struct aset {
	uint8_t b[16];
	bool multi;		/* and every non-ASCII character */
};

struct re {
	const unsigned char *p;
	size_t pos, len;
	int depth;
	bool icase;		/* (?i) in force: ASCII letters fold */
	size_t atom_at;		/* where the atom being parsed starts */
	struct nnode *n;
	int nn;
	char *why;
	size_t why_len;
	bool failed;
};

static int re_fail(struct re *re, const char *fmt, ...)
{
	va_list ap;

	if (re->failed)
		return -1;
	re->failed = true;
	if (re->why && re->why_len) {
		va_start(ap, fmt);
		vsnprintf(re->why, re->why_len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- byte sets ------------------------------------------------------------ */

static void aset_add(struct aset *s, unsigned int lo, unsigned int hi)
{
	for (unsigned int c = lo; c <= hi && c < 128; c++)
		s->b[c / 8] |= 1u << (c % 8);
}

static void aset_or(struct aset *s, const struct aset *o, bool negate)
{
	for (int i = 0; i < 16; i++)
		s->b[i] |= negate ? (uint8_t)~o->b[i] : o->b[i];
	s->multi |= negate ? !o->multi : o->multi;
}

static void aset_not(struct aset *s)
{
	for (int i = 0; i < 16; i++)
		s->b[i] = ~s->b[i];
	s->multi = !s->multi;
}

/* (?i): every ASCII letter in s brings its other case. */
static void aset_fold(struct aset *s)
{
	for (unsigned int c = 'a'; c <= 'z'; c++) {
		unsigned int u = c - 'a' + 'A';
		bool in = (s->b[c / 8] >> (c % 8) & 1) ||
			  (s->b[u / 8] >> (u % 8) & 1);

		if (in) {
			aset_add(s, c, c);
			aset_add(s, u, u);
		}
	}
}

/* ---- NFA ------------------------------------------------------------------ */

static int node(struct re *re, uint8_t type)
{
	struct nnode *x;

	if (re->nn >= KM_RE_MAX_NFA)
		return re_fail(re, "the pattern is too large (over %d NFA nodes; fewer or smaller repetitions)",
			       KM_RE_MAX_NFA);
	x = &re->n[re->nn];
	memset(x, 0, sizeof(*x));
	x->type = type;
	x->out1 = x->out2 = -1;
	return re->nn++;
}

static int frag_empty(struct re *re, struct frag *f)
{
	int e = node(re, N_EPS);

	if (e < 0)
		return -1;
	*f = (struct frag){ e, e, e };
	return 0;
}

/* A node of type (N_SET with bytes set, N_BOL, N_EOL) then its end. */
static int frag_node(struct re *re, uint8_t type, const uint8_t *set,
		     struct frag *f)
{
	int s = node(re, type), e = node(re, N_EPS);

	if (s < 0 || e < 0)
		return -1;
	if (set)
		memcpy(re->n[s].set, set, 32);
	re->n[s].out1 = e;
	*f = (struct frag){ s, s, e };
	return 0;
}

static int frag_range(struct re *re, unsigned int lo, unsigned int hi, struct frag *f)
{
	uint8_t set[32] = { 0 };

	for (unsigned int c = lo; c <= hi; c++)
		set[c / 8] |= 1u << (c % 8);
	return frag_node(re, N_SET, set, f);
}

static void concat(struct re *re, struct frag *a, const struct frag *b)
{
	re->n[a->end].out1 = b->start;
	a->end = b->end;
}

static int alt(struct re *re, struct frag *a, const struct frag *b)
{
	int s = node(re, N_EPS), e = node(re, N_EPS);

	if (s < 0 || e < 0)
		return -1;
	re->n[s].out1 = a->start;
	re->n[s].out2 = b->start;
	re->n[a->end].out1 = e;
	re->n[b->end].out1 = e;
	a->start = s;
	a->end = e;
	return 0;
}

/* a* (loop) or a? (no loop); a+ is a then a*'s loop without the skip. */
static int star(struct re *re, struct frag *a, bool loop, bool skip)
{
	int s = node(re, N_EPS), e = node(re, N_EPS);

	if (s < 0 || e < 0)
		return -1;
	re->n[s].out1 = a->start;
	re->n[s].out2 = e;
	re->n[a->end].out1 = loop ? s : e;
	if (skip)
		a->start = s;
	a->end = e;
	return 0;
}

/* A copy of a (nodes [a->lo, hi), untouched since it was built) after the
 * current nodes. */
static int clone(struct re *re, const struct frag *a, int hi,
		 struct frag *out)
{
	int n = hi - a->lo, d = re->nn - a->lo;

	if (re->nn + n > KM_RE_MAX_NFA)
		return re_fail(re, "the pattern is too large (over %d NFA nodes; fewer or smaller repetitions)",
			       KM_RE_MAX_NFA);
	memcpy(&re->n[re->nn], &re->n[a->lo], n * sizeof(re->n[0]));
	for (int i = re->nn; i < re->nn + n; i++) {
		if (re->n[i].out1 >= 0)
			re->n[i].out1 += d;
		if (re->n[i].out2 >= 0)
			re->n[i].out2 += d;
	}
	*out = (struct frag){ a->lo + d, a->start + d, a->end + d };
	re->nn += n;
	return 0;
}

/* a{min,max} (max -1: no upper bound), a being the last thing built: the
 * copies are all made first, from a as it was, then chained. */
static int repeat(struct re *re, struct frag *a, int min, int max)
{
	struct frag c[KM_RE_MAX_REPEAT + 1];
	int copies, hi = re->nn, i;

	if (min == 0 && max == -1)
		return star(re, a, true, true);
	if (min == 1 && max == -1)
		return star(re, a, true, false);
	if (min == 0 && max == 1)
		return star(re, a, false, true);
	if (max == 0) {		/* a{0}: a is left unreachable */
		if (frag_empty(re, &c[0]))
			return -1;
		a->start = a->end = c[0].start;
		return 0;
	}
	copies = max == -1 ? min + 1 : max;
	c[0] = *a;
	for (i = 1; i < copies; i++)
		if (clone(re, a, hi, &c[i]))
			return -1;
	for (i = 1; i < copies; i++) {
		if (i >= min && star(re, &c[i], max == -1, true))
			return -1;
		concat(re, a, &c[i]);
	}
	if (min == 0 && star(re, a, false, true))
		return -1;
	return 0;
}

/* Any well-formed 2-4 byte UTF-8 sequence (RE2's view of a non-ASCII
 * character; overlong 3 and 4 byte forms and surrogates are let through). */
static int frag_utf8_multi(struct re *re, struct frag *f)
{
	static const uint8_t lead[3][2] = {
		{ 0xc2, 0xdf }, { 0xe0, 0xef }, { 0xf0, 0xf4 },
	};
	struct frag a, b;

	for (int k = 0; k < 3; k++) {
		if (frag_range(re, lead[k][0], lead[k][1], &a))
			return -1;
		for (int i = 0; i <= k; i++) {
			if (frag_range(re, 0x80, 0xbf, &b))
				return -1;
			concat(re, &a, &b);
		}
		if (k == 0)
			*f = a;
		else if (alt(re, f, &a))
			return -1;
	}
	return 0;
}

/* A class: the ASCII bytes of s, and (s->multi) any non-ASCII character. */
static int frag_class(struct re *re, const struct aset *s, struct frag *f)
{
	uint8_t set[32] = { 0 };
	struct frag m;

	memcpy(set, s->b, 16);
	if (frag_node(re, N_SET, set, f))
		return -1;
	if (!s->multi)
		return 0;
	if (frag_utf8_multi(re, &m))
		return -1;
	return alt(re, f, &m);
}

/* The UTF-8 bytes of code point cp, one after the other. */
static int frag_cp(struct re *re, uint32_t cp, struct frag *f)
{
	uint8_t b[4];
	int n;
	struct frag x;

	if (cp < 0x80 && re->icase) {	/* one byte, both cases */
		struct aset a = { .multi = false };

		aset_add(&a, cp, cp);
		aset_fold(&a);
		return frag_class(re, &a, f);
	}
	if (cp >= 0x80 && re->icase)
		return re_fail(re, "(?i) on the non-ASCII character at offset %zu is not supported (RE2 folds Unicode case)",
			       re->atom_at);
	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | cp >> 18;
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	for (int i = 0; i < n; i++) {
		if (frag_range(re, b[i], b[i], i ? &x : f))
			return -1;
		if (i)
			concat(re, f, &x);
	}
	return 0;
}

/* ---- parser ------------------------------------------------------------------ */

static void perl_class(char c, struct aset *s)
{
	memset(s, 0, sizeof(*s));
	switch (c) {
	case 'd':
		aset_add(s, '0', '9');
		break;
	case 's':	/* RE2's \s: [\t\n\f\r ], no \v */
		aset_add(s, '\t', '\n');
		aset_add(s, '\f', '\r');
		aset_add(s, ' ', ' ');
		break;
	case 'w':
		aset_add(s, '0', '9');
		aset_add(s, 'A', 'Z');
		aset_add(s, 'a', 'z');
		aset_add(s, '_', '_');
		break;
	}
}

static const struct {
	const char *name;
	unsigned char r[4][2];
} posix[] = {
	{ "alnum", { { '0', '9' }, { 'A', 'Z' }, { 'a', 'z' } } },
	{ "alpha", { { 'A', 'Z' }, { 'a', 'z' } } },
	{ "ascii", { { 0, 0x7f } } },
	{ "blank", { { '\t', '\t' }, { ' ', ' ' } } },
	{ "cntrl", { { 0, 0x1f }, { 0x7f, 0x7f } } },
	{ "digit", { { '0', '9' } } },
	{ "graph", { { '!', '~' } } },
	{ "lower", { { 'a', 'z' } } },
	{ "print", { { ' ', '~' } } },
	{ "punct", { { '!', '/' }, { ':', '@' }, { '[', '`' }, { '{', '~' } } },
	{ "space", { { '\t', '\r' }, { ' ', ' ' } } },
	{ "upper", { { 'A', 'Z' } } },
	{ "word", { { '0', '9' }, { 'A', 'Z' }, { 'a', 'z' }, { '_', '_' } } },
	{ "xdigit", { { '0', '9' }, { 'A', 'F' }, { 'a', 'f' } } },
};

static int peek(const struct re *re, size_t ahead)
{
	return re->pos + ahead < re->len ? re->p[re->pos + ahead] : -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* What an escape stands for. */
enum esc { E_CP, E_SET, E_NSET, E_BOL, E_EOL };

/* The escape at re->pos ('\' already taken, its offset at): a code point
 * (*cp), a Perl class (*s, E_NSET when negated) or an anchor. -1 on error,
 * with a reason naming the escape. */
static int parse_escape(struct re *re, size_t at, uint32_t *cp,
			struct aset *s)
{
	int c = peek(re, 0), h, n;
	uint32_t v;

	if (c < 0)
		return re_fail(re, "trailing backslash at offset %zu", at);
	re->pos++;
	switch (c) {
	case 'd': case 's': case 'w':
		perl_class((char)c, s);
		return E_SET;
	case 'D': case 'S': case 'W':
		perl_class((char)(c + 'a' - 'A'), s);
		return E_NSET;
	case 'n': case 't': case 'r': case 'f': case 'v': case 'a':
		*cp = "\n\t\r\f\v\a"[strchr("ntrfva", c) - "ntrfva"];
		return E_CP;
	case 'A': return E_BOL;
	case 'z': return E_EOL;
	case 'x':
		v = 0;
		if (peek(re, 0) == '{') {
			for (n = 0, re->pos++; (h = hexval(peek(re, 0))) >= 0;
			     n++, re->pos++)
				if (n < 8)
					v = v * 16 + h;
			if (peek(re, 0) != '}' || n == 0 || n > 6 ||
			    v > 0x10ffff)
				return re_fail(re, "bad escape \\x{...} at offset %zu",
					       at);
			re->pos++;
		} else {
			for (n = 0; n < 2; n++, re->pos++) {
				h = hexval(peek(re, 0));
				if (h < 0)
					return re_fail(re, "bad escape \\x at offset %zu (two hex digits or \\x{...})",
						       at);
				v = v * 16 + h;
			}
		}
		*cp = v;
		return E_CP;
	case '0': case '1': case '2': case '3': case '4': case '5': case '6':
	case '7': case '8': case '9':
		/* RE2: \0, or octal of 2-3 digits; a lone \1..\9 would be
		 * a backreference */
		if (c >= '8' || (c != '0' && (peek(re, 0) < '0' || peek(re, 0) > '7')))
			return re_fail(re, "backreference \\%c at offset %zu is not supported (RE2 has none)",
				       c, at);
		v = c - '0';
		for (n = 0; n < 2 && peek(re, 0) >= '0' && peek(re, 0) <= '7';
		     n++, re->pos++)
			v = v * 8 + (peek(re, 0) - '0');
		*cp = v;
		return E_CP;
	case 'b': case 'B':
		return re_fail(re, "word boundary \\%c at offset %zu is not supported",
			       c, at);
	case 'p': case 'P':
		return re_fail(re, "Unicode class \\%c at offset %zu is not supported",
			       c, at);
	case 'Q': case 'E':
		return re_fail(re, "\\Q...\\E quoting at offset %zu is not supported",
			       at);
	case 'C':
		return re_fail(re, "\\C (any byte) at offset %zu is not supported",
			       at);
	}
	if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			  (c >= 'A' && c <= 'Z'))) {
		*cp = c;	/* escaped punctuation */
		return E_CP;
	}
	if (c >= 0x80)
		return re_fail(re, "bad escape of a non-ASCII character at offset %zu",
			       at);
	return re_fail(re, "unknown escape \\%c at offset %zu", c, at);
}

/* "[:name:]" or "[:^name:]" at re->pos: added to s. 0 if it was one, 1 if
 * not (the '[' is then a plain character), -1 on an unknown name. */
static int parse_posix(struct re *re, struct aset *s)
{
	const char *p = (const char *)re->p + re->pos, *end;
	size_t n, at = re->pos;
	bool neg;
	struct aset x;

	if (peek(re, 0) != '[' || peek(re, 1) != ':')
		return 1;
	end = memchr(p + 2, ']', re->len - re->pos - 2);
	if (!end || end[-1] != ':' || end - p < 4)
		return 1;
	neg = p[2] == '^';
	p += neg ? 3 : 2;
	n = (size_t)(end - 1 - p);
	for (size_t i = 0; i < NELEM(posix); i++) {
		if (strlen(posix[i].name) != n || memcmp(posix[i].name, p, n))
			continue;
		memset(&x, 0, sizeof(x));
		for (int k = 0; k < 4 && (k == 0 || posix[i].r[k][1]); k++)
			aset_add(&x, posix[i].r[k][0], posix[i].r[k][1]);
		aset_or(s, &x, neg);
		re->pos = (size_t)(end + 1 - (const char *)re->p);
		return 0;
	}
	return re_fail(re, "unknown POSIX class at offset %zu", at);
}

/* One class member that can end a range: a code point (ASCII only). 1 if
 * it was a class escape instead (added to s), 0 with *cp, -1 error. */
static int class_item(struct re *re, struct aset *s, uint32_t *cp)
{
	size_t at = re->pos;
	int c = peek(re, 0), k;
	struct aset x;

	re->pos++;
	if (c == '\\') {
		k = parse_escape(re, at, cp, &x);
		if (k < 0)
			return -1;
		if (k == E_SET || k == E_NSET) {
			aset_or(s, &x, k == E_NSET);
			return 1;
		}
		if (k != E_CP)
			return re_fail(re, "anchor \\%c inside a character class at offset %zu",
				       re->p[at + 1], at);
	} else {
		*cp = (uint32_t)c;
	}
	if (*cp >= 0x80)
		return re_fail(re, "non-ASCII character in a character class at offset %zu is not supported",
			       at);
	return 0;
}

/* "[...]" at re->pos ('[' already taken, at its offset). */
static int parse_class(struct re *re, size_t at, struct frag *f)
{
	struct aset s = { .multi = false };
	bool neg = false, first = true;
	size_t rat;		/* where a range starts */
	uint32_t lo, hi;
	int k;

	if (peek(re, 0) == '^') {
		neg = true;
		re->pos++;
	}
	for (;;) {
		if (peek(re, 0) < 0)
			return re_fail(re, "missing ] for the class at offset %zu",
				       at);
		if (peek(re, 0) == ']' && !first)
			break;
		first = false;
		k = parse_posix(re, &s);
		if (k < 0)
			return -1;
		if (k == 0)
			continue;
		rat = re->pos;
		k = class_item(re, &s, &lo);
		if (k < 0)
			return -1;
		if (k == 1)
			continue;
		hi = lo;
		if (peek(re, 0) == '-' && peek(re, 1) >= 0 && peek(re, 1) != ']') {
			re->pos++;
			k = class_item(re, &s, &hi);
			if (k < 0)
				return -1;
			if (k == 1 || hi < lo)
				return re_fail(re, "bad range in the class at offset %zu",
					       rat);
		}
		aset_add(&s, lo, hi);
	}
	re->pos++;
	if (re->icase)
		aset_fold(&s);
	if (neg)
		aset_not(&s);
	return frag_class(re, &s, f);
}

/* A literal non-ASCII character: its whole UTF-8 sequence, one atom. */
static int parse_utf8(struct re *re, struct frag *f)
{
	size_t at = re->pos;
	int c = peek(re, 0), n, i;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
	} else {
		return re_fail(re, "invalid UTF-8 at offset %zu", at);
	}
	for (i = 1; i <= n; i++) {
		c = peek(re, i);
		if (c < 0x80 || c > 0xbf)
			return re_fail(re, "invalid UTF-8 at offset %zu", at);
		cp = cp << 6 | (c & 0x3f);
	}
	re->pos += n + 1;
	if (cp > 0x10ffff)
		return re_fail(re, "invalid UTF-8 at offset %zu", at);
	return frag_cp(re, cp, f);
}

static int parse_alt(struct re *re, struct frag *f);

/* A group's body and its ')' (the '(' and any "?..." taken, the group at
 * offset at). Flags set inside end with it. */
static int parse_body(struct re *re, size_t at, struct frag *f)
{
	bool icase = re->icase;

	if (++re->depth > KM_RE_MAX_DEPTH)
		return re_fail(re, "groups nested deeper than %d at offset %zu",
			       KM_RE_MAX_DEPTH, at);
	if (parse_alt(re, f))
		return -1;
	re->depth--;
	re->icase = icase;
	if (peek(re, 0) != ')')
		return re_fail(re, "missing ) for the group at offset %zu", at);
	re->pos++;
	return 0;
}

/* "(?i)", "(?-i)" (for the rest of the enclosing group) or "(?i:...)" at
 * offset at, re->pos on the '?': RE2's flag groups, of which only i (ASCII
 * case folding) is supported. */
static int parse_flags(struct re *re, size_t at, struct frag *f)
{
	bool on = true, any = false, icase = re->icase, outer = re->icase;
	int c, ret;

	for (re->pos++; (c = peek(re, 0)) != ')' && c != ':'; re->pos++) {
		if (c == '-' && on) {
			on = false;
		} else if (c == 'i') {
			icase = on;
			any = true;
		} else if (c == 's' || c == 'm' || c == 'U') {
			return re_fail(re, "flag %c in the group at offset %zu is not supported (only i)",
				       c, at);
		} else {
			return re_fail(re, "bad flags group at offset %zu", at);
		}
	}
	if (!any)
		return re_fail(re, "bad flags group at offset %zu", at);
	re->pos++;
	if (c == ')') {		/* the rest of the enclosing group */
		re->icase = icase;
		return frag_empty(re, f);
	}
	re->icase = icase;
	ret = parse_body(re, at, f);
	re->icase = outer;
	return ret;
}

/* "(" at offset at already taken: the group's kind, then its body. */
static int parse_group(struct re *re, size_t at, struct frag *f)
{
	if (peek(re, 0) == '?') {
		int c = peek(re, 1);

		if (c == ':') {
			re->pos += 2;
		} else if (c == 'P' || c == '<') {
			size_t i = re->pos + (c == 'P' ? 2 : 1);

			if (c == '<' && (peek(re, 2) == '=' || peek(re, 2) == '!'))
				return re_fail(re, "lookbehind (?<%c at offset %zu is not supported (RE2 has none)",
					       peek(re, 2), at);
			if (i >= re->len || re->p[i] != '<')
				return re_fail(re, "bad named group at offset %zu",
					       at);
			for (i++; i < re->len && re->p[i] != '>'; i++)
				if (!(re->p[i] == '_' ||
				      (re->p[i] >= '0' && re->p[i] <= '9') ||
				      ((re->p[i] | 0x20) >= 'a' &&
				       (re->p[i] | 0x20) <= 'z')))
					break;
			if (i >= re->len || re->p[i] != '>' ||
			    i == re->pos + (c == 'P' ? 3 : 2))
				return re_fail(re, "bad named group at offset %zu",
					       at);
			re->pos = i + 1;
		} else if (c == '=' || c == '!') {
			return re_fail(re, "lookahead (?%c at offset %zu is not supported (RE2 has none)",
				       c, at);
		} else {
			return parse_flags(re, at, f);
		}
	}
	return parse_body(re, at, f);
}

/* One atom at re->pos. 1 if there is none here ('|', ')', the end). */
static int parse_atom(struct re *re, struct frag *f)
{
	size_t at = re->pos;
	int c = peek(re, 0), k;
	struct aset s;
	uint32_t cp;

	re->atom_at = at;
	switch (c) {
	case -1: case '|': case ')':
		return 1;
	case '*': case '+': case '?':
		return re_fail(re, "missing argument to repetition operator %c at offset %zu",
			       c, at);
	case '(':
		re->pos++;
		return parse_group(re, at, f);
	case '[':
		re->pos++;
		return parse_class(re, at, f);
	case '.':	/* any character but \n */
		re->pos++;
		memset(&s, 0, sizeof(s));
		aset_add(&s, 0, 0x7f);
		s.b['\n' / 8] &= ~(1u << ('\n' % 8));
		s.multi = true;
		return frag_class(re, &s, f);
	case '^':
		re->pos++;
		return frag_node(re, N_BOL, NULL, f);
	case '$':
		re->pos++;
		return frag_node(re, N_EOL, NULL, f);
	case '\\':
		re->pos++;
		k = parse_escape(re, at, &cp, &s);
		if (k < 0)
			return -1;
		if (k == E_BOL || k == E_EOL)
			return frag_node(re, k == E_BOL ? N_BOL : N_EOL, NULL, f);
		if (k == E_SET || k == E_NSET) {
			if (k == E_NSET)
				aset_not(&s);
			return frag_class(re, &s, f);
		}
		return frag_cp(re, cp, f);
	}
	if (c >= 0x80)
		return parse_utf8(re, f);
	re->pos++;
	return frag_cp(re, (uint32_t)c, f);
}

/* "{n}", "{n,}", "{n,m}" at offset pos: the offset after it, with *min,
 * *max (-1: none); 0 if it is not one (RE2 then reads '{' as a literal). */
static size_t braces_at(const struct re *re, size_t pos, int *min, int *max)
{
	long v[2] = { -1, -1 };
	size_t i;
	int k = 0;

	if (pos >= re->len || re->p[pos] != '{')
		return 0;
	for (i = pos + 1; i < re->len; i++) {
		int c = re->p[i];

		if (c >= '0' && c <= '9') {
			v[k] = (v[k] < 0 ? 0 : v[k]) * 10 + (c - '0');
			if (v[k] > 100000)	/* refused later, kept small */
				v[k] = 100000;
		} else if (c == ',' && k == 0 && v[0] >= 0) {
			k = 1;
		} else if (c == '}' && v[0] >= 0) {
			*min = (int)v[0];
			*max = k == 0 ? (int)v[0] : (int)v[1];
			return i + 1;
		} else {
			return 0;
		}
	}
	return 0;
}

/* An atom's repetition operator, if any. */
static int parse_repeat(struct re *re, struct frag *f)
{
	size_t at = re->pos, end;
	int c = peek(re, 0), min, max;

	switch (c) {
	case '*': case '+': case '?':
		min = c == '+';
		max = c == '?' ? 1 : -1;
		re->pos++;
		break;
	case '{':
		end = braces_at(re, re->pos, &min, &max);
		if (!end)
			return 0;
		re->pos = end;
		if (min > KM_RE_MAX_REPEAT || max > KM_RE_MAX_REPEAT)
			return re_fail(re, "repetition count over %d at offset %zu",
				       KM_RE_MAX_REPEAT, at);
		if (max >= 0 && max < min)
			return re_fail(re, "bad repetition {%d,%d} at offset %zu",
				       min, max, at);
		break;
	default:
		return 0;
	}
	if (peek(re, 0) == '?')	/* non-greedy: same set of full matches */
		re->pos++;
	c = peek(re, 0);
	if (c == '*' || c == '+' || c == '?' ||
	    braces_at(re, re->pos, &(int){ 0 }, &(int){ 0 }))
		return re_fail(re, "bad repetition operator at offset %zu (a repetition of a repetition)",
			       re->pos);
	return repeat(re, f, min, max);
}

static int parse_concat(struct re *re, struct frag *f)
{
	struct frag a;
	int k;

	if (frag_empty(re, f))
		return -1;
	for (;;) {
		k = parse_atom(re, &a);
		if (k < 0)
			return -1;
		if (k == 1)
			return 0;
		if (parse_repeat(re, &a))
			return -1;
		concat(re, f, &a);
	}
}

static int parse_alt(struct re *re, struct frag *f)
{
	struct frag b;

	if (parse_concat(re, f))
		return -1;
	while (peek(re, 0) == '|') {
		re->pos++;
		if (parse_concat(re, &b) || alt(re, f, &b))
			return -1;
	}
	return 0;
}

/* ---- NFA -> DFA ------------------------------------------------------------------ */

struct dstate {
	int *m;		/* the N_SET, N_EOL and N_MATCH nodes it stands for */
	int n;
	uint32_t hash;
};

struct sub {
	struct re *re;
	int *stamp, gen, *stack, *buf;
	struct dstate *d;
	int nd, max_states;
	int *htab;		/* open addressing, -1 empty */
	int hsize;
	uint8_t class_of[256];
	int nclass, rep[256];
};

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The nodes reachable from seeds[0..ns) through empty edges (N_BOL only
 * if bol, N_EOL only if eol), kept in s->buf: the count. */
static int closure(struct sub *s, const int *seeds, int ns, bool bol,
		   bool eol)
{
	struct nnode *n = s->re->n;
	int sp = 0, cnt = 0, x;

	s->gen++;
	for (int i = 0; i < ns; i++) {
		if (s->stamp[seeds[i]] != s->gen) {
			s->stamp[seeds[i]] = s->gen;
			s->stack[sp++] = seeds[i];
		}
	}
	while (sp) {
		int outs[2] = { -1, -1 };

		x = s->stack[--sp];
		switch (n[x].type) {
		case N_EPS:
			outs[0] = n[x].out1;
			outs[1] = n[x].out2;
			break;
		case N_BOL:
			if (bol)
				outs[0] = n[x].out1;
			break;
		case N_EOL:
			s->buf[cnt++] = x;
			if (eol)
				outs[0] = n[x].out1;
			break;
		default:
			s->buf[cnt++] = x;
		}
		for (int k = 0; k < 2; k++) {
			if (outs[k] >= 0 && s->stamp[outs[k]] != s->gen) {
				s->stamp[outs[k]] = s->gen;
				s->stack[sp++] = outs[k];
			}
		}
	}
	qsort(s->buf, cnt, sizeof(int), cmp_int);
	return cnt;
}

static bool has_match(const struct sub *s, const int *m, int n)
{
	for (int i = 0; i < n; i++)
		if (s->re->n[m[i]].type == N_MATCH)
			return true;
	return false;
}

/* Does state d accept: a match node, or one past an N_EOL (at the end). */
static bool accepts(struct sub *s, int d)
{
	const struct dstate *x = &s->d[d];
	int cnt;

	if (has_match(s, x->m, x->n))
		return true;
	cnt = closure(s, x->m, x->n, d == 1, true);
	return has_match(s, s->buf, cnt);
}

static uint32_t hash_set(const int *m, int n)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < n; i++)
		h = (h ^ (uint32_t)m[i]) * 16777619u;
	return h;
}

/* The state for the set in s->buf[0..cnt): found, or made. -1 when it
 * would be one state too many. The start state (1) is never shared: only
 * it may still cross a '^'. */
static int state_of(struct sub *s, int cnt, bool start)
{
	uint32_t h = hash_set(s->buf, cnt);
	int slot = h & (s->hsize - 1), i;
	struct dstate *x;

	if (cnt == 0 && !start)
		return 0;
	while (!start && (i = s->htab[slot]) >= 0) {
		if (s->d[i].hash == h && s->d[i].n == cnt &&
		    !memcmp(s->d[i].m, s->buf, cnt * sizeof(int)))
			return i;
		slot = (slot + 1) & (s->hsize - 1);
	}
	if (s->nd >= s->max_states)
		return -1;
	x = &s->d[s->nd];
	x->m = malloc((cnt ? cnt : 1) * sizeof(int));
	if (!x->m)
		return -ENOMEM;
	memcpy(x->m, s->buf, cnt * sizeof(int));
	x->n = cnt;
	x->hash = h;
	if (!start)
		s->htab[slot] = s->nd;
	return s->nd++;
}

/* Bytes that no N_SET tells apart share a class: each set splits the
 * classes so far into those inside it and those outside. */
static void byte_classes(struct sub *s)
{
	const struct re *re = s->re;
	int map[256][2], next;

	memset(s->class_of, 0, sizeof(s->class_of));
	s->nclass = 1;
	for (int i = 0; i < re->nn; i++) {
		if (re->n[i].type != N_SET)
			continue;
		memset(map, -1, sizeof(map));
		next = 0;
		for (int b = 0; b < 256; b++) {
			int in = (re->n[i].set[b / 8] >> (b % 8)) & 1;
			int *m = &map[s->class_of[b]][in];

			if (*m < 0)
				*m = next++;
			s->class_of[b] = (uint8_t)*m;
		}
		s->nclass = next;
	}
	for (int c = 0; c < s->nclass; c++)
		s->rep[c] = -1;
	for (int b = 0; b < 256; b++)
		if (s->rep[s->class_of[b]] < 0)
			s->rep[s->class_of[b]] = b;
}

static int too_many(struct sub *s)
{
	return re_fail(s->re, "the DFA would need more than %d states (limits: %d states, %d transitions; %d byte classes here)",
		       s->max_states, KM_DFA_MAX_STATES, KM_DFA_MAX_TRANS,
		       s->nclass);
}

/* Subset construction; trans[] grows with the states, *trans_out. */
static int build_states(struct sub *s, int start_node, uint16_t **trans_out)
{
	uint16_t *trans;
	int *seeds, cnt, t;

	trans = calloc((size_t)s->max_states * s->nclass, sizeof(*trans));
	seeds = malloc(KM_RE_MAX_NFA * sizeof(int));
	*trans_out = trans;
	if (!trans || !seeds) {
		free(seeds);
		return -ENOMEM;
	}
	/* 0: dead, 1: start */
	t = state_of(s, 0, true);
	cnt = closure(s, &start_node, 1, true, false);
	if (t == 0)
		t = state_of(s, cnt, true);
	if (t < 0) {
		free(seeds);
		return t == -1 ? too_many(s) : t;
	}
	for (int d = 1; d < s->nd; d++) {
		for (int c = 0; c < s->nclass; c++) {
			int b = s->rep[c], ns = 0;

			for (int i = 0; i < s->d[d].n; i++) {
				const struct nnode *x = &s->re->n[s->d[d].m[i]];

				if (x->type == N_SET &&
				    ((x->set[b / 8] >> (b % 8)) & 1))
					seeds[ns++] = x->out1;
			}
			cnt = closure(s, seeds, ns, false, false);
			t = state_of(s, cnt, false);
			if (t < 0) {
				free(seeds);
				return t == -1 ? too_many(s) : t;
			}
			trans[d * s->nclass + c] = (uint16_t)t;
		}
	}
	free(seeds);
	return 0;
}

static void *emit_table(struct sub *s, const uint16_t *trans, size_t *len)
{
	uint32_t size = km_dfa_size(s->nd, s->nclass);
	unsigned char *t = calloc(1, size);
	struct km_dfa h = {
		.n_states = (__u16)s->nd, .n_classes = (__u16)s->nclass,
		.start = 1, .size = size,
	};
	uint32_t *acc;

	if (!t)
		return NULL;
	memcpy(t, &h, sizeof(h));
	memcpy(t + sizeof(h), s->class_of, 256);
	acc = (uint32_t *)(t + km_dfa_accept_off());
	for (int d = 1; d < s->nd; d++)
		if (accepts(s, d))
			acc[d / 32] |= 1u << (d % 32);
	memcpy(t + km_dfa_trans_off(s->nd), trans,
	       (size_t)s->nd * s->nclass * sizeof(*trans));
	*len = size;
	return t;
}

static int subset(struct re *re, int start_node, void **out, size_t *out_len)
{
	struct sub s = { .re = re };
	uint16_t *trans = NULL;
	int ret;

	byte_classes(&s);
	s.max_states = KM_DFA_MAX_TRANS / s.nclass;
	if (s.max_states > KM_DFA_MAX_STATES)
		s.max_states = KM_DFA_MAX_STATES;
	s.hsize = 4096;
	s.stamp = calloc(KM_RE_MAX_NFA, sizeof(int));
	s.stack = malloc(KM_RE_MAX_NFA * sizeof(int));
	s.buf = malloc(KM_RE_MAX_NFA * sizeof(int));
	s.d = calloc(s.max_states, sizeof(*s.d));
	s.htab = malloc(s.hsize * sizeof(int));
	ret = -ENOMEM;
	if (!s.stamp || !s.stack || !s.buf || !s.d || !s.htab)
		goto out;
	memset(s.htab, -1, s.hsize * sizeof(int));
	ret = build_states(&s, start_node, &trans);
	if (ret)
		goto out;
	if (out) {
		*out = emit_table(&s, trans, out_len);
		if (!*out)
			ret = -ENOMEM;
	}
out:
	if (ret == -1)
		ret = -EINVAL;
	if (ret == -ENOMEM)
		re_fail(re, "out of memory");
	for (int i = 0; i < s.nd; i++)
		free(s.d[i].m);
	free(trans);
	free(s.stamp);
	free(s.stack);
	free(s.buf);
	free(s.d);
	free(s.htab);
	return ret;
}

int km_regex_compile(const char *pattern, void **out, size_t *out_len,
		     char *why, size_t why_len)
{
	struct re re = {
		.p = (const unsigned char *)pattern, .why = why,
		.why_len = why_len,
	};
	struct frag f;
	int m, ret = -EINVAL;

	if (why && why_len)
		why[0] = 0;
	re.len = strlen(pattern);
	if (re.len > KM_RE_MAX_PATTERN) {
		re_fail(&re, "the pattern is %zu bytes long, limit is %d",
			re.len, KM_RE_MAX_PATTERN);
		return -EINVAL;
	}
	re.n = malloc(KM_RE_MAX_NFA * sizeof(*re.n));
	if (!re.n) {
		re_fail(&re, "out of memory");
		return -ENOMEM;
	}
	if (parse_alt(&re, &f))
		goto out;
	if (re.pos < re.len) {	/* parse_alt stops only at ')' */
		re_fail(&re, "unexpected ) at offset %zu", re.pos);
		goto out;
	}
	m = node(&re, N_MATCH);
	if (m < 0)
		goto out;
	re.n[f.end].out1 = m;
	ret = subset(&re, f.start, out, out_len);
out:
	free(re.n);
	return ret;
}
