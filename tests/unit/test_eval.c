/*
 * Unit tests for the evaluation pass (src/conf/eval.c, evalval.c) through
 * conf_load_buffer(): variables and scopes, templates, $((...)) results and
 * errors, global sections, IDs, and which errors reject one VM or the load.
 * The includes tests write files under a temporary directory.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "keys.h"
#include "tfile.h"

#define DIR	"/nonexistent-bmd-unit"
#define PATH	DIR "/t.conf"

/* The last load: its result, and its diagnostics joined by newlines
 * with DIR/ removed ("t.conf:3:5: message"). */
static struct conf	*cur;
static char		*errs;
static size_t		 nerrors, nwarnings;
static char		 tmpdir[64];

static void
reset(void)
{
	conf_free(cur);
	cur = NULL;
	free(errs);
	errs = NULL;
}

static void
collect(struct diags *ds, const char *strip)
{
	struct buf b;
	const char *t, *p;
	size_t i, n = strlen(strip);

	buf_init(&b);
	nerrors = nwarnings = 0;
	for (i = 0; i < ds->ds_n; i++) {
		t = ds->ds_v[i].d_text;
		if (ds->ds_v[i].d_level == DIAG_ERROR)
			nerrors++;
		else
			nwarnings++;
		if (i > 0)
			buf_addc(&b, '\n');
		while ((p = strstr(t, strip)) != NULL) {
			buf_add(&b, t, (size_t)(p - t));
			t = p + n;
		}
		buf_adds(&b, t);
	}
	buf_adds(&b, "");
	errs = buf_release(&b);
}

static struct conf *
load_at(const char *path, const char *strip, const char *text,
    struct idmap *ids)
{
	struct conf_load_opts lo = { .lo_path = path, .lo_ids = ids };
	struct diags ds;

	reset();
	diags_init(&ds);
	cur = conf_load_buffer(path, text, strlen(text), &lo, &ds);
	assert_non_null(cur);
	collect(&ds, strip);
	diags_free(&ds);
	return cur;
}

static struct conf *
load(const char *text)
{
	return load_at(PATH, DIR "/", text, NULL);
}

/* A valid configuration: no diagnostic at all. */
static struct conf *
load_ok(const char *text)
{
	load(text);
	if (errs[0] != '\0' || cur->c_fatal)
		fail_msg("unexpected diagnostics:\n%s", errs);
	return cur;
}

static struct vm_conf *
vm(const char *name)
{
	struct vm_conf *vc = conf_find_vm(cur, name);

	if (vc == NULL)
		fail_msg("vm \"%s\" not loaded; diagnostics:\n%s", name, errs);
	return vc;
}

/* A key's text form ("" when unset and without a default). */
static const char *
val(const char *vmname, const char *keyname)
{
	static char out[1024];
	const struct conf_key *k = keys_find(keyname);
	struct buf b;

	assert_non_null(k);
	buf_init(&b);
	key_text(k, vm(vmname), &b);
	snprintf(out, sizeof(out), "%s", buf_str(&b));
	buf_free(&b);
	return out;
}

#define assert_val(vmname, keyname, want) \
	assert_string_equal(val((vmname), (keyname)), (want))

#define assert_errs(want) assert_string_equal(errs, (want))

static void
assert_has(const char *needle)
{
	if (strstr(errs, needle) == NULL)
		fail_msg("\"%s\" not in the diagnostics:\n%s", needle, errs);
}

static int
is_root(void)
{
	return geteuid() == 0;
}

/* ---- values and variables ---- */

static void
test_concat_and_quotes(void **state)
{
	(void)state;
	load_ok("vm a { memory = 1G; keymap = a b c; qemu_cpu = a \"b c\" d;\n"
	    "qemu_machine = '$NAME\\t'; debug_port = \"$NAME\"; }");
	assert_val("a", "keymap", "abc");
	assert_val("a", "qemu_cpu", "ab cd");
	assert_val("a", "qemu_machine", "$NAME\t");
	assert_val("a", "debug_port", "a");
	reset();
}

