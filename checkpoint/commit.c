/* Rank 0's half of a save, once every shard is durable in step-N.tmp/:
 * the manifest, the rename that makes the step exist, LATEST. Each name
 * change is followed by an fsync of its directory, so that after a crash
 * the directory shows the step complete or not at all. */
#include "checkpoint/commit.h"

#include "checkpoint/layout.h"
#include "checkpoint/owner.h"

#include "common/fsutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

/* A later attempt of this job that already committed a step owns the
 * directory: an attempt the scheduler has moved on from must not write
 * over it. Returns 0 when this attempt may commit. */
static int fence(tern_ckpt *ck, char *why, size_t whylen)
{
    if (!ck->job)
        return 0;
    char path[PATH_MAX], *text;
    size_t len;
    ckpt_path(path, sizeof path, "%s/LATEST", ck->dir);
    if (fs_read_all(path, 256, &text, &len) < 0)
        return 0;
    char stepdir[PATH_MAX];
    ckpt_path(stepdir, sizeof stepdir, "%s/%.*s", ck->dir, (int)strcspn(text, "\n"), text);
    free(text);
    ckpt_manifest m;
    char ignored[CKPT_WHY];
    if (ckpt_manifest_load(stepdir, &m, ignored, sizeof ignored) < 0)
        return 0;
    int rc = 0;
    if (m.job == ck->job && m.attempt > ck->attempt) {
        snprintf(why, whylen, "attempt %" PRIu32 " of job %" PRIu64 " already committed step %"
                 PRId64 "; this attempt (%" PRIu32 ") may not write over it",
                 m.attempt, m.job, m.step, ck->attempt);
        rc = TERN_EFENCED;
    }
    ckpt_manifest_free(&m);
    return rc;
}

/* Makes 'tmp' the step 'final'. A step saved again (the run resumed
 * from an earlier one, or skipped it as damaged) swaps places with the old
 * copy in one atomic exchange, which then sits at 'tmp'; where the file
 * system cannot exchange, the old copy moves to 'old' first (and a crash
 * between the two renames leaves it there, for the next open to put back).
 * Returns 0, or -1 with errno. */
static int install(const char *tmp, const char *final, const char *old)
{
    struct stat sb;
    if (lstat(final, &sb) < 0)
        return rename(tmp, final);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    if (fs_rm_rf(old) < 0 || rename(final, old) < 0)
        return -1;
    if (rename(tmp, final) == 0)
        return 0;
    int saved = errno;
    rename(old, final);
    errno = saved;
    return -1;
}

static int sys_fail(char *why, size_t whylen, const char *what, const char *path)
{
    snprintf(why, whylen, "%s %s: %s", what, path, strerror(errno));
    return TERN_ESYS;
}

static int commit_locked(tern_ckpt *ck, int64_t step, const ckpt_shard_info *shards, char *why,
                         size_t whylen)
{
    char tmp[PATH_MAX], final[PATH_MAX], old[PATH_MAX], path[PATH_MAX], latest[64];
    ckpt_path(tmp, sizeof tmp, "%s/step-%" PRId64 ".tmp", ck->dir, step);
    ckpt_path(final, sizeof final, "%s/step-%" PRId64, ck->dir, step);
    ckpt_path(old, sizeof old, "%s/step-%" PRId64 ".old", ck->dir, step);
    int rc = ckpt_owner_check(ck, why, whylen);
    if (rc == 0)
        rc = fence(ck, why, whylen);
    if (rc)
        return rc;

    ckpt_fault("manifest");
    ckpt_manifest m = { .step = step, .job = ck->job, .attempt = ck->attempt,
                        .world = ck->size, .shards = (ckpt_shard_info *)shards };
    size_t len;
    char *text = ckpt_manifest_format(&m, &len);
    if (!text) {
        snprintf(why, whylen, "out of memory");
        return TERN_ENOMEM;
    }
    ckpt_path(path, sizeof path, "%s/MANIFEST", tmp);
    int wrc = fs_write_atomic(path, text, len, CKPT_FILE_MODE);
    free(text);
    if (wrc < 0)
        return sys_fail(why, whylen, "writing", path);
    if (fs_fsync_dir(tmp) < 0)
        return sys_fail(why, whylen, "fsync of", tmp);

    ckpt_fault("rename");
    if (install(tmp, final, old) < 0)
        return sys_fail(why, whylen, "renaming", tmp);
    if (fs_fsync_dir(ck->dir) < 0)
        return sys_fail(why, whylen, "fsync of", ck->dir);
    /* What the exchange or the move aside left: the replaced copy. */
    fs_rm_rf(tmp);
    fs_rm_rf(old);

    ckpt_fault("latest");
    ckpt_path(path, sizeof path, "%s/LATEST", ck->dir);
    len = (size_t)snprintf(latest, sizeof latest, "step-%" PRId64 "\n", step);
    if (fs_write_atomic(path, latest, len, CKPT_FILE_MODE) < 0)
        return sys_fail(why, whylen, "writing", path);
    if (fs_fsync_dir(ck->dir) < 0)
        return sys_fail(why, whylen, "fsync of", ck->dir);
    ckpt_retain(ck->dir, step, ck->keep);
    return 0;
}

int ckpt_commit(tern_ckpt *ck, int64_t step, const ckpt_shard_info *shards, char *why,
                size_t whylen)
{
    int fd = -1;
    if (ck->job) {
        int rc = ckpt_owner_lock(ck, &fd, why, whylen);
        if (rc)
            return rc;
    }
    int rc = commit_locked(ck, step, shards, why, whylen);
    ckpt_owner_unlock(fd);
    return rc;
}
