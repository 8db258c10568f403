/*
 * A user or @group given rights on a VM (console_viewers, console_writers),
 * resolved to its id when the file is read, so a check is a comparison.
 */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "jsontext.h"
#include "ktypes.h"
#include "xmalloc.h"

/* The _r lookups: loads run in a thread of their own (loadjob.c). */
static int
who_parse(const struct conf_key *k, const char *v, void *dst,
    struct buf *err)
{
	struct conf_who *w = dst;
	struct passwd pwbuf, *pw = NULL;
	struct group grbuf, *gr = NULL;
	char buf[16384];

	if (v[0] == '@') {
		if (v[1] != '\0' && getgrnam_r(v + 1, &grbuf, buf, sizeof(buf),
		    &gr) == 0 && gr != NULL) {
			w->cw_group = 1;
			w->cw_id = (unsigned)gr->gr_gid;
			w->cw_text = xstrdup(v);
			return 0;
		}
	} else if (v[0] != '\0' && getpwnam_r(v, &pwbuf, buf, sizeof(buf),
	    &pw) == 0 && pw != NULL) {
		w->cw_group = 0;
		w->cw_id = (unsigned)pw->pw_uid;
		w->cw_text = xstrdup(v);
		return 0;
	}
	buf_printf(err, "\"%s\": no %s named \"%s\"", k->k_name,
	    v[0] == '@' ? "group" : "user", v[0] == '@' ? v + 1 : v);
	return -1;
}

static void
who_free(void *p)
{
	struct conf_who *w = p;

	free(w->cw_text);
	memset(w, 0, sizeof(*w));
}

static void
who_copy(void *d, const void *s)
{
	const struct conf_who *src = s;
	struct conf_who *dst = d;

	*dst = *src;
	dst->cw_text = src->cw_text != NULL ? xstrdup(src->cw_text) : NULL;
}

static int
who_equal(const void *a, const void *b)
{
	const struct conf_who *x = a, *y = b;

	return kt_str_equal(&x->cw_text, &y->cw_text);
}

static void
who_text(const struct conf_key *k, const void *p, struct buf *b)
{
	kt_str_text(k, &((const struct conf_who *)p)->cw_text, b);
}

static json_t *
who_json(const struct conf_key *k, const void *p)
{
	(void)k;
	return json_text(((const struct conf_who *)p)->cw_text);
}

const struct conf_type kt_who = { "USER|@GROUP", sizeof(struct conf_who),
    who_parse, who_free, who_copy, who_equal, who_text, who_json };
