/* Evaluation of values: variables, concatenation and $(( )) arithmetic. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "xmalloc.h"

void
vars_free(struct vars *vs)
{
	size_t i;

	for (i = 0; i < vs->vs_n; i++) {
		free(vs->vs_v[i].v_name);
		free(vs->vs_v[i].v_value);
	}
	free(vs->vs_v);
	memset(vs, 0, sizeof(*vs));
}

static struct var *
vars_find(const struct vars *vs, const char *name)
{
	size_t i;

	if (vs == NULL)
		return NULL;
	for (i = vs->vs_n; i > 0; i--)
		if (strcmp(vs->vs_v[i - 1].v_name, name) == 0)
			return &vs->vs_v[i - 1];
	return NULL;
}

const char *
vars_get(const struct vars *vs, const char *name)
{
	struct var *v = vars_find(vs, name);

	return v != NULL ? v->v_value : NULL;
}

void
vars_set(struct vars *vs, const char *name, const char *value)
{
	struct var *v = vars_find(vs, name);

	if (v != NULL) {
		free(v->v_value);
		v->v_value = xstrdup(value);
		return;
	}
	ARRAY_GROW(vs->vs_v, vs->vs_n, vs->vs_cap);
	vs->vs_v[vs->vs_n].v_name = xstrdup(name);
	vs->vs_v[vs->vs_n].v_value = xstrdup(value);
	vs->vs_n++;
}

void
vars_del(struct vars *vs, const char *name)
{
	struct var *v = vars_find(vs, name);
	size_t i;

	if (v == NULL)
		return;
	i = (size_t)(v - vs->vs_v);
	free(v->v_name);
	free(v->v_value);
	memmove(v, v + 1, (vs->vs_n - i - 1) * sizeof(*v));
	vs->vs_n--;
}

static const char *
scope_get(const struct scope *sc, const char *name)
{
	const char *v;

	if ((v = vars_get(sc->sc_args, name)) != NULL)
		return v;
	if ((v = vars_get(sc->sc_local, name)) != NULL)
		return v;
	return vars_get(sc->sc_global, name);
}

static int
arith_var(const struct arith *a, const struct scope *sc, long long *out,
    struct diags *ds)
{
	const char *s = scope_get(sc, a->a_var);
	char *end;

	if (s == NULL) {
		diag_error(ds, &a->a_pos, "${%s} is undefined", a->a_var);
		return -1;
	}
	errno = 0;
	*out = strtoll(s, &end, 0);
	if (*s == '\0' || *end != '\0') {
		diag_error(ds, &a->a_pos, "${%s} is not a number: \"%s\"",
		    a->a_var, s);
		return -1;
	}
	if (errno == ERANGE) {
		diag_error(ds, &a->a_pos, "integer overflow: ${%s} = %s",
		    a->a_var, s);
		return -1;
	}
	return 0;
}

static int
arith_binop(const struct arith *a, long long l, long long r, long long *out,
    struct diags *ds)
{
	int ovf = 0;

	switch (a->a_op) {
	case AR_ADD:
		ovf = __builtin_add_overflow(l, r, out);
		break;
	case AR_SUB:
		ovf = __builtin_sub_overflow(l, r, out);
		break;
	case AR_MUL:
		ovf = __builtin_mul_overflow(l, r, out);
		break;
	case AR_DIV:
	case AR_MOD:
		if (r == 0) {
			diag_error(ds, &a->a_pos, "division by zero");
			return -1;
		}
		if (l == LLONG_MIN && r == -1)
			ovf = 1;
		else
			*out = a->a_op == AR_DIV ? l / r : l % r;
		break;
	default:
		ovf = 1;
	}
	if (ovf) {
		diag_error(ds, &a->a_pos, "integer overflow");
		return -1;
	}
	return 0;
}

int
eval_arith(const struct arith *a, const struct scope *sc, long long *out,
    struct diags *ds)
{
	long long l, r;

	switch (a->a_op) {
	case AR_NUM:
		*out = a->a_num;
		return 0;
	case AR_VAR:
		return arith_var(a, sc, out, ds);
	case AR_BAD:
		diag_error(ds, &a->a_pos, "%s", a->a_var);
		return -1;
	case AR_NEG:
		if (eval_arith(a->a_l, sc, &l, ds) == -1)
			return -1;
		if (l == LLONG_MIN) {
			diag_error(ds, &a->a_pos, "integer overflow");
			return -1;
		}
		*out = -l;
		return 0;
	default:
		if (eval_arith(a->a_l, sc, &l, ds) == -1 ||
		    eval_arith(a->a_r, sc, &r, ds) == -1)
			return -1;
		return arith_binop(a, l, r, out, ds);
	}
}

static int
too_long(const struct piece *p, struct diags *ds)
{
	diag_error(ds, &p->p_pos, "the value expands to more than "
	    MAX_VALUE_LEN_STR " bytes");
	return -1;
}

/* Charge the value to the budget; 0 if it was within it. */
static int
charge(const struct value *v, const struct scope *sc, size_t len,
    struct diags *ds)
{
	if (sc->sc_budget == NULL)
		return 0;
	if (*sc->sc_budget == 0)
		return -1;
	if (len + 1 >= *sc->sc_budget) {
		*sc->sc_budget = 0;
		diag_error(ds, &v->v_pos, "evaluation limit reached: the "
		    "files of this owner expand more than " MAX_USER_EVAL_STR
		    " of text in one load; the rest of them is not loaded");
		return -1;
	}
	*sc->sc_budget -= len + 1;
	return 0;
}

int
eval_value(const struct value *v, const struct scope *sc, struct buf *out,
    struct diags *ds)
{
	const struct piece *p;
	const char *s;
	long long n;
	size_t i;
	int rc = 0, toolong = 0;

	buf_reset(out);
	buf_adds(out, "");
	if (sc->sc_budget != NULL && *sc->sc_budget == 0)
		return -1;
	for (i = 0; i < v->v_npieces && !toolong; i++) {
		p = &v->v_pieces[i];
		switch (p->p_type) {
		case PC_TEXT:
			if (out->b_len + strlen(p->p_text) > MAX_VALUE_LEN)
				rc = toolong = too_long(p, ds);
			else
				buf_adds(out, p->p_text);
			break;
		case PC_VAR:
			if ((s = scope_get(sc, p->p_text)) == NULL) {
				diag_error(ds, &p->p_pos, "${%s} is undefined",
				    p->p_text);
				rc = -1;
			} else if (out->b_len + strlen(s) > MAX_VALUE_LEN)
				rc = toolong = too_long(p, ds);
			else
				buf_adds(out, s);
			break;
		case PC_ARITH:
			if (eval_arith(p->p_arith, sc, &n, ds) == -1)
				rc = -1;
			else
				buf_printf(out, "%lld", n);
			break;
		}
	}
	if (charge(v, sc, out->b_len, ds) == -1)
		rc = -1;
	return rc;
}
