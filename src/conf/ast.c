/* Freeing syntax trees, and carrying them as JSON from the parser child. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"
#include "jsontext.h"
#include "lex.h"
#include "log.h"
#include "xmalloc.h"

/*
 * A tree read back holds positions in a handful of files at most (one,
 * today); the cap stops a hostile child from interning names for ever.
 */
#define JSON_MAXFILES	64

static const char *const sect_names[] = {
	[SC_GLOBAL] = "global", [SC_TEMPLATE] = "template",
	[SC_VM] = "vm", [SC_INCLUDE] = "include"
};
static const char *const stmt_names[] = {
	[ST_KEY] = "key", [ST_VAR] = "var", [ST_APPLY] = "apply"
};
static const char *const piece_names[] = {
	[PC_TEXT] = "text", [PC_VAR] = "var", [PC_ARITH] = "arith"
};
static const char *const op_names[] = {
	[AR_NUM] = "num", [AR_VAR] = "var", [AR_NEG] = "neg", [AR_ADD] = "add",
	[AR_SUB] = "sub", [AR_MUL] = "mul", [AR_DIV] = "div", [AR_MOD] = "mod",
	[AR_BAD] = "bad"
};
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- allocation ---- */

/* hint: the length of the text the tree is parsed from, if known. */
struct ast_file *
ast_file_new(size_t hint)
{
	struct ast_file *af = xcalloc(1, sizeof(*af));

	/*
	 * A tree takes 5 to 15 times the bytes of its text (comments take
	 * none): the first chunk is rather too small than too large, the
	 * next ones grow with the tree (arena.c).
	 */
	arena_init(&af->af_arena, hint > SIZE_MAX / 4 ? SIZE_MAX : hint * 4);
	return af;
}

void
ast_free(struct ast_file *af)
{
	if (af == NULL)
		return;
	arena_free(&af->af_arena);
	free(af);
}

/* ---- value builder ---- */

void
vb_init(struct vbuild *vb, struct arena *ar)
{
	memset(vb, 0, sizeof(*vb));
	buf_init(&vb->vb_text);
	vb->vb_arena = ar;
}

void
vb_free(struct vbuild *vb)
{
	free(vb->vb_pieces);
	buf_free(&vb->vb_text);
	memset(vb, 0, sizeof(*vb));
}

/* Start pending text at p unless some is already pending. */
void
vb_text(struct vbuild *vb, const struct pos *p)
{
	if (vb->vb_havetext)
		return;
	vb->vb_havetext = 1;
	vb->vb_textpos = *p;
}

static void
vb_push(struct vbuild *vb, const struct piece *pc)
{
	ARRAY_GROW(vb->vb_pieces, vb->vb_n, vb->vb_cap);
	vb->vb_pieces[vb->vb_n++] = *pc;
}

static void
vb_flush(struct vbuild *vb, int keepempty)
{
	struct piece pc;

	if (!vb->vb_havetext)
		return;
	vb->vb_havetext = 0;
	if (vb->vb_text.b_len == 0 && !keepempty)
		return;
	memset(&pc, 0, sizeof(pc));
	pc.p_type = PC_TEXT;
	pc.p_text = arena_strndup(vb->vb_arena, buf_str(&vb->vb_text),
	    vb->vb_text.b_len);
	pc.p_pos = vb->vb_textpos;
	buf_reset(&vb->vb_text);
	vb_push(vb, &pc);
}

void
vb_add(struct vbuild *vb, const struct piece *pc)
{
	if (pc->p_type == PC_TEXT) {
		/* Empty text only matters when nothing else is there. */
		if (pc->p_text[0] != '\0' ||
		    (vb->vb_n == 0 && !vb->vb_havetext))
			vb_text(vb, &pc->p_pos);
		buf_adds(&vb->vb_text, pc->p_text);
		return;
	}
	vb_flush(vb, 0);
	vb_push(vb, pc);
}

