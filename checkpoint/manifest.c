/* The MANIFEST of a step: plain text, so that a person can read it.
 *
 *   tern-checkpoint 1
 *   step 50
 *   job 12
 *   attempt 3
 *   world 2
 *   hash xxh3-64
 *   shard 0 1048576 0123456789abcdef
 *   shard 1 1048576 fedcba9876543210
 *   end 9f1c0a0d5e2b7c11
 *
 * The last line is the hash of every byte before it, so a manifest that
 * lost its tail or a bit is refused rather than misread. */
#include "checkpoint/manifest.h"

#include "checkpoint/ckpt.h"
#include "checkpoint/shard_io.h"

#include "common/fsutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAGIC "tern-checkpoint 1\n"
#define MANIFEST_WORLD_MAX 65536
/* A shard's line is under 64 bytes; this bounds what a hostile file costs. */
#define MANIFEST_MAX ((size_t)MANIFEST_WORLD_MAX * 64 + 4096)

char *ckpt_manifest_format(const ckpt_manifest *m, size_t *len)
{
    size_t cap = 256 + (size_t)m->world * 64;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t n = (size_t)snprintf(s, cap,
                                MANIFEST_MAGIC "step %" PRId64 "\njob %" PRIu64 "\nattempt %" PRIu32
                                "\nworld %d\nhash xxh3-64\n",
                                m->step, m->job, m->attempt, m->world);
    for (int r = 0; r < m->world; r++)
        n += (size_t)snprintf(s + n, cap - n, "shard %d %" PRIu64 " %016" PRIx64 "\n", r,
                              m->shards[r].size, m->shards[r].hash);
    n += (size_t)snprintf(s + n, cap - n, "end %016" PRIx64 "\n", ckpt_hash(s, n));
    *len = n;
    return s;
}

/* The next line of text[*pos..len) into out (without its newline). */
static int next_line(const char *text, size_t len, size_t *pos, char *out, size_t outlen)
{
    if (*pos >= len)
        return -1;
    const char *nl = memchr(text + *pos, '\n', len - *pos);
    if (!nl)
        return -1;
    size_t n = (size_t)(nl - (text + *pos));
    if (n >= outlen)
        return -1;
    memcpy(out, text + *pos, n);
    out[n] = '\0';
    *pos += n + 1;
    return 0;
}

int ckpt_manifest_parse(const char *text, size_t len, ckpt_manifest *m, char *why, size_t whylen)
{
    memset(m, 0, sizeof *m);
    size_t pos = 0, end_at;
    char line[128], extra;
    long long step;
    unsigned long long job, size, hash;
    unsigned attempt;
    int world, r;
    if (len < sizeof MANIFEST_MAGIC - 1 || memcmp(text, MANIFEST_MAGIC, sizeof MANIFEST_MAGIC - 1)) {
        snprintf(why, whylen, "MANIFEST: not a tern checkpoint manifest (version 1)");
        return -1;
    }
    pos = sizeof MANIFEST_MAGIC - 1;
    if (next_line(text, len, &pos, line, sizeof line) || sscanf(line, "step %lld%c", &step, &extra) != 1 ||
        step < 0 ||
        next_line(text, len, &pos, line, sizeof line) || sscanf(line, "job %llu%c", &job, &extra) != 1 ||
        next_line(text, len, &pos, line, sizeof line) ||
        sscanf(line, "attempt %u%c", &attempt, &extra) != 1 ||
        next_line(text, len, &pos, line, sizeof line) || sscanf(line, "world %d%c", &world, &extra) != 1 ||
        world < 1 || world > MANIFEST_WORLD_MAX ||
        next_line(text, len, &pos, line, sizeof line) || strcmp(line, "hash xxh3-64") != 0)
        goto bad;
    m->step = step;
    m->job = job;
    m->attempt = attempt;
    m->world = world;
    m->shards = calloc((size_t)world, sizeof *m->shards);
    if (!m->shards) {
        snprintf(why, whylen, "MANIFEST: out of memory");
        return -1;
    }
    for (int i = 0; i < world; i++) {
        if (next_line(text, len, &pos, line, sizeof line) ||
            sscanf(line, "shard %d %llu %16llx%c", &r, &size, &hash, &extra) != 3 || r != i)
            goto bad;
        m->shards[i].size = size;
        m->shards[i].hash = hash;
    }
    end_at = pos;
    if (next_line(text, len, &pos, line, sizeof line) || strncmp(line, "end ", 4) != 0 ||
        pos != len)
        goto bad;
    /* Exactly the line the writer wrote: no other spelling of the number. */
    char want[32];
    snprintf(want, sizeof want, "end %016" PRIx64, ckpt_hash(text, end_at));
    if (strcmp(line, want) != 0) {
        snprintf(why, whylen, "MANIFEST: its own checksum does not match (damaged)");
        ckpt_manifest_free(m);
        return -1;
    }
    /* Byte for byte what the writer writes for these values, or refused:
     * no other spelling of a number ("+5", " 5", "0x..") gets through. */
    size_t flen;
    char *again = ckpt_manifest_format(m, &flen);
    bool same = again && flen == len && memcmp(again, text, len) == 0;
    free(again);
    if (!same) {
        snprintf(why, whylen, "MANIFEST: not in the form tern writes");
        ckpt_manifest_free(m);
        return -1;
    }
    return 0;
bad:
    snprintf(why, whylen, "MANIFEST: malformed or cut short near byte %zu", pos);
    ckpt_manifest_free(m);
    return -1;
}

void ckpt_manifest_free(ckpt_manifest *m)
{
    free(m->shards);
    m->shards = NULL;
}

int ckpt_manifest_load(const char *stepdir, ckpt_manifest *m, char *why, size_t whylen)
{
    char path[PATH_MAX];
    char *text;
    size_t len;
    ckpt_path(path, sizeof path, "%s/MANIFEST", stepdir);
    if (fs_read_all(path, MANIFEST_MAX, &text, &len) < 0) {
        bool damaged = errno == ENOENT || errno == EFBIG;
        snprintf(why, whylen, "MANIFEST: %s", errno == ENOENT ? "missing" : strerror(errno));
        return damaged ? -1 : -2;
    }
    int rc = ckpt_manifest_parse(text, len, m, why, whylen);
    free(text);
    return rc;
}
