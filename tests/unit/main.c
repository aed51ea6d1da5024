#include "tests/unit/unit.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int unit_add(const char *name, const unit_test *tests)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s)
        return -1;
    for (; tests->name; tests++)
        if (!CU_add_test(s, tests->name, tests->fn))
            return -1;
    return 0;
}

char *unit_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/tern-unit-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void unit_rmrf(const char *path)
{
    char cmd[1024];
    if (!path || !*path || strchr(path, '\''))
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "unit: could not remove %s\n", path);
}

int main(int argc, char **argv)
{
    static int (*const suites[])(void) = {
        suite_parse, suite_config, suite_wire, suite_store, suite_placement,
        suite_directives, suite_rankenv, suite_topology, suite_reduce, suite_ckpt,
        suite_notice, suite_metrics, suite_auth, suite_masterport, suite_escape,
        suite_pattern, suite_jobstate, suite_strmap, suite_arrayspec, suite_depend,
        suite_hostlist, suite_grow,
        suite_queue, suite_fairshare, suite_backfill, suite_preempt,
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        if (suites[i]() < 0) {
            fprintf(stderr, "unit: cannot register suite %zu\n", i);
            return 2;
        }
    }
    CU_basic_set_mode(argc > 1 ? CU_BRM_VERBOSE : CU_BRM_NORMAL);
    if (argc > 1) {
        CU_pSuite s = CU_get_suite(argv[1]);
        if (!s) {
            fprintf(stderr, "unit: no suite %s\n", argv[1]);
            return 2;
        }
        CU_basic_run_suite(s);
    } else {
        CU_basic_run_tests();
    }
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
