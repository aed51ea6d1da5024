/* ckpt_check: one rank of a checkpoint scenario (t13). Started with the
 * rank environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) by the
 * scenario's 'ranks' helper.
 *
 *   ckpt_check save DIR STEP KIB [async]   save STEP: KIB KiB (plus a few
 *                                          bytes per rank) of data that
 *                                          only (step, rank) produce
 *   ckpt_check load DIR                    load, and check that every byte
 *                                          is the loaded step's own
 *   ckpt_check series DIR KEEP COUNT       save steps 1..COUNT, keeping KEEP
 *   ckpt_check fill DIR SMALL_KIB BIG_KIB  save step 1 (small), step 2
 *                                          (big: must fail), step 3 (small)
 *
 * CKPT_CHECK_FAULT_RANK=R with CKPT_CHECK_FAULT=PHASE: rank R alone runs
 * with TERN_CKPT_FAULT=kill:PHASE. CKPT_CHECK_NULL_RANK=R: rank R passes
 * NULL data to its save. Prints one line per rank; exits 0 when
 * everything happened as the mode expects. */
#include <tern/tern.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct head {
    int64_t step, rank;
    uint64_t len;
} head;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t word(int64_t step, int rank, size_t i)
{
    return mix(((uint64_t)step << 40) ^ ((uint64_t)rank << 32) ^ i);
}

/* The shard of (step, rank): a header, then words only they produce. */
static char *make(int64_t step, int rank, size_t kib, size_t *len)
{
    *len = kib * 1024 + sizeof(head) + 8 * (size_t)rank + 5;
    char *p = malloc(*len);
    if (!p)
        return NULL;
    head h = { step, rank, *len };
    memcpy(p, &h, sizeof h);
    for (size_t at = sizeof h, i = 0; at < *len; at += 8, i++) {
        uint64_t w = word(step, rank, i);
        memcpy(p + at, &w, *len - at < 8 ? *len - at : 8);
    }
    return p;
}

/* 0 when 'p' is exactly (step, rank)'s shard. */
static int check(const char *p, size_t len, int64_t step, int rank)
{
    head h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, p, sizeof h);
    if (h.step != step || h.rank != rank || h.len != len)
        return -1;
    for (size_t at = sizeof h, i = 0; at < len; at += 8, i++) {
        uint64_t w = word(step, rank, i);
        if (memcmp(p + at, &w, len - at < 8 ? len - at : 8) != 0)
            return -1;
    }
    return 0;
}

static int save(tern_ckpt *ck, int rank, int64_t step, size_t kib, bool async)
{
    size_t len;
    char *p = make(step, rank, kib, &len);
    if (!p)
        return -1;
    /* CKPT_CHECK_NULL_RANK: that rank passes no data (an error of its own). */
    const char *nr = getenv("CKPT_CHECK_NULL_RANK");
    const void *data = nr && atoi(nr) == rank ? NULL : p;
    int rc = async ? tern_ckpt_save_async(ck, step, data, len) : tern_ckpt_save(ck, step, data, len);
    free(p);
    if (rc == 0 && async)
        rc = tern_ckpt_wait(ck);
    if (rc < 0)
        printf("rank %d: error: %s\n", rank, tern_ckpt_error(ck));
    else
        printf("rank %d: saved step %" PRId64 "\n", rank, step);
    return rc;
}

static int load(tern_ckpt *ck, int rank)
{
    int64_t step;
    void *data;
    size_t len;
    if (tern_ckpt_load(ck, &step, &data, &len) < 0) {
        printf("rank %d: error: %s\n", rank, tern_ckpt_error(ck));
        return -1;
    }
    if (step < 0) {
        printf("rank %d: nothing to load\n", rank);
        return 0;
    }
    int rc = check(data, len, step, rank);
    free(data);
    if (rc < 0)
        printf("rank %d: step %" PRId64 ": the data is not that step's own\n", rank, step);
    else
        printf("rank %d: loaded step %" PRId64 "\n", rank, step);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ckpt_check save|load|series|fill DIR ...\n");
        return 2;
    }
    const char *fr = getenv("CKPT_CHECK_FAULT_RANK"), *fault = getenv("CKPT_CHECK_FAULT");
    const char *me = getenv("RANK");
    if (fr && fault && me && strcmp(fr, me) == 0) {
        char v[64];
        snprintf(v, sizeof v, "kill:%s", fault);
        setenv("TERN_CKPT_FAULT", v, 1);
    }
    char err[512];
    tern_comm *comm;
    if (tern_comm_init(&comm, err, sizeof err) < 0) {
        printf("error: %s\n", err);
        return 1;
    }
    int rank = tern_comm_rank(comm);
    const char *mode = argv[1];
    tern_ckpt_opts o = { .dir = argv[2] };
    if (strcmp(mode, "series") == 0 && argc > 3)
        o.keep = atoi(argv[3]);
    tern_ckpt *ck;
    if (tern_ckpt_open(&ck, comm, &o, err, sizeof err) < 0) {
        printf("rank %d: error: %s\n", rank, err);
        return 1;
    }
    int rc = 0;
    if (strcmp(mode, "save") == 0 && argc >= 5) {
        rc = save(ck, rank, atoll(argv[3]), (size_t)atoll(argv[4]),
                  argc > 5 && strcmp(argv[5], "async") == 0);
    } else if (strcmp(mode, "load") == 0) {
        rc = load(ck, rank);
    } else if (strcmp(mode, "series") == 0 && argc >= 5) {
        for (int64_t s = 1; s <= atoll(argv[4]) && rc == 0; s++)
            rc = save(ck, rank, s, 4, s % 2 == 0);
    } else if (strcmp(mode, "fill") == 0 && argc >= 5) {
        size_t small = (size_t)atoll(argv[3]), big = (size_t)atoll(argv[4]);
        /* The big save must fail, and the small one after it succeed. */
        rc = save(ck, rank, 1, small, false) < 0 || save(ck, rank, 2, big, false) == 0 ||
             save(ck, rank, 3, small, true) < 0 ? -1 : 0;
    } else {
        fprintf(stderr, "ckpt_check: bad arguments\n");
        rc = -1;
    }
    if (tern_ckpt_close(&ck) < 0)
        rc = -1;
    tern_comm_destroy(&comm);
    return rc < 0 ? 1 : 0;
}
