/* Evaluation pass: global sections, templates and vm sections to vm_confs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "intern.h"
#include "origin.h"
#include "keys.h"
#include "load.h"
#include "owner.h"
#include "plugin_keys.h"
#include "strmap.h"
#include "xmalloc.h"

#define MAX_APPLY_DEPTH	32

/*
 * Template names are per owner: root's, and each user's own.  A name
 * holds a chain, one template per owner; root's, if any, is alone.
 */
struct tmpl {
	const struct section	*t_sect;
	const struct eval_file	*t_file;
	struct tmpl		*t_next;	/* another owner's */
};

/*
 * Where an accepted VM name was defined, and by whom; a copy: the tree
 * may be gone (lo_discard_vms).
 */
struct defined {
	struct pos		 d_pos;
	uid_t			 d_owner;
	size_t			 d_order;	/* in e_order, + 1; 0: not */
	int			 d_accepted;
};

/* What one user's files may still expand in this load. */
struct budget {
	uid_t			 b_owner;
	size_t			 b_left;
	size_t			 b_nvms;	/* vm sections met */
};

/* An accepted VM and where its section is, to restore the file order. */
struct vmorder {
	struct vm_conf		*o_vc;
	size_t			 o_file, o_sect;
};

struct evalctx {
	const struct eval_in	*e_in;
	struct diags		*e_ds;
	struct strmap		 e_tmpls;	/* name -> struct tmpl chain */
	struct strmap		 e_names;	/* VM name -> struct defined */
	struct strmap		 e_idkeys;	/* ID key -> eval_file that took it */
	struct strmap		 e_seccount;	/* "FILE\nSECTION" -> count */
	struct vmorder		*e_order;
	size_t			 e_norder, e_capord;
	struct budget		*e_budgets;	/* per user owning files */
	size_t			 e_nbudgets, e_capbudgets;
	struct vars		 e_globals;
	struct conf		*e_conf;
	struct idmap		*e_ids;
	struct buf		 e_val, e_err;
};

struct vmctx {
	struct vm_conf		*v_vc;
	const struct eval_file	*v_file;	/* holds the vm section */
	struct vars		 v_local;
	struct strmap		 v_applied;	/* name -> struct tmpl */
	int			 v_depth;
	size_t			*v_budget;	/* NULL: root's file */
	/* the .apply chain, v_depth deep (kept for lo_origins) */
	struct conf_via		 v_via[MAX_APPLY_DEPTH];
};

static void eval_stmts(struct evalctx *, struct vmctx *, const struct section *,
    const struct eval_file *, struct vars *);

/* ---- templates and globals ---- */

static struct tmpl *
tmpl_of(struct tmpl *t, uid_t owner)
{
	while (t != NULL && t->t_file->ef_owner != owner)
		t = t->t_next;
	return t;
}

static void
tmpl_free(void *p)
{
	struct tmpl *t = p, *next;

	for (; t != NULL; t = next) {
		next = t->t_next;
		free(t);
	}
}

/* A user's template named like one of root's: never used, wherever. */
static void
tmpl_not_users(struct evalctx *e, const struct section *s,
    const struct tmpl *root)
{
	diag_error(e->e_ds, &s->sc_pos, "template \"%s\" is root's (defined "
	    "at %s:%d:%d); this one is ignored", s->sc_name,
	    root->t_sect->sc_pos.file, root->t_sect->sc_pos.line,
	    root->t_sect->sc_pos.col);
}

/*
 * One template into its name's chain.  Two of one owner are an error,
 * fatal among root's files; a user's is dropped, so that no user can
 * make the whole configuration fail this way, and root's name is root's
 * whatever the order in which the files come (users' are dropped).
 */
