/* Scalar value types of the key table: strings, numbers, booleans, enums. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "intern.h"
#include "jsontext.h"
#include "ktypes.h"
#include "xmalloc.h"

int
kt_parse_ll(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* ---- strings (interned: see intern.c) ---- */

static int
str_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	(void)k;
	(void)err;
	intern_drop(*(char **)dst);
	*(char **)dst = intern(v);
	return 0;
}

void
kt_str_free(void *p)
{
	intern_drop(*(char **)p);
	*(char **)p = NULL;
}

void
kt_str_copy(void *dst, const void *src)
{
	*(char **)dst = intern(*(char *const *)src);
}

/* Interned texts that are equal are one pointer; strcmp for the rest. */
int
kt_str_equal(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	if (x == y)
		return 1;
	return x != NULL && y != NULL && strcmp(x, y) == 0;
}

json_t *
kt_str_json(const struct conf_key *k, const void *p)
{
	const char *s = *(char *const *)p;

	(void)k;
	return json_text(s);
}

void
kt_str_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const char *s = *(char *const *)p;

	(void)k;
	if (s != NULL)
		buf_adds(b, s);
}

const struct conf_type kt_str = { "string", sizeof(char *), str_parse,
    kt_str_free, kt_str_copy, kt_str_equal, kt_str_text, kt_str_json };

static int
path_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	if (v[0] != '/') {
		buf_printf(err, "\"%s\": %s is not an absolute path",
		    k->k_name, v[0] ? v : "\"\"");
		return -1;
	}
	return str_parse(k, v, dst, err);
}

const struct conf_type kt_path = { "path", sizeof(char *), path_parse,
    kt_str_free, kt_str_copy, kt_str_equal, kt_str_text, kt_str_json };

/* The special keys (name, owner) are handled by the evaluator itself. */
const struct conf_type kt_special = { "special", sizeof(char *), str_parse,
    kt_str_free, kt_str_copy, kt_str_equal, kt_str_text, kt_str_json };

static int
loader_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	static const char *const loaders[] = { "bhyveload", "grub", "uefi",
	    "csm", "bios", NULL };
	size_t i;

	for (i = 0; loaders[i] != NULL; i++)
		if (strcmp(v, loaders[i]) == 0)
			return str_parse(k, v, dst, err);
	buf_printf(err, "\"loader\": unknown loader \"%s\" (expected "
	    "bios, uefi, bhyveload, grub or csm)", v);
	return -1;
}

const struct conf_type kt_loader = { "loader", sizeof(char *), loader_parse,
    kt_str_free, kt_str_copy, kt_str_equal, kt_str_text, kt_str_json };

/* ---- integers ---- */

static int
int_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	long long n;

	if (kt_parse_ll(v, &n) == -1) {
		buf_printf(err, "\"%s\": \"%s\" is not an integer",
		    k->k_name, v);
		return -1;
	}
	if (n < k->k_min || n > k->k_max) {
		buf_printf(err, "\"%s\": %lld is out of range (%lld to %lld)",
		    k->k_name, n, k->k_min, k->k_max);
		return -1;
	}
	*(long long *)dst = n;
	return 0;
}

static void
nop_free(void *p)
{
	(void)p;
}

static void
ll_copy(void *d, const void *s)
{
	*(long long *)d = *(const long long *)s;
}

static int
ll_equal(const void *a, const void *b)
{
	return *(const long long *)a == *(const long long *)b;
}

static void
ll_text(const struct conf_key *k, const void *p, struct buf *b)
{
	(void)k;
	buf_printf(b, "%lld", *(const long long *)p);
}

static json_t *
ll_json(const struct conf_key *k, const void *p)
{
	(void)k;
	return json_integer(*(const long long *)p);
}

const struct conf_type kt_int = { "integer", sizeof(long long), int_parse,
    nop_free, ll_copy, ll_equal, ll_text, ll_json };

/* ---- booleans and enums (stored as int) ---- */

static int
bool_word(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	size_t i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	return -1;
}

