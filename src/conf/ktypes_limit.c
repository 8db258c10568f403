/*
 * Per-user limits: LIMIT, USER:LIMIT or @GROUP:LIMIT, LIMIT a count (or a
 * size for max_memory_per_user) or "none".  The resolution for one user is
 * limits.c's; here only the values.
 */
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "jsontext.h"
#include "ktypes.h"
#include "xmalloc.h"

static int
limit_value(const struct conf_key *k, const char *v, long long *out,
    struct buf *err)
{
	struct conf_memory m = { 0, NULL };
	long long n;

	if (strcmp(v, "none") == 0) {
		*out = LIMIT_NONE;
		return 0;
	}
	if (k->k_type == &kt_limit_size) {
		if (kt_memory.t_parse(k, v, &m, err) == -1)
			return -1;
		free(m.m_text);
		if (m.m_bytes > (uint64_t)LLONG_MAX)
			m.m_bytes = (uint64_t)LLONG_MAX;
		*out = (long long)m.m_bytes;
		return 0;
	}
	if (kt_parse_ll(v, &n) == -1 || n < 0) {
		buf_printf(err, "\"%s\": \"%s\" is not a whole number or none",
		    k->k_name, v);
		return -1;
	}
	*out = n;
	return 0;
}

/*
 * The user or group a value is for must exist: a typo limits nobody.
 * The _r lookups: loads run in a thread of their own (loadjob.c).
 */
static int
limit_who(const struct conf_key *k, const char *who, unsigned long *id,
    struct buf *err)
{
	struct passwd pwbuf, *pw = NULL;
	struct group grbuf, *gr = NULL;
	char buf[16384];

	if (who[0] == '@') {
		if (who[1] != '\0' && getgrnam_r(who + 1, &grbuf, buf,
		    sizeof(buf), &gr) == 0 && gr != NULL) {
			*id = gr->gr_gid;
			return 0;
		}
	} else if (who[0] != '\0' && getpwnam_r(who, &pwbuf, buf, sizeof(buf),
	    &pw) == 0 && pw != NULL) {
		*id = pw->pw_uid;
		if (pw->pw_uid != 0)
			return 0;
		buf_printf(err, "\"%s\": %s: root's VMs are never limited",
		    k->k_name, who);
		return -1;
	}
	buf_printf(err, "\"%s\": no %s named \"%s\"", k->k_name,
	    who[0] == '@' ? "group" : "user", who[0] == '@' ? who + 1 : who);
	return -1;
}

static int
limit_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	struct conf_limit *l = dst;
	const char *colon = strrchr(v, ':');
	char *who = NULL;
	unsigned long id = 0;
	long long n;

	if (colon != NULL) {
		who = xstrndup(v, (size_t)(colon - v));
		if (limit_who(k, who, &id, err) == -1) {
			free(who);
			return -1;
		}
	}
	if (limit_value(k, colon != NULL ? colon + 1 : v, &n, err) == -1) {
		free(who);
		return -1;
	}
	l->lm_who = who;
	l->lm_id = id;
	l->lm_value = n;
	l->lm_text = xstrdup(v);
	return 0;
}

static void
limit_free(void *p)
{
	struct conf_limit *l = p;

	free(l->lm_who);
	free(l->lm_text);
	memset(l, 0, sizeof(*l));
}

static void
limit_copy(void *d, const void *s)
{
	const struct conf_limit *src = s;
	struct conf_limit *dst = d;

	dst->lm_who = src->lm_who != NULL ? xstrdup(src->lm_who) : NULL;
	dst->lm_id = src->lm_id;
	dst->lm_value = src->lm_value;
	dst->lm_text = src->lm_text != NULL ? xstrdup(src->lm_text) : NULL;
}

static int
limit_equal(const void *a, const void *b)
{
	const struct conf_limit *x = a, *y = b;

	return kt_str_equal(&x->lm_text, &y->lm_text);
}

static void
limit_text(const struct conf_key *k, const void *p, struct buf *b)
{
	kt_str_text(k, &((const struct conf_limit *)p)->lm_text, b);
}

static json_t *
limit_json(const struct conf_key *k, const void *p)
{
	const struct conf_limit *l = p;

	(void)k;
	return json_pack("{s:o,s:o}", "for", json_text(l->lm_who), "max",
	    l->lm_value == LIMIT_NONE ? json_null() :
	    json_integer((json_int_t)l->lm_value));
}

const struct conf_type kt_limit = { "[USER:|@GROUP:]N|none",
    sizeof(struct conf_limit), limit_parse, limit_free, limit_copy,
    limit_equal, limit_text, limit_json };
const struct conf_type kt_limit_size = { "[USER:|@GROUP:]SIZE|none",
    sizeof(struct conf_limit), limit_parse, limit_free, limit_copy,
    limit_equal, limit_text, limit_json };