static void
add_template(struct evalctx *e, const struct section *s,
    const struct eval_file *f)
{
	struct tmpl *head = strmap_get(&e->e_tmpls, s->sc_name), *t, *next;
	uid_t owner = f->ef_owner;

	if ((t = tmpl_of(head, owner)) != NULL) {
		diag_error(e->e_ds, &s->sc_pos, "template \"%s\" is already "
		    "defined at %s:%d:%d", s->sc_name, t->t_sect->sc_pos.file,
		    t->t_sect->sc_pos.line, t->t_sect->sc_pos.col);
		if (owner == 0)
			e->e_conf->c_fatal = 1;
		return;
	}
	if (owner != 0 && (t = tmpl_of(head, 0)) != NULL) {
		tmpl_not_users(e, s, t);
		return;
	}
	tmpl_check_params(s, e->e_ds);
	t = xcalloc(1, sizeof(*t));
	t->t_sect = s;
	t->t_file = f;
	if (owner == 0) {
		for (; head != NULL; head = next) {
			next = head->t_next;
			tmpl_not_users(e, head->t_sect, t);
			free(head);
		}
	}
	t->t_next = head;
	strmap_put(&e->e_tmpls, s->sc_name, t);
}

static void
collect_templates(struct evalctx *e)
{
	const struct eval_file *f;
	const struct section *s;
	const char *why;
	size_t i, j;

	for (i = 0; i < e->e_in->ei_nfiles; i++) {
		f = &e->e_in->ei_files[i];
		for (j = 0; j < f->ef_ast->af_nsects; j++) {
			s = &f->ef_ast->af_sects[j];
			if (s->sc_type != SC_TEMPLATE)
				continue;
			if ((why = conf_vm_name_problem(s->sc_name)) != NULL)
				diag_error(e->e_ds, &s->sc_pos, "template "
				    "\"%s\" is not a valid name: %s",
				    s->sc_name, why);
			else
				add_template(e, s, f);
		}
	}
}

/*
 * The template a VM of that owner (as it is when the .apply runs)
 * applies: root's, else the owner's, else another user's, which the
 * VM's final owner check then refuses unless the VM was given to her.
 */
static struct tmpl *
tmpl_lookup(struct evalctx *e, const char *name, uid_t owner)
{
	struct tmpl *head = strmap_get(&e->e_tmpls, name), *t;

	if ((t = tmpl_of(head, 0)) != NULL ||
	    (t = tmpl_of(head, owner)) != NULL)
		return t;
	return head;
}

/*
 * A list global key (user_bridges): as for the others the first "="
 * wins; "+=" appends to it.  Empty values add nothing.
 */
static void
global_list_key(struct evalctx *e, const struct conf_key *k,
    const struct stmt *st, const struct scope *sc)
{
	struct global_conf *gc = &e->e_conf->c_global;
	size_t i;

	if (key_isset(k, gc) && !st->s_append) {
		diag_warn(e->e_ds, &st->s_pos, "\"%s\" is already set; the "
		    "first value is kept", k->k_name);
		return;
	}
	for (i = 0; i < st->s_nvals; i++) {
		if (eval_value(&st->s_vals[i], sc, &e->e_val, e->e_ds) == -1 ||
		    buf_str(&e->e_val)[0] == '\0')
			continue;
		buf_reset(&e->e_err);
		if (key_set(k, gc, buf_str(&e->e_val), 1, &st->s_vals[i].v_pos,
		    &e->e_err) == -1)
			diag_error(e->e_ds, &st->s_vals[i].v_pos, "%s",
			    buf_str(&e->e_err));
	}
}

static void
global_key(struct evalctx *e, const struct stmt *st, const struct scope *sc)
{
	struct global_conf *gc = &e->e_conf->c_global;
	const struct conf_key *k, *hint;

	if ((k = gkeys_find(st->s_name)) == NULL) {
		hint = gkeys_suggest(st->s_name);
		diag_error(e->e_ds, &st->s_pos, "unknown global key \"%s\"%s%s%s",
		    st->s_name, hint ? " (did you mean \"" : "",
		    hint ? hint->k_name : "", hint ? "\"?)" : "");
		return;
	}
	if (k->k_flags & KEY_LIST) {
		global_list_key(e, k, st, sc);
		return;
	}
	if (st->s_nvals != 1 || st->s_append) {
		diag_error(e->e_ds, &st->s_pos, "\"%s\" doesn't take multiple "
		    "values", k->k_name);
		return;
	}
	if (eval_value(&st->s_vals[0], sc, &e->e_val, e->e_ds) == -1)
		return;
	if (key_isset(k, gc)) {
		diag_warn(e->e_ds, &st->s_pos, "\"%s\" is already set; the "
		    "first value is kept", k->k_name);
		return;
	}
	buf_reset(&e->e_err);
	if (key_set(k, gc, buf_str(&e->e_val), 0, &st->s_valpos,
	    &e->e_err) == -1)
		diag_error(e->e_ds, &st->s_valpos, "%s", buf_str(&e->e_err));
}

