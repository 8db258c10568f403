/*
 * The networks of a VM, as both programs see them: the stable MAC of a
 * NIC without one, the predictable tap name, and which bridges a VM's
 * owner may join.  Pure functions of the configuration.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "keys.h"

/*
 * 64-bit FNV-1a, then a MurmurHash3 finaliser so that every input bit
 * reaches every output byte.  The exact function is part of the
 * interface: changing it would change every guest's MAC address.
 */
static uint64_t
hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n-- > 0) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

void
conf_net_mac(const char *vmname, size_t index, uint8_t mac[6])
{
	unsigned char idx[4];
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	idx[0] = (unsigned char)(index >> 24);
	idx[1] = (unsigned char)(index >> 16);
	idx[2] = (unsigned char)(index >> 8);
	idx[3] = (unsigned char)index;
	h = hash_bytes(h, vmname, strlen(vmname) + 1);	/* with the NUL */
	h = hash_bytes(h, idx, sizeof(idx));
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (5 - i)));
	/* locally administered (bit 1 set), unicast (bit 0 clear) */
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
}

void
conf_net_guest_mac(const struct vm_conf *vc, size_t i, uint8_t mac[6])
{
	const struct conf_net *n = CLIST_AT(&vc->vc_network, struct conf_net,
	    i);

	if (n->n_hasmac)
		memcpy(mac, n->n_mac, 6);
	else
		conf_net_mac(vc->vc_name, i, mac);
}

int
conf_net_tap_name(int id, size_t index, char *buf, size_t len)
{
	int n;

	if (len > CONF_TAPNAMSIZ)
		len = CONF_TAPNAMSIZ;
	n = snprintf(buf, len, "bmd%dn%zu", id, index);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
user_bridge_ok(const struct global_conf *gc, const char *bridge)
{
	size_t i;

	if (strcmp(bridge, "none") == 0)
		return 1;
	for (i = 0; i < gc->gc_user_bridges.l_n; i++)
		if (strcmp(*CLIST_AT(&gc->gc_user_bridges, char *, i),
		    bridge) == 0)
			return 1;
	return 0;
}

/*
 * A bridge is a way into a network the administrator built: a VM owned
 * by another user than root may only join those listed in user_bridges.
 */
int
conf_check_user_bridges(const struct vm_conf *vc,
    const struct global_conf *gc, struct diags *ds)
{
	const struct conf_net *n;
	size_t i;
	int rc = 0;

	if (vc->vc_owner == 0)
		return 0;
	for (i = 0; i < vc->vc_network.l_n; i++) {
		n = CLIST_AT(&vc->vc_network, struct conf_net, i);
		if (user_bridge_ok(gc, n->n_bridge))
			continue;
		diag_error(ds, key_item_pos(vc, &vc->vc_network, i),
		    "vm \"%s\": \"network\": bridge %s is not in user_bridges; "
		    "a VM owned by %s may not join it", vc->vc_name, n->n_bridge,
		    vc->vc_owner_name != NULL ? vc->vc_owner_name : "a user");
		rc = -1;
	}
	return rc;
}
