/* The sockets and files bmd opens for a user's QEMU (qemu_fds.c). */
#ifndef BMD_QEMU_FDS_H
#define BMD_QEMU_FDS_H

#define QEMU_FDS_MAXSOCKS	48
/* QMP and four com ports take the other sockets */
#define QEMU_FDS_MAXVC		(QEMU_FDS_MAXSOCKS - 5)

struct vm;
struct be_params;

int	qemu_fds_params(struct vm *, struct be_params *);
int	qemu_fds_open(struct vm *, const int *taps, int ntaps,
	    const int **pass);
void	qemu_fds_spawned(struct vm *);
void	qemu_fds_free(struct vm *);

#endif
