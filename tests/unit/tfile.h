/* Unit tests' configuration files: written whole under a test's directory. */
#ifndef BMD_TFILE_H
#define BMD_TFILE_H

#include <stdio.h>

/*
 * DIR/REL holds text, written in place (the inode kept, as an editor
 * that keeps it would); the test fails if it cannot be written.
 */
static void
tfile_put(const char *dir, const char *rel, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
}

#endif
