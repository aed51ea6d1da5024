/* The MANIFEST of a step (manifest.c): which ranks saved it, and each
 * shard's size and hash, as text that ends with the hash of the rest. */
#ifndef TERN_CKPT_MANIFEST_H
#define TERN_CKPT_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct ckpt_shard_info {
    uint64_t size, hash;
} ckpt_shard_info;

typedef struct ckpt_manifest {
    int64_t step;
    uint64_t job;
    uint32_t attempt;
    int world;
    ckpt_shard_info *shards;       /* 'world' entries */
} ckpt_manifest;

/* The manifest's text (malloc'd, the caller frees) and its length in
 * *len; NULL when out of memory. */
char *ckpt_manifest_format(const ckpt_manifest *m, size_t *len);
/* Parses a manifest's text into m, whose shards are malloc'd
 * (ckpt_manifest_free). Returns 0, or -1 with the reason in 'why' and
 * nothing allocated. */
int ckpt_manifest_parse(const char *text, size_t len, ckpt_manifest *m, char *why, size_t whylen);
/* Frees m's shards (m itself is the caller's); a zeroed m is allowed. */
void ckpt_manifest_free(ckpt_manifest *m);
/* Reads and parses STEPDIR/MANIFEST into m: 0; -1 when it is missing or
 * damaged; -2 when reading it failed otherwise. The reason in 'why'. */
int ckpt_manifest_load(const char *stepdir, ckpt_manifest *m, char *why, size_t whylen);

#endif
