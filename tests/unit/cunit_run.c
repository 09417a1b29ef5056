/* cunit_run.c — the shared body of every table-driven CUnit program. */
#include <CUnit/Basic.h>

#include "cunit_run.h"

static CU_InitializeFunc user_init;
static CU_CleanupFunc user_clean;

/* CUnit skips a suite's clean-up when its set-up fails, but a set-up that
 * fails half-way may already have started daemons or made links: clean
 * up here, so a failed start leaves nothing running. */
static int init_or_clean(void)
{
	int rc = user_init();

	if (rc != 0 && user_clean)
		user_clean();
	return rc;
}

int cunit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
	      const struct cunit_case *cases, size_t n)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	user_init = init;
	user_clean = clean;
	s = CU_add_suite(name, init ? init_or_clean : NULL, clean);
	for (size_t i = 0; s && i < n; i++)
		CU_add_test(s, cases[i].name, cases[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return (s && !fails) ? 0 : 1;
}
