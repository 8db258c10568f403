/* The control protocol between bmdctl and bmd: length-prefixed JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"
#include "proto.h"
#include "xmalloc.h"

enum proto_status
proto_parse(const unsigned char *buf, size_t len, size_t *used, json_t **out,
    const char **why)
{
	return proto_parse_max(buf, len, PROTO_MAX_FRAME, used, out, why);
}

enum proto_status
proto_parse_max(const unsigned char *buf, size_t len, size_t max, size_t *used,
    json_t **out, const char **why)
{
	json_error_t jerr;
	uint32_t n;

	*out = NULL;
	if (len < 4)
		return PROTO_INCOMPLETE;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	if (n == 0 || n > max) {
		*why = "frame length out of range";
		return PROTO_BAD;
	}
	if (len - 4 < n)
		return PROTO_INCOMPLETE;
	*out = json_loadb((const char *)buf + 4, n, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		*why = "not a JSON object";
		return PROTO_BAD;
	}
	*used = 4 + n;
	return PROTO_OK;
}

unsigned char *
proto_encode(json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t n;
	unsigned char *b;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	b = xmalloc(n + 4);
	b[0] = (unsigned char)(n >> 24);
	b[1] = (unsigned char)(n >> 16);
	b[2] = (unsigned char)(n >> 8);
	b[3] = (unsigned char)n;
	memcpy(b + 4, s, n);
	free(s);
	*len = n + 4;
	return b;
}

int
proto_send(int fd, json_t *msg)
{
	unsigned char *b;
	size_t len, off = 0;
	ssize_t w;

	if ((b = proto_encode(msg, &len)) == NULL)
		return -1;
	while (off < len) {
		w = write(fd, b + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			free(b);
			return -1;
		}
		off += (size_t)w;
	}
	free(b);
	return 0;
}

/*
 * Read exactly len bytes; the first descriptor that comes with them goes
 * to *passed when it is -1, any other is closed.
 */
static int
read_full(int fd, unsigned char *p, size_t len, int *passed)
{
	ssize_t r;
	size_t n;
	int got;

	while (len > 0) {
		if ((r = fdpass_recv(fd, p, len, &got, 1, &n)) <= 0)
			return -1;
		if (n == 1 && passed != NULL && *passed == -1)
			*passed = got;
		else if (n == 1)
			close(got);
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

json_t *
proto_recv(int fd, int *passed)
{
	unsigned char hdr[4], *b;
	const char *why;
	json_t *msg = NULL;
	size_t used;
	uint32_t n;

	if (passed != NULL)
		*passed = -1;
	if (read_full(fd, hdr, 4, passed) == -1)
		return NULL;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > PROTO_MAX_REPLY)
		return NULL;
	b = xmalloc(n + 4);
	memcpy(b, hdr, 4);
	if (read_full(fd, b + 4, n, NULL) == 0)
		proto_parse_max(b, n + 4, PROTO_MAX_REPLY, &used, &msg, &why);
	free(b);
	return msg;
}

char *
proto_recv_raw(int fd, size_t n)
{
	unsigned char hdr[4];
	char *b;

	if (n > PROTO_MAX_REPLY || read_full(fd, hdr, 4, NULL) == -1 ||
	    ((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3]) != n)
		return NULL;
	b = xmalloc(n + 1);
	if (read_full(fd, (unsigned char *)b, n, NULL) == -1) {
		free(b);
		return NULL;
	}
	b[n] = '\0';
	return b;
}

json_t *
proto_reply_ok(void)
{
	return json_pack("{s:i,s:b}", "version", PROTO_VERSION, "ok", 1);
}

json_t *
proto_reply_error(const char *fmt, ...)
{
	va_list ap;
	char *s;
	json_t *r;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	r = json_pack("{s:i,s:b,s:s}", "version", PROTO_VERSION, "ok", 0,
	    "error", s != NULL ? s : "internal error");
	free(s);
	return r;
}
