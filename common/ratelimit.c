#include "common/ratelimit.h"

#include "common/strmap.h"
#include "common/grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_EVERY_MS 10000

typedef struct bucket {
    char *who;
    double tokens;
    int64_t at_ms;                 /* when 'tokens' was computed */
} bucket;

struct ratelimit {
    double rate, burst;
    bucket *b;
    size_t n, cap;
    strmap *index;                 /* who -> position + 1 */
    int64_t pruned_ms;
};

ratelimit *ratelimit_new(double rate, double burst)
{
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl || !(rl->index = strmap_new())) {
        free(rl);
        errno = ENOMEM;
        return NULL;
    }
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    return rl;
}

void ratelimit_destroy(ratelimit **rlp)
{
    if (!rlp || !*rlp)
        return;
    ratelimit *rl = *rlp;
    for (size_t i = 0; i < rl->n; i++)
        free(rl->b[i].who);
    free(rl->b);
    strmap_destroy(&rl->index);
    free(rl);
    *rlp = NULL;
}

static void refill(const ratelimit *rl, bucket *b, int64_t now_ms)
{
    if (now_ms > b->at_ms) {
        b->tokens += rl->rate * (double)(now_ms - b->at_ms) / 1000.0;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->at_ms = now_ms;
    }
}

/* Drops the buckets that are full again: their senders are within the limit. */
static void prune(ratelimit *rl, int64_t now_ms)
{
    size_t kept = 0;
    strmap *fresh = strmap_new();
    if (!fresh)
        return;
    for (size_t i = 0; i < rl->n; i++) {
        refill(rl, &rl->b[i], now_ms);
        if (rl->b[i].tokens >= rl->burst) {
            free(rl->b[i].who);
            continue;
        }
        rl->b[kept] = rl->b[i];
        strmap_put(fresh, rl->b[kept].who, (void *)(uintptr_t)(kept + 1));
        kept++;
    }
    rl->n = kept;
    strmap_destroy(&rl->index);
    rl->index = fresh;
    rl->pruned_ms = now_ms;
}

bool ratelimit_take(ratelimit *rl, const char *who, int64_t now_ms)
{
    if (now_ms - rl->pruned_ms >= PRUNE_EVERY_MS)
        prune(rl, now_ms);
    uintptr_t pos = (uintptr_t)strmap_get(rl->index, who);
    bucket *b;
    if (pos) {
        b = &rl->b[pos - 1];
        refill(rl, b, now_ms);
    } else {
        bucket *nb = grow(rl->b, &rl->cap, rl->n + 1, sizeof *nb, 64);
        if (!nb)
            return false;
        rl->b = nb;
        b = &rl->b[rl->n];
        if (!(b->who = strdup(who)) ||
            strmap_put(rl->index, who, (void *)(uintptr_t)(rl->n + 1)) < 0) {
            free(b->who);
            return false;
        }
        rl->n++;
        b->tokens = rl->burst;
        b->at_ms = now_ms;
    }
    if (b->tokens < 1)
        return false;
    b->tokens -= 1;
    return true;
}

size_t ratelimit_count(const ratelimit *rl)
{
    return rl->n;
}
