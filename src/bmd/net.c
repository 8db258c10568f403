/*
 * The taps of a run (spec 4.8): created before the hypervisor starts,
 * handed to it as open descriptors, kept across its restarts and guest
 * reboots, and closed when the run ends, whatever ended it.  bmd holds
 * one descriptor of each tap for the whole run, so a tap outlives a
 * crashed QEMU until bmd has seen the exit; since the taps are not
 * persistent, the kernel removes them once bmd's and QEMU's descriptors
 * are closed, even if bmd itself dies.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

struct vm_taps {
	size_t		  t_n;		/* = the VM's networks */
	char		(*t_names)[CONF_TAPNAMSIZ];	/* "": no tap (vale) */
	const char	**t_namep;	/* be_params: NULL for no tap */
	int		 *t_fds;	/* bmd's descriptors; -1: none */
	int		 *t_childfds;	/* their numbers in the hypervisor */
	int		 *t_pass;	/* the descriptors to pass, in order */
	int		  t_npass;
};

static int
is_vale(const struct conf_net *n)
{
	return strncmp(n->n_bridge, "vale", 4) == 0;
}

static int
none(const struct conf_net *n)
{
	return strcmp(n->n_bridge, "none") == 0;
}

/* One tap for network i: created, named vm-NAME-i, bridged and up. */
static int
tap_create(struct vm *vm, struct vm_taps *t, size_t i)
{
	const struct vm_conf *vc = vm->vm_conf;
	const struct conf_net *n = CLIST_AT(&vc->vc_network, struct conf_net,
	    i);
	const char *br = none(n) ? NULL : n->n_bridge, *step;
	char *alias;
	int rc, e;

	if (br != NULL && !plat_if_exists(br))
		return run_fail(vm, "network %s: no such bridge", br);
	if (conf_net_tap_name(vc->vc_id, i, t->t_names[i],
	    sizeof(t->t_names[i])) == -1)
		return run_fail(vm, "network %s: tap name bmd%dn%zu is too long",
		    n->n_bridge, vc->vc_id, i);
	if ((t->t_fds[i] = plat_tap_open(t->t_names[i])) == -1) {
		e = errno;
		return run_fail(vm, "network %s: cannot create tap %s: %s%s",
		    n->n_bridge, t->t_names[i], strerror(e), e == EBUSY ?
		    " (an interface of this name exists)" : "");
	}
	alias = xprintf("vm-%s-%zu", vc->vc_name, i);
	rc = plat_tap_attach(t->t_names[i], alias, br, &step);
	e = errno;
	free(alias);
	if (rc == 0)
		return 0;
	if (strcmp(step, "bridge") == 0 && e == ENODEV)
		return run_fail(vm, "network %s: no such bridge", br);
	if (strcmp(step, "bridge") == 0 && (e == EOPNOTSUPP || e == EINVAL))
		return run_fail(vm, "network %s: not a bridge", br);
	return run_fail(vm, "network %s: tap %s: %s: %s", n->n_bridge,
	    t->t_names[i], step, strerror(e));
}

/* The run's tap table for n networks, with no tap open yet. */
static struct vm_taps *
taps_new(struct vm *vm, size_t n)
{
	struct vm_taps *t = xcalloc(1, sizeof(*t));
	size_t i;

	t->t_n = n;
	t->t_names = xcalloc(n, sizeof(*t->t_names));
	t->t_namep = xcalloc(n, sizeof(*t->t_namep));
	t->t_fds = xcalloc(n, sizeof(*t->t_fds));
	t->t_childfds = xcalloc(n, sizeof(*t->t_childfds));
	t->t_pass = xcalloc(n, sizeof(*t->t_pass));
	for (i = 0; i < n; i++)
		t->t_fds[i] = t->t_childfds[i] = -1;
	vm->vm_run->rn_taps = t;
	return t;
}

/* Create every tap of the VM's networks; on failure none is left. */
int
net_setup(struct vm *vm)
{
	const struct clist *nets = &vm->vm_conf->vc_network;
	struct vm_taps *t;
	size_t i;

	if (nets->l_n == 0)
		return 0;
	if (nets->l_n > PROC_MAXFDS)
		return run_fail(vm, "too many networks (at most %d)", PROC_MAXFDS);
	t = taps_new(vm, nets->l_n);
	for (i = 0; i < t->t_n; i++) {
		if (is_vale(CLIST_AT(nets, struct conf_net, i)))
			continue;
		if (tap_create(vm, t, i) == -1) {
			net_teardown(vm);
			return -1;
		}
		t->t_namep[i] = t->t_names[i];
		t->t_childfds[i] = 3 + t->t_npass;
		t->t_pass[t->t_npass++] = t->t_fds[i];
		log_info("vm %s: tap %s on %s", vm->vm_conf->vc_name,
		    t->t_names[i],
		    CLIST_AT(nets, struct conf_net, i)->n_bridge);
	}
	return 0;
}

/*
 * A hypervisor that opens its taps by name (bhyve): where a tap is
 * exclusive-open and outlives its descriptors (FreeBSD), bmd closes its
 * own before the start and destroys the taps when the run ends.
 */