/* Drop what is built: vb is ready for the next value. */
void
vb_reset(struct vbuild *vb)
{
	vb->vb_n = 0;
	vb->vb_havetext = 0;
	buf_reset(&vb->vb_text);
}

/* The pieces go to the arena, sized exactly; vb is ready for the next. */
void
vb_finish(struct vbuild *vb, struct piece **pieces, size_t *n)
{
	vb_flush(vb, vb->vb_n == 0);
	*n = vb->vb_n;
	*pieces = vb->vb_n == 0 ? NULL : arena_memdup(vb->vb_arena,
	    vb->vb_pieces, vb->vb_n * sizeof(*vb->vb_pieces));
	vb_reset(vb);
}

/* ---- to JSON ---- */

struct jenc {
	const char	**je_files;
	size_t		  je_n, je_cap;
};

/* Text may be any bytes; JSON strings must be UTF-8 (jsontext.h). */
static json_t *
j_str(const char *s)
{
	return json_text(s);	/* NULL: not from the parser; refused when read */
}

static json_t *
j_pos(struct jenc *je, const struct pos *p)
{
	long long idx = -1;
	size_t i;

	if (p->file != NULL) {
		for (i = 0; i < je->je_n; i++)
			if (je->je_files[i] == p->file ||
			    strcmp(je->je_files[i], p->file) == 0)
				break;
		if (i == je->je_n) {
			ARRAY_GROW(je->je_files, je->je_n, je->je_cap);
			je->je_files[je->je_n++] = p->file;
		}
		idx = (long long)i;
	}
	return json_pack("[I,i,i]", (json_int_t)idx, p->line, p->col);
}

static json_t *
j_arith(struct jenc *je, const struct arith *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "op", json_string(op_names[a->a_op]));
	json_object_set_new(o, "pos", j_pos(je, &a->a_pos));
	if (a->a_op == AR_NUM)
		json_object_set_new(o, "n", json_integer(a->a_num));
	else if (a->a_op == AR_VAR || a->a_op == AR_BAD)
		json_object_set_new(o, "v", j_str(a->a_var));
	else {
		json_object_set_new(o, "l", j_arith(je, a->a_l));
		if (a->a_op != AR_NEG)
			json_object_set_new(o, "r", j_arith(je, a->a_r));
	}
	return o;
}

static json_t *
j_value(struct jenc *je, const struct value *v)
{
	json_t *o = json_object(), *arr = json_array(), *pc;
	const struct piece *p;
	size_t i;

	for (i = 0; i < v->v_npieces; i++) {
		p = &v->v_pieces[i];
		pc = json_object();
		json_object_set_new(pc, "type",
		    json_string(piece_names[p->p_type]));
		json_object_set_new(pc, "pos", j_pos(je, &p->p_pos));
		if (p->p_type == PC_ARITH)
			json_object_set_new(pc, "a", j_arith(je, p->p_arith));
		else
			json_object_set_new(pc, "s", j_str(p->p_text));
		json_array_append_new(arr, pc);
	}
	json_object_set_new(o, "pos", j_pos(je, &v->v_pos));
	json_object_set_new(o, "pieces", arr);
	return o;
}

static json_t *
j_values(struct jenc *je, const struct value *v, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, j_value(je, &v[i]));
	return arr;
}

static json_t *
j_stmt(struct jenc *je, const struct stmt *st)
{
	json_t *o = json_object(), *arr, *t;
	size_t i;

	json_object_set_new(o, "type", json_string(stmt_names[st->s_type]));
	json_object_set_new(o, "pos", j_pos(je, &st->s_pos));
	json_object_set_new(o, "valpos", j_pos(je, &st->s_valpos));
	if (st->s_type != ST_APPLY) {
		json_object_set_new(o, "name", j_str(st->s_name));
		json_object_set_new(o, "append", json_boolean(st->s_append));
		json_object_set_new(o, "vals",
		    j_values(je, st->s_vals, st->s_nvals));
		return o;
	}
	arr = json_array();
	for (i = 0; i < st->s_ntargets; i++) {
		t = json_object();
		json_object_set_new(t, "name",
		    j_value(je, &st->s_targets[i].t_name));
		json_object_set_new(t, "args", j_values(je,
		    st->s_targets[i].t_args, st->s_targets[i].t_nargs));
		json_object_set_new(t, "pos",
		    j_pos(je, &st->s_targets[i].t_pos));
		json_array_append_new(arr, t);
	}
	json_object_set_new(o, "targets", arr);
	return o;
}

