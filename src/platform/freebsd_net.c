/* FreeBSD taps and bridges for the platform layer (see platform.h). */
#include <sys/param.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sockio.h>

#include <net/if.h>
#include <net/if_types.h>
#include <net/if_bridgevar.h>

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

/* The longest alias taken, as on Linux (IFLA_IFALIAS). */
#define ALIAS_MAX	256

/* Interface ioctls work on any socket; AF_LOCAL exists in every kernel. */
static int
if_socket(void)
{
	return socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static void
if_destroy(int s, const char *name)
{
	struct ifreq ifr;
	int e = errno;

	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	(void)ioctl(s, SIOCIFDESTROY, &ifr);
	errno = e;
}

/*
 * The tap driver gives a renamed tap a /dev/NAME alias of its /dev/tapN
 * on a best-effort basis: the original node is the fallback.
 */
static int
tap_dev_open(const char *name, const char *clone)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", name);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) != -1 || errno != ENOENT)
		return fd;
	snprintf(path, sizeof(path), "/dev/%s", clone);
	return open(path, O_RDWR | O_CLOEXEC);
}

/*
 * A new tap NAME: clone "tap" (the kernel picks tapN), rename it, open
 * its device.  A name in use makes the rename fail with EEXIST, given
 * as EBUSY like Linux's IFF_TUN_EXCL, so no foreign interface is ever
 * taken over; the clone is destroyed on any failure.
 *
 * FreeBSD cannot make a tap disappear with its last descriptor (tap(4):
 * it lives until destroyed); see platform.h for what the caller does.
 */
int
plat_tap_open(const char *name)
{
	struct ifreq ifr;
	char clone[IFNAMSIZ], newname[IFNAMSIZ];
	int s, fd = -1, e = 0;

	if (strlcpy(newname, name, sizeof(newname)) >= sizeof(newname)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((s = if_socket()) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, "tap", sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCIFCREATE2, &ifr) == -1) {
		e = errno;
		goto out;
	}
	strlcpy(clone, ifr.ifr_name, sizeof(clone));
	if (strcmp(clone, newname) != 0) {
		ifr.ifr_data = newname;
		if (ioctl(s, SIOCSIFNAME, &ifr) == -1) {
			e = errno == EEXIST ? EBUSY : errno;
			if_destroy(s, clone);
			goto out;
		}
	}
	if ((fd = tap_dev_open(newname, clone)) == -1) {
		e = errno;
		if_destroy(s, newname);
	}
out:
	close(s);
	errno = e;
	return fd;
}

/* tap(4): a tap lives until it is destroyed. */
int
plat_tap_persists(void)
{
	return 1;
}

int
plat_tap_destroy(const char *name)
{
	int s;

	if ((s = if_socket()) == -1)
		return -1;
	if_destroy(s, name);
	close(s);
	return 0;
}

int
plat_if_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/* SIOCSIFDESCR: what ifconfig shows as "description". */
static int
set_descr(int s, const char *tap, const char *alias)
{
	struct ifreq ifr;
	char buf[ALIAS_MAX];

	if (strlcpy(buf, alias, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, tap, sizeof(ifr.ifr_name));
	ifr.ifr_buffer.buffer = buf;
	ifr.ifr_buffer.length = strlen(buf) + 1;
	return ioctl(s, SIOCSIFDESCR, &ifr);
}

/*
 * Is name an if_bridge?  1 yes, 0 another kind, -1 (ENODEV) none of
 * that name.  getifaddrs gives each interface's if_data with its
 * AF_LINK entry.
 */
static int
is_bridge(const char *name)
{
	struct ifaddrs *ifap, *ifa;
	const struct if_data *ifd;
	int r = -1;

	if (getifaddrs(&ifap) == -1)
		return -1;
	for (ifa = ifap; ifa != NULL && r == -1; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family !=
		    AF_LINK || strcmp(ifa->ifa_name, name) != 0 ||
		    (ifd = ifa->ifa_data) == NULL)
			continue;
		r = ifd->ifi_type == IFT_BRIDGE;
	}
	freeifaddrs(ifap);
	if (r == -1)
		errno = ENODEV;
	return r;
}

/*
 * BRDGADD through SIOCSDRVSPEC, which other drivers (vxlan, for one)
 * also take, with commands of their own: the bridge is checked to be one
 * first, so that nothing else is mistaken for it.  The errors are
 * those the caller knows from Linux: ENODEV none, EOPNOTSUPP not a
 * bridge.
 */
static int
bridge_add(int s, const char *bridge, const char *tap)
{
	struct ifbreq req;
	struct ifdrv ifd;
	int r;

	if (strlen(bridge) >= IFNAMSIZ) {
		errno = ENODEV;
		return -1;
	}
	if ((r = is_bridge(bridge)) != 1) {
		if (r == 0)
			errno = EOPNOTSUPP;
		return -1;
	}
	memset(&req, 0, sizeof(req));
	strlcpy(req.ifbr_ifsname, tap, sizeof(req.ifbr_ifsname));
	memset(&ifd, 0, sizeof(ifd));
	strlcpy(ifd.ifd_name, bridge, sizeof(ifd.ifd_name));
	ifd.ifd_cmd = BRDGADD;
	ifd.ifd_len = sizeof(req);
	ifd.ifd_data = &req;
	return ioctl(s, SIOCSDRVSPEC, &ifd);
}

/*
 * IFF_UP, and IFF_LINK0: tap(4) brings a tap down on the last close of
 * its device unless IFF_LINK0 is set, and that close comes often here
 * (bmd's own descriptor before bhyve opens the tap, bhyve's at every
 * guest reboot).  The high 16 flag bits are kept as they are.
 */
static int
set_up(int s, const char *tap)
{
	struct ifreq ifr;
	int flags;

	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, tap, sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		return -1;
	flags = (ifr.ifr_flags & 0xffff) | (ifr.ifr_flagshigh << 16);
	flags |= IFF_UP | IFF_LINK0;
	ifr.ifr_flags = (short)(flags & 0xffff);
	ifr.ifr_flagshigh = (short)(flags >> 16);
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

/*
 * Alias, bridge, then up, as on Linux.  On failure *step names the
 * step and errno tells why.
 */
int
plat_tap_attach(const char *tap, const char *alias, const char *bridge,
    const char **step)
{
	int s, rc = -1, e;

	*step = "find";
	if (if_nametoindex(tap) == 0)
		return -1;
	if ((s = if_socket()) == -1)
		return -1;
	*step = "alias";
	if (alias != NULL && set_descr(s, tap, alias) == -1)
		goto out;
	if (bridge != NULL) {
		*step = "bridge";
		if (bridge_add(s, bridge, tap) == -1)
			goto out;
	}
	*step = "up";
	rc = set_up(s, tap);
out:
	e = errno;
	close(s);
	errno = e;
	return rc;
}