static void
test_scopes(void **state)
{
	(void)state;
	if (!is_root())
		skip();	/* global sections count only in root's files */
	load_ok("vm early { memory = 1G; keymap = $g; }\n"
	    "global { $g = G; $s = \"global\"; }\n"
	    "template t(s) { keymap = $s; $s = tlocal; qemu_cpu = $s; }\n"
	    "vm a { memory = 1G; $s = local; debug_port = $s;\n"
	    "  .apply t(arg); qemu_machine = $s; }\n"
	    "vm b { memory = 1G; keymap = $s; }\n");
	assert_val("early", "keymap", "G");
	assert_val("a", "debug_port", "local");
	assert_val("a", "keymap", "arg");
	assert_val("a", "qemu_cpu", "tlocal");
	assert_val("a", "qemu_machine", "tlocal");
	assert_val("b", "keymap", "global");
	reset();
}

static void
test_var_assignment(void **state)
{
	(void)state;
	load("vm a { memory = 1G; $x = one; $x += two; keymap = $x;\n"
	    "$y = first, second; qemu_cpu = $y; }");
	assert_val("a", "keymap", "two");
	assert_val("a", "qemu_cpu", "first");
	assert_int_equal(nerrors, 0);
	assert_int_equal(nwarnings, 1);
	assert_has("t.conf:2:13: warning: $y takes one value");
	reset();
}

static void
test_undefined(void **state)
{
	(void)state;
	load("vm a { memory = 1G; keymap = ${imgpath}; }\n"
	    "vm ok { memory = 1G; }\n");
	assert_errs("t.conf:1:30: ${imgpath} is undefined\n"
	    "t.conf:1:1: vm \"a\" is not loaded because of the errors above");
	assert_false(cur->c_fatal);
	assert_int_equal(cur->c_nvms, 1);
	assert_null(conf_find_vm(cur, "a"));
	vm("ok");
	reset();
}

static void
test_predefined(void **state)
{
	struct vm_conf *vc;

	(void)state;
	load_ok("vm first { memory = 1G;\n"
	    " keymap = \"$NAME/$ID/[$GROUP]/$LOCALBASE\"; name = second;\n"
	    " qemu_cpu = $NAME; $ID = 7; qemu_machine = $ID;\n"
	    " owner = daemon:nogroup; debug_port = \"$OWNER:$GROUP\"; }\n"
	    "vm next { memory = 1G; keymap = $ID; debug_port = $OWNER; }\n");
	vc = vm("second");
	assert_string_equal(vc->vc_section, "first");
	assert_int_equal(vc->vc_id, 0);
	assert_val("second", "keymap", "first/0/[]/" LOCALBASE);
	assert_val("second", "qemu_cpu", "second");
	assert_val("second", "qemu_machine", "7");
	assert_val("second", "debug_port", "daemon:nogroup");
	assert_string_equal(vc->vc_owner_name, "daemon");
	assert_string_equal(vc->vc_group_name, "nogroup");
	assert_int_equal(vm("next")->vc_id, 1);
	assert_val("next", "keymap", "1");
	/* the default owner is the owner of the file: here, us */
	assert_int_equal(vm("next")->vc_owner, geteuid());
	reset();
}

/* ---- templates ---- */

static void
test_template_args(void **state)
{
	(void)state;
	load("template t(a = A, b = def, c = C) { keymap = \"$a/$b/$c\"; }\n"
	    "vm given { memory = 1G; .apply t(1, 2, 3); }\n"
	    "vm empty { memory = 1G; .apply t(1, , \"\"); }\n"
	    "vm bare { memory = 1G; .apply t; }\n"
	    "vm paren { memory = 1G; .apply t(); }\n"
	    "vm extra { memory = 1G; .apply t(1, 2, 3, 4); }\n"
	    "vm caller { memory = 1G; $v = V; .apply t($v, $v$v, $e); "
	    "$e = x; }\n"
	    "global { $e = \"\"; }\n");
	assert_val("given", "keymap", "1/2/3");
	/* given empty is "" (as the original), omitted is the default */
	assert_val("empty", "keymap", "1/def/");
	assert_val("bare", "keymap", "A/def/C");
	assert_val("paren", "keymap", "A/def/C");
	assert_val("extra", "keymap", "1/2/3");
	assert_val("caller", "keymap", "V/VV/");
	assert_int_equal(nerrors, 0);
	assert_int_equal(nwarnings, 1);
	assert_has("t.conf:6:32: warning: template \"t\" takes 3 arguments, "
	    "4 given");
	reset();
}

