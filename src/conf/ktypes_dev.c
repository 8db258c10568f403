/* Structured value types of the key table: memory, ncpu, disks, networks... */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "intern.h"
#include "ktypes.h"
#include "xmalloc.h"

static void
nop_free(void *p)
{
	(void)p;
}

/* ---- memory: N[KMGT] ---- */

static int
memory_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	struct conf_memory *m = dst;
	unsigned long long n, mul = 1ULL << 20;	/* bare number: MiB */
	const char *p = v;
	char *end;

	if (!isdigit((unsigned char)*p))
		goto bad;
	errno = 0;
	n = strtoull(p, &end, 10);
	if (errno != 0)
		goto big;
	if (*end != '\0') {
		switch (*end) {
		case 'k': case 'K': mul = 1ULL << 10; break;
		case 'm': case 'M': mul = 1ULL << 20; break;
		case 'g': case 'G': mul = 1ULL << 30; break;
		case 't': case 'T': mul = 1ULL << 40; break;
		default: goto bad;
		}
		if (end[1] != '\0')
			goto bad;
	}
	if (n == 0) {
		buf_printf(err, "\"%s\": memory size must be greater than 0",
		    k->k_name);
		return -1;
	}
	if (n > UINT64_MAX / mul)
		goto big;
	/* bounds, when the key has them (console_buffer) */
	if (k->k_max > 0 && (n * mul < (unsigned long long)k->k_min ||
	    n * mul > (unsigned long long)k->k_max)) {
		buf_printf(err, "\"%s\": %s is out of range (%lldK to %lldK)",
		    k->k_name, v, k->k_min / 1024, k->k_max / 1024);
		return -1;
	}
	free(m->m_text);
	m->m_bytes = n * mul;
	m->m_text = xstrdup(v);
	return 0;
big:
	buf_printf(err, "\"%s\": %s is too large", k->k_name, v);
	return -1;
bad:
	buf_printf(err, "\"%s\": \"%s\" is not a size (a whole number of "
	    "MiB, or followed by K, M, G or T)", k->k_name, v);
	return -1;
}

static void
memory_free(void *p)
{
	struct conf_memory *m = p;

	free(m->m_text);
	m->m_text = NULL;
	m->m_bytes = 0;
}

static void
memory_copy(void *d, const void *s)
{
	const struct conf_memory *src = s;
	struct conf_memory *dst = d;

	dst->m_bytes = src->m_bytes;
	dst->m_text = src->m_text ? xstrdup(src->m_text) : NULL;
}

static int
memory_equal(const void *a, const void *b)
{
	const struct conf_memory *x = a, *y = b;

	return x->m_bytes == y->m_bytes && kt_str_equal(&x->m_text, &y->m_text);
}

static void
memory_text(const struct conf_key *k, const void *p, struct buf *b)
{
	(void)k;
	kt_str_text(k, &((const struct conf_memory *)p)->m_text, b);
}

static json_t *
memory_json(const struct conf_key *k, const void *p)
{
	const struct conf_memory *m = p;

	(void)k;
	return m->m_text ? json_integer((json_int_t)m->m_bytes) : json_null();
}

const struct conf_type kt_memory = { "size", sizeof(struct conf_memory),
    memory_parse, memory_free, memory_copy, memory_equal, memory_text,
    memory_json };

/* ---- ncpu: S[:C[:T]] ---- */

static int
ncpu_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	struct conf_ncpu *nc = dst;
	long long f[3] = { 1, 1, 1 };
	char *copy = xstrdup(v), *s = copy, *tok;
	int n = 0, ok = 1;

	while ((tok = strsep(&s, ":")) != NULL) {
		if (n == 3 || kt_parse_ll(tok, &f[n]) == -1 || f[n] < 1 ||
		    f[n] > k->k_max)
			ok = 0;
		n++;
	}
	free(copy);
	if (!ok || f[0] * f[1] * f[2] > k->k_max) {
		buf_printf(err, "\"%s\": %s is not a valid topology (CPUS, or "
		    "SOCKETS:CORES[:THREADS], each at least 1, at most %lld "
		    "CPUs)", k->k_name, v, k->k_max);
		return -1;
	}
	nc->nc_sockets = (int)f[0];
	nc->nc_cores = (int)f[1];
	nc->nc_threads = (int)f[2];
	nc->nc_cpus = (int)(f[0] * f[1] * f[2]);
	return 0;
}