void
net_release(struct vm *vm)
{
	struct vm_taps *t = vm->vm_run != NULL ? vm->vm_run->rn_taps : NULL;
	size_t i;

	if (t == NULL || !plat_tap_persists())
		return;
	for (i = 0; i < t->t_n; i++)
		if (t->t_fds[i] != -1) {
			close(t->t_fds[i]);
			t->t_fds[i] = -1;
		}
	t->t_npass = 0;
}

/* The taps named in a stale runtime record: gone on Linux already. */
void
net_forget(json_t *names)
{
	const char *nm;
	size_t i;

	for (i = 0; plat_tap_persists() && i < json_array_size(names); i++)
		if ((nm = json_string_value(json_array_get(names, i))) != NULL &&
		    strncmp(nm, "bmd", 3) == 0 && plat_tap_destroy(nm) == 0)
			log_info("tap %s of a stale runtime record destroyed", nm);
}

/*
 * Close bmd's descriptors: on Linux the taps go once the hypervisor's
 * are closed too; on FreeBSD they are destroyed here.
 */
void
net_teardown(struct vm *vm)
{
	struct vm_taps *t = vm->vm_run != NULL ? vm->vm_run->rn_taps : NULL;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->t_n; i++) {
		if (t->t_fds[i] != -1) {
			close(t->t_fds[i]);
			log_debug("%s: vm %s: tap %s closed", __func__,
			    vm->vm_conf->vc_name, t->t_names[i]);
		}
		/* t_namep: a tap this run made or adopted, never another's */
		if (t->t_namep[i] != NULL && plat_tap_persists())
			(void)plat_tap_destroy(t->t_namep[i]);
	}
	free(t->t_names);
	free(t->t_namep);
	free(t->t_fds);
	free(t->t_childfds);
	free(t->t_pass);
	free(t);
	vm->vm_run->rn_taps = NULL;
}

/*
 * Re-adoption: the hypervisor holds the taps; bmd only knows their
 * names (from the runtime record), for `network` and the record.
 */
void
net_adopt(struct vm *vm, json_t *names)
{
	struct vm_taps *t;
	const char *nm;
	size_t i, n = json_array_size(names);

	if (n == 0 || n > PROC_MAXFDS)
		return;
	t = taps_new(vm, n);
	for (i = 0; i < n; i++) {
		nm = json_string_value(json_array_get(names, i));
		if (nm == NULL || nm[0] == '\0' ||
		    strlen(nm) >= sizeof(t->t_names[i]))
			continue;
		memcpy(t->t_names[i], nm, strlen(nm) + 1);
		t->t_namep[i] = t->t_names[i];
	}
	vm->vm_run->rn_taps = t;
}

/* The names of a run's taps ("" for a network without one). */
json_t *
net_tap_names(const struct vm *vm)
{
	const struct vm_taps *t = vm->vm_run != NULL ? vm->vm_run->rn_taps :
	    NULL;
	json_t *a = json_array();
	size_t i;

	for (i = 0; t != NULL && i < t->t_n; i++)
		json_array_append_new(a, json_string(t->t_namep[i] != NULL ?
		    t->t_namep[i] : ""));
	return a;
}

/* The tap names and descriptor numbers the backend puts on the command line. */
void
net_params(const struct vm *vm, struct be_params *bp)
{
	const struct vm_taps *t = vm->vm_run->rn_taps;

	if (t == NULL)
		return;
	bp->bp_taps = t->t_namep;
	bp->bp_ntaps = t->t_n;
	bp->bp_tap_fds = t->t_childfds;
}

/* The descriptors the hypervisor gets as 3, 4, ... (see net_params). */
int
net_pass_fds(const struct vm *vm, const int **fds)
{
	const struct vm_taps *t = vm->vm_run != NULL ? vm->vm_run->rn_taps :
	    NULL;

	*fds = t != NULL ? t->t_pass : NULL;
	return t != NULL ? t->t_npass : 0;
}

/*
 * The "network" command: each NIC of the VM with its bridge, MAC and,
 * while the VM runs, its tap.  The configuration is the one in effect
 * while running, else the one the next start will use.
 */
json_t *
net_cmd(struct ctl_req *rq, struct vm *vm)
{
	const struct vm_conf *vc = vm->vm_run != NULL ? vm->vm_conf :
	    vm_latest(vm);
	const struct vm_taps *t = vm->vm_run != NULL ? vm->vm_run->rn_taps :
	    NULL;
	const struct conf_net *n;
	json_t *r = proto_reply_ok(), *a = json_array();
	uint8_t mac[6];
	char text[18];
	size_t i;

	for (i = 0; i < vc->vc_network.l_n; i++) {
		n = CLIST_AT(&vc->vc_network, struct conf_net, i);
		conf_net_guest_mac(vc, i, mac);
		conf_mac_format(mac, text);
		json_array_append_new(a, json_pack("{s:i,s:s,s:s,s:s,s:b,s:o}",
		    "index", (int)i, "type", conf_net_type_name(n->n_type),
		    "bridge", n->n_bridge, "mac", text, "mac_configured",
		    n->n_hasmac, "tap", t != NULL && i < t->t_n &&
		    t->t_namep[i] != NULL ? json_string(t->t_namep[i]) :
		    json_null()));
	}
	json_object_set_new(r, "name", json_string(vc->vc_name));
	json_object_set_new(r, "networks", a);
	return r;
}