/* A parameter with no default must be given; one never read warns. */
static void
test_template_param_checks(void **state)
{
	(void)state;
	load("template t(a, b = B, unused, c = C) { keymap = \"$a$b$c\"; }\n"
	    "vm bare { memory = 1G; .apply t; }\n"
	    "vm skip { memory = 1G; .apply t(, 1, 2); }\n"
	    "vm ok { memory = 1G; .apply t(1, , 2); }\n");
	assert_val("ok", "keymap", "1BC");
	assert_has("t.conf:2:1: vm \"bare\" is not loaded");
	assert_has("t.conf:3:1: vm \"skip\" is not loaded");
	assert_has("t.conf:1:22: warning: template \"t\": parameter \"unused\" "
	    "is never used in its body");
	assert_has("t.conf:2:31: template \"t\": parameter \"a\" (t.conf:1:12) "
	    "has no default and is not given");
	assert_has("t.conf:3:31: template \"t\": parameter \"a\" (t.conf:1:12) "
	    "has no default and is not given");
	reset();
}

static void
test_template_default_in_caller_scope(void **state)
{
	(void)state;
	load_ok("template t4(a = A, b = $hoge) { keymap = \"$a:$b\"; }\n"
	    "vm a { memory = 1G; $hoge = load; .apply t4; }\n");
	assert_val("a", "keymap", "A:load");
	reset();
}

static void
test_template_name_from_variable(void **state)
{
	(void)state;
	load_ok("template small(m = 512M) { memory = $m; }\n"
	    "vm a { $t = small; .apply $t(2G); }\n"
	    "vm b { $t = sm; .apply ${t}all; }\n");
	assert_int_equal(vm("a")->vc_memory.m_bytes, 2ULL << 30);
	assert_int_equal(vm("b")->vc_memory.m_bytes, 512ULL << 20);
	reset();
}

static void
test_template_nested(void **state)
{
	(void)state;
	load_ok("template outer(a, b = B) { .apply inner(\"$a+$b\");\n"
	    "  keymap = \"outer:$a\"; }\n"
	    "template inner(x) { qemu_cpu = \"inner:$x\"; }\n"
	    "vm a { memory = 1G; .apply outer(1); }\n");
	assert_val("a", "keymap", "outer:1");
	assert_val("a", "qemu_cpu", "inner:1+B");
	/* the inner template cannot see the outer one's arguments */
	load("template outer(a) { .apply inner; cmdline = $a; }\n"
	    "template inner { keymap = $a; }\n"
	    "vm a { memory = 1G; .apply outer(1); }\n");
	assert_errs("t.conf:2:27: ${a} is undefined\n"
	    "t.conf:3:1: vm \"a\" is not loaded because of the errors above");
	reset();
}

static void
test_template_applied_once(void **state)
{
	(void)state;
	load("template t { disk += noexist:/t; }\n"
	    "template rec { .apply rec; keymap = rec; }\n"
	    "vm a { memory = 1G; .apply t; .apply t; .apply rec; }\n"
	    "vm b { memory = 1G; .apply t; }\n");
	assert_int_equal(nerrors, 0);
	assert_int_equal(nwarnings, 2);
	assert_int_equal(vm("a")->vc_disk.l_n, 1);
	assert_int_equal(vm("b")->vc_disk.l_n, 1);
	assert_val("a", "keymap", "rec");
	assert_has("t.conf:3:38: warning: template \"t\" already applied");
	assert_has("t.conf:2:23: warning: template \"rec\" already applied");
	reset();
}