static int
bool_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	int b = bool_word(v);

	if (b == -1) {
		buf_printf(err, "\"%s\": \"%s\" is not a boolean (expected "
		    "yes or no)", k->k_name, v);
		return -1;
	}
	*(int *)dst = b;
	return 0;
}

static void
int_copy(void *d, const void *s)
{
	*(int *)d = *(const int *)s;
}

static int
int_equal(const void *a, const void *b)
{
	return *(const int *)a == *(const int *)b;
}

static void
bool_text(const struct conf_key *k, const void *p, struct buf *b)
{
	(void)k;
	buf_adds(b, *(const int *)p ? "yes" : "no");
}

static json_t *
bool_json(const struct conf_key *k, const void *p)
{
	(void)k;
	return json_boolean(*(const int *)p);
}

const struct conf_type kt_bool = { "boolean", sizeof(int), bool_parse,
    nop_free, int_copy, int_equal, bool_text, bool_json };

static int
enum_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	size_t i;
	int b;

	for (i = 0; k->k_enum[i] != NULL; i++)
		if (strcasecmp(v, k->k_enum[i]) == 0) {
			*(int *)dst = (int)i;
			return 0;
		}
	/* "boot = true" is an old spelling of yes. */
	if (strcmp(k->k_enum[0], "no") == 0 && (b = bool_word(v)) != -1) {
		*(int *)dst = b;
		return 0;
	}
	buf_printf(err, "\"%s\": unknown value \"%s\" (expected ", k->k_name, v);
	for (i = 0; k->k_enum[i] != NULL; i++)
		buf_printf(err, "%s%s", i == 0 ? "" :
		    k->k_enum[i + 1] == NULL ? " or " : ", ", k->k_enum[i]);
	buf_adds(err, ")");
	return -1;
}

static void
enum_text(const struct conf_key *k, const void *p, struct buf *b)
{
	buf_adds(b, k->k_enum[*(const int *)p]);
}

static json_t *
enum_json(const struct conf_key *k, const void *p)
{
	return json_string(k->k_enum[*(const int *)p]);
}

const struct conf_type kt_enum = { "enum", sizeof(int), enum_parse,
    nop_free, int_copy, int_equal, enum_text, enum_json };

/* ---- permission mode (octal or symbolic, as chmod(1) takes) ---- */

static int
mode_symbolic(const char *s, unsigned *out)
{
	unsigned who, perm, mode = 0;
	char op;

	while (*s != '\0') {
		for (who = 0; strchr("ugoa", *s) != NULL && *s; s++)
			who |= *s == 'u' ? 0700 : *s == 'g' ? 0070 :
			    *s == 'o' ? 0007 : 0777;
		if (who == 0)
			who = 0777;
		if (*s != '=' && *s != '+' && *s != '-')
			return -1;
		op = *s++;
		for (perm = 0; *s && strchr("rwx", *s) != NULL; s++)
			perm |= *s == 'r' ? 0444 : *s == 'w' ? 0222 : 0111;
		if (op == '=')
			mode = (mode & ~who) | (perm & who);
		else if (op == '+')
			mode |= perm & who;
		else
			mode &= ~(perm & who);
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	*out = mode;
	return 0;
}

int
conf_parse_mode(const char *s, unsigned *out)
{
	char *end;
	unsigned long m;

	if (*s >= '0' && *s <= '7') {
		m = strtoul(s, &end, 8);
		if (*end != '\0' || m > 07777)
			return -1;
		*out = (unsigned)m;
		return 0;
	}
	return *s ? mode_symbolic(s, out) : -1;
}

static int
mode_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	unsigned m;

	if (conf_parse_mode(v, &m) == -1) {
		buf_printf(err, "\"%s\": \"%s\" is not a file mode (e.g. 0660 "
		    "or ug=rw)", k->k_name, v);
		return -1;
	}
	return str_parse(k, v, dst, err);
}

const struct conf_type kt_mode = { "mode", sizeof(char *), mode_parse,
    kt_str_free, kt_str_copy, kt_str_equal, kt_str_text, kt_str_json };
