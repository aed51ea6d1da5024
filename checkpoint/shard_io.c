/* A shard on disk: written as fast as the device takes it, read back only
 * if its bytes hash to what the manifest says.
 *
 * Writing bypasses the page cache (O_DIRECT): a checkpoint is written once
 * and read rarely, and dirty-page writeback of a large shard runs at a
 * fraction of the device's speed. The producer (the caller) copies each
 * 8 MiB chunk into an aligned buffer and hashes it while a writer thread
 * puts the previous one on disk, so copying and hashing hide behind the
 * device. A caller whose data is already aligned and padded (the async
 * staging buffer) skips the copy. File systems without O_DIRECT (tmpfs on
 * older kernels, some network file systems) get ordinary writes. */
#include "checkpoint/shard_io.h"

#include "checkpoint/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define CHUNK ((size_t)8 << 20)
#define NBUF 3
/* Copy and hash in pieces small enough to stay in the cache between. */
#define HASH_STEP ((size_t)256 << 10)

uint64_t ckpt_hash(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

static size_t whole_blocks(size_t n)
{
    return (n + CKPT_ALIGN - 1) / CKPT_ALIGN * CKPT_ALIGN;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

typedef struct piece {
    const char *p;
    size_t len;
    off_t off;
} piece;

typedef struct writer {
    int fd;
    bool direct;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    piece q[NBUF];
    size_t head, queued, written;
    bool closing;
    int err;                       /* errno of the first failure */
    off_t err_off;
} writer;

/* Returns 0, or the errno with the offset it failed at. Only one thread
 * writes at a time, so 'direct' needs no lock. */
static int write_piece(writer *w, const piece *pc, off_t *at)
{
    size_t done = 0;
    while (done < pc->len) {
        ssize_t n = pwrite(w->fd, pc->p + done, pc->len - done, pc->off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EINVAL && w->direct) {
            /* This file system wants another alignment: write through the cache. */
            int fl = fcntl(w->fd, F_GETFL);
            if (fl >= 0 && fcntl(w->fd, F_SETFL, fl & ~O_DIRECT) == 0) {
                w->direct = false;
                continue;
            }
        }
        if (n <= 0) {
            *at = pc->off + (off_t)done;
            return n < 0 ? errno : EIO;
        }
        done += (size_t)n;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->queued == 0 && !w->closing)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->queued == 0)
            break;
        piece pc = w->q[w->head % NBUF];
        bool skip = w->err != 0;
        pthread_mutex_unlock(&w->mu);
        off_t at = 0;
        int e = skip ? 0 : write_piece(w, &pc, &at);
        pthread_mutex_lock(&w->mu);
        if (e && !w->err) {
            w->err = e;
            w->err_off = at;
        }
        w->head++;
        w->queued--;
        w->written++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Hands chunk k to the writer (threaded) or writes it now. Returns 0, or
 * -1 once a write has failed. */
static int submit(writer *w, bool threaded, const piece *pc)
{
    if (!threaded) {
        off_t at = 0;
        int e = write_piece(w, pc, &at);
        if (e) {
            w->err = e;
            w->err_off = at;
            return -1;
        }
        w->written++;
        return 0;
    }
    pthread_mutex_lock(&w->mu);
    while (w->queued == NBUF && !w->err)
        pthread_cond_wait(&w->cv, &w->mu);
    int rc = w->err ? -1 : 0;
    if (!rc) {
        w->q[(w->head + w->queued) % NBUF] = *pc;
        w->queued++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Waits until chunks [0, upto) are on disk (or a write failed). */
static void wait_written(writer *w, bool threaded, size_t upto)
{
    if (!threaded)
        return;
    pthread_mutex_lock(&w->mu);
    while (w->written < upto && !w->err)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* One shard being written: its data, the hash so far, and the writer. */
typedef struct shard_out {
    writer w;
    bool threaded;                 /* a writer thread; else chunks are written in turn */
    bool padded;                   /* src is aligned with room to whole blocks: no copy */
    const char *src;
    size_t len, nchunks;
    char *bounce;                  /* unless padded: NBUF chunks (one unthreaded) */
    XXH3_state_t *st;
} shard_out;

/* Creates 'path' for writing, O_DIRECT where the file system takes it,
 * with 'total' bytes reserved. 0, or -1 with the reason. */
static int shard_create(writer *w, const char *path, size_t total, char *why, size_t whylen)
{
    const char *name = base_name(path);
    w->direct = true;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, CKPT_FILE_MODE);
    if (w->fd < 0 && errno == EINVAL) {
        w->direct = false;
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, CKPT_FILE_MODE);
    }
    if (w->fd < 0) {
        snprintf(why, whylen, "%s: create: %s", name, strerror(errno));
        return -1;
    }
    /* Reserve the space first: a full disk is one clear error up front. */
    if (total && fallocate(w->fd, 0, 0, (off_t)total) < 0 && errno != EOPNOTSUPP &&
        errno != ENOSYS) {
        snprintf(why, whylen, "%s: reserving %zu bytes: %s", name, total, strerror(errno));
        close(w->fd);
        return -1;
    }
    return 0;
}

/* Copies the n bytes at 'off' into chunk k's bounce slot, hashing them on
 * the way, zeroes it up to 'whole'. Returns the slot. */
static const char *bounce_chunk(shard_out *o, size_t k, size_t off, size_t n, size_t whole)
{
    /* Slot k % NBUF is free once chunk k - NBUF is on disk. */
    if (k >= NBUF)
        wait_written(&o->w, o->threaded, k - NBUF + 1);
    char *dst = o->bounce + (o->threaded ? k % NBUF : 0) * CHUNK;
    for (size_t s = 0; s < n; s += HASH_STEP) {
        size_t m = n - s < HASH_STEP ? n - s : HASH_STEP;
        memcpy(dst + s, o->src + off + s, m);
        XXH3_64bits_update(o->st, dst + s, m);
    }
    memset(dst + n, 0, whole - n);
    return dst;
}

/* Hashes chunk k and hands it to the writer (the last one in whole
 * blocks). 0, or -1 once a write has failed. */
static int put_chunk(shard_out *o, size_t k)
{
    if (k == o->nchunks / 2 && k > 0) {
        wait_written(&o->w, o->threaded, k);
        ckpt_fault("shard");
    }
    size_t off = k * CHUNK, n = o->len - off < CHUNK ? o->len - off : CHUNK;
    piece pc = { .len = k + 1 == o->nchunks ? whole_blocks(n) : n, .off = (off_t)off };
    if (o->padded) {
        XXH3_64bits_update(o->st, o->src + off, n);
        pc.p = o->src + off;
    } else {
        pc.p = bounce_chunk(o, k, off, n, pc.len);
    }
    return submit(&o->w, o->threaded, &pc);
}

/* Every chunk through the writer, up to the first failed write; the
 * writer thread (if one started) is gone when this returns. */
static void write_chunks(shard_out *o)
{
    writer *w = &o->w;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_t tid;
    if (o->threaded && pthread_create(&tid, NULL, writer_main, w) != 0)
        o->threaded = false;
    for (size_t k = 0; k < o->nchunks; k++)
        if (put_chunk(o, k) < 0)
            break;
    if (o->threaded) {
        pthread_mutex_lock(&w->mu);
        w->closing = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(tid, NULL);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

/* After the chunks: the first failed write, or the file cut to its 'len'
 * bytes and on disk. 0, or -1 with the reason. */
static int shard_finish(writer *w, const char *name, size_t len, size_t total, char *why,
                        size_t whylen)
{
    if (w->err) {
        snprintf(why, whylen, "%s: write at byte %lld: %s", name, (long long)w->err_off,
                 strerror(w->err));
        return -1;
    }
    if (total != len && ftruncate(w->fd, (off_t)len) < 0) {
        snprintf(why, whylen, "%s: truncate to %zu bytes: %s", name, len, strerror(errno));
        return -1;
    }
    if (fsync(w->fd) < 0) {
        snprintf(why, whylen, "%s: fsync: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

int ckpt_shard_write(const char *path, const void *data, size_t len, bool padded,
                     uint64_t *hash, char *why, size_t whylen)
{
    const char *name = base_name(path);
    size_t total = whole_blocks(len);
    shard_out o = { .padded = padded, .src = data, .len = len,
                    .nchunks = (len + CHUNK - 1) / CHUNK };
    if (shard_create(&o.w, path, total, why, whylen) < 0)
        return -1;
    o.threaded = o.nchunks > 1;
    o.st = XXH3_createState();
    int rc = -1;
    if (!o.st || (!padded && posix_memalign((void **)&o.bounce, CKPT_ALIGN,
                                            (o.threaded ? NBUF : 1) * CHUNK) != 0)) {
        snprintf(why, whylen, "%s: out of memory", name);
    } else {
        XXH3_64bits_reset(o.st);
        write_chunks(&o);
        rc = shard_finish(&o.w, name, len, total, why, whylen);
        if (rc == 0)
            *hash = XXH3_64bits_digest(o.st);
    }
    if (close(o.w.fd) < 0 && rc == 0) {
        snprintf(why, whylen, "%s: close: %s", name, strerror(errno));
        rc = -1;
    }
    XXH3_freeState(o.st);
    free(o.bounce);
    return rc;
}

int ckpt_shard_read(const char *path, uint64_t size, uint64_t hash, void *dst, char *why,
                    size_t whylen)
{
    const char *name = base_name(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", name, errno == ENOENT ? "missing" : strerror(errno));
        return errno == ENOENT ? -1 : -2;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        snprintf(why, whylen, "%s: %s", name, strerror(errno));
        close(fd);
        return -2;
    }
    if ((uint64_t)sb.st_size != size) {
        snprintf(why, whylen, "%s: %lld bytes, the manifest says %" PRIu64 "%s", name,
                 (long long)sb.st_size, size, (uint64_t)sb.st_size < size ? " (truncated)" : "");
        close(fd);
        return -1;
    }
    XXH3_state_t *st = XXH3_createState();
    if (!st) {
        snprintf(why, whylen, "%s: out of memory", name);
        close(fd);
        return -2;
    }
    XXH3_64bits_reset(st);
    char *p = dst;
    uint64_t done = 0;
    int rc = 0;
    while (done < size) {
        size_t want = size - done < CHUNK ? (size_t)(size - done) : CHUNK;
        ssize_t n = read(fd, p + done, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, whylen, "%s: read at byte %" PRIu64 ": %s", name, done,
                     n < 0 ? strerror(errno) : "ends early");
            rc = n < 0 ? -2 : -1;
            break;
        }
        XXH3_64bits_update(st, p + done, (size_t)n);
        done += (uint64_t)n;
    }
    uint64_t got = XXH3_64bits_digest(st);
    if (rc == 0 && got != hash) {
        snprintf(why, whylen, "%s: checksum mismatch (data %016" PRIx64 ", manifest %016" PRIx64 ")",
                 name, got, hash);
        rc = -1;
    }
    XXH3_freeState(st);
    close(fd);
    return rc;
}