static void
eval_global_section(struct evalctx *e, const struct section *s)
{
	struct scope sc = { NULL, NULL, &e->e_globals, NULL };
	const struct stmt *st;
	size_t i;

	for (i = 0; i < s->sc_nstmts; i++) {
		st = &s->sc_stmts[i];
		if (st->s_type == ST_APPLY)
			diag_error(e->e_ds, &st->s_pos, ".apply is not allowed "
			    "in a global section");
		else if (st->s_type == ST_KEY)
			global_key(e, st, &sc);
		else if (st->s_nvals > 0 && eval_value(&st->s_vals[0], &sc,
		    &e->e_val, e->e_ds) == 0)
			vars_set(&e->e_globals, st->s_name, buf_str(&e->e_val));
	}
}

static void
eval_globals(struct evalctx *e)
{
	const struct eval_file *f;
	const struct section *s;
	size_t i, j;

	for (i = 0; i < e->e_in->ei_nfiles; i++) {
		f = &e->e_in->ei_files[i];
		for (j = 0; j < f->ef_ast->af_nsects; j++) {
			s = &f->ef_ast->af_sects[j];
			if (s->sc_type != SC_GLOBAL)
				continue;
			if (f->ef_owner != 0)
				diag_warn(e->e_ds, &s->sc_pos, "global section "
				    "ignored: %s is not owned by root",
				    f->ef_ast->af_path);
			else
				eval_global_section(e, s);
		}
	}
}

/* ---- vm statements ---- */

static void
set_name(struct evalctx *e, struct vmctx *v, const struct stmt *st)
{
	const char *name = buf_str(&e->e_val), *why;

	if ((why = conf_vm_name_problem(name)) != NULL) {
		diag_error(e->e_ds, &st->s_valpos, "\"name\": \"%s\" is not a "
		    "valid VM name: %s", name, why);
		return;
	}
	intern_drop(v->v_vc->vc_name);
	v->v_vc->vc_name = intern(name);
	v->v_vc->vc_set[keys_find("name")->k_index] = 1;
	vars_set(&v->v_local, "NAME", name);
}

static void
set_owner(struct evalctx *e, struct vmctx *v, const struct stmt *st,
    const struct eval_file *f)
{
	int restricted = f->ef_owner != 0 || v->v_file->ef_owner != 0;

	buf_reset(&e->e_err);
	if (owner_apply(v->v_vc, buf_str(&e->e_val), restricted,
	    &e->e_err) == -1) {
		diag_error(e->e_ds, &st->s_valpos, "%s", buf_str(&e->e_err));
		return;
	}
	vars_set(&v->v_local, "OWNER", v->v_vc->vc_owner_name);
	vars_set(&v->v_local, "GROUP", v->v_vc->vc_group_name ?
	    v->v_vc->vc_group_name : "");
}

static const struct conf_key *
lookup_key(struct evalctx *e, const struct stmt *st)
{
	const struct conf_key *k, *hint;

	if ((k = keys_find(st->s_name)) != NULL)
		return k;
	hint = keys_suggest(st->s_name);
	diag_error(e->e_ds, &st->s_pos, "unknown key \"%s\"%s%s%s",
	    st->s_name, hint ? " (did you mean \"" : "",
	    hint ? hint->k_name : "", hint ? "\"?)" : "");
	return NULL;
}

/* show config --origin: where this value comes from, .apply chain and all. */
static void
note_origin(struct evalctx *e, struct vmctx *v, const struct conf_key *k,
    int append, const char *value, const struct pos *pos)
{
	if (e->e_in->ei_opts->lo_origins)
		origin_add(v->v_vc, k, append, value, pos, v->v_via,
		    (size_t)v->v_depth);
}