static void
test_template_duplicate_is_fatal(void **state)
{
	(void)state;
	load("template t { keymap = a; }\n"
	    "vm a { memory = 1G; }\n"
	    "template t { keymap = b; }\n");
	assert_true(cur->c_fatal);
	assert_int_equal(cur->c_nvms, 0);
	assert_errs("t.conf:3:1: template \"t\" is already defined at "
	    "t.conf:1:1");
	reset();
}

static void
test_template_unknown(void **state)
{
	(void)state;
	load("vm a { memory = 1G; .apply nosuch; }\nvm ok { memory = 1G; }\n");
	assert_false(cur->c_fatal);
	assert_errs("t.conf:1:28: unknown template \"nosuch\"\n"
	    "t.conf:1:1: vm \"a\" is not loaded because of the errors above");
	assert_int_equal(cur->c_nvms, 1);
	reset();
}

static void
chain(struct buf *b, int n)
{
	int i;

	buf_reset(b);
	for (i = 0; i < n - 1; i++)
		buf_printf(b, "template t%d { .apply t%d; }\n", i, i + 1);
	buf_printf(b, "template t%d { keymap = deep; }\n", n - 1);
	buf_adds(b, "vm a { memory = 1G; .apply t0; }\nvm ok { memory = 1G; }\n");
}

static void
test_template_depth(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	chain(&b, 32);
	load_ok(buf_str(&b));
	assert_val("a", "keymap", "deep");
	chain(&b, 33);
	load(buf_str(&b));
	assert_int_equal(nerrors, 2);
	assert_has("templates nested too deeply");
	assert_null(conf_find_vm(cur, "a"));
	vm("ok");
	/* a long chain is an error, not a stack overflow */
	chain(&b, 5000);
	load(buf_str(&b));
	assert_has("templates nested too deeply");
	vm("ok");
	buf_free(&b);
	reset();
}

static void
test_template_order(void **state)
{
	(void)state;
	load_ok("template clear { disk = noexist:/t; }\n"
	    "vm a { memory = 1G; disk = noexist:/own; .apply clear;\n"
	    "  disk += noexist:/after; }\n");
	assert_val("a", "disk", "virtio-blk:noexist:/t, virtio-blk:noexist:/after");
	reset();
}

/* ---- arithmetic ---- */

static void
test_arith_values(void **state)
{
	static const struct {
		const char	*expr;
		const char	*want;
	} tc[] = {
		{ "1+2*3", "7" }, { "(1+2)*3", "9" }, { "2-3-4", "-5" },
		{ "100/10/5", "2" }, { "7/2", "3" }, { "-7/2", "-3" },
		{ "7%3", "1" }, { "-7%3", "-1" }, { "2*3%4", "2" },
		{ "1+8/2*3-1", "12" }, { "-5", "-5" }, { "-(2+3)", "-5" },
		{ "2*-3", "-6" }, { "-(-3)", "3" }, { "3- -2", "5" },
		{ "0x10", "16" }, { "0XfF", "255" }, { "010", "8" },
		{ "0", "0" }, { "00", "0" }, { " 1 +\n 2 ", "3" },
		{ "$x", "5" }, { "-$x", "-5" }, { "${x}*$x", "25" },
		{ "$h+$o", "46" }, { "$ID", "0" }, { "$n", "-3" },
		{ "9223372036854775807", "9223372036854775807" },
		{ "-9223372036854775807-1", "-9223372036854775808" },
		{ "((((1))))", "1" },
	};
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		snprintf(text, sizeof(text), "vm a { memory = 1G; $x = 5; "
		    "$h = 0x1f; $o = 017; $n = -3; keymap = $((%s)); }",
		    tc[i].expr);
		load(text);
		if (errs[0] != '\0')
			fail_msg("$((%s)): %s", tc[i].expr, errs);
		if (strcmp(val("a", "keymap"), tc[i].want) != 0)
			fail_msg("$((%s)) = %s, expected %s", tc[i].expr,
			    val("a", "keymap"), tc[i].want);
	}
	load_ok("vm a { memory = $((1024*2))M; keymap = \"port $((1+2))\";\n"
	    "qemu_cpu = $((1))x$((2)); graphics_port = $((5900 + $ID)); }");
	assert_int_equal(vm("a")->vc_memory.m_bytes, 2ULL << 30);
	assert_val("a", "keymap", "port 3");
	assert_val("a", "qemu_cpu", "1x2");
	assert_int_equal(vm("a")->vc_graphics_port, 5900);
	reset();
}

