/* More item types of the key table: sharefs, cpu_pin, hda and tpm. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsontext.h"
#include "ktypes.h"
#include "xmalloc.h"

static int
streq_null(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

static char *
strdup_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static json_t *
json_str_null(const char *s)
{
	return json_text(s);
}

/* ---- sharefs: [readonly:]NAME=PATH ---- */

static int
sharefs_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	struct conf_sharefs *sf = dst;
	const char *p = v, *eq;

	memset(sf, 0, sizeof(*sf));
	if (strncmp(p, "readonly:", 9) == 0) {
		sf->sf_readonly = 1;
		p += 9;
	}
	if ((eq = strchr(p, '=')) == NULL || eq == p || eq[1] != '/') {
		buf_printf(err, "\"%s\": \"%s\" is not [readonly:]NAME=/PATH "
		    "(quote it or write \\= for the '=')", k->k_name, v);
		return -1;
	}
	sf->sf_name = xstrndup(p, (size_t)(eq - p));
	sf->sf_path = xstrdup(eq + 1);
	return 0;
}

static void
sharefs_free(void *p)
{
	struct conf_sharefs *sf = p;

	free(sf->sf_name);
	free(sf->sf_path);
}

static void
sharefs_copy(void *dst, const void *src)
{
	struct conf_sharefs *d = dst;

	*d = *(const struct conf_sharefs *)src;
	d->sf_name = xstrdup(d->sf_name);
	d->sf_path = xstrdup(d->sf_path);
}

static int
sharefs_equal(const void *a, const void *b)
{
	const struct conf_sharefs *x = a, *y = b;

	return x->sf_readonly == y->sf_readonly &&
	    strcmp(x->sf_name, y->sf_name) == 0 &&
	    strcmp(x->sf_path, y->sf_path) == 0;
}

static void
sharefs_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_sharefs *sf = p;

	(void)k;
	buf_printf(b, "%s%s=%s", sf->sf_readonly ? "readonly:" : "",
	    sf->sf_name, sf->sf_path);
}

static json_t *
sharefs_json(const struct conf_key *k, const void *p)
{
	const struct conf_sharefs *sf = p;

	(void)k;
	return json_pack("{s:o,s:o,s:b}", "name", json_text(sf->sf_name),
	    "path", json_text(sf->sf_path), "readonly", sf->sf_readonly);
}

const struct conf_type kt_sharefs = { "sharefs", sizeof(struct conf_sharefs),
    sharefs_parse, sharefs_free, sharefs_copy, sharefs_equal, sharefs_text,
    sharefs_json };

/* ---- cpu_pin: VCPU:HOSTCPU ---- */

static int
cpupin_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	struct conf_cpupin *cp = dst;
	char *copy = xstrdup(v), *c = strchr(copy, ':');
	long long a, h;
	int ok = 0;

	if (c != NULL) {
		*c = '\0';
		ok = kt_parse_ll(copy, &a) == 0 && kt_parse_ll(c + 1, &h) == 0 &&
		    a >= 0 && h >= 0 && a < 4096 && h < 65536;
	}
	free(copy);
	if (!ok) {
		buf_printf(err, "\"%s\": \"%s\" is not VCPU:HOSTCPU", k->k_name,
		    v);
		return -1;
	}
	cp->cp_vcpu = (int)a;
	cp->cp_hostcpu = (int)h;
	return 0;
}

static void
nop_free(void *p)
{
	(void)p;
}

static void
cpupin_copy(void *d, const void *s)
{
	memcpy(d, s, sizeof(struct conf_cpupin));
}

static int
cpupin_equal(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct conf_cpupin)) == 0;
}

static void
cpupin_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_cpupin *cp = p;

	(void)k;
	buf_printf(b, "%d:%d", cp->cp_vcpu, cp->cp_hostcpu);
}

static json_t *
cpupin_json(const struct conf_key *k, const void *p)
{
	const struct conf_cpupin *cp = p;

	(void)k;
	return json_pack("{s:i,s:i}", "vcpu", cp->cp_vcpu, "hostcpu",
	    cp->cp_hostcpu);
}

const struct conf_type kt_cpupin = { "cpu_pin", sizeof(struct conf_cpupin),
    cpupin_parse, nop_free, cpupin_copy, cpupin_equal, cpupin_text,
    cpupin_json };

/* ---- hda: PLAY, PLAY:REC or :REC ---- */

static int
hda_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	struct conf_hda *h = dst;
	const char *c = strchr(v, ':');
	char *play = c ? xstrndup(v, (size_t)(c - v)) : xstrdup(v);
	const char *rec = c ? c + 1 : "";

	memset(h, 0, sizeof(*h));
	if ((*play && play[0] != '/') || (*rec && rec[0] != '/') ||
	    (!*play && !*rec)) {
		buf_printf(err, "\"%s\": \"%s\" is not PLAYDEV[:RECDEV] (device "
		    "paths)", k->k_name, v);
		free(play);
		return -1;
	}
	h->h_play = *play ? play : NULL;
	if (!*play)
		free(play);
	h->h_rec = *rec ? xstrdup(rec) : NULL;
	return 0;
}

