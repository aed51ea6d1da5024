#include "common/grow.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static void first_slots_then_doubling(void)
{
    int *a = NULL;
    size_t cap = 0;
    static const struct {
        size_t need, cap;
    } rows[] = {{0, 0}, {1, 4}, {4, 4}, {5, 8}, {9, 16}, {100, 128}, {128, 128}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int *g = grow(a, &cap, rows[i].need, sizeof *a, 4);
        CU_ASSERT_FATAL(g != NULL || rows[i].need == 0);
        a = g ? g : a;
        CU_ASSERT_EQUAL(cap, rows[i].cap);
    }
    free(a);
}

static void new_slots_are_zero_old_kept(void)
{
    uint32_t *a = NULL;
    size_t cap = 0;
    a = grow(a, &cap, 3, sizeof *a, 3);
    CU_ASSERT_FATAL(a != NULL);
    a[0] = 7, a[1] = 8, a[2] = 9;
    a = grow(a, &cap, 4, sizeof *a, 3);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_EQUAL(cap, 6);
    CU_ASSERT(a[0] == 7 && a[1] == 8 && a[2] == 9);
    for (size_t i = 3; i < cap; i++)
        CU_ASSERT_EQUAL(a[i], 0);
    free(a);
}

static void overflow_leaves_array(void)
{
    char *a = NULL;
    size_t cap = 0;
    a = grow(a, &cap, 2, 8, 2);
    CU_ASSERT_FATAL(a != NULL);
    errno = 0;
    CU_ASSERT_PTR_NULL(grow(a, &cap, SIZE_MAX / 4, 8, 2));
    CU_ASSERT_EQUAL(errno, ENOMEM);
    CU_ASSERT_EQUAL(cap, 2);
    free(a);
}

int suite_grow(void)
{
    static const unit_test tests[] = {
        {"first slots, then doubling", first_slots_then_doubling},
        {"new slots zero, old kept", new_slots_are_zero_old_kept},
        {"overflow leaves the array", overflow_leaves_array},
        {NULL, NULL},
    };
    return unit_add("grow", tests);
}
