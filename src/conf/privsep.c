/* Parsing a user's file in a child process that runs as that user. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "helper.h"
#include "load.h"
#include "xmalloc.h"

#define MAX_REPLY	(512 * 1024 * 1024)

static void
drop_to(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	gid_t gid = pw != NULL ? pw->pw_gid : (gid_t)uid;

	if (pw != NULL ? initgroups(pw->pw_name, gid) == -1 :
	    setgroups(0, NULL) == -1)
		_exit(3);
	if (setgid(gid) == -1 || setuid(uid) == -1)
		_exit(3);
	if (uid != 0 && (setuid(0) != -1 || geteuid() != uid))
		_exit(3);
}

/* with_ast: the tree too (not when the parent has it already) */
static json_t *
child_reply(const struct parsed *pd, const struct diags *ds, int with_ast)
{
	json_t *o = json_object(), *a = json_array(), *d = json_array();
	const struct incl *in;
	char *ast;
	size_t i;

	for (i = 0; i < pd->p_nincl; i++) {
		in = &pd->p_incl[i];
		json_array_append_new(a, json_pack("{s:s,s:i,s:i,s:I,s:I}",
		    "path", in->i_path, "line", in->i_pos.line, "col",
		    in->i_pos.col, "dev", (json_int_t)in->i_st.st_dev,
		    "ino", (json_int_t)in->i_st.st_ino));
	}
	for (i = 0; i < ds->ds_n; i++)
		json_array_append_new(d, json_pack("[b,s]",
		    ds->ds_v[i].d_level == DIAG_ERROR, ds->ds_v[i].d_text));
	ast = with_ast && pd->p_ast != NULL ? ast_to_json(pd->p_ast) : NULL;
	json_object_set_new(o, "ast", ast ? json_string(ast) : json_null());
	free(ast);
	json_object_set_new(o, "includes", a);
	json_object_set_new(o, "diags", d);
	return o;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static _Noreturn void
child_main(int fd, uid_t owner, const struct qfile *q, const char *data,
    size_t len, const struct ast_file *cached)
{
	struct parsed pd;
	struct diags ds;
	json_t *o;
	char *txt;

	/*
	 * Nothing of the daemon's (taps, QMP and client sockets) may reach
	 * a process running as a user: keep only the reply pipe, as fd 3.
	 */
	if (fd != 3 && (dup2(fd, 3) == -1 || close(fd) == -1))
		_exit(3);
	fd = 3;
	if (close_range(4, ~0U, 0) == -1)
		_exit(3);
	drop_to(owner);
	diags_init(&ds);
	if (cached != NULL)
		load_expand_here(q, cached, owner, &pd, &ds);
	else
		load_parse_here(q, data, len, owner, NULL, &pd, &ds);
	o = child_reply(&pd, &ds, cached == NULL);
	/* one string, written in large pieces: json_dumpfd writes per token */
	if ((txt = json_dumps(o, JSON_COMPACT)) == NULL ||
	    write_all(fd, txt, strlen(txt)) == -1)
		_exit(2);
	_exit(0);
}

/* *late is set when the child did not finish by the deadline dl. */
static char *
read_all(int fd, const struct timespec *dl, size_t *len, int *late)
{
	size_t cap = 65536;
	char *b = xmalloc(cap);
	ssize_t r;

	*len = 0;
	*late = 0;
	for (;;) {
		if (helper_wait(fd, dl) == -1) {
			*late = 1;
			break;
		}
		if (*len + 1 >= cap) {
			if (cap >= MAX_REPLY)
				break;
			cap *= 2;
			b = xreallocarray(b, cap, 1);
		}
		r = read(fd, b + *len, cap - *len - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	b[*len] = '\0';
	return b;
}

/*
 * The child is less trusted: every field is checked before use.  When
 * pd->p_ast is set (a cached tree) the child only expanded includes.
 */
static int
take_reply(const char *txt, size_t len, struct parsed *pd, struct diags *ds)
{
	json_t *o, *a, *it;
	const char *ast = NULL, *path, *text;
	json_int_t dev, ino;
	struct stat st;
	struct pos p;
	size_t i;
	int line, col, err;

	if ((o = json_loadb(txt, len, 0, NULL)) == NULL)
		return -1;
	a = json_object_get(o, "diags");
	json_array_foreach(a, i, it)
		if (json_unpack(it, "[b,s]", &err, &text) == 0)
			diag_add_raw(ds, err ? DIAG_ERROR : DIAG_WARNING, text);
	if (pd->p_ast == NULL && json_unpack(o, "{s?s}", "ast", &ast) == 0 &&
	    ast != NULL)
		pd->p_ast = ast_from_json(ast, strlen(ast));
	a = json_object_get(o, "includes");
	json_array_foreach(a, i, it) {
		if (json_unpack(it, "{s:s,s:i,s:i,s:I,s:I}", "path", &path,
		    "line", &line, "col", &col, "dev", &dev, "ino", &ino) != 0 ||
		    path[0] != '/')
			continue;
		memset(&st, 0, sizeof(st));
		st.st_dev = (dev_t)dev;
		st.st_ino = (ino_t)ino;
		p.file = pd->p_ast ? pd->p_ast->af_path : NULL;
		p.line = line;
		p.col = col;
		ARRAY_GROW(pd->p_incl, pd->p_nincl, pd->p_capincl);
		pd->p_incl[pd->p_nincl].i_path = xstrdup(path);
		pd->p_incl[pd->p_nincl].i_pos = p;
		pd->p_incl[pd->p_nincl].i_st = st;
		pd->p_nincl++;
	}
	json_decref(o);
	return pd->p_ast != NULL || ds->ds_nerrors > 0 ? 0 : -1;
}

int
load_parse_as(uid_t owner, const struct qfile *q, const char *data,
    size_t len, const struct ast_file *cached, struct parsed *pd,
    struct diags *ds)
{
	struct pos fp = { pos_intern(q->q_path), 0, 0 };
	const char *held;
	struct timespec dl;
	int pfd[2], status, late;
	size_t rlen;
	char *reply;
	pid_t pid;

	memset(pd, 0, sizeof(*pd));
	if ((held = conf_user_held(owner)) != NULL) {
		diag_error(ds, &fp, "not parsed: %s", held);
		return -1;
	}
	helper_deadline(&dl, HELPER_TIMEOUT_MS);
	if (pipe(pfd) == -1 || (pid = fork()) == -1) {
		diag_error(ds, &fp, "cannot start the parser: %s",
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_main(pfd[1], owner, q, data, len, cached);
	}
	close(pfd[1]);
	reply = read_all(pfd[0], &dl, &rlen, &late);
	close(pfd[0]);
	status = helper_reap(pid, late);
	if (late) {
		conf_user_gave_up(owner, pid);
		diag_error(ds, &fp, "the parser running as uid %lu did not "
		    "answer within %d s; killed, file not loaded",
		    (unsigned long)owner, HELPER_TIMEOUT_MS / 1000);
		free(reply);
		return -1;
	}
	conf_user_took(owner, helper_ms_used(&dl, HELPER_TIMEOUT_MS));
	pd->p_ast = (struct ast_file *)cached;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    take_reply(reply, rlen, pd, ds) == -1) {
		pd->p_ast = NULL;	/* not ours to free when cached */
		parsed_free_incl(pd);
		diag_error(ds, &fp, "the parser running as uid %lu failed",
		    (unsigned long)owner);
		free(reply);
		return -1;
	}
	free(reply);
	return 0;
}
