/* OpenBSD-style logging shared by bmd and bmdctl: syslog and/or stderr. */
#ifndef BMD_LOG_H
#define BMD_LOG_H

#include <stdarg.h>

#define LOG_TO_STDERR	0x1
#define LOG_TO_SYSLOG	0x2
#define LOG_TO_FILE	0x4	/* the file of log_file() */

void	log_init(const char *ident, int dest, int facility);
/* Log to path as well (LOG_TO_FILE), appending; reopened by log_reopen. */
int	log_file(const char *path);
void	log_reopen(void);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_write(int pri, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vwrite(int pri, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
_Noreturn void fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
