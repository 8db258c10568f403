/*
 * The console broker's internals, shared by console.c (ports and their
 * connection to the hypervisor), console_session.c (clients) and
 * console_log.c (console_logfile).
 */
#ifndef BMD_CONSOLE_H
#define BMD_CONSOLE_H

#include <sys/queue.h>
#include <sys/time.h>

#include <stdint.h>

#include <event2/event.h>

#include "bmd.h"


#define CONS_NCOM		4	/* com1..com4: 0..3; virtio consoles after */
#define CONS_MAXVC		256
#define CONS_IN_MAX		16384	/* keystrokes queued for the guest */
#define CONS_READ_CHUNK		65536
#define RETRY_MIN_MS		5
#define RETRY_MAX_MS		50
#define CLOSE_GRACE_SEC		5	/* for a last notice to be read */
/* Output is sent to clients at most this often while it streams. */
#define COALESCE_USEC		2000
/*
 * QEMU's end of a console socket gets CONS_PEER_SNDBUF bytes of send
 * buffer; then, while output streams, a read waits up to PAUSE_MAX_US so
 * that each read takes many of the one-byte writes QEMU makes.
 */
#define CONS_PEER_SNDBUF	(8 << 20)
#define PAUSE_MAX_US		1000
#define PAUSE_MIN_US		250	/* shorter: not worth a timer */
#define STREAM_QUIET_US		5000	/* output after this long: at once */
#define FULL_READ		4096	/* the socket was filling: wait less */

enum cons_mode { CM_WRITER, CM_VIEWER, CM_DUMP };

struct cons_port;

struct cons_client {
	struct cons_port *cc_port;
	int		 cc_fd;
	enum cons_mode	 cc_mode;
	uid_t		 cc_uid;
	pid_t		 cc_pid;
	char		*cc_user;
	/*
	 * A secret named in the reply: a console_mode request carrying it
	 * (from the same user) acts on this session, though it comes from
	 * another process, as it does over ssh (bmdctl stdio).
	 */
	char		 cc_token[33];
	struct event	*cc_rev, *cc_wev;
	struct event	*cc_grace;	/* closing: the notice's deadline */
	uint64_t	 cc_pos;	/* next ring byte to send */
	uint64_t	 cc_end;	/* dump: stop here */
	char		*cc_note;	/* a notice to send first */
	size_t		 cc_notelen, cc_noteoff;
	char		*cc_final;	/* the last notice, after the output */
	int		 cc_closing;	/* close once cc_final is out */
	int		 cc_paused;	/* input paused: guest queue full */
	time_t		 cc_since;	/* attached */
	time_t		 cc_active;	/* attached, or last typed */
	TAILQ_ENTRY(cons_client) cc_entry;
};
TAILQ_HEAD(cons_clients, cons_client);

struct cons_port {
	struct vm	*cp_vm;
	int		 cp_index;	/* 0: com1; CONS_NCOM + n: vconsole n */
	char		 cp_label[24];	/* com1, vconsole3 */
	char		*cp_path;	/* a socket to connect to (QEMU) */
	int		 cp_dev;	/* or a device bmd holds (bhyve), -1 */
	int		 cp_fd;		/* -1: not connected */
	struct event	*cp_rev, *cp_wev, *cp_retry;
	int		 cp_retry_ms;
	struct event	*cp_flush;	/* the next send to clients */
	struct event	*cp_pause;	/* reading resumes (streaming) */
	int		 cp_pause_us;	/* between reads while output streams */
	int		 cp_paced;	/* -1 not yet tried, 0 no, 1 paced */
	struct timeval	 cp_last_read;
	struct timeval	 cp_last;	/* of the last send to clients */
	int		 cp_want;	/* QEMU runs: keep connected */
	int		 cp_log_fd;	/* console_logfile, -1: none */
	struct owner_open *cp_log_job;	/* a user's, being opened */
	int		 cp_log_why;	/* why: CLOG_START, _ROTATE, _REOPEN */
	uint64_t	 cp_log_pos;	/* ring bytes before it are written */
	uint64_t	 cp_log_size;	/* the file's, for the rotation */
	time_t		 cp_log_stamp;	/* of the last time stamp in it */
	int		 cp_log_mid;	/* its last line is not ended */
	/* the scrollback: the last cp_cap bytes of cp_total ever read */
	unsigned char	*cp_ring;
	size_t		 cp_cap;
	uint64_t	 cp_total;
	uint64_t	 cp_run_pos;	/* where the current run began */
	int		 cp_run_new;	/* cp_run_pos is set at the next open */
	/* keystrokes of the writer not yet taken by QEMU */
	unsigned char	 cp_in[CONS_IN_MAX];
	size_t		 cp_inlen;
	struct cons_client *cp_writer;
	struct cons_clients cp_clients;
	/* console_expect: type cp_answer once cp_expect has been read */
	char		*cp_expect, *cp_answer;
	size_t		 cp_matched;
};

struct console {
	int		 cs_n;
	struct cons_port *cs_port[];	/* cs_n of them */
};

/* console.c */
const char	*vm_name(const struct cons_port *);
uint64_t	 ring_low(const struct cons_port *);
const char	*port_unmanaged(const struct vm_conf *, int);
struct cons_port *port_get(struct vm *, int);
struct cons_port *port_find(const struct vm *, int);
void		 port_start(struct vm *, struct cons_port *);
void		 port_flush_in(struct cons_port *);

/* console_session.c */
void		 client_free(struct cons_client *);
int		 client_note(struct cons_client *, int last, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
int		 client_flush(struct cons_client *);
void		 client_pause(struct cons_client *, int);

/* console_log.c */
void		 clog_open(struct cons_port *);
void		 clog_flush(struct cons_port *);
void		 clog_output(struct cons_port *, const unsigned char *, size_t);
void		 clog_close(struct cons_port *);
void		 clog_event(struct cons_port *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

#endif
