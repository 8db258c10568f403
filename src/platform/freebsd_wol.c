/* Wake-on-LAN capture on FreeBSD: bpf(4) on the bridge, promiscuous, as the original. */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <net/bpf.h>
#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"
#include "wolframe.h"

#define BPF_BUFLEN	(256 * 1024)
#define MAX_CAPTURES	64

static struct bpf_insn min_len[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, WOL_FRAME_MIN, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, WOL_FRAME_MAX),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

/* A read of bpf gives several frames: what is left of it, per descriptor. */
static struct capture {
	int		 c_fd;
	unsigned char	*c_buf;
	size_t		 c_size;	/* bpf's buffer: each read takes it all */
	size_t		 c_len, c_off;
} captures[MAX_CAPTURES];

static struct capture *
capture_of(int fd)
{
	int i;

	for (i = 0; i < MAX_CAPTURES; i++)
		if (captures[i].c_buf != NULL && captures[i].c_fd == fd)
			return &captures[i];
	return NULL;
}

int
plat_wol_open(const char *ifname)
{
	struct bpf_program prog = { sizeof(min_len) / sizeof(min_len[0]),
	    min_len };
	struct ifreq ifr;
	u_int blen = BPF_BUFLEN, on = 1;
	int fd, i, e;

	for (i = 0; i < MAX_CAPTURES && captures[i].c_buf != NULL; i++)
		;
	if (i == MAX_CAPTURES || strlen(ifname) >= sizeof(ifr.ifr_name)) {
		errno = i == MAX_CAPTURES ? EMFILE : ENAMETOOLONG;
		return -1;
	}
	if ((fd = open("/dev/bpf", O_RDWR | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	if (ioctl(fd, BIOCSBLEN, &blen) == -1 ||
	    ioctl(fd, BIOCSETIF, &ifr) == -1 ||
	    ioctl(fd, BIOCIMMEDIATE, &on) == -1 ||
	    ioctl(fd, BIOCPROMISC, NULL) == -1 ||
	    ioctl(fd, BIOCSETF, &prog) == -1 ||
	    ioctl(fd, BIOCGBLEN, &blen) == -1 ||
	    (captures[i].c_buf = malloc(blen)) == NULL) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	captures[i].c_fd = fd;
	captures[i].c_size = blen;
	captures[i].c_off = captures[i].c_len = 0;
	return fd;
}

ssize_t
plat_wol_recv(int fd, unsigned char *buf, size_t len)
{
	struct capture *c = capture_of(fd);
	struct bpf_hdr *h;
	ssize_t n;
	size_t cap;

	if (c == NULL) {
		errno = EBADF;
		return -1;
	}
	if (c->c_off >= c->c_len) {
		while ((n = read(fd, c->c_buf, c->c_size)) == -1 &&
		    errno == EINTR)
			;
		if (n <= 0)
			return n;
		c->c_len = (size_t)n;
		c->c_off = 0;
	}
	if (c->c_len - c->c_off < sizeof(*h)) {
		c->c_off = c->c_len;
		errno = EAGAIN;
		return -1;
	}
	h = (struct bpf_hdr *)(void *)(c->c_buf + c->c_off);
	if (h->bh_hdrlen + h->bh_caplen > c->c_len - c->c_off) {
		c->c_off = c->c_len;
		errno = EAGAIN;
		return -1;
	}
	cap = h->bh_caplen < len ? h->bh_caplen : len;
	memcpy(buf, c->c_buf + c->c_off + h->bh_hdrlen, cap);
	c->c_off += BPF_WORDALIGN(h->bh_hdrlen + h->bh_caplen);
	return (ssize_t)cap;
}
