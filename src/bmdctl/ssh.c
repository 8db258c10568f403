/* bmdctl -H: the ssh command line, its ControlPath directory, starting it. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmdctl.h"
#include "buf.h"
#include "log.h"
#include "xmalloc.h"

/* How long an idle master connection stays (seconds), for the next command. */
#define CONTROL_PERSIST	"60"

struct argv {
	char	**a_v;
	size_t	  a_n, a_cap;
};

static void
argv_add(struct argv *a, char *s)
{
	ARRAY_GROW(a->a_v, a->a_n + 1, a->a_cap);
	a->a_v[a->a_n++] = s;
	a->a_v[a->a_n] = NULL;
}

/*
 * BMD_SSH split as a shell would split a simple command: blanks separate
 * words, '...' keeps everything, "..." and \ escape.  No expansions: a
 * command line that needs them belongs in a script named by BMD_SSH.
 * -1 on an unterminated quote.
 */
static int
split_words(const char *s, struct argv *a)
{
	struct buf w;
	char q = 0;
	int inword = 0;

	buf_init(&w);
	for (; *s != '\0'; s++) {
		if (q == '\'' && *s != '\'')
			buf_addc(&w, *s);
		else if (q == '"' && *s == '\\' && s[1] != '\0' &&
		    strchr("\"\\$`", s[1]) != NULL)
			buf_addc(&w, *++s);
		else if (q != 0 && *s == q)
			q = 0;
		else if (q == '"')
			buf_addc(&w, *s);
		else if (*s == '\'' || *s == '"') {
			q = *s;
			inword = 1;
			continue;
		} else if (*s == '\\' && s[1] != '\0') {
			buf_addc(&w, *++s);
		} else if (*s == ' ' || *s == '\t' || *s == '\n') {
			if (inword)
				argv_add(a, buf_release(&w));
			inword = 0;
			continue;
		} else
			buf_addc(&w, *s);
		inword = 1;
	}
	if (inword && q == 0)
		argv_add(a, buf_release(&w));
	buf_free(&w);
	return q != 0 ? -1 : 0;
}

/* Is DIR ours alone: a real directory (no symlink), owned by us, 0700? */
static int
private_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "bmdctl: %s: %s; ssh connections are not "
		    "shared\n", dir, strerror(errno));
		return 0;
	}
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != getuid() || (st.st_mode & 077) != 0) {
		fprintf(stderr, "bmdctl: %s is not a directory private to "
		    "uid %u; ssh connections are not shared\n", dir,
		    (unsigned)getuid());
		return 0;
	}
	return 1;
}

/*
 * Where the master connections' sockets go: whoever can reach them can
 * run commands as us on the remote hosts, hence the checks.
 */
char *
ssh_control_dir(void)
{
	static char *dir;
	static int checked;	/* said once, not at every poll of -w */
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (checked)
		return dir != NULL ? xstrdup(dir) : NULL;
	checked = 1;
	if (xdg != NULL && *xdg == '/' && stat(xdg, &st) == 0 &&
	    S_ISDIR(st.st_mode) && st.st_uid == getuid())
		dir = xprintf("%s/bmdctl", xdg);
	else
		dir = xprintf("/tmp/bmdctl-%u", (unsigned)getuid());
	if (private_dir(dir))
		return xstrdup(dir);
	free(dir);
	dir = NULL;
	return NULL;
}

/* ARG for the remote shell: bare when it is safe, else in '...'. */
static void
shell_quote(struct buf *b, const char *arg)
{
	const char *p;

	if (*arg != '\0' && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-./:=@%+,") == strlen(arg)) {
		buf_adds(b, arg);
		return;
	}
	buf_addc(b, '\'');
	for (p = arg; *p != '\0'; p++)
		if (*p == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *p);
	buf_addc(b, '\'');
}