static void
eval_key(struct evalctx *e, struct vmctx *v, const struct stmt *st,
    const struct scope *sc, const struct eval_file *f)
{
	const struct conf_key *k;
	size_t i;
	int append;

	if ((k = lookup_key(e, st)) == NULL)
		return;
	if (!(k->k_flags & KEY_LIST) && (st->s_nvals != 1 || st->s_append)) {
		diag_error(e->e_ds, &st->s_pos, "\"%s\" doesn't take multiple "
		    "values", k->k_name);
		return;
	}
	/* "disk = ;" empties a list. */
	if ((k->k_flags & KEY_LIST) && !st->s_append && st->s_nvals == 1 &&
	    st->s_vals[0].v_npieces == 0) {
		key_clear(k, v->v_vc);
		note_origin(e, v, k, 0, "", &st->s_vals[0].v_pos);
		return;
	}
	for (i = 0; i < st->s_nvals; i++) {
		if (eval_value(&st->s_vals[i], sc, &e->e_val, e->e_ds) == -1)
			continue;
		append = st->s_append || i > 0;
		note_origin(e, v, k, append, buf_str(&e->e_val),
		    &st->s_vals[i].v_pos);
		if (strcmp(k->k_name, "name") == 0) {
			set_name(e, v, st);
			continue;
		}
		if (strcmp(k->k_name, "owner") == 0) {
			set_owner(e, v, st, f);
			continue;
		}
		buf_reset(&e->e_err);
		if (key_set(k, v->v_vc, buf_str(&e->e_val), append,
		    &st->s_vals[i].v_pos, &e->e_err) == -1 ||
		    conf_plugin_check(k, v->v_vc, buf_str(&e->e_val),
		    f->ef_owner, v->v_file->ef_owner, &e->e_err) == -1)
			diag_error(e->e_ds, &st->s_vals[i].v_pos, "%s",
			    buf_str(&e->e_err));
	}
}

static void
eval_var(struct evalctx *e, struct vmctx *v, const struct stmt *st,
    const struct scope *sc)
{
	if (st->s_nvals > 1)
		diag_warn(e->e_ds, &st->s_vals[1].v_pos, "$%s takes one value; "
		    "the others are ignored", st->s_name);
	if (st->s_nvals == 0)
		return;
	/*
	 * On an error the variable is still set (empty): the VM is rejected
	 * anyway, and its later uses need no errors of their own.
	 */
	if (eval_value(&st->s_vals[0], sc, &e->e_val, e->e_ds) == -1)
		buf_reset(&e->e_val);
	/* A VM variable assigned over an argument replaces the argument. */
	if (sc->sc_args != NULL)
		vars_del(sc->sc_args, st->s_name);
	vars_set(&v->v_local, st->s_name, buf_str(&e->e_val));
}

/* ---- .apply ---- */

static void
template_args(struct evalctx *e, const struct apply_target *t,
    const struct section *ts, const struct scope *caller, struct vars *args)
{
	const struct argdef *ad;
	size_t i;
	int have;

	if (t->t_nargs > ts->sc_nargs && !(t->t_nargs == 1 &&
	    t->t_args[0].v_npieces == 0))
		diag_warn(e->e_ds, &t->t_pos, "template \"%s\" takes %zu "
		    "argument%s, %zu given; the extra ones are ignored",
		    ts->sc_name, ts->sc_nargs, ts->sc_nargs == 1 ? "" : "s",
		    t->t_nargs);
	for (i = 0; i < ts->sc_nargs; i++) {
		ad = &ts->sc_args[i];
		/*
		 * Given means written: t("") and t($empty) pass "", as the
		 * original does; only no tokens at all (t(), t(,x)) is omitted.
		 */
		have = i < t->t_nargs && t->t_args[i].v_npieces > 0;
		if (have && eval_value(&t->t_args[i], caller, &e->e_val,
		    e->e_ds) == -1)
			buf_reset(&e->e_val);
		if (!have && ad->ad_default != NULL) {
			if (eval_value(ad->ad_default, caller, &e->e_val,
			    e->e_ds) == -1)
				buf_reset(&e->e_val);
		} else if (!have) {
			diag_error(e->e_ds, &t->t_pos, "template \"%s\": "
			    "parameter \"%s\" (%s:%d:%d) has no default and is "
			    "not given", ts->sc_name, ad->ad_name,
			    ad->ad_pos.file, ad->ad_pos.line, ad->ad_pos.col);
			buf_reset(&e->e_val);
		}
		vars_set(args, ad->ad_name, buf_str(&e->e_val));
	}
}

