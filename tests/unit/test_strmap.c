/* common/strmap: the string map, through growth, deletes and tombstone churn. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

#include "common/strmap.h"

static void test_strmap_basic(void)
{
    strmap *m = strmap_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int a = 1, b = 2, c = 3;
    CU_ASSERT_EQUAL(strmap_count(m), 0);
    CU_ASSERT_PTR_NULL(strmap_get(m, "a"));

    char key[8] = "alpha";
    CU_ASSERT_EQUAL(strmap_put(m, key, &a), 0);
    strcpy(key, "XXXXX");                /* the map copied the key */
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "alpha"), &a);
    CU_ASSERT_PTR_NULL(strmap_get(m, "XXXXX"));
    CU_ASSERT_EQUAL(strmap_put(m, "beta", &b), 0);
    CU_ASSERT_EQUAL(strmap_put(m, "", &c), 0);       /* the empty key is a key */
    CU_ASSERT_EQUAL(strmap_count(m), 3);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, ""), &c);
    CU_ASSERT_PTR_NULL(strmap_get(m, "alph"));
    CU_ASSERT_PTR_NULL(strmap_get(m, "alphax"));

    /* replace keeps the count */
    CU_ASSERT_EQUAL(strmap_put(m, "alpha", &c), 0);
    CU_ASSERT_EQUAL(strmap_count(m), 3);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "alpha"), &c);

    /* delete */
    strmap_del(m, "alpha");
    CU_ASSERT_EQUAL(strmap_count(m), 2);
    CU_ASSERT_PTR_NULL(strmap_get(m, "alpha"));
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "beta"), &b);
    strmap_del(m, "alpha");              /* twice: nothing */
    strmap_del(m, "never");
    CU_ASSERT_EQUAL(strmap_count(m), 2);

    /* back again after a delete */
    CU_ASSERT_EQUAL(strmap_put(m, "alpha", &a), 0);
    CU_ASSERT_EQUAL(strmap_count(m), 3);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "alpha"), &a);

    /* a NULL value is stored, and reads like a missing key */
    CU_ASSERT_EQUAL(strmap_put(m, "nil", NULL), 0);
    CU_ASSERT_EQUAL(strmap_count(m), 4);
    CU_ASSERT_PTR_NULL(strmap_get(m, "nil"));

    strmap_destroy(&m);
    CU_ASSERT_PTR_NULL(m);
    strmap_destroy(&m);
    strmap_destroy(NULL);
}

#define MANY 12000

static void test_strmap_growth(void)
{
    strmap *m = strmap_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    static int vals[MANY];
    char key[32];
    int failed = 0;
    for (int i = 0; i < MANY; i++) {
        vals[i] = i;
        snprintf(key, sizeof key, "job-%d", i);
        failed += strmap_put(m, key, &vals[i]) < 0;
    }
    CU_ASSERT_EQUAL_FATAL(failed, 0);
    CU_ASSERT_EQUAL(strmap_count(m), MANY);
    int wrong = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(key, sizeof key, "job-%d", i);
        if (strmap_get(m, key) != &vals[i])
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_PTR_NULL(strmap_get(m, "job-12000"));
    CU_ASSERT_PTR_NULL(strmap_get(m, "job-"));

    /* Delete the even keys; the odd ones, whose probe chains may now run over
     * tombstones, must still be found and replaced in place, not duplicated. */
    for (int i = 0; i < MANY; i += 2) {
        snprintf(key, sizeof key, "job-%d", i);
        strmap_del(m, key);
    }
    CU_ASSERT_EQUAL(strmap_count(m), MANY / 2);
    for (int i = 1; i < MANY; i += 2) {
        snprintf(key, sizeof key, "job-%d", i);
        failed += strmap_put(m, key, &vals[i - 1]) < 0;
    }
    CU_ASSERT_EQUAL_FATAL(failed, 0);
    CU_ASSERT_EQUAL(strmap_count(m), MANY / 2);
    wrong = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(key, sizeof key, "job-%d", i);
        void *want = i % 2 ? &vals[i - 1] : NULL;
        if (strmap_get(m, key) != want)
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    for (int i = 1; i < MANY; i += 2) {
        snprintf(key, sizeof key, "job-%d", i);
        strmap_del(m, key);
    }
    CU_ASSERT_EQUAL(strmap_count(m), 0);
    strmap_destroy(&m);
}

/* Put/delete churn with ever-new keys leaves only tombstones behind. Unless
 * they are reused or swept, the table fills up and a lookup of a missing
 * key never meets an empty slot (it would spin forever). */
static void test_strmap_tombstones(void)
{
    strmap *m = strmap_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int v = 1, keep = 2;
    CU_ASSERT_EQUAL(strmap_put(m, "keeper", &keep), 0);
    char key[32];
    for (int i = 0; i < 200000; i++) {
        snprintf(key, sizeof key, "churn-%d", i);
        if (strmap_put(m, key, &v) < 0) {
            CU_FAIL("strmap_put failed during churn");
            break;
        }
        strmap_del(m, key);
    }
    CU_ASSERT_EQUAL(strmap_count(m), 1);
    CU_ASSERT_PTR_NULL(strmap_get(m, "churn-5"));
    CU_ASSERT_PTR_NULL(strmap_get(m, "not-there"));
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "keeper"), &keep);

    /* the same key over and over reuses its own tombstone */
    int failed = 0;
    for (int i = 0; i < 100000; i++) {
        failed += strmap_put(m, "again", &v) < 0;
        strmap_del(m, "again");
    }
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT_EQUAL(strmap_count(m), 1);
    CU_ASSERT_PTR_NULL(strmap_get(m, "again"));
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "keeper"), &keep);
    strmap_destroy(&m);
}

int suite_strmap(void)
{
    static const unit_test tests[] = {
        { "strmap basic", test_strmap_basic },
        { "strmap growth", test_strmap_growth },
        { "strmap tombstones", test_strmap_tombstones },
        { NULL, NULL },
    };
    return unit_add("strmap", tests);
}
