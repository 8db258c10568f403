/* The one set of rules for VM names: they become file names and log text. */
#include <string.h>

#include "conf.h"
#include "jsontext.h"

/*
 * NULL when name is a valid VM name, else why not.  A name is a single
 * file name component in bmd's run and vars directories, an argument of
 * the hypervisor and part of log lines, wherever it comes from (section
 * name, "name =", a template): no "/" or "..", no control characters,
 * no leading "-" (it would read as an option), and short enough that
 * every socket path built from it fits.
 */
const char *
conf_vm_name_problem(const char *name)
{
	const unsigned char *p;

	if (name[0] == '\0')
		return "it is empty";
	if (strlen(name) > CONF_NAME_MAX)
		return "it is longer than " CONF_NAME_MAX_STR " bytes";
	if (strchr(name, '/') != NULL)
		return "it contains \"/\"";
	if (strstr(name, "..") != NULL)
		return "it contains \"..\"";
	if (name[0] == '-')
		return "it begins with \"-\"";
	if (strcmp(name, ".") == 0)
		return "it is \".\"";
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "it contains a control character";
	/* bmdctl names VMs in JSON, which holds UTF-8 only */
	if (!text_is_utf8(name))
		return "it is not valid UTF-8";
	return NULL;
}