struct arith_case {
	const char	*expr;
	const char	*msg;
};

static void arith_vm_errors(const struct arith_case *, size_t);

/* Evaluation errors reject the VM; the others load. */
static void
test_arith_vm_errors(void **state)
{
	static const struct arith_case tc[] = {
		{ "1/0", "division by zero" },
		{ "1%0", "division by zero" },
		{ "5%($z*2)", "division by zero" },
		{ "9223372036854775807+1", "integer overflow" },
		{ "-9223372036854775807-2", "integer overflow" },
		{ "4611686018427387904*2", "integer overflow" },
		{ "-$min", "integer overflow" },
		{ "$min/-1", "integer overflow" },
		{ "$min%-1", "integer overflow" },
		{ "$big", "integer overflow" },
		{ "$word", "${word} is not a number" },
		{ "$empty", "${empty} is not a number" },
		{ "$nosuch", "${nosuch} is undefined" },
	};

	(void)state;
	arith_vm_errors(tc, sizeof(tc) / sizeof(tc[0]));
}

/*
 * Spec 1.6 lists 08 among the evaluation errors, and a literal out of
 * range is an overflow: arithmetic errors reject the VM, not the load.
 */
static void
test_arith_literal_errors_reject_vm(void **state)
{
	static const struct arith_case tc[] = {
		{ "08", "08" },
		{ "99999999999999999999", "integer overflow" },
	};

	(void)state;
	arith_vm_errors(tc, sizeof(tc) / sizeof(tc[0]));
}

static void
arith_vm_errors(const struct arith_case *tc, size_t n)
{
	char text[512];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "vm a { memory = 1G; $z = 0; "
		    "$min = -9223372036854775808; $big = 9223372036854775808; "
		    "$word = abc; $empty = \"\"; keymap = $((%s)); }\n"
		    "vm ok { memory = 1G; }\n", tc[i].expr);
		load(text);
		if (strstr(errs, tc[i].msg) == NULL)
			fail_msg("$((%s)): \"%s\" not in:\n%s", tc[i].expr,
			    tc[i].msg, errs);
		if (cur->c_fatal || cur->c_nvms != 1 ||
		    conf_find_vm(cur, "ok") == NULL)
			fail_msg("$((%s)): should reject vm a only (fatal %d, "
			    "%zu VMs):\n%s", tc[i].expr, cur->c_fatal,
			    cur->c_nvms, errs);
		assert_has("vm \"a\" is not loaded because of the errors above");
	}
	reset();
}

/* Malformed expressions are syntax errors: nothing loads. */
static void
test_arith_syntax_errors(void **state)
{
	static const char *const tc[] = { "1+", "+1", "ID+1", "1 2", "--1",
	    "()", "", "1 & 2", "1 < 2", "x = 2", "(1", "1)", "1 ** 2",
	    "$", "0x", "1.5" };
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		snprintf(text, sizeof(text), "vm ok { memory = 1G; }\n"
		    "vm a { memory = 1G; keymap = $((%s)); }\n", tc[i]);
		load(text);
		if (!cur->c_fatal || cur->c_nvms != 0 || nerrors == 0)
			fail_msg("$((%s)): not a fatal syntax error (fatal %d, "
			    "%zu VMs):\n%s", tc[i], cur->c_fatal, cur->c_nvms,
			    errs);
	}
	reset();
}

/* ---- syntax errors and whole-load failures ---- */

