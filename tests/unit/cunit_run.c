/* cunit_run.c — the shared body of every table-driven CUnit program. */
#include <CUnit/Basic.h>

#include "cunit_run.h"

int cunit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
	      const struct cunit_case *cases, size_t n)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite(name, init, clean);
	for (size_t i = 0; s && i < n; i++)
		CU_add_test(s, cases[i].name, cases[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return (s && !fails) ? 0 : 1;
}
