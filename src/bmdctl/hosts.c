/* bmdctl -H: the hosts (URLs, hosts files) and which one a command goes to. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmdctl.h"
#include "xmalloc.h"

const struct ctl_host	*ctl_host;

static struct ctl_host	*hosts;
static size_t		 nhosts, hosts_cap;
static int		 from_file;	/* @FILE or BMD_HOSTS: a host list */

size_t
hosts_count(void)
{
	return nhosts;
}

const struct ctl_host *
hosts_get(size_t i)
{
	return i < nhosts ? &hosts[i] : NULL;
}

int
hosts_listed(void)
{
	return nhosts > 1 || from_file;
}

/* A user or host name ssh cannot take for an option, and no shell word. */
static size_t
name_span(const char *s)
{
	size_t n = 0;

	if (*s == '-')
		return 0;
	while (s[n] != '\0' && (isalnum((unsigned char)s[n]) ||
	    strchr("._-", s[n]) != NULL))
		n++;
	return n;
}

/* [user@]host[:port] of ssh://...; NULL and *why when it is not one. */
static const char *
parse_authority(const char *p, struct ctl_host *h, const char **why)
{
	const char *at = strchr(p, '@');
	size_t n;
	long port;
	char *end;

	if (at != NULL) {
		if ((n = name_span(p)) == 0 || p + n != at)
			return *why = "bad user name", NULL;
		h->h_user = xstrndup(p, n);
		p = at + 1;
	}
	if (*p == '[') {	/* [IPv6] */
		n = strspn(p + 1, "0123456789abcdefABCDEF:.%");
		if (n == 0 || p[1 + n] != ']')
			return *why = "bad [address]", NULL;
		h->h_addr = xstrndup(p + 1, n);
		p += n + 2;
	} else {
		if ((n = name_span(p)) == 0)
			return *why = "no host name", NULL;
		h->h_addr = xstrndup(p, n);
		p += n;
	}
	if (*p == ':') {
		errno = 0;
		port = strtol(p + 1, &end, 10);
		if (!isdigit((unsigned char)p[1]) || errno != 0 || port < 1 ||
		    port > 65535)
			return *why = "bad port", NULL;
		h->h_port = xstrndup(p + 1, (size_t)(end - p - 1));
		p = end;
	}
	return p;
}

static void
host_free(struct ctl_host *h)
{
	free(h->h_name);
	free(h->h_user);
	free(h->h_addr);
	free(h->h_port);
}

/* ssh://[user@]host[:port][/] into the list; -1 and *why if it is not. */
static int
add_url(const char *url, const char **why)
{
	struct ctl_host h;
	const char *end;
	size_t i;

	memset(&h, 0, sizeof(h));
	if (strncmp(url, "ssh://", 6) != 0) {
		*why = "not an ssh:// URL";
		return -1;
	}
	if ((end = parse_authority(url + 6, &h, why)) == NULL ||
	    (*end != '\0' && strcmp(end, "/") != 0)) {
		if (end != NULL)
			*why = "unexpected text after the host";
		host_free(&h);
		return -1;
	}
	h.h_name = xstrndup(url + 6, (size_t)(end - url - 6));
	for (i = 0; i < nhosts; i++)
		if (strcmp(hosts[i].h_name, h.h_name) == 0) {
			host_free(&h);	/* named twice: once is enough */
			return 0;
		}
	ARRAY_GROW(hosts, nhosts, hosts_cap);
	hosts[nhosts++] = h;
	return 0;
}

/* One URL a line; blank lines and # comments are skipped. */
static int
add_file(const char *path)
{
	char *line = NULL, *p, *e;
	const char *why;
	size_t cap = 0, before = nhosts;
	int lineno = 0, rc = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "bmdctl: hosts file %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	from_file = 1;
	while (rc == 0 && getline(&line, &cap, fp) != -1) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*p != '\0' && add_url(p, &why) == -1) {
			fprintf(stderr, "bmdctl: %s:%d: %s: %s (want "
			    "ssh://[user@]host[:port])\n", path, lineno, p, why);
			rc = -1;
		}
	}
	free(line);
	fclose(fp);
	if (rc == 0 && nhosts == before) {
		fprintf(stderr, "bmdctl: hosts file %s names no host\n", path);
		rc = -1;
	}
	return rc;
}

