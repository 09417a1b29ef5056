/* cunit_run.h — run one table of CUnit tests as a program's whole job. */
#ifndef CUNIT_RUN_H
#define CUNIT_RUN_H

#include <stddef.h>
#include <CUnit/CUnit.h>

struct cunit_case {
	const char *name;
	CU_TestFunc fn;
};

/* Register N cases in suite NAME (INIT/CLEAN may be NULL), run them
 * verbosely, and return the program's exit status: 0 if every test, assert
 * and suite set-up passed, 1 otherwise. */
int cunit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
	      const struct cunit_case *cases, size_t n);

#define CUNIT_RUN(name, init, clean, cases) \
	cunit_run((name), (init), (clean), (cases), sizeof(cases) / sizeof((cases)[0]))

#endif
