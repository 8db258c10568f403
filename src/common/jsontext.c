/* Configuration text as JSON: a string, or its bytes in hex when not UTF-8. */
#include <string.h>

#include "buf.h"
#include "jsontext.h"

int
text_is_utf8(const char *s)
{
	json_t *j = json_string(s);	/* jansson's own check */

	json_decref(j);
	return j != NULL;
}

json_t *
json_text(const char *s)
{
	struct buf b;
	json_t *j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	buf_init(&b);
	for (; *s != '\0'; s++)
		buf_printf(&b, "%02x", (unsigned char)*s);
	j = json_pack("{s:s}", "hex", buf_str(&b));
	buf_free(&b);
	return j;
}
