/* The pieces of a checkpoint that need no second rank: the manifest text
 * (a cut or a changed byte anywhere is refused, never misread), names in
 * the directory, what retention keeps, and shards written (through
 * O_DIRECT, in chunks, with and without the aligned staging path) and read
 * back, with damage detected. */
#include "tests/unit/unit.h"

#include "checkpoint/ckpt.h"
#include "checkpoint/layout.h"
#include "checkpoint/manifest.h"
#include "checkpoint/shard_io.h"
#include "common/fsutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ckpt_manifest sample(ckpt_shard_info *sh)
{
    sh[0] = (ckpt_shard_info){ 11056, 0x1d2be78a62a1291dull };
    sh[1] = (ckpt_shard_info){ 0, 0xffffffffffffffffull };
    sh[2] = (ckpt_shard_info){ 1ull << 40, 7 };
    return (ckpt_manifest){ .step = 1234567890123ll, .job = 42, .attempt = 3, .world = 3,
                            .shards = sh };
}

/* The sample manifest as text, its length in *len; the caller frees it. */
static char *sample_text(size_t *len)
{
    ckpt_shard_info sh[3];
    ckpt_manifest m = sample(sh);
    char *text = ckpt_manifest_format(&m, len);
    CU_ASSERT_FATAL(text != NULL);
    return text;
}

static void manifest_round_trip(void)
{
    ckpt_shard_info sh[3];
    ckpt_manifest m = sample(sh), back;
    size_t len;
    char *text = sample_text(&len), why[CKPT_WHY];
    CU_ASSERT_EQUAL_FATAL(ckpt_manifest_parse(text, len, &back, why, sizeof why), 0);
    CU_ASSERT_EQUAL(back.step, m.step);
    CU_ASSERT_EQUAL(back.job, 42);
    CU_ASSERT_EQUAL(back.attempt, 3);
    CU_ASSERT_EQUAL_FATAL(back.world, 3);
    for (int r = 0; r < 3; r++) {
        CU_ASSERT_EQUAL(back.shards[r].size, sh[r].size);
        CU_ASSERT_EQUAL(back.shards[r].hash, sh[r].hash);
    }
    ckpt_manifest_free(&back);
    free(text);
}

/* Every prefix and every single-bit change of a manifest is refused. */
static void manifest_damage_refused(void)
{
    size_t len;
    char *text = sample_text(&len), why[CKPT_WHY];
    ckpt_manifest back;
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++)
        if (ckpt_manifest_parse(text, cut, &back, why, sizeof why) == 0) {
            accepted++;
            ckpt_manifest_free(&back);
        }
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            text[i] ^= (char)(1 << bit);
            if (ckpt_manifest_parse(text, len, &back, why, sizeof why) == 0) {
                accepted++;
                ckpt_manifest_free(&back);
            }
            text[i] ^= (char)(1 << bit);
        }
    CU_ASSERT_EQUAL(accepted, 0);
    CU_ASSERT_EQUAL(ckpt_manifest_parse("garbage\n", 8, &back, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "not a tern checkpoint manifest"));
    /* Another spelling of the same numbers, with a correct checksum line:
     * still not what tern writes. */
    char *job = strstr(text, "job 42\n");
    CU_ASSERT_FATAL(job != NULL);
    char other[4096];
    int n = snprintf(other, sizeof other, "%.*sjob +42\n%s", (int)(job - text), text,
                     job + strlen("job 42\n"));
    char *end = strstr(other, "end ");
    CU_ASSERT_FATAL(end != NULL);
    n = (int)(end - other);
    n += snprintf(end, sizeof other - (size_t)n, "end %016llx\n",
                  (unsigned long long)ckpt_hash(other, (size_t)n));
    CU_ASSERT_EQUAL(ckpt_manifest_parse(other, (size_t)n, &back, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "MANIFEST: not in the form tern writes");
    free(text);
}