static void
apply_one(struct evalctx *e, struct vmctx *v, const struct apply_target *t,
    const struct scope *caller)
{
	struct tmpl *tp;
	struct vars args;
	char *name;

	if (eval_value(&t->t_name, caller, &e->e_val, e->e_ds) == -1)
		return;
	name = xstrdup(buf_str(&e->e_val));
	if ((tp = tmpl_lookup(e, name, v->v_vc->vc_owner)) == NULL)
		diag_error(e->e_ds, &t->t_pos, "unknown template \"%s\"", name);
	else if (strmap_has(&v->v_applied, name))
		diag_warn(e->e_ds, &t->t_pos, "template \"%s\" already applied "
		    "to vm \"%s\"; skipped", name, v->v_vc->vc_name);
	else if (v->v_depth >= MAX_APPLY_DEPTH)
		diag_error(e->e_ds, &t->t_pos, "templates nested too deeply "
		    "(more than %d levels)", MAX_APPLY_DEPTH);
	else {
		memset(&args, 0, sizeof(args));
		template_args(e, t, tp->t_sect, caller, &args);
		strmap_put(&v->v_applied, name, tp);
		v->v_via[v->v_depth].cv_template = name;
		v->v_via[v->v_depth].cv_pos = t->t_pos;
		v->v_depth++;
		eval_stmts(e, v, tp->t_sect, tp->t_file, &args);
		v->v_depth--;
		vars_free(&args);
	}
	free(name);
}

static void
eval_stmts(struct evalctx *e, struct vmctx *v, const struct section *s,
    const struct eval_file *f, struct vars *args)
{
	struct scope sc = { args, &v->v_local, &e->e_globals, v->v_budget };
	const struct stmt *st;
	size_t i, j;

	for (i = 0; i < s->sc_nstmts; i++) {
		st = &s->sc_stmts[i];
		switch (st->s_type) {
		case ST_KEY:
			eval_key(e, v, st, &sc, f);
			break;
		case ST_VAR:
			eval_var(e, v, st, &sc);
			break;
		case ST_APPLY:
			for (j = 0; j < st->s_ntargets; j++)
				apply_one(e, v, &st->s_targets[j], &sc);
			break;
		}
	}
}

/*
 * A user's text must never configure a VM that runs with more rights
 * than that user has: every template applied must come from a root file
 * or from a file of the VM's (final) owner.
 */
static void
check_template_owners(struct evalctx *e, struct vmctx *v)
{
	const struct eval_file *f;
	const struct tmpl *tp;
	size_t i;

	for (i = 0; i < v->v_applied.sm_cap; i++) {
		if (v->v_applied.sm_v[i].se_key == NULL)
			continue;
		tp = v->v_applied.sm_v[i].se_val;
		f = tp->t_file;
		if (f->ef_owner == 0 || f->ef_owner == v->v_vc->vc_owner)
			continue;
		diag_error(e->e_ds, &v->v_vc->vc_pos, "vm \"%s\" (owner %s) "
		    "cannot apply template \"%s\" from %s, a file owned by %s",
		    v->v_vc->vc_name, owner_user_name(v->v_vc->vc_owner),
		    v->v_applied.sm_v[i].se_key, tp->t_sect->sc_pos.file,
		    owner_user_name(f->ef_owner));
	}
}

/* ---- vm sections ---- */

/*
 * The key of a VM's ID: its section name in root's files, the section
 * name and the owner in a user's, so that no user's section takes the ID
 * (and so the taps) of root's VM or another user's.  A section name met
 * again in the same load (name = makes such VMs distinct) gets a key of
 * its own: the file and its count in that file.
 */
static char *
id_key(struct evalctx *e, const struct eval_file *f, const struct section *s)
{
	const struct eval_file *holder;
	char *key, *sk;
	intptr_t n;

	key = f->ef_owner == 0 ? xstrdup(s->sc_name) : xprintf("%s\n%lu",
	    s->sc_name, (unsigned long)f->ef_owner);
	if ((holder = strmap_get(&e->e_idkeys, key)) != NULL) {
		/*
		 * Counted only once the name is met again: an earlier section
		 * of this file took the key itself (then it is the second),
		 * or it met the key taken too and started the count.
		 */
		sk = xprintf("%s\n%s", f->ef_ast->af_path, s->sc_name);
		if (!strmap_has(&e->e_seccount, sk))
			n = holder == f ? 1 : 0;
		else
			n = (intptr_t)strmap_get(&e->e_seccount, sk);
		strmap_put(&e->e_seccount, sk, (void *)(n + 1));
		free(sk);
		free(key);
		key = xprintf("%s\n%lu\n%s\n%ld", s->sc_name,
		    (unsigned long)f->ef_owner, f->ef_ast->af_path, (long)n);
	}
	strmap_put(&e->e_idkeys, key, (void *)f);
	return key;
}

