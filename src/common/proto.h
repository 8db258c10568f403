/*
 * The control protocol between bmdctl and bmd: length-prefixed JSON.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of
 * one JSON object (UTF-8).  Requests larger than PROTO_MAX_FRAME are
 * refused, and so are replies larger than PROTO_MAX_REPLY.  A descriptor,
 * when one is passed (console), travels as
 * SCM_RIGHTS with the first byte of the reply frame.
 *
 * Request:  {"version": PROTO_VERSION, "command": "boot", "name": "vm1", ...}
 * Reply:    {"version": PROTO_VERSION, "ok": true, ...}
 *           {"version": PROTO_VERSION, "ok": false, "error": "no VM named 'x'"}
 *
 * Commands and their extra members:
 *   boot, install     name                 -> ok
 *   shutdown          name                 -> ok   (alias: stop)
 *   poweroff, reset   name                 -> ok
 *   list              -                    -> "vms": [ {id, name, state,
 *                        owner, group, ncpu, memory (bytes), backend,
 *                        loader, pid (or null)} ... ]
 *                     table: true, sort, reverse -> "table": the text of
 *                        `bmdctl list`; with raw: true as well -> "raw": N,
 *                        and the text follows as one raw frame (4-byte
 *                        length N, then N bytes that are not JSON): a
 *                        large table costs far more as a JSON string
 *   reload            -                    -> ok   (root only)
 *   status            name                 -> "vm": {as in list}
 *   console           name, port ("com1".."com4"), mode ("interactive",
 *                     "force", "read-only", "dump"), replay (true: the
 *                     scrollback, false: none, "run": this run's)
 *                                          -> "port", "path", and the
 *                        session as a descriptor: raw bytes both ways,
 *                        "\r\n[bmd: ...]\r\n" notices from bmd (console.c)
 *   events            names (optional)     -> ok, then one frame per event
 *                        until the client closes (events.c)
 *   metrics           -                    -> "vms", "daemon" (metrics.c)
 *
 * Bump PROTO_VERSION whenever a message changes incompatibly.
 */
#ifndef BMD_PROTO_H
#define BMD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PROTO_VERSION	1
#define PROTO_MAX_FRAME	(1024 * 1024)	/* requests */
/* Replies bmdctl accepts: a list of every VM the daemon may hold. */
#define PROTO_MAX_REPLY	(256 * 1024 * 1024)

enum proto_status {
	PROTO_OK,		/* *out holds a message */
	PROTO_INCOMPLETE,	/* need more bytes */
	PROTO_BAD		/* malformed or oversized; close */
};

/*
 * Try to take one frame from buf.  On PROTO_OK, *used is the number of
 * bytes consumed and *out a new reference to the object.  On PROTO_BAD,
 * *why says what was wrong.
 */
enum proto_status proto_parse(const unsigned char *buf, size_t len,
		    size_t *used, json_t **out, const char **why);
/* The same with another frame limit. */
enum proto_status proto_parse_max(const unsigned char *buf, size_t len,
		    size_t max, size_t *used, json_t **out, const char **why);
/* Encode a message as a frame (malloc'd). */
unsigned char	*proto_encode(json_t *msg, size_t *len);

/* Blocking helpers for bmdctl. */
int		 proto_send(int fd, json_t *msg);
json_t		*proto_recv(int fd, int *passed_fd);	/* NULL on error */
/* The raw frame announced by a reply's "raw": N (malloc'd, NUL added). */
char		*proto_recv_raw(int fd, size_t n);

/* Reply helpers. */
json_t		*proto_reply_ok(void);
json_t		*proto_reply_error(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

#endif