static void
ncpu_copy(void *d, const void *s)
{
	memcpy(d, s, sizeof(struct conf_ncpu));
}

static int
ncpu_equal(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct conf_ncpu)) == 0;
}

static void
ncpu_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_ncpu *nc = p;

	(void)k;
	if (nc->nc_cores == 1 && nc->nc_threads == 1)
		buf_printf(b, "%d", nc->nc_sockets);
	else
		buf_printf(b, "%d:%d:%d", nc->nc_sockets, nc->nc_cores,
		    nc->nc_threads);
}

static json_t *
ncpu_json(const struct conf_key *k, const void *p)
{
	const struct conf_ncpu *nc = p;

	(void)k;
	return json_pack("{s:i,s:i,s:i,s:i}", "cpus", nc->nc_cpus,
	    "sockets", nc->nc_sockets, "cores", nc->nc_cores,
	    "threads", nc->nc_threads);
}

const struct conf_type kt_ncpu = { "topology", sizeof(struct conf_ncpu),
    ncpu_parse, nop_free, ncpu_copy, ncpu_equal, ncpu_text, ncpu_json };

/* ---- com ports: auto, stdio, tcp=HOST:PORT, tcp=[V6]:PORT, /path ---- */

static int
tcp_port(const char *p)
{
	long long n;

	return kt_parse_ll(p, &n) == 0 && n > 0 && n < 65536 ? (int)n : -1;
}

/* "HOST:PORT" or "[V6]:PORT" into cm_host and cm_port; -1 if malformed. */
static int
com_tcp(const char *hp, struct conf_com *cm)
{
	const char *c, *h = hp;
	size_t hl;

	if (*hp == '[') {
		if ((c = strchr(hp, ']')) == NULL || c[1] != ':' || c == hp + 1)
			return -1;
		h = hp + 1;
		hl = (size_t)(c - h);
		c++;
	} else {
		if ((c = strrchr(hp, ':')) == NULL || c == hp ||
		    memchr(hp, ':', (size_t)(c - hp)) != NULL)
			return -1;
		hl = (size_t)(c - hp);
	}
	if ((cm->cm_port = tcp_port(c + 1)) < 0)
		return -1;
	cm->cm_host = xstrndup(h, hl);
	return 0;
}

static int
com_classify(const char *v, struct conf_com *cm)
{
	memset(cm, 0, sizeof(*cm));
	if (strcasecmp(v, "auto") == 0)
		cm->cm_kind = COM_AUTO;
	else if (strcmp(v, "stdio") == 0)
		cm->cm_kind = COM_STDIO;
	else if (v[0] == '/')
		cm->cm_kind = COM_DEV;
	else if (strncmp(v, "tcp=", 4) == 0 && com_tcp(v + 4, cm) == 0)
		cm->cm_kind = COM_TCP;
	else
		return -1;
	cm->cm_text = xstrdup(v);
	return 0;
}

void
conf_com_clear(struct conf_com *cm)
{
	free(cm->cm_text);
	free(cm->cm_host);
	memset(cm, 0, sizeof(*cm));
}

static void
com_free(void *p)
{
	conf_com_clear(p);
}

static int
com_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	struct conf_com cm;

	if (com_classify(v, &cm) == -1) {
		buf_printf(err, "\"%s\": \"%s\" is not a serial port (expected "
		    "auto, stdio, tcp=HOST:PORT or a device path)", k->k_name, v);
		return -1;
	}
	com_free(dst);
	*(struct conf_com *)dst = cm;
	return 0;
}

static void
com_copy(void *dst, const void *src)
{
	const struct conf_com *s = src;
	struct conf_com *d = dst;

	*d = *s;
	d->cm_text = s->cm_text != NULL ? xstrdup(s->cm_text) : NULL;
	d->cm_host = s->cm_host != NULL ? xstrdup(s->cm_host) : NULL;
}

static int
com_equal(const void *a, const void *b)
{
	const struct conf_com *x = a, *y = b;

	return kt_str_equal(&x->cm_text, &y->cm_text);
}

static void
com_text(const struct conf_key *k, const void *p, struct buf *b)
{
	kt_str_text(k, &((const struct conf_com *)p)->cm_text, b);
}

