/* What the platform files share: POSIX, the same on every OS. */
#ifndef BMD_PLATFORM_POSIX_H
#define BMD_PLATFORM_POSIX_H

/*
 * A serial line as bhyve's uart expects it: raw, 115200 8N1, and CLOCAL,
 * so that the close of one side of a null-modem pair (bhyve exiting) is
 * not taken as a lost carrier that hangs up bmd's side for good.  On a
 * pty master it sets what the slave's opener finds.
 */
int	tty_raw(int fd);

#endif
