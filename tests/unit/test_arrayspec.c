/* common/arrayspec: sbatch --array specifications. */
#include "tests/unit/unit.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/arrayspec.h"

/* sbatch --array forms: ranges, lists, steps, %N; bad ones say why. */
static void test_arrayspec(void)
{
    static const struct {
        const char *in;
        uint32_t count, first, last, limit;
    } good[] = {
        { "0-99", 100, 0, 99, 0 }, { "0-99%10", 100, 0, 99, 10 }, { "1,3,5", 3, 1, 5, 0 },
        { "0-15:4", 4, 0, 12, 0 }, { "7", 1, 7, 7, 0 }, { "5,1-3,2%1", 4, 1, 5, 1 },
        { "0-99999", 100000, 0, 99999, 0 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        arrayspec a;
        char err[256] = "";
        CU_ASSERT_EQUAL_FATAL(arrayspec_parse(good[i].in, &a, err, sizeof err), 0);
        CU_ASSERT_EQUAL(a.count, good[i].count);
        CU_ASSERT_EQUAL(a.ids[0], good[i].first);
        CU_ASSERT_EQUAL(a.ids[a.count - 1], good[i].last);
        CU_ASSERT_EQUAL(a.limit, good[i].limit);
        for (uint32_t k = 1; k < a.count; k++)
            CU_ASSERT_TRUE(a.ids[k - 1] < a.ids[k]);
        arrayspec_free(&a);
    }
    static const struct {
        const char *in, *want;
    } bad[] = {
        { "5-2", "must go up" }, { "", "no task ids" }, { "%4", "no task ids" },
        { "0-9%0", "N >= 1" }, { "0-9%x", "N >= 1" }, { "a", "expected a task id" },
        { "1-", "must go up" }, { "0-8:0", "step >= 1" }, { "1;2", "unexpected ';'" },
        { "0-100000", "more than 100000 tasks" }, { "99999999", "expected a task id" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arrayspec a;
        char err[256] = "";
        CU_ASSERT_EQUAL(arrayspec_parse(bad[i].in, &a, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fprintf(stderr, "array '%s': '%s' lacks '%s'\n", bad[i].in, err, bad[i].want);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
        CU_ASSERT_PTR_NULL(a.ids);
    }
}

int suite_arrayspec(void)
{
    static const unit_test tests[] = {
        { "arrayspec", test_arrayspec },
        { NULL, NULL },
    };
    return unit_add("arrayspec", tests);
}
