/* Template definitions checked once, before any is applied: unused parameters. */
#include <string.h>

#include "eval.h"

static int
arith_uses(const struct arith *a, const char *name)
{
	if (a == NULL)
		return 0;
	if (a->a_op == AR_VAR && strcmp(a->a_var, name) == 0)
		return 1;
	return arith_uses(a->a_l, name) || arith_uses(a->a_r, name);
}

static int
value_uses(const struct value *v, const char *name)
{
	const struct piece *p;
	size_t i;

	for (i = 0; i < v->v_npieces; i++) {
		p = &v->v_pieces[i];
		if ((p->p_type == PC_VAR && strcmp(p->p_text, name) == 0) ||
		    (p->p_type == PC_ARITH && arith_uses(p->p_arith, name)))
			return 1;
	}
	return 0;
}

/* Is $name read anywhere in the body (keys, variables, .apply)? */
static int
body_uses(const struct section *s, const char *name)
{
	const struct stmt *st;
	const struct apply_target *t;
	size_t i, j, k;

	for (i = 0; i < s->sc_nstmts; i++) {
		st = &s->sc_stmts[i];
		for (j = 0; j < st->s_nvals; j++)
			if (value_uses(&st->s_vals[j], name))
				return 1;
		for (j = 0; j < st->s_ntargets; j++) {
			t = &st->s_targets[j];
			if (value_uses(&t->t_name, name))
				return 1;
			for (k = 0; k < t->t_nargs; k++)
				if (value_uses(&t->t_args[k], name))
					return 1;
		}
	}
	return 0;
}

/*
 * A parameter the body never reads is a mistake the template's author
 * cannot see otherwise (a typo in $name reads a variable of the VM).
 */
void
tmpl_check_params(const struct section *s, struct diags *ds)
{
	size_t i;

	for (i = 0; i < s->sc_nargs; i++)
		if (!body_uses(s, s->sc_args[i].ad_name))
			diag_warn(ds, &s->sc_args[i].ad_pos, "template \"%s\": "
			    "parameter \"%s\" is never used in its body",
			    s->sc_name, s->sc_args[i].ad_name);
}
