/* FreeBSD: a process's CPU time and resident memory, and our descriptors. */
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>

#include <unistd.h>

#include "platform.h"

int
plat_proc_usage(pid_t pid, struct plat_usage *u)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid };
	struct kinfo_proc kp;
	size_t len = sizeof(kp);

	if (sysctl(mib, 4, &kp, &len, NULL, 0) == -1 || len != sizeof(kp))
		return -1;
	/* ki_runtime: microseconds on a CPU, user and system together */
	u->pu_cpu_usec = kp.ki_runtime;
	u->pu_rss = (unsigned long long)kp.ki_rssize *
	    (unsigned long long)getpagesize();
	return 0;
}

int
plat_open_fds(void)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_NFDS, 0 };
	int n;
	size_t len = sizeof(n);

	if (sysctl(mib, 4, &n, &len, NULL, 0) == -1)
		return -1;
	return n;
}