/*
 * Users' files share a budget of expanded text per owner: a user's
 * expansion bomb ends as errors in that user's files, in bounded time.
 */
static struct budget *
user_budget(struct evalctx *e, uid_t owner)
{
	size_t i;

	for (i = 0; i < e->e_nbudgets; i++)
		if (e->e_budgets[i].b_owner == owner)
			return &e->e_budgets[i];
	ARRAY_GROW(e->e_budgets, e->e_nbudgets, e->e_capbudgets);
	memset(&e->e_budgets[i], 0, sizeof(e->e_budgets[i]));
	e->e_budgets[i].b_owner = owner;
	e->e_budgets[i].b_left = MAX_USER_EVAL;
	e->e_nbudgets++;
	return &e->e_budgets[i];
}

/*
 * A user's files may define MAX_USER_VMS VMs and expand MAX_USER_EVAL
 * bytes; past either bound the VM is rejected without being evaluated
 * (one error for the whole rest).  0: go on.
 */
static int
within_bounds(struct evalctx *e, const struct eval_file *f,
    const struct section *s, struct vmctx *v)
{
	struct budget *b;

	if (f->ef_owner == 0)
		return 0;
	b = user_budget(e, f->ef_owner);
	v->v_budget = &b->b_left;
	if (++b->b_nvms == MAX_USER_VMS + 1)
		diag_error(e->e_ds, &s->sc_pos, "vm \"%s\": the files of %s "
		    "define more than %d VMs; this one and those after it are "
		    "not loaded", s->sc_name, owner_user_name(f->ef_owner),
		    MAX_USER_VMS);
	else if (b->b_nvms <= MAX_USER_VMS && b->b_left == 0)
		diag_error(e->e_ds, &s->sc_pos, "vm \"%s\" is not loaded: the "
		    "evaluation limit of its owner's files was reached",
		    s->sc_name);
	else if (b->b_nvms <= MAX_USER_VMS)
		return 0;
	conf_add_rejected(e->e_conf, s->sc_name);
	return -1;
}

/* Does uid's VM have the name in the daemon's table? */
static int
holds(struct evalctx *e, const char *name, uid_t uid)
{
	int (*holder)(const char *, uid_t *) = e->e_in->ei_opts->lo_holder;
	uid_t owner;

	return holder != NULL && holder(name, &owner) == 1 && owner == uid;
}

/* The definition at pos is refused: holder's, at hpos, has the name. */
static void
held_by(struct evalctx *e, const struct pos *pos, const char *name,
    const struct pos *hpos, uid_t holder)
{
	diag_error(e->e_ds, pos, "vm \"%s\" is also defined at %s:%d:%d by "
	    "%s, whose VM it is; this one is not loaded", name, hpos->file,
	    hpos->line, hpos->col, owner_user_name(holder));
}

/* The earlier definition d gives the name up to the one in s. */
static void
give_up(struct evalctx *e, struct defined *d, const struct eval_file *f,
    const struct section *s, const char *name)
{
	struct vm_conf **vc;

	held_by(e, &d->d_pos, name, &s->sc_pos, f->ef_owner);
	if (d->d_accepted)
		e->e_conf->c_naccepted--;
	if (d->d_order > 0) {
		vc = &e->e_order[d->d_order - 1].o_vc;
		vm_conf_free(*vc);
		*vc = NULL;
	}
	d->d_pos = s->sc_pos;
	d->d_owner = f->ef_owner;
	d->d_order = 0;
	d->d_accepted = 0;
}

/*
 * The first definition of a name wins, but root's always win (pass 1),
 * and between two users the one whose VM has the name in the daemon
 * keeps it: no user takes another's name by coming first.  The name's
 * entry when this definition has it, NULL when it is refused.
 */
