/*
 * The runtime half of each backend: how the daemon prepares, starts,
 * asks, watches and re-adopts one hypervisor.  The static half (checks,
 * command lines) is struct backend in backend.h, shared with bmdctl;
 * these drivers run only in the daemon (the files NAME_run.c here).
 */
#ifndef BMD_RUNTIME_H
#define BMD_RUNTIME_H

#include <jansson.h>

struct vm;
struct vm_conf;
struct be_params;

struct vm_driver {
	const char	*d_name;
	/* Once per start, before anything is spawned (NULL: nothing). */
	int		(*d_begin)(struct vm *);
	/* The run-time facts of the command lines (com devices...). */
	int		(*d_params)(struct vm *, struct be_params *);
	int		(*d_prepare)(struct vm *);	/* before the hypervisor */
	/*
	 * The descriptors the hypervisor inherits: the taps and the
	 * driver's own (*pass, the driver's array); the count, or -1.
	 * d_spawned closes the driver's after the spawn.  NULL: the taps.
	 */
	int		(*d_pass_fds)(struct vm *, const int *taps, int ntaps,
			    const int **pass);
	void		(*d_spawned)(struct vm *);
	/* After each spawn: a loader or the hypervisor. */
	void		(*d_open)(struct vm *);
	void		(*d_close)(struct vm *);	/* the hypervisor exited */
	/* The run is over: release what d_begin took (NULL: nothing). */
	void		(*d_end)(struct vm *);
	int		(*d_powerdown)(struct vm *);
	int		(*d_quit)(struct vm *);
	/*
	 * bmdctl poweroff: end the VM now.  NULL: SIGKILL, a power cut,
	 * which is what a forced stop is and the fastest way to it.
	 */
	int		(*d_poweroff)(struct vm *);
	int		(*d_reset)(struct vm *);
	/*
	 * Does the live process of a runtime record answer as the VM?  drv
	 * is what d_record wrote in the record (NULL: none, or no record).
	 */
	int		(*d_adopt)(struct vm *, json_t *drv);
	/* The driver's part of the runtime record (NULL: none). */
	json_t		*(*d_record)(const struct vm *);
	/* list/status: make sure a hypervisor that stopped answering shows */
	void		(*d_probe)(struct vm *);
	/*
	 * The hypervisor exited with wait status st: record why (why.c);
	 * 1 if it asks to be started again in place (a guest reboot that
	 * the hypervisor cannot do itself), 0 otherwise.
	 */
	int		(*d_exited)(struct vm *, int st);
	/*
	 * Why the console broker does not serve port i (NULL: it does): 0-3
	 * com1..com4, 4 + n the virtio console n.
	 */
	const char	*(*d_com_unmanaged)(const struct vm_conf *, int i);
	/*
	 * Where the broker reaches port i now: a socket to connect to
	 * (*path, allocated) or a device it may read and write (*fd, bmd
	 * keeps it; the broker takes a duplicate).  -1: nowhere.
	 */
	int		(*d_com_endpoint)(struct vm *, int i, char **path,
			    int *fd);
};

extern const struct vm_driver drv_qemu;
extern const struct vm_driver drv_bhyve;

const struct vm_driver *driver_for(const struct vm_conf *);
/* The VM's UEFI variable store, copied from template when needed. */
void	runtime_uefi_vars(const struct vm *, const char *template);

#endif