static json_t *
j_args(struct jenc *je, const struct section *sc)
{
	json_t *arr = json_array(), *a;
	size_t i;

	for (i = 0; i < sc->sc_nargs; i++) {
		a = json_object();
		json_object_set_new(a, "name", j_str(sc->sc_args[i].ad_name));
		json_object_set_new(a, "pos",
		    j_pos(je, &sc->sc_args[i].ad_pos));
		if (sc->sc_args[i].ad_default != NULL)
			json_object_set_new(a, "default",
			    j_value(je, sc->sc_args[i].ad_default));
		json_array_append_new(arr, a);
	}
	return arr;
}

static json_t *
j_section(struct jenc *je, const struct section *sc)
{
	json_t *o = json_object(), *arr;
	size_t i;

	json_object_set_new(o, "type", json_string(sect_names[sc->sc_type]));
	json_object_set_new(o, "pos", j_pos(je, &sc->sc_pos));
	if (sc->sc_type == SC_INCLUDE) {
		json_object_set_new(o, "include", j_value(je, &sc->sc_include));
		return o;
	}
	if (sc->sc_type != SC_GLOBAL)
		json_object_set_new(o, "name", j_str(sc->sc_name));
	if (sc->sc_type == SC_TEMPLATE)
		json_object_set_new(o, "args", j_args(je, sc));
	arr = json_array();
	for (i = 0; i < sc->sc_nstmts; i++)
		json_array_append_new(arr, j_stmt(je, &sc->sc_stmts[i]));
	json_object_set_new(o, "stmts", arr);
	return o;
}

char *
ast_to_json(const struct ast_file *af)
{
	struct jenc je;
	json_t *o, *sects, *files;
	size_t i;
	char *s;

	memset(&je, 0, sizeof(je));
	o = json_object();
	sects = json_array();
	for (i = 0; i < af->af_nsects; i++)
		json_array_append_new(sects, j_section(&je, &af->af_sects[i]));
	files = json_array();
	for (i = 0; i < je.je_n; i++)
		json_array_append_new(files, j_str(je.je_files[i]));
	json_object_set_new(o, "path",
	    af->af_path != NULL ? j_str(af->af_path) : json_null());
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "sections", sects);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(je.je_files);
	if (s == NULL)
		fatalx("ast_to_json: out of memory");
	return s;
}

/*
 * Through JSON, as a tree from the parser child: the global and template
 * sections and the includes are few, the copy is cheap.
 */
struct ast_file *
ast_without_vms(const struct ast_file *af)
{
	struct ast_file g = { .af_path = af->af_path }, *copy;
	size_t i;
	char *j;

	g.af_sects = xreallocarray(NULL, af->af_nsects + 1,
	    sizeof(*g.af_sects));
	for (i = 0; i < af->af_nsects; i++)
		if (af->af_sects[i].sc_type != SC_VM)
			g.af_sects[g.af_nsects++] = af->af_sects[i];
	if (g.af_nsects == af->af_nsects) {
		free(g.af_sects);
		return NULL;
	}
	j = ast_to_json(&g);
	copy = ast_from_json(j, strlen(j));
	free(j);
	free(g.af_sects);
	return copy;
}

/* ---- from JSON: everything is checked, the sender is not trusted ---- */

struct jdec {
	const char	*jd_files[JSON_MAXFILES];
	size_t		 jd_n;
	struct arena	*jd_ar;		/* of the tree being read */
};