/* -H URL or -H @FILE; -1 after saying what is wrong. */
int
hosts_add(const char *arg)
{
	const char *why;

	if (*arg == '@')
		return add_file(arg + 1);
	if (add_url(arg, &why) == 0)
		return 0;
	fprintf(stderr, "bmdctl: -H %s: %s (want ssh://[user@]host[:port] or "
	    "@FILE)\n", arg, why);
	return -1;
}

/* The host a HOST: prefix names: its whole name, or its address alone. */
static const struct ctl_host *
find_host(const char *s, size_t len)
{
	const struct ctl_host *found = NULL;
	size_t i;
	int n = 0;

	for (i = 0; i < nhosts; i++)
		if (strlen(hosts[i].h_name) == len &&
		    strncmp(hosts[i].h_name, s, len) == 0)
			return &hosts[i];
	for (i = 0; i < nhosts; i++)
		if (strlen(hosts[i].h_addr) == len &&
		    strncmp(hosts[i].h_addr, s, len) == 0) {
			found = &hosts[i];
			n++;
		}
	return n == 1 ? found : NULL;
}

/*
 * HOST:NAME operands: the host they name (*h), and NAME left in argv in
 * their place.  VM names have no ':', so the last one ends HOST.  -1
 * (reported) when HOST is not one of the hosts or two disagree.
 */
static int
select_host(const struct ctl_cmd *c, int argc, char **argv,
    const struct ctl_host **h)
{
	const struct ctl_host *this;
	struct ctl_opts o;
	char **copy, *colon;
	int i, j, rc = 0;

	ctl_getopts(c, &o);
	copy = xcalloc((size_t)argc + 1, sizeof(*copy));
	memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	optind = 0;
	while (getopt_long(argc, copy, o.o_short, o.o_long, NULL) != -1)
		;
	for (i = optind; i < argc && rc == 0; i++) {
		if ((colon = strrchr(copy[i], ':')) == NULL)
			continue;
		if ((this = find_host(copy[i], (size_t)(colon - copy[i]))) ==
		    NULL) {
			fprintf(stderr, "bmdctl: %s: %.*s is not one of the "
			    "-H hosts\n", c->c_name, (int)(colon - copy[i]),
			    copy[i]);
			rc = -1;
		} else if (*h != NULL && *h != this) {
			fprintf(stderr, "bmdctl: %s: one host at a time\n",
			    c->c_name);
			rc = -1;
		}
		*h = this;
		for (j = 0; j < argc; j++)
			if (argv[j] == copy[i])
				argv[j] = colon + 1;
	}
	free(copy);
	optind = 0;
	return rc;
}

/*
 * Where a command goes once hosts are given (-H, BMD_HOSTS): list to
 * every host; a command that reads the configuration runs on the host
 * (remote_exec); the others send their requests through the relay.
 */
int
hosts_route(const struct ctl_cmd *c, int argc, char **argv)
{
	const struct ctl_host *h = NULL;
	const char *env = getenv("BMD_HOSTS");

	if (c->c_where == CTL_LOCAL) {
		if (nhosts > 0 && c != &cmd_help) {
			fprintf(stderr, "bmdctl: %s: runs where it is started, "
			    "not with -H\n", c->c_name);
			return EXIT_USAGE;
		}
		return c->c_exec(c, argc, argv);
	}
	if (nhosts == 0 && env != NULL && *env != '\0' && add_file(env) == -1)
		return EXIT_USAGE;
	if (nhosts == 0)
		return c->c_exec(c, argc, argv);
	if (select_host(c, argc, argv, &h) == -1)
		return EXIT_USAGE;
	if (h == NULL && c == &cmd_list && hosts_listed())
		return c->c_exec(c, argc, argv);	/* every host */
	if (h == NULL && nhosts == 1)
		h = &hosts[0];
	if (h == NULL) {
		fprintf(stderr, "bmdctl: %s: which of the %zu hosts? Name one "
		    "as HOST:NAME, or give one -H\n", c->c_name, nhosts);
		return EXIT_USAGE;
	}
	if (c->c_where == CTL_ON_HOST)
		return remote_exec(h, argv);
	ctl_host = h;
	return c->c_exec(c, argc, argv);
}
