/* Wake-on-LAN capture on Linux: an AF_PACKET socket on the bridge, promiscuous. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"
#include "wolframe.h"

/* Only frames long enough to hold a magic packet reach the monitor. */
static struct sock_filter min_len[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, WOL_FRAME_MIN, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, WOL_FRAME_MAX),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

int
plat_wol_open(const char *ifname)
{
	struct sock_fprog prog = { sizeof(min_len) / sizeof(min_len[0]),
	    min_len };
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	unsigned idx = if_nametoindex(ifname);
	int fd, e;

	if (idx == 0)
		return -1;
	if ((fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    htons(ETH_P_ALL))) == -1)
		return -1;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)idx;
	/* a bridge passes up what it forwards only when promiscuous */
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) == -1 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1 ||
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
	    sizeof(mr)) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

ssize_t
plat_wol_recv(int fd, unsigned char *buf, size_t len)
{
	ssize_t n;

	while ((n = recv(fd, buf, len, MSG_TRUNC)) == -1 && errno == EINTR)
		;
	return n > (ssize_t)len ? (ssize_t)len : n;
}