static json_t *
jget(json_t *o, const char *key, json_type type)
{
	json_t *v = json_object_get(o, key);

	return v != NULL && json_typeof(v) == type ? v : NULL;
}

static int
d_enum(json_t *o, const char *key, const char *const *names, size_t n)
{
	json_t *v = jget(o, key, JSON_STRING);
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		if (strcmp(json_string_value(v), names[i]) == 0)
			return (int)i;
	return -1;
}

static int
d_hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Lower-case hex pairs, as j_str writes them; a NUL byte is refused. */
static int
d_hex(struct jdec *jd, const char *s, char **out)
{
	size_t i, len = strlen(s);
	char *r;
	int hi, lo;

	if (len % 2 != 0)
		return -1;
	r = arena_alloc(jd->jd_ar, len / 2 + 1);
	for (i = 0; i < len; i += 2) {
		hi = d_hexdigit(s[i]);
		lo = d_hexdigit(s[i + 1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -1;
		r[i / 2] = (char)(hi * 16 + lo);
	}
	r[len / 2] = '\0';
	*out = r;
	return 0;
}

/* A string or {"hex": ...}, without NUL bytes; nonempty if asked. */
static int
d_str(struct jdec *jd, json_t *j, char **out, int nonempty)
{
	json_t *h;

	if (j != NULL && json_is_string(j)) {
		if (strlen(json_string_value(j)) != json_string_length(j))
			return -1;
		*out = arena_strndup(jd->jd_ar, json_string_value(j),
		    json_string_length(j));
	} else if ((h = jget(j, "hex", JSON_STRING)) != NULL) {
		if (d_hex(jd, json_string_value(h), out) == -1)
			return -1;
	} else
		return -1;
	if (nonempty && **out == '\0') {
		*out = NULL;
		return -1;
	}
	return 0;
}

static int
d_int(json_t *arr, size_t i, long long lo, long long hi, long long *out)
{
	json_t *v = json_array_get(arr, i);

	if (v == NULL || !json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return *out >= lo && *out <= hi ? 0 : -1;
}

static int
d_pos(struct jdec *jd, json_t *o, const char *key, struct pos *p)
{
	json_t *a = jget(o, key, JSON_ARRAY);
	long long f, line, col;

	if (a == NULL || json_array_size(a) != 3 ||
	    d_int(a, 0, -1, (long long)jd->jd_n - 1, &f) == -1 ||
	    d_int(a, 1, 0, INT_MAX, &line) == -1 ||
	    d_int(a, 2, 0, INT_MAX, &col) == -1)
		return -1;
	p->file = f < 0 ? NULL : jd->jd_files[f];
	p->line = (int)line;
	p->col = (int)col;
	return 0;
}

static struct arith *
d_arith(struct jdec *jd, json_t *o)
{
	struct arith *a;
	json_t *n;
	int op;

	if ((op = d_enum(o, "op", op_names, NELEM(op_names))) == -1)
		return NULL;
	a = arena_calloc(jd->jd_ar, 1, sizeof(*a));
	a->a_op = (enum arith_op)op;
	if (d_pos(jd, o, "pos", &a->a_pos) == -1)
		return NULL;
	if (op == AR_NUM) {
		if ((n = jget(o, "n", JSON_INTEGER)) == NULL)
			return NULL;
		a->a_num = json_integer_value(n);
	} else if (op == AR_VAR || op == AR_BAD) {
		if (d_str(jd, json_object_get(o, "v"), &a->a_var, 1) == -1)
			return NULL;
	} else {
		if ((a->a_l = d_arith(jd, json_object_get(o, "l"))) == NULL)
			return NULL;
		if (op != AR_NEG &&
		    (a->a_r = d_arith(jd, json_object_get(o, "r"))) == NULL)
			return NULL;
	}
	return a;
}

static int
d_piece(struct jdec *jd, json_t *o, struct piece *p)
{
	int t;

	if ((t = d_enum(o, "type", piece_names, NELEM(piece_names))) == -1 ||
	    d_pos(jd, o, "pos", &p->p_pos) == -1)
		return -1;
	p->p_type = (enum piece_type)t;
	if (t == PC_ARITH)
		p->p_arith = d_arith(jd, json_object_get(o, "a"));
	else if (d_str(jd, json_object_get(o, "s"), &p->p_text,
	    t == PC_VAR) == -1)
		return -1;
	return t == PC_ARITH && p->p_arith == NULL ? -1 : 0;
}

/* n zeroed elements (NULL for none), as the parser leaves them. */
static void *
d_alloc(struct jdec *jd, size_t n, size_t size)
{
	return n > 0 ? arena_calloc(jd->jd_ar, n, size) : NULL;
}

static int
d_value(struct jdec *jd, json_t *o, struct value *v)
{
	json_t *arr = jget(o, "pieces", JSON_ARRAY);
	size_t i;

	if (arr == NULL || d_pos(jd, o, "pos", &v->v_pos) == -1)
		return -1;
	v->v_npieces = json_array_size(arr);
	v->v_pieces = d_alloc(jd, v->v_npieces, sizeof(*v->v_pieces));
	for (i = 0; i < v->v_npieces; i++)
		if (d_piece(jd, json_array_get(arr, i), &v->v_pieces[i]) == -1)
			return -1;
	return 0;
}

/* An array of values; if nonempty, at least one. */
static int
d_values(struct jdec *jd, json_t *arr, struct value **v, size_t *n,
    int nonempty)
{
	size_t i;

	if (arr == NULL || !json_is_array(arr) ||
	    (nonempty && json_array_size(arr) == 0))
		return -1;
	*n = json_array_size(arr);
	*v = d_alloc(jd, *n, sizeof(**v));
	for (i = 0; i < *n; i++)
		if (d_value(jd, json_array_get(arr, i), &(*v)[i]) == -1)
			return -1;
	return 0;
}

static int
d_targets(struct jdec *jd, json_t *arr, struct stmt *st)
{
	struct apply_target *t;
	json_t *o;
	size_t i;

	if (arr == NULL || !json_is_array(arr) || json_array_size(arr) == 0)
		return -1;
	st->s_ntargets = json_array_size(arr);
	st->s_targets = d_alloc(jd, st->s_ntargets, sizeof(*st->s_targets));
	for (i = 0; i < st->s_ntargets; i++) {
		t = &st->s_targets[i];
		o = json_array_get(arr, i);
		if (d_value(jd, json_object_get(o, "name"), &t->t_name) == -1 ||
		    d_values(jd, json_object_get(o, "args"), &t->t_args,
		    &t->t_nargs, 0) == -1 ||
		    d_pos(jd, o, "pos", &t->t_pos) == -1)
			return -1;
	}
	return 0;
}

static int
d_stmt(struct jdec *jd, json_t *o, struct stmt *st)
{
	json_t *app;
	int t;

	if ((t = d_enum(o, "type", stmt_names, NELEM(stmt_names))) == -1 ||
	    d_pos(jd, o, "pos", &st->s_pos) == -1 ||
	    d_pos(jd, o, "valpos", &st->s_valpos) == -1)
		return -1;
	st->s_type = (enum stmt_type)t;
	if (t == ST_APPLY)
		return d_targets(jd, json_object_get(o, "targets"), st);
	if ((app = json_object_get(o, "append")) == NULL ||
	    !json_is_boolean(app))
		return -1;
	st->s_append = json_is_true(app);
	if (d_str(jd, json_object_get(o, "name"), &st->s_name,
	    t == ST_VAR) == -1)
		return -1;
	return d_values(jd, json_object_get(o, "vals"), &st->s_vals,
	    &st->s_nvals, 1);
}

static int
d_args(struct jdec *jd, json_t *arr, struct section *sc)
{
	struct argdef *ad;
	json_t *o, *def;
	size_t i;

	if (arr == NULL || !json_is_array(arr))
		return -1;
	sc->sc_nargs = json_array_size(arr);
	sc->sc_args = d_alloc(jd, sc->sc_nargs, sizeof(*sc->sc_args));
	for (i = 0; i < sc->sc_nargs; i++) {
		ad = &sc->sc_args[i];
		o = json_array_get(arr, i);
		if (d_str(jd, json_object_get(o, "name"), &ad->ad_name,
		    0) == -1 ||
		    d_pos(jd, o, "pos", &ad->ad_pos) == -1)
			return -1;
		if ((def = json_object_get(o, "default")) == NULL)
			continue;
		ad->ad_default = arena_calloc(jd->jd_ar, 1,
		    sizeof(*ad->ad_default));
		if (d_value(jd, def, ad->ad_default) == -1)
			return -1;
	}
	return 0;
}

static int
d_section(struct jdec *jd, json_t *o, struct section *sc)
{
	json_t *arr;
	size_t i;
	int t;

	if ((t = d_enum(o, "type", sect_names, NELEM(sect_names))) == -1 ||
	    d_pos(jd, o, "pos", &sc->sc_pos) == -1)
		return -1;
	sc->sc_type = (enum sect_type)t;
	if (t == SC_INCLUDE)
		return d_value(jd, json_object_get(o, "include"),
		    &sc->sc_include);
	if (t != SC_GLOBAL &&
	    d_str(jd, json_object_get(o, "name"), &sc->sc_name, 0) == -1)
		return -1;
	if (t == SC_TEMPLATE &&
	    d_args(jd, json_object_get(o, "args"), sc) == -1)
		return -1;
	if ((arr = jget(o, "stmts", JSON_ARRAY)) == NULL)
		return -1;
	sc->sc_nstmts = json_array_size(arr);
	sc->sc_stmts = d_alloc(jd, sc->sc_nstmts, sizeof(*sc->sc_stmts));
	for (i = 0; i < sc->sc_nstmts; i++)
		if (d_stmt(jd, json_array_get(arr, i), &sc->sc_stmts[i]) == -1)
			return -1;
	return 0;
}

static int
d_files(struct jdec *jd, json_t *arr)
{
	char *s;
	size_t i;

	if (arr == NULL || json_array_size(arr) > JSON_MAXFILES)
		return -1;
	for (i = 0; i < json_array_size(arr); i++) {
		if (d_str(jd, json_array_get(arr, i), &s, 0) == -1)
			return -1;
		jd->jd_files[jd->jd_n++] = pos_intern(s);
	}
	return 0;
}

static int
d_file(json_t *root, struct ast_file *af)
{
	struct jdec jd;
	json_t *path, *arr;
	char *s;
	size_t i;

	memset(&jd, 0, sizeof(jd));
	jd.jd_ar = &af->af_arena;
	if (d_files(&jd, jget(root, "files", JSON_ARRAY)) == -1 ||
	    (path = json_object_get(root, "path")) == NULL ||
	    (arr = jget(root, "sections", JSON_ARRAY)) == NULL)
		return -1;
	if (!json_is_null(path)) {
		if (d_str(&jd, path, &s, 0) == -1)
			return -1;
		af->af_path = pos_intern(s);
	}
	af->af_nsects = json_array_size(arr);
	af->af_sects = d_alloc(&jd, af->af_nsects, sizeof(*af->af_sects));
	for (i = 0; i < af->af_nsects; i++)
		if (d_section(&jd, json_array_get(arr, i),
		    &af->af_sects[i]) == -1)
			return -1;
	return 0;
}

struct ast_file *
ast_from_json(const char *json, size_t len)
{
	struct ast_file *af;
	json_error_t err;
	json_t *root;

	if (json == NULL || (root = json_loadb(json, len,
	    JSON_REJECT_DUPLICATES, &err)) == NULL)
		return NULL;
	af = ast_file_new(len / 4);
	if (!json_is_object(root) || d_file(root, af) == -1) {
		ast_free(af);
		af = NULL;
	}
	json_decref(root);
	return af;
}
