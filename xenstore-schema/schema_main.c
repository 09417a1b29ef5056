/* schema_main.c — xnet-schema: check a store against the vif schema, or
 * render the schema's Markdown table. */
#include "xsc.h"

int main(int argc, char **argv)
{
	return xsc_main(argc, argv);
}