static void
test_syntax_error_rejects_all(void **state)
{
	static const char *const tc[] = {
		"vm a { memory = 1G; keymap = a(b); }",
		"vm a { memory = 1G; keymap = a=b; }",
		"vm a { memory = 1G }",
		"vm a { memory = 1G;; }",
		"vm a { memory = 1G; }; ",
		"vm a { memory = 1G; keymap = \"abc; }",
		"vm a { memory = 1G; keymap = ${abc\n; }",
		"vm a { memory = 1G; /* }",
		"vm a { memory = 1G; keymap = \xc3\xa9; }",
		"vm a { memory = 1G; keymap = vm; }",
		"Global { }",
		"global foo { }",
		"vm a { memory = 1G; .include \"x\"; }",
		"vm { memory = 1G; }",
		"vm a { memory = 1G;",
	};
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		snprintf(text, sizeof(text), "vm ok { memory = 1G; }\n%s\n",
		    tc[i]);
		load(text);
		if (!cur->c_fatal || cur->c_nvms != 0 || nerrors == 0)
			fail_msg("%s: not fatal (fatal %d, %zu VMs):\n%s",
			    tc[i], cur->c_fatal, cur->c_nvms, errs);
		if (strncmp(errs, "t.conf:", 7) != 0)
			fail_msg("%s: error without FILE:LINE:COL: %s", tc[i],
			    errs);
	}
	reset();
}

static void
test_vm_errors_reject_vm(void **state)
{
	static const char *const tc[] = {
		"memroy = 1G;",
		"memory = 0;",
		"memory = 1G, 2G;",
		"memory += 1G;",
		"ncpu = 2:2:0;",
		"install = maybe;",
		"boot = install;",
		"disk = foo:/x;",
		"disk = disk.img;",
		"network = wol:bridge0;",
		"owner = bmd-no-such-user;",
		"keymap = $undefined;",
		"name = \"\";",
		".apply nosuch;",
	};
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		snprintf(text, sizeof(text), "vm a { memory = 1G; %s }\n"
		    "vm ok { memory = 1G; }\n", tc[i]);
		load(text);
		if (cur->c_fatal || cur->c_nvms != 1 ||
		    conf_find_vm(cur, "ok") == NULL)
			fail_msg("%s: should reject vm a only:\n%s", tc[i],
			    errs);
		assert_has("t.conf:1:1: vm \"a\" is not loaded because of the "
		    "errors above");
	}
	reset();
}

static void
test_duplicate_vm(void **state)
{
	(void)state;
	load("vm a { memory = 1G; keymap = first; }\n"
	    "vm a { memory = 2G; }\n"
	    "vm b { memory = 1G; name = a; }\n");
	assert_false(cur->c_fatal);
	assert_int_equal(cur->c_nvms, 1);
	assert_val("a", "keymap", "first");
	assert_errs("t.conf:2:1: vm \"a\" is already defined at t.conf:1:1\n"
	    "t.conf:2:1: vm \"a\" is not loaded because of the errors above\n"
	    "t.conf:3:1: vm \"a\" is already defined at t.conf:1:1\n"
	    "t.conf:3:1: vm \"a\" is not loaded because of the errors above");
	reset();
}

static void
test_missing_main_file(void **state)
{
	struct conf_load_opts lo = { .lo_path = DIR "/missing.conf" };
	struct diags ds;

	(void)state;
	reset();
	diags_init(&ds);
	cur = conf_load(&lo, &ds);
	assert_non_null(cur);
	assert_true(cur->c_fatal);
	assert_int_equal(cur->c_nvms, 0);
	assert_true(ds.ds_nerrors > 0);
	assert_non_null(strstr(ds.ds_v[0].d_text, DIR "/missing.conf"));
	diags_free(&ds);
	reset();
}

/* ---- globals ---- */

static void
test_globals(void **state)
{
	struct global_conf *gc;

	(void)state;
	if (!is_root())
		skip();
	load("global { cmd_socket_path = /run/a.sock; $g = one; }\n"
	    "global { cmd_socket_path = /run/b.sock; nmdm_offset = 300;\n"
	    "  $g = two; }\n"
	    "vm a { memory = 1G; keymap = $g; }\n"
	    "global { $g = three; nmdm_offset = 400; }\n");
	assert_int_equal(nerrors, 0);
	assert_int_equal(nwarnings, 2);
	gc = &cur->c_global;
	assert_string_equal(gc->gc_cmd_socket_path, "/run/a.sock");
	assert_int_equal(gc->gc_nmdm_offset, 300);
	assert_string_equal(gc->gc_cmd_socket_mode, "0666");
	assert_val("a", "keymap", "three");
	assert_has("t.conf:2:10: warning: \"cmd_socket_path\" is already set");
	assert_has("t.conf:5:22: warning: \"nmdm_offset\" is already set");

	load("global { Pid_file = /x; memroy = 1; }\nvm a { memory = 1G; }\n");
	assert_false(cur->c_fatal);
	assert_int_equal(nerrors, 2);
	assert_has("unknown global key \"Pid_file\" (did you mean \"pid_file\"?)");
	vm("a");
	reset();
}

