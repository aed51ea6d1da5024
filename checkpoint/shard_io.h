/* A shard on disk (shard_io.c): written through O_DIRECT, pipelined and
 * hashed on the way; read back only if its bytes hash to what the
 * manifest says. */
#ifndef TERN_CKPT_SHARD_IO_H
#define TERN_CKPT_SHARD_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* O_DIRECT wants buffers, offsets and lengths in whole blocks. */
#define CKPT_ALIGN 4096

/* XXH3-64 of a buffer. */
uint64_t ckpt_hash(const void *data, size_t len);
/* Writes 'len' bytes to a new file 'path', fsyncs it, and sets *hash to
 * their hash. 'padded' says data is CKPT_ALIGN-aligned with room up to the
 * next whole block (written without a copy). Returns 0, or -1 with the
 * reason ("shard-1-of-2: write at byte 4194304: No space left on device");
 * the file may then remain. */
int ckpt_shard_write(const char *path, const void *data, size_t len, bool padded,
                     uint64_t *hash, char *why, size_t whylen);
/* Reads file 'path' into dst, checking that it holds exactly 'size' bytes
 * whose hash is 'hash'. Returns 0; -1 when the shard is damaged (missing,
 * another size, another hash); -2 when reading failed otherwise (EIO,
 * out of memory), which says nothing about the shard. The reason in 'why'. */
int ckpt_shard_read(const char *path, uint64_t size, uint64_t hash, void *dst, char *why,
                    size_t whylen);

#endif