static struct defined *
check_defined(struct evalctx *e, const struct eval_file *f,
    const struct section *s, const char *name)
{
	struct defined *d;

	if ((d = strmap_get(&e->e_names, name)) == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->d_pos = s->sc_pos;
		d->d_owner = f->ef_owner;
		strmap_put(&e->e_names, name, d);
		return d;
	}
	if (d->d_owner == 0 && f->ef_owner != 0)
		diag_error(e->e_ds, &s->sc_pos, "vm \"%s\" is already defined "
		    "at %s:%d:%d, in a file owned by root", name,
		    d->d_pos.file, d->d_pos.line, d->d_pos.col);
	else if (d->d_owner != f->ef_owner && holds(e, name, f->ef_owner)) {
		give_up(e, d, f, s, name);
		return d;
	} else if (d->d_owner != f->ef_owner && holds(e, name, d->d_owner))
		held_by(e, &s->sc_pos, name, &d->d_pos, d->d_owner);
	else {
		diag_error(e->e_ds, &s->sc_pos, "vm \"%s\" is already defined "
		    "at %s:%d:%d", name, d->d_pos.file, d->d_pos.line,
		    d->d_pos.col);
		if (d->d_owner != 0 && f->ef_owner != 0 &&
		    d->d_owner != f->ef_owner)
			e->e_conf->c_contested++;
	}
	return NULL;
}

static struct vm_conf *
vm_start(struct evalctx *e, struct vmctx *v, const struct section *s)
{
	struct vm_conf *vc = vm_conf_new();
	char id[32];

	vc->vc_section = intern(s->sc_name);
	vc->vc_name = intern(s->sc_name);
	vc->vc_file = v->v_file->ef_ast->af_path;
	vc->vc_pos = s->sc_pos;
	vm_conf_positions(vc, 1);
	vc->vc_owner = v->v_file->ef_owner;
	vc->vc_idkey = id_key(e, v->v_file, s);
	vc->vc_id = idmap_get(e->e_ids, vc->vc_idkey);
	vc->vc_owner_name = intern(owner_user_name(vc->vc_owner));
	snprintf(id, sizeof(id), "%d", vc->vc_id);
	vars_set(&v->v_local, "NAME", vc->vc_name);
	vars_set(&v->v_local, "ID", id);
	vars_set(&v->v_local, "OWNER", vc->vc_owner_name);
	vars_set(&v->v_local, "GROUP", "");
	return vc;
}

/* Section si of file fi: s, in its tree or in the tree parsed again. */
static void
eval_vm(struct evalctx *e, size_t fi, size_t si, const struct section *s)
{
	const struct eval_file *f = &e->e_in->ei_files[fi];
	struct defined *d;
	struct vmctx v;
	struct vm_conf *vc;
	const char *why;
	size_t nerr = e->e_ds->ds_nerrors, before;

	if ((why = conf_vm_name_problem(s->sc_name)) != NULL) {
		diag_error(e->e_ds, &s->sc_pos, "vm \"%s\" is not a valid VM "
		    "name: %s; not loaded", s->sc_name, why);
		conf_add_rejected(e->e_conf, s->sc_name);
		return;
	}
	memset(&v, 0, sizeof(v));
	v.v_file = f;
	e->e_conf->c_nevaluated++;
	if (within_bounds(e, f, s, &v) == -1)
		return;
	v.v_vc = vc = vm_start(e, &v, s);
	eval_stmts(e, &v, s, f, NULL);
	check_template_owners(e, &v);
	conf_validate_vm(vc, e->e_in->ei_opts, e->e_ds);
	conf_check_user_bridges(vc, &e->e_conf->c_global, e->e_ds);
	/* checked: the positions only serve show config --origin now */
	if (!e->e_in->ei_opts->lo_origins)
		vm_conf_positions(vc, 0);
	before = e->e_ds->ds_nerrors;
	if ((d = check_defined(e, f, s, vc->vc_name)) != NULL)
		nerr += e->e_ds->ds_nerrors - before;	/* the other's */
	vars_free(&v.v_local);
	strmap_free(&v.v_applied, NULL);
	if (e->e_ds->ds_nerrors != nerr) {
		diag_error(e->e_ds, &s->sc_pos, "vm \"%s\" is not loaded "
		    "because of the errors above", vc->vc_name);
		conf_add_rejected(e->e_conf, vc->vc_name);
		conf_add_rejected(e->e_conf, s->sc_name);
		vm_conf_free(vc);
		return;
	}
	e->e_conf->c_naccepted++;
	d->d_accepted = 1;
	if (e->e_in->ei_opts->lo_discard_vms) {
		vm_conf_free(vc);
		return;
	}
	d->d_order = e->e_norder + 1;
	ARRAY_GROW(e->e_order, e->e_norder, e->e_capord);
	e->e_order[e->e_norder].o_vc = vc;
	e->e_order[e->e_norder].o_file = fi;
	e->e_order[e->e_norder].o_sect = si;
	e->e_norder++;
}