/* ---- IDs ---- */

static void
test_ids_stable(void **state)
{
	struct idmap *ids = idmap_new();

	(void)state;
	load_at(PATH, DIR "/", "vm a { memory = 1G; }\nvm b { memory = 1G; }\n",
	    ids);
	assert_int_equal(vm("a")->vc_id, 0);
	assert_int_equal(vm("b")->vc_id, 1);
	/* b removed, c added, a moved: a keeps 0, c takes 2 */
	load_at(PATH, DIR "/", "vm c { memory = 1G; }\nvm a { memory = 1G; }\n",
	    ids);
	assert_int_equal(vm("c")->vc_id, 2);
	assert_int_equal(vm("a")->vc_id, 0);
	/* b re-added gets its old ID back */
	load_at(PATH, DIR "/", "vm b { memory = 1G; }\n", ids);
	assert_int_equal(vm("b")->vc_id, 1);
	/* rejected VMs consume IDs too */
	load_at(PATH, DIR "/", "vm d { memroy = 1G; }\nvm e { memory = 1G; }\n",
	    ids);
	assert_int_equal(vm("e")->vc_id, 4);
	idmap_free(ids);
	/* a fresh map starts at 0 in file order */
	load("vm x { memory = 1G; }\nvm y { memory = 1G; keymap = $ID; }\n");
	assert_int_equal(vm("x")->vc_id, 0);
	assert_val("y", "keymap", "1");
	reset();
}

/* ---- lists and keys ---- */

static void
test_lists(void **state)
{
	(void)state;
	load_ok("vm a { memory = 1G; disk = noexist:/a; disk += noexist:/b; }\n"
	    "vm b { memory = 1G; disk = noexist:/a; disk = noexist:/b; }\n"
	    "vm c { memory = 1G; disk = noexist:/a; disk = ; }\n"
	    "vm d { MEMORY = 1G; Disk = noexist:/a, noexist:/b; comport = auto; }\n");
	assert_int_equal(vm("a")->vc_disk.l_n, 2);
	assert_int_equal(vm("b")->vc_disk.l_n, 1);
	assert_val("b", "disk", "virtio-blk:noexist:/b");
	assert_int_equal(vm("c")->vc_disk.l_n, 0);
	assert_int_equal(vm("d")->vc_disk.l_n, 2);
	assert_val("d", "com1", "auto");
	reset();
}

static void
test_unknown_key_message(void **state)
{
	(void)state;
	load("vm a { memory = 1G; memroy = 1G; }\n");
	assert_errs("t.conf:1:21: unknown key \"memroy\" (did you mean "
	    "\"memory\"?)\n"
	    "t.conf:1:1: vm \"a\" is not loaded because of the errors above");
	load("vm a { memory = 1G; ncpu = 2:2:0; }\n");
	assert_has("t.conf:1:28: \"ncpu\": 2:2:0 is not a valid topology");
	reset();
}

/* ---- includes (real files) ---- */

static void
sub(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	if (mkdir(path, 0755) == -1)
		fail_msg("cannot mkdir %s", path);
}

