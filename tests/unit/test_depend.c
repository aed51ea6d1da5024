/* common/depend: sbatch --dependency specifications. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

#include "common/depend.h"

/* sbatch --dependency forms. */
static void test_depend(void)
{
    depend d[DEPEND_MAX];
    char err[256];
    CU_ASSERT_EQUAL(depend_parse("", d, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(depend_parse("afterok:12:13,afterany:14,after:1,afternotok:2", d, err,
                                       sizeof err), 5);
    CU_ASSERT_EQUAL(d[0].type, DEP_AFTEROK);
    CU_ASSERT_EQUAL(d[0].job_id, 12);
    CU_ASSERT_EQUAL(d[1].type, DEP_AFTEROK);
    CU_ASSERT_EQUAL(d[1].job_id, 13);
    CU_ASSERT_EQUAL(d[2].type, DEP_AFTERANY);
    CU_ASSERT_EQUAL(d[3].type, DEP_AFTER);
    CU_ASSERT_EQUAL(d[4].type, DEP_AFTERNOTOK);
    CU_ASSERT_STRING_EQUAL(depend_type_name(d[4].type), "afternotok");
    static const struct {
        const char *in, *want;
    } bad[] = {
        { "before:1", "unknown type 'before'" }, { "afterok", "names no job" },
        { "afterok:x", "'x' is not a job id" }, { "afterok:0", "'0' is not a job id" },
        { "afterok:-1", "not a job id" }, { "singleton", "unknown type" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(depend_parse(bad[i].in, d, err, sizeof err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
    }
    char many[2048] = "afterok";
    for (int i = 1; i <= DEPEND_MAX + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ":%d", i);
    CU_ASSERT_EQUAL(depend_parse(many, d, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "more than 64 jobs"));
}

int suite_depend(void)
{
    static const unit_test tests[] = {
        { "depend", test_depend },
        { NULL, NULL },
    };
    return unit_add("depend", tests);
}
