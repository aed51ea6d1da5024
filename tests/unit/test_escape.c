/* common/escape: what a terminal is shown of text from users and nodes. */
#include "unit.h"

#include "common/escape.h"

#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void test_escape_str(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "", "" },
        { "train.py --lr 0.1", "train.py --lr 0.1" },
        { "two\nlines", "two\\nlines" },
        { "tab\there\r", "tab\\there\\r" },
        { "\033[2Jclear", "\\x1b[2Jclear" },
        { "\033]0;title\007", "\\x1b]0;title\\x07" },
        { "del\177", "del\\x7f" },
        { "back\\slash", "back\\slash" },                 /* left as it is */
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
        { "csi \xc2\x9b" "2J", "csi \\xc2\\x9b2J" },      /* U+009B, a C1 control */
        { "nbsp \xc2\xa0", "nbsp \xc2\xa0" },             /* U+00A0 is text */
        { "raw \x9b", "raw \\x9b" },                      /* not UTF-8 */
        { "cut \xe2\x82", "cut \\xe2\\x82" },             /* a sequence cut short */
        { "overlong \xc0\xaf", "overlong \\xc0\\xaf" },
        { "surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char buf[128];
        escape_str(cases[i].in, buf, sizeof buf);
        if (strcmp(buf, cases[i].want) != 0)
            fprintf(stderr, "escape_str(case %zu) = '%s'\n", i, buf);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
        CU_ASSERT_EQUAL(escape_size(cases[i].in), strlen(cases[i].want) + 1);
        CU_ASSERT_EQUAL(escape_needed(cases[i].in), strcmp(cases[i].in, cases[i].want) != 0);
    }
    CU_ASSERT_FALSE(escape_needed(NULL));
    CU_ASSERT_EQUAL(escape_size(NULL), 1);
}

/* What does not fit is left out whole: never half an escape, never half a
 * UTF-8 sequence. */
static void test_escape_short(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        { "abc", 1, "" },
        { "abc", 3, "ab" },
        { "a\nb", 3, "a" },
        { "a\nb", 4, "a\\n" },
        { "a\033b", 5, "a" },
        { "a\033b", 6, "a\\x1b" },
        { "a\xc3\xa9", 3, "a" },
        { "a\xc3\xa9", 4, "a\xc3\xa9" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char buf[16];
        memset(buf, 'x', sizeof buf);
        CU_ASSERT_PTR_EQUAL(escape_str(cases[i].in, buf, cases[i].len), buf);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
    }
}

static void test_utf8_len(void)
{
    CU_ASSERT_EQUAL(escape_utf8_len("a"), 1);
    CU_ASSERT_EQUAL(escape_utf8_len("\xc3\xa9"), 2);
    CU_ASSERT_EQUAL(escape_utf8_len("\xe2\x82\xac"), 3);
    CU_ASSERT_EQUAL(escape_utf8_len("\xf0\x9f\x98\x80"), 4);
    CU_ASSERT_EQUAL(escape_utf8_len("\xf4\x90\x80\x80"), 0);   /* past U+10FFFF */
    CU_ASSERT_EQUAL(escape_utf8_len("\xe0\x80\x80"), 0);       /* overlong */
    CU_ASSERT_EQUAL(escape_utf8_len("\x80"), 0);
    CU_ASSERT_EQUAL(escape_utf8_len("\xc3"), 0);               /* cut short by the NUL */
}

int suite_escape(void)
{
    static const unit_test tests[] = {
        { "escape_str", test_escape_str },
        { "escape_str cut short", test_escape_short },
        { "escape_utf8_len", test_utf8_len },
        { NULL, NULL },
    };
    return unit_add("escape", tests);
}