static void
hda_free(void *p)
{
	struct conf_hda *h = p;

	free(h->h_play);
	free(h->h_rec);
}

static void
hda_copy(void *dst, const void *src)
{
	const struct conf_hda *s = src;
	struct conf_hda *d = dst;

	d->h_play = strdup_null(s->h_play);
	d->h_rec = strdup_null(s->h_rec);
}

static int
hda_equal(const void *a, const void *b)
{
	const struct conf_hda *x = a, *y = b;

	return streq_null(x->h_play, y->h_play) && streq_null(x->h_rec, y->h_rec);
}

static void
hda_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_hda *h = p;

	(void)k;
	buf_printf(b, "%s%s%s", h->h_play ? h->h_play : "",
	    h->h_rec ? ":" : "", h->h_rec ? h->h_rec : "");
}

static json_t *
hda_json(const struct conf_key *k, const void *p)
{
	const struct conf_hda *h = p;

	(void)k;
	return json_pack("{s:o,s:o}", "play", json_str_null(h->h_play),
	    "rec", json_str_null(h->h_rec));
}

const struct conf_type kt_hda = { "hda", sizeof(struct conf_hda), hda_parse,
    hda_free, hda_copy, hda_equal, hda_text, hda_json };

/* ---- tpm: [passthru|swtpm:]DEV[:VERSION] ---- */

static int
is_version(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return 0;
	return 1;
}

static int
tpm_type(const char *s, enum tpm_type *t)
{
	if (strcmp(s, "passthru") == 0)
		*t = TPM_PASSTHRU;
	else if (strcmp(s, "swtpm") == 0)
		*t = TPM_SWTPM;
	else
		return -1;
	return 0;
}

static int
tpm_fields(char **f, int n, struct conf_tpm *t)
{
	t->t_type = TPM_PASSTHRU;
	if (n == 3) {
		if (tpm_type(f[0], &t->t_type) == -1 || !is_version(f[2]))
			return -1;
		t->t_dev = xstrdup(f[1]);
		t->t_version = xstrdup(f[2]);
	} else if (n == 2) {
		if (tpm_type(f[0], &t->t_type) == 0)
			t->t_dev = xstrdup(f[1]);
		else if (is_version(f[1])) {
			t->t_dev = xstrdup(f[0]);
			t->t_version = xstrdup(f[1]);
		} else
			return -1;
	} else if (n == 1)
		t->t_dev = xstrdup(f[0]);
	else
		return -1;
	return t->t_dev[0] == '/' ? 0 : -1;
}

static void
tpm_free(void *p)
{
	struct conf_tpm *t = p;

	free(t->t_dev);
	free(t->t_version);
	memset(t, 0, sizeof(*t));
}

static int
tpm_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	struct conf_tpm *t = dst, nt;
	char *copy = xstrdup(v), *s = copy, *f[4];
	int n = 0;

	memset(&nt, 0, sizeof(nt));
	while (n < 4 && (f[n] = strsep(&s, ":")) != NULL)
		n++;
	if (n > 3 || tpm_fields(f, n, &nt) == -1) {
		tpm_free(&nt);
		free(copy);
		buf_printf(err, "\"%s\": \"%s\" is not [passthru|swtpm:]/DEVICE"
		    "[:VERSION]", k->k_name, v);
		return -1;
	}
	free(copy);
	tpm_free(t);
	*t = nt;
	t->t_set = 1;
	return 0;
}

static void
tpm_copy(void *dst, const void *src)
{
	const struct conf_tpm *s = src;
	struct conf_tpm *d = dst;

	*d = *s;
	d->t_dev = strdup_null(s->t_dev);
	d->t_version = strdup_null(s->t_version);
}

static int
tpm_equal(const void *a, const void *b)
{
	const struct conf_tpm *x = a, *y = b;

	return x->t_set == y->t_set && x->t_type == y->t_type &&
	    streq_null(x->t_dev, y->t_dev) &&
	    streq_null(x->t_version, y->t_version);
}

static void
tpm_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_tpm *t = p;

	(void)k;
	if (!t->t_set)
		return;
	buf_printf(b, "%s:%s", t->t_type == TPM_SWTPM ? "swtpm" : "passthru",
	    t->t_dev);
	if (t->t_version)
		buf_printf(b, ":%s", t->t_version);
}

static json_t *
tpm_json(const struct conf_key *k, const void *p)
{
	const struct conf_tpm *t = p;

	(void)k;
	if (!t->t_set)
		return json_null();
	return json_pack("{s:s,s:o,s:o}", "type",
	    t->t_type == TPM_SWTPM ? "swtpm" : "passthru", "dev",
	    json_text(t->t_dev),
	    "version", json_str_null(t->t_version));
}

const struct conf_type kt_tpm = { "tpm", sizeof(struct conf_tpm), tpm_parse,
    tpm_free, tpm_copy, tpm_equal, tpm_text, tpm_json };
