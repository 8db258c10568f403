/* bmdctl: one request to bmd over its control socket, and its reply. */
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmdctl.h"
#include "paths.h"
#include "proto.h"
#include "xmalloc.h"

#define DEFAULT_SOCKET	BMD_SOCKET_PATH

/* -s, else cmd_socket_path of the configuration, else the default. */
/* Found once: a command with several requests asks one daemon. */
static char *
socket_path(void)
{
	static char *found;
	struct conf *c;
	int errs;

	if (ctl_socket_path != NULL)
		return xstrdup(ctl_socket_path);
	if (found != NULL)
		return xstrdup(found);
	if ((c = ctl_load_globals(&errs)) == NULL) {
		fprintf(stderr, "bmdctl: cannot parse %s; using the default "
		    "socket %s\n", ctl_conf_path, DEFAULT_SOCKET);
		found = xstrdup(DEFAULT_SOCKET);
	} else {
		found = xstrdup(c->c_global.gc_cmd_socket_path != NULL ?
		    c->c_global.gc_cmd_socket_path : DEFAULT_SOCKET);
		conf_free(c);
	}
	return xstrdup(found);
}

static int
connect_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "bmdctl: cannot connect to %s: %s\n", path,
		    strerror(ENAMETOOLONG));
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "bmdctl: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "bmdctl: cannot connect to %s: %s\n", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A connection to bmd's socket (-s, the configuration's, the default). */
int
ctl_connect(void)
{
	char *path = socket_path();
	int fd;

	fd = connect_socket(path);
	free(path);
	return fd;
}

json_t *
ctl_request(json_t *req)
{
	return ctl_request_fd(req, NULL);
}

static json_t *request(json_t *req, int *passed, int *conn);

/* ctl_request, and *passed gets the descriptor sent with the reply (-1). */
json_t *
ctl_request_fd(json_t *req, int *passed)
{
	return request(req, passed, NULL);
}

/* ctl_request, and the connection stays open in *conn for what follows. */
json_t *
ctl_request_stream(json_t *req, int *conn)
{
	return request(req, NULL, conn);
}

static json_t *
request(json_t *req, int *passed, int *conn)
{
	json_t *reply = NULL;
	char *path;
	int fd, err;

	if (ctl_host != NULL && conn != NULL)
		return remote_request_stream(ctl_host, req, conn);
	if (ctl_host != NULL)
		return remote_request_fd(ctl_host, req, passed);
	if (passed != NULL)
		*passed = -1;
	if (conn != NULL)
		*conn = -1;

	/* a daemon closing early must give an error message, not SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	json_object_set_new(req, "version", json_integer(PROTO_VERSION));
	path = socket_path();
	if ((fd = connect_socket(path)) == -1) {
		free(path);
		return NULL;
	}
	if (proto_send(fd, req) == -1) {
		/* a refusal (over a limit) is answered before the request */
		err = errno;
		if ((reply = proto_recv(fd, passed)) == NULL)
			fprintf(stderr, "bmdctl: cannot send to %s: %s\n",
			    path, strerror(err));
	} else if ((reply = proto_recv(fd, passed)) == NULL)
		fprintf(stderr, "bmdctl: no valid reply from bmd on %s\n",
		    path);
	else if (!json_is_boolean(json_object_get(reply, "ok"))) {
		fprintf(stderr, "bmdctl: malformed reply from bmd on %s\n",
		    path);
		json_decref(reply);
		reply = NULL;
	}
	if (reply == NULL && passed != NULL && *passed != -1) {
		close(*passed);
		*passed = -1;
	}
	if (reply != NULL && conn != NULL)
		*conn = fd;
	else
		close(fd);
	free(path);
	return reply;
}

int
ctl_reply_status(json_t *reply)
{
	return ctl_reply_status_of(NULL, NULL, reply);
}

static int
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* Does TEXT mention NAME as a word of its own? */
static int
mentions(const char *text, const char *name)
{
	const char *p;
	size_t n = strlen(name);

	for (p = text; (p = strstr(p, name)) != NULL; p++)
		if ((p == text || !name_char(p[-1])) && !name_char(p[n]))
			return 1;
	return 0;
}

/* The message names the VM, unless bmd's own text already does. */
int
ctl_reply_status_of(const char *command, const char *name, json_t *reply)
{
	const char *why;

	if (json_is_true(json_object_get(reply, "ok")))
		return 0;
	if ((why = json_string_value(json_object_get(reply, "error"))) == NULL)
		why = "failed";
	fprintf(stderr, "bmdctl: ");
	if (command != NULL)
		fprintf(stderr, "%s: ", command);
	if (name != NULL && !mentions(why, name))
		fprintf(stderr, "%s: ", name);
	fprintf(stderr, "%s\n", why);
	return 1;
}

int
ctl_simple(const char *command, const char *name)
{
	json_t *req, *reply;
	int rc;

	req = json_pack("{s:s}", "command", command);
	if (name != NULL)
		json_object_set_new(req, "name", json_string(name));
	reply = ctl_request(req);
	json_decref(req);
	if (reply == NULL)
		return -1;
	/* "bmdctl: boot: no VM named ..." */
	rc = ctl_reply_status_of(command, name, reply);
	json_decref(reply);
	return rc;
}