static int
order_cmp(const void *a, const void *b)
{
	const struct vmorder *x = a, *y = b;

	if (x->o_file != y->o_file)
		return x->o_file < y->o_file ? -1 : 1;
	return x->o_sect < y->o_sect ? -1 : x->o_sect > y->o_sect;
}

/* The vm sections of file fi, in af: its tree or its text parsed again. */
static void
eval_file_vms(struct evalctx *e, size_t fi, const struct ast_file *af,
    const char *only)
{
	const struct section *s;
	size_t j;

	for (j = 0; j < af->af_nsects; j++) {
		s = &af->af_sects[j];
		if (s->sc_type == SC_VM && (only == NULL ||
		    strcmp(s->sc_name, only) == 0))
			eval_vm(e, fi, j, s);
	}
}

/*
 * Root's VM sections are evaluated first, so that a name in a root-owned
 * file always wins over a user's, whatever the include order; the
 * accepted VMs are then put back in file order.
 */
static void
eval_vms(struct evalctx *e)
{
	const struct eval_in *in = e->e_in;
	const char *only = in->ei_opts->lo_only;
	const struct eval_file *f;
	struct ast_file *af = NULL;
	struct conf *c = e->e_conf;
	size_t i;
	int pass;

	if (only != NULL && !eval_one_safe(in, only))
		only = NULL;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < in->ei_nfiles && !c->c_fatal; i++) {
			f = &in->ei_files[i];
			if ((f->ef_owner == 0) != (pass == 0))
				continue;
			if (f->ef_text == NULL) {
				eval_file_vms(e, i, f->ef_ast, only);
				continue;
			}
			/* one tree's memory for all: see arena_reset */
			af = load_reparse(f, af);
			eval_file_vms(e, i, af, only);
		}
	ast_free(af);
	if (e->e_norder > 1)	/* qsort must not get NULL */
		qsort(e->e_order, e->e_norder, sizeof(*e->e_order),
		    order_cmp);
	c->c_vms = xreallocarray(NULL, e->e_norder + 1, sizeof(*c->c_vms));
	c->c_nvms = 0;
	for (i = 0; i < e->e_norder; i++)	/* given up: NULL */
		if (e->e_order[i].o_vc != NULL)
			c->c_vms[c->c_nvms++] = e->e_order[i].o_vc;
	free(e->e_order);
}

struct conf *
conf_eval(const struct eval_in *in, struct diags *ds)
{
	struct evalctx e;
	memset(&e, 0, sizeof(e));
	e.e_in = in;
	e.e_ds = ds;
	e.e_conf = xcalloc(1, sizeof(*e.e_conf));
	e.e_ids = in->ei_opts->lo_ids != NULL ? in->ei_opts->lo_ids :
	    idmap_new();
	global_conf_init(&e.e_conf->c_global);
	conf_validate_begin();
	vars_set(&e.e_globals, "LOCALBASE", LOCALBASE);
	collect_templates(&e);
	eval_globals(&e);
	/* plugin_directory is known: their keys come before any VM */
	conf_plugins_load(&e.e_conf->c_global);
	if (!in->ei_opts->lo_globals_only)
		eval_vms(&e);
	if (e.e_ids != in->ei_opts->lo_ids)
		idmap_free(e.e_ids);
	strmap_free(&e.e_tmpls, tmpl_free);
	strmap_free(&e.e_names, free);
	strmap_free(&e.e_idkeys, NULL);
	free(e.e_budgets);
	strmap_free(&e.e_seccount, NULL);
	vars_free(&e.e_globals);
	buf_free(&e.e_val);
	buf_free(&e.e_err);
	return e.e_conf;
}
