/* Rank 0's commit of a step (commit.c): its manifest, the rename that
 * makes the step exist, LATEST, and retention. */
#ifndef TERN_CKPT_COMMIT_H
#define TERN_CKPT_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint/ckpt.h"
#include "checkpoint/manifest.h"

/* Rank 0, once every shard of 'step' (shards[r], r < ck->size) is durable
 * in its .tmp directory. Returns 0, or a TERN_E* code with the reason in
 * 'why' (TERN_EFENCED: a later attempt owns the directory). */
int ckpt_commit(tern_ckpt *ck, int64_t step, const ckpt_shard_info *shards, char *why,
                size_t whylen);

#endif