/* `bmdctl [-f CONF] [-s SOCKET] ARGS...` as one remote shell command. */
char *
ssh_remote_command(char **args)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "bmdctl");
	if (ctl_conf_given) {
		buf_adds(&b, " -f ");
		shell_quote(&b, ctl_conf_path);
	}
	if (ctl_socket_path != NULL) {
		buf_adds(&b, " -s ");
		shell_quote(&b, ctl_socket_path);
	}
	for (; *args != NULL; args++) {
		buf_addc(&b, ' ');
		shell_quote(&b, *args);
	}
	return buf_release(&b);
}

/*
 * The whole ssh command line.  BMD_SSH's own options come first: for
 * ssh the first value given wins, so they override ours.
 */
static int
ssh_argv(const struct ctl_host *h, const char *command, int tty,
    struct argv *a)
{
	const char *env = getenv("BMD_SSH");
	char *dir;

	if (env == NULL || *env == '\0')
		env = "ssh";
	if (split_words(env, a) == -1 || a->a_n == 0) {
		fprintf(stderr, "bmdctl: BMD_SSH: cannot split \"%s\" into "
		    "words\n", env);
		return -1;
	}
	argv_add(a, xstrdup("-o"));
	if ((dir = ssh_control_dir()) != NULL) {
		argv_add(a, xstrdup("ControlMaster=auto"));
		argv_add(a, xstrdup("-o"));
		argv_add(a, xstrdup("ControlPersist=" CONTROL_PERSIST));
		argv_add(a, xstrdup("-o"));
		argv_add(a, xprintf("ControlPath=%s/%%C", dir));
		free(dir);
	} else
		argv_add(a, xstrdup("ControlMaster=no"));
	/* errors only: no "Permanently added" noise among bmdctl's output */
	argv_add(a, xstrdup("-o"));
	argv_add(a, xstrdup("LogLevel=ERROR"));
	argv_add(a, xstrdup(tty ? "-t" : "-T"));
	if (h->h_user != NULL) {
		argv_add(a, xstrdup("-l"));
		argv_add(a, xstrdup(h->h_user));
	}
	if (h->h_port != NULL) {
		argv_add(a, xstrdup("-p"));
		argv_add(a, xstrdup(h->h_port));
	}
	argv_add(a, xstrdup("--"));
	argv_add(a, xstrdup(h->h_addr));
	argv_add(a, xstrdup(command));
	return 0;
}

static void
argv_free(struct argv *a)
{
	size_t i;

	for (i = 0; i < a->a_n; i++)
		free(a->a_v[i]);
	free(a->a_v);
}

/* The child: its descriptors in place, then ssh; errno to the parent. */
static _Noreturn void
ssh_child(struct argv *a, int io, int err, int report)
{
	int e;

	if (io != -1 && (dup2(io, STDIN_FILENO) == -1 ||
	    dup2(io, STDOUT_FILENO) == -1))
		_exit(127);
	if (dup2(err, STDERR_FILENO) == -1)
		_exit(127);
	execvp(a->a_v[0], a->a_v);
	e = errno;
	(void)write(report, &e, sizeof(e));
	_exit(127);
}

/*
 * Run ssh to H with COMMAND.  io: its stdin and stdout (-1: ours); its
 * stderr goes to a pipe (*errfd) so that failures can be told apart.
 * The pid, or -1 with *exec_errno set when ssh could not be run.
 */
pid_t
ssh_start(const struct ctl_host *h, const char *command, int tty, int io,
    int *errfd, int *exec_errno)
{
	struct argv a = { NULL, 0, 0 };
	int ep[2], rp[2], e = 0;
	pid_t pid;

	*exec_errno = 0;
	if (ssh_argv(h, command, tty, &a) == -1) {
		argv_free(&a);
		*exec_errno = EINVAL;
		return -1;
	}
	if (pipe2(ep, O_CLOEXEC) == -1 || pipe2(rp, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(ep[0]);
		close(rp[0]);
		ssh_child(&a, io, ep[1], rp[1]);
	}
	argv_free(&a);
	close(ep[1]);
	close(rp[1]);
	while (read(rp[0], &e, sizeof(e)) == -1 && errno == EINTR)
		;
	close(rp[0]);
	*errfd = ep[0];
	if (e != 0) {
		*exec_errno = e;
		close(ep[0]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}
