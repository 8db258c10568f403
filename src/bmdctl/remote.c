/*
 * bmdctl -H: requests to bmd on another host, through `bmdctl stdio` run
 * there over ssh, and the commands that run on the host as a whole.
 *
 * Each request is its own ssh session, as each local request is its own
 * connection to the socket; the master connection (ssh.c) makes that
 * one channel on a warm connection instead of a login.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmdctl.h"
#include "buf.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

/* Remote stderr kept for the report; the rest is read and dropped. */
#define ERR_KEEP	(64 * 1024)

struct remote {
	const struct ctl_host *r_host;
	pid_t		 r_pid;
	int		 r_fd;		/* ssh's stdin and stdout */
	int		 r_err;		/* ssh's stderr */
	int		 r_exec_errno;	/* ssh could not be run */
	struct buf	 r_text;	/* what came on r_err */
};

/* Sessions whose socket was handed out as a console: ended at exit. */
static struct remote **kept;
static size_t nkept, kept_cap;

/* Read all of R's stderr (until ssh exits) and its exit status. */
static int
collect(struct remote *r)
{
	char b[4096];
	ssize_t n;
	int st;

	while ((n = read(r->r_err, b, sizeof(b))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		if (r->r_text.b_len < ERR_KEEP)
			buf_add(&r->r_text, b, (size_t)n);
	}
	close(r->r_err);
	r->r_err = -1;
	while (waitpid(r->r_pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Each line of TEXT as "bmdctl: HOST: line", without a second "bmdctl: ". */
static int
print_lines(const char *host, const char *text)
{
	const char *p, *nl;
	int n = 0;

	for (p = text; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		nl = p + strcspn(p, "\r\n");
		if (strncmp(p, "bmdctl: ", 8) == 0)
			p += 8;
		if (nl > p) {
			fprintf(stderr, "bmdctl: %s: %.*s\n", host,
			    (int)(nl - p), p);
			n++;
		}
	}
	return n;
}

/*
 * The shell's answer when bmdctl is not on the remote PATH: 127 from a
 * Bourne shell, "Command not found." and 1 from csh.
 */
static int
not_found(int status, const char *text)
{
	return status == 127 || (status == 1 &&
	    strstr(text, "bmdctl: Command not found") != NULL);
}

static void
report_exec(const struct ctl_host *h, int e)
{
	if (e == ENOENT)
		fprintf(stderr, "bmdctl: %s: ssh not found (install OpenSSH's "
		    "client, or name the command in BMD_SSH)\n", h->h_name);
	else if (e != EINVAL)	/* EINVAL: BMD_SSH, reported */
		fprintf(stderr, "bmdctl: %s: cannot run ssh: %s\n", h->h_name,
		    strerror(e));
}

/* No reply came: say why, as specifically as ssh's status allows. */
static void
report_failure(struct remote *r, int status)
{
	const char *name = r->r_host->h_name, *text = buf_str(&r->r_text);

	if (not_found(status, text))
		fprintf(stderr, "bmdctl: %s: bmdctl not found on %s (not on "
		    "the PATH of the remote login)\n", name, r->r_host->h_addr);
	else if (print_lines(name, text) > 0)
		;	/* ssh's own reason (255), or the relay's */
	else if (status == 255)
		fprintf(stderr, "bmdctl: %s: ssh failed\n", name);
	else
		fprintf(stderr, "bmdctl: %s: no reply (remote status %d)\n",
		    name, status);
}

/* Start the relay on R's host; 0, or -1 (reported). */
static int
relay_start(struct remote *r, const struct ctl_host *h)
{
	static char *args[] = { "stdio", NULL };
	char *command;
	int sp[2];

	memset(r, 0, sizeof(*r));
	r->r_host = h;
	r->r_err = -1;
	buf_init(&r->r_text);
	/* a socket, not pipes: term.c send()s to it as to bmd's session */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("socketpair");
	command = ssh_remote_command(args);
	r->r_pid = ssh_start(h, command, 0, sp[1], &r->r_err,
	    &r->r_exec_errno);
	free(command);
	close(sp[1]);
	r->r_fd = sp[0];
	if (r->r_pid == -1) {
		report_exec(h, r->r_exec_errno);
		close(r->r_fd);
		r->r_fd = -1;
		return -1;
	}
	return 0;
}

/* Send REQ to the host's bmd; NULL when the relay could not be started. */
struct remote *
remote_start(const struct ctl_host *h, json_t *req)
{
	struct remote *r = xcalloc(1, sizeof(*r));

	signal(SIGPIPE, SIG_IGN);
	if (relay_start(r, h) == -1) {
		free(r);
		return NULL;
	}
	json_object_set_new(req, "version", json_integer(PROTO_VERSION));
	/* on failure the reply, or its absence, says more than EPIPE */
	(void)proto_send(r->r_fd, req);
	return r;
}

static void
remote_free(struct remote *r)
{
	buf_free(&r->r_text);
	free(r);
}

/* Passed on after a reply: what the relay said on its way (warnings). */
static void
remote_end(struct remote *r)
{
	if (r->r_fd != -1)
		close(r->r_fd);
	collect(r);
	print_lines(r->r_host->h_name, buf_str(&r->r_text));
	remote_free(r);
}

/* A kept session's last words, when bmdctl exits. */
static void
end_kept(void)
{
	size_t i;

	for (i = 0; i < nkept; i++) {
		kept[i]->r_fd = -1;	/* the caller's, closed by now */
		remote_end(kept[i]);
	}
	nkept = 0;
}

static json_t *reply_kept(struct remote *, int *, int);

json_t *
remote_reply(struct remote *r, int *passed)
{
	return reply_kept(r, passed, 0);
}

/*
 * The reply to remote_start's request (NULL: reported).  A reply marked
 * "relayed" was sent with a descriptor on the remote host: the relay now
 * carries that descriptor's bytes, so our end of the session takes its
 * place in *passed.  With stream, it does so for any reply: the frames
 * that follow (events) come on the same session.
 */
static json_t *
reply_kept(struct remote *r, int *passed, int stream)
{
	json_t *reply;
	int relayed;

	if (passed != NULL)
		*passed = -1;
	if ((reply = proto_recv(r->r_fd, NULL)) == NULL ||
	    !json_is_boolean(json_object_get(reply, "ok"))) {
		if (reply != NULL)
			fprintf(stderr, "bmdctl: %s: malformed reply\n",
			    r->r_host->h_name);
		json_decref(reply);
		close(r->r_fd);
		report_failure(r, collect(r));
		remote_free(r);
		return NULL;
	}
	relayed = json_is_true(json_object_get(reply, "relayed")) || stream;
	json_object_del(reply, "relayed");
	if (relayed && passed != NULL) {
		*passed = r->r_fd;
		if (nkept == 0)
			atexit(end_kept);
		ARRAY_GROW(kept, nkept, kept_cap);
		kept[nkept++] = r;
		return reply;
	}
	remote_end(r);
	return reply;
}

json_t *
remote_request_fd(const struct ctl_host *h, json_t *req, int *passed)
{
	struct remote *r;

	if (passed != NULL)
		*passed = -1;
	if ((r = remote_start(h, req)) == NULL)
		return NULL;
	return remote_reply(r, passed);
}

/* A request whose session stays open in *conn for what follows. */
json_t *
remote_request_stream(const struct ctl_host *h, json_t *req, int *conn)
{
	struct remote *r;

	*conn = -1;
	if ((r = remote_start(h, req)) == NULL)
		return NULL;
	return reply_kept(r, conn, 1);
}

/*
 * A command that reads the configuration runs on the host as a whole:
 * the files are there.  Its output comes straight through (a terminal
 * with -t when ours is one: run is interactive); its stderr is held
 * until it exits, to tell "bmdctl not found" from bmdctl's own words.
 */
int
remote_exec(const struct ctl_host *h, char **args)
{
	struct remote r;
	char *command;
	int status;

	memset(&r, 0, sizeof(r));
	r.r_host = h;
	buf_init(&r.r_text);
	command = ssh_remote_command(args);
	r.r_pid = ssh_start(h, command, isatty(STDIN_FILENO), -1, &r.r_err,
	    &r.r_exec_errno);
	free(command);
	if (r.r_pid == -1) {
		report_exec(h, r.r_exec_errno);
		return 1;
	}
	status = collect(&r);
	if (not_found(status, buf_str(&r.r_text)) || status == 255) {
		report_failure(&r, status);
		status = 1;
	} else
		fputs(buf_str(&r.r_text), stderr);
	buf_free(&r.r_text);
	return status;
}
