/* Per-sender request limits: a token bucket for each sender name, 'rate'
 * requests a second with bursts up to 'burst'. Buckets of senders that went
 * quiet (full again) are forgotten, so the table stays as large as the set
 * of recent senders. */
#ifndef TERN_RATELIMIT_H
#define TERN_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit ratelimit;

/* Returns a table, or NULL with errno ENOMEM. */
ratelimit *ratelimit_new(double rate, double burst);
void ratelimit_destroy(ratelimit **rlp);

/* Takes one token from 'who's bucket at monotonic time 'now_ms'. Returns
 * true when the request may go on, false when 'who' is over the limit (also
 * when out of memory: a flood must not buy memory). */
bool ratelimit_take(ratelimit *rl, const char *who, int64_t now_ms);

/* Senders with a bucket now. */
size_t ratelimit_count(const ratelimit *rl);

#endif