static void names(void)
{
    static const struct {
        const char *name;
        int rc, kind;
        int64_t step;
    } cases[] = {
        { "step-0", 0, CKPT_COMMITTED, 0 },   { "step-120", 0, CKPT_COMMITTED, 120 },
        { "step-7.tmp", 0, CKPT_TMP, 7 },     { "step-7.old", 0, CKPT_OLD, 7 },
        { "step-", -1, 0, 0 },                { "step--1", -1, 0, 0 },
        { "step-7.bak", -1, 0, 0 },           { "LATEST", -1, 0, 0 },
        { "step-99999999999999999999", -1, 0, 0 }, { "step-1x", -1, 0, 0 },
        { "step-007", -1, 0, 0 },             { "step-00", -1, 0, 0 },
        { "step-10.tmp", 0, CKPT_TMP, 10 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t step = -5;
        int kind = -5;
        int rc = ckpt_name_step(cases[i].name, &step, &kind);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        if (rc == 0 && cases[i].rc == 0) {
            CU_ASSERT_EQUAL(step, cases[i].step);
            CU_ASSERT_EQUAL(kind, cases[i].kind);
        }
    }
}

static void mk(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    CU_ASSERT_EQUAL(mkdir(p, 0755), 0);
}

static bool exists(const char *dir, const char *name)
{
    char p[4096];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0;
}

/* Keeps 'just' and keep-1 older steps; newer ones (skipped by the load
 * the run started from) stay. */
static void retention(void)
{
    char *d = unit_tmpdir();
    const char *made[] = { "step-1", "step-2", "step-3", "step-4", "step-5", "step-9",
                           "step-6.tmp", "step-2.old", "other" };
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
        mk(d, made[i]);
    CU_ASSERT_EQUAL(ckpt_retain(d, 5, 2), 0);
    /* (.tmp and .old are for the next open to clear: another attempt's
     * save may be in flight now.) */
    const char *kept[] = { "step-4", "step-5", "step-9", "other", "step-6.tmp", "step-2.old" };
    const char *gone[] = { "step-1", "step-2", "step-3" };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        CU_ASSERT(exists(d, kept[i]));
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        CU_ASSERT(!exists(d, gone[i]));
    int64_t *steps;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(ckpt_list_steps(d, &steps, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT(steps[0] == 9 && steps[1] == 5 && steps[2] == 4);
    free(steps);
    unit_rmrf(d);
    free(d);
}

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i * 2654435761u + seed) >> 7);
}

static void shards(void)
{
    char *d = unit_tmpdir(), path[4096], why[CKPT_WHY];
    snprintf(path, sizeof path, "%s/shard-0-of-1", d);
    const size_t sizes[] = { 0, 1, 4095, 4096, 4097, (8u << 20) - 1, (8u << 20) + 3,
                             (20u << 20) + 12345 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int padded = 0; padded < 2; padded++) {
            size_t n = sizes[i], whole = (n + CKPT_ALIGN - 1) / CKPT_ALIGN * CKPT_ALIGN;
            char *src;
            CU_ASSERT_FATAL(posix_memalign((void **)&src, CKPT_ALIGN, whole + CKPT_ALIGN) == 0);
            /* Unpadded: an unaligned buffer, as user data is. */
            char *data = padded ? src : src + 1;
            fill(data, n, (unsigned)i);
            if (padded)
                memset(src + n, 0, whole - n);
            uint64_t h = 0;
            CU_ASSERT_EQUAL_FATAL(ckpt_shard_write(path, data, n, padded, &h, why, sizeof why), 0);
            CU_ASSERT_EQUAL(h, ckpt_hash(data, n));
            struct stat sb;
            CU_ASSERT(stat(path, &sb) == 0 && (size_t)sb.st_size == n);
            char *back = malloc(n + 1);
            CU_ASSERT_EQUAL(ckpt_shard_read(path, n, h, back, why, sizeof why), 0);
            CU_ASSERT(memcmp(back, data, n) == 0);
            free(back);
            free(src);
        }
    }
    /* Damage: a changed byte, a short file, a missing one. */
    char data[10000], back[10000];
    fill(data, sizeof data, 9);
    uint64_t h;
    CU_ASSERT_EQUAL_FATAL(ckpt_shard_write(path, data, sizeof data, false, &h, why, sizeof why), 0);
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 5000, SEEK_SET);
    fputc(data[5000] ^ 1, f);
    fclose(f);
    CU_ASSERT_EQUAL(ckpt_shard_read(path, sizeof data, h, back, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "checksum mismatch"));
    CU_ASSERT_EQUAL(truncate(path, 100), 0);
    CU_ASSERT_EQUAL(ckpt_shard_read(path, sizeof data, h, back, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "100 bytes, the manifest says 10000 (truncated)"));
    unlink(path);
    CU_ASSERT_EQUAL(ckpt_shard_read(path, sizeof data, h, back, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "shard-0-of-1: missing");
    unit_rmrf(d);
    free(d);
}

int suite_ckpt(void)
{
    static const unit_test tests[] = {
        { "manifest round trip", manifest_round_trip },
        { "manifest: every cut and bit flip refused", manifest_damage_refused },
        { "directory names", names },
        { "retention", retention },
        { "shards written and verified", shards },
        { NULL, NULL },
    };
    return unit_add("ckpt", tests);
}