static int
setup_tmp(void **state)
{
	char *real;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bmd-unit-eval.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* compare with realpaths in messages */
	if ((real = realpath(tmpdir, NULL)) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", real);
	free(real);
	return 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	reset();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct conf *
load_tmp(const char *text)
{
	char path[256], strip[256];

	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	snprintf(strip, sizeof(strip), "%s/", tmpdir);
	tfile_put(tmpdir, "main.conf", text);
	return load_at(path, strip, text, NULL);
}

static void
test_includes(void **state)
{
	struct vm_conf *vc;

	(void)state;
	sub("d");
	sub("d/sub");
	tfile_put(tmpdir, "d/b.conf", "vm b { memory = 1G; }\n");
	tfile_put(tmpdir, "d/a.conf", ".include \"sub/x.conf\";\nvm a { memory = 1G; }\n");
	tfile_put(tmpdir, "d/sub/x.conf", "vm x { memory = 1G; }\n");
	tfile_put(tmpdir, "d/c.conf", ".include \"*.conf\";\nvm c { memory = 1G; }\n");
	tfile_put(tmpdir, "d/other.txt", "vm nope { memory = 1G; }\n");

	/* relative to the includer; sorted; FIFO order; no match is fine */
	load_tmp(".include \"d/[ab].conf\";\n.include \"none/*.conf\";\n"
	    "vm m { memory = 1G; }\n");
	if (errs[0] != '\0')
		fail_msg("%s", errs);
	assert_int_equal(cur->c_nvms, 4);
	assert_string_equal(cur->c_vms[0]->vc_name, "m");
	assert_string_equal(cur->c_vms[1]->vc_name, "a");
	assert_string_equal(cur->c_vms[2]->vc_name, "b");
	assert_string_equal(cur->c_vms[3]->vc_name, "x");
	vc = vm("x");
	assert_non_null(strstr(vc->vc_file, "/d/sub/x.conf"));

	/* a file matching its own glob is skipped silently; siblings that
	 * were already included are duplicates */
	load_tmp(".include \"d/c.conf\";\nvm m { memory = 1G; }\n");
	assert_int_equal(nwarnings, 0);
	vm("a");
	vm("b");
	vm("c");
	vm("x");
	load_tmp(".include \"d/*.conf\";\nvm m { memory = 1G; }\n");
	assert_has("d/c.conf:1:1: .include \"d/a.conf\": already included "
	    "from main.conf:1");
	assert_has("d/c.conf:1:1: .include \"d/b.conf\": already included "
	    "from main.conf:1");
	assert_int_equal(nerrors, 2);
	assert_int_equal(cur->c_nvms, 5);

	/* a cycle back to the main file */
	tfile_put(tmpdir, "d/cyc.conf", ".include \"../main.conf\";\n");
	load_tmp(".include \"d/cyc.conf\";\n");
	assert_has("d/cyc.conf:1:1: .include \"main.conf\": already included "
	    "from the command line");
	assert_int_equal(nerrors, 1);

	/* device files */
	load_tmp(".include \"/dev/null\";\nvm m { memory = 1G; }\n");
	assert_has("main.conf:1:1: .include \"/dev/null\": ");
	vm("m");
	reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concat_and_quotes),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_var_assignment),
		cmocka_unit_test(test_undefined),
		cmocka_unit_test(test_predefined),
		cmocka_unit_test(test_template_args),
		cmocka_unit_test(test_template_param_checks),
		cmocka_unit_test(test_template_default_in_caller_scope),
		cmocka_unit_test(test_template_name_from_variable),
		cmocka_unit_test(test_template_nested),
		cmocka_unit_test(test_template_applied_once),
		cmocka_unit_test(test_template_duplicate_is_fatal),
		cmocka_unit_test(test_template_unknown),
		cmocka_unit_test(test_template_depth),
		cmocka_unit_test(test_template_order),
		cmocka_unit_test(test_arith_values),
		cmocka_unit_test(test_arith_vm_errors),
		cmocka_unit_test(test_arith_literal_errors_reject_vm),
		cmocka_unit_test(test_arith_syntax_errors),
		cmocka_unit_test(test_syntax_error_rejects_all),
		cmocka_unit_test(test_vm_errors_reject_vm),
		cmocka_unit_test(test_duplicate_vm),
		cmocka_unit_test(test_missing_main_file),
		cmocka_unit_test(test_globals),
		cmocka_unit_test(test_ids_stable),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_unknown_key_message),
		cmocka_unit_test_setup_teardown(test_includes, setup_tmp,
		    teardown_tmp),
	};

	return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