static json_t *
com_json(const struct conf_key *k, const void *p)
{
	return kt_str_json(k, &((const struct conf_com *)p)->cm_text);
}

/* For a program that sets a port itself (bmdctl run: stdio). */
void
conf_com_set(struct conf_com *cm, const char *v)
{
	conf_com_clear(cm);
	if (com_classify(v, cm) == -1)
		abort();
}

const struct conf_type kt_com = { "com", sizeof(struct conf_com), com_parse,
    com_free, com_copy, com_equal, com_text, com_json };

/* ---- list items that are plain strings with a rule ---- */

static int
env_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	if (strchr(v, '=') == NULL || v[0] == '=') {
		buf_printf(err, "\"%s\": \"%s\" is not NAME=VALUE",
		    k->k_name, v);
		return -1;
	}
	*(char **)dst = intern(v);
	return 0;
}

const struct conf_type kt_env = { "NAME=VALUE", sizeof(char *), env_parse,
    kt_str_free, kt_str_copy, kt_str_equal, kt_str_text, kt_str_json };

static int
passthru_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	const char *p = v;
	int digits = 0;

	if (strncmp(p, "ppt", 3) == 0) {
		for (p += 3; isdigit((unsigned char)*p); p++)
			digits++;
	} else {
		/* bus/slot/function */
		for (; isdigit((unsigned char)*p) || *p == '/'; p++)
			digits += *p != '/';
	}
	if (*p != '\0' || digits == 0) {
		buf_printf(err, "\"%s\": \"%s\" is not a PCI device (pptN or "
		    "BUS/SLOT/FUNCTION)", k->k_name, v);
		return -1;
	}
	*(char **)dst = intern(v);
	return 0;
}

const struct conf_type kt_passthru = { "pci", sizeof(char *), passthru_parse,
    kt_str_free, kt_str_copy, kt_str_equal, kt_str_text, kt_str_json };

/* Blanks are removed, as the original does, before anything else. */
static int
vctmpl_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	char *t = xmalloc(strlen(v) + 1), *q = t;
	const char *p, *eq;

	for (p = v; *p; p++)
		if (!isspace((unsigned char)*p))
			*q++ = *p;
	*q = '\0';
	eq = strchr(t, '=');
	if (t[0] == '\0' || t[0] == '=' || (eq != NULL && eq[1] != '/')) {
		buf_printf(err, "\"%s\": \"%s\" is not PORTNAME or "
		    "PORTNAME=/SOCKET/PATH", k->k_name, v);
		free(t);
		return -1;
	}
	intern_drop(*(char **)dst);
	*(char **)dst = intern(t);
	free(t);
	return 0;
}

const struct conf_type kt_vctmpl = { "template", sizeof(char *), vctmpl_parse,
    kt_str_free, kt_str_copy, kt_str_equal, kt_str_text, kt_str_json };

/* ---- graphics_res: WxH ---- */

static int
res_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	struct conf_res *r = dst;
	long long w, h;
	char *copy = xstrdup(v), *x = strchr(copy, 'x');
	int ok = 0;

	if (x != NULL) {
		*x = '\0';
		ok = kt_parse_ll(copy, &w) == 0 && kt_parse_ll(x + 1, &h) == 0 &&
		    w > 0 && h > 0 && w <= 16384 && h <= 16384;
	}
	free(copy);
	if (!ok) {
		buf_printf(err, "\"%s\": \"%s\" is not a resolution (WIDTHxHEIGHT)",
		    k->k_name, v);
		return -1;
	}
	r->r_width = (int)w;
	r->r_height = (int)h;
	return 0;
}

static void
res_copy(void *d, const void *s)
{
	memcpy(d, s, sizeof(struct conf_res));
}

static int
res_equal(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct conf_res)) == 0;
}

static void
res_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_res *r = p;

	(void)k;
	buf_printf(b, "%dx%d", r->r_width, r->r_height);
}

static json_t *
res_json(const struct conf_key *k, const void *p)
{
	const struct conf_res *r = p;

	(void)k;
	return json_pack("{s:i,s:i}", "width", r->r_width, "height",
	    r->r_height);
}

const struct conf_type kt_res = { "resolution", sizeof(struct conf_res),
    res_parse, nop_free, res_copy, res_equal, res_text, res_json };
