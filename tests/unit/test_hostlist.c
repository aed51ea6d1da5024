/* common/hostlist: SLURM hostlist expressions. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

#include "common/hostlist.h"

/* SLURM hostlist expressions, as scontrol show hostnames expands them. */
static void test_hostlist(void)
{
    static const struct {
        const char *in, *want;
    } good[] = {
        { "node1", "node1" }, { "node1,node2", "node1 node2" },
        { "node[1-3]", "node1 node2 node3" }, { "gpu[07-09],x", "gpu07 gpu08 gpu09 x" },
        { "n[1,3-4]-ib", "n1-ib n3-ib n4-ib" }, { "", "" },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t n;
        char err[256] = "", got[256] = "";
        char **v = hostlist_expand(good[i].in, &n, err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        for (size_t k = 0; k < n; k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? " " : "", v[k]);
        CU_ASSERT_STRING_EQUAL(got, good[i].want);
        CU_ASSERT_PTR_NULL(v[n]);
        hostlist_free(v);
    }
    static const char *const bad[] = {
        "node[1-", "node[3-1]", "node[a]", "n[1]x[2]", "n[1-99999999]", "a,,b",
        /* numbers strtoul saturates (expanded forever before), or too wide */
        "n[18446744073709551615]", "n[99999999999999999999]", "n[1-99999999999999999999]",
        "n[0000000000000000001]", "n[1-+5]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n;
        char err[256] = "";
        CU_ASSERT_PTR_NULL(hostlist_expand(bad[i], &n, err, sizeof err));
        CU_ASSERT_TRUE(err[0] != '\0');
    }
}

int suite_hostlist(void)
{
    static const unit_test tests[] = {
        { "hostlist", test_hostlist },
        { NULL, NULL },
    };
    return unit_add("hostlist", tests);
}
