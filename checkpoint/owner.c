/* Which attempt of a job owns its checkpoint directory. A new attempt
 * claims the directory when it opens it, before it loads; from then on a
 * commit of an earlier attempt (ranks on a node cut off from the scheduler,
 * still running) is refused, so LATEST never moves to a step of an attempt
 * the scheduler has moved on from. The claim and each commit hold an flock
 * on DIR/.lock, so the check and the rename that publishes a step cannot
 * interleave with a claim. Programs run outside tern (no TERN_JOB_ID) skip
 * all of this. */
#include "checkpoint/owner.h"

#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Puts a new empty lock file, CKPT_LOCK_MODE, in place of 'path' and
 * makes *fd that one. Returns 0, or -1 with errno set. */
static int replace_lock(const char *path, int *fd)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
    int nfd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, CKPT_LOCK_MODE);
    if (nfd < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        int err = errno;
        unlink(tmp);
        close(nfd);
        errno = err;
        return -1;
    }
    close(*fd);
    *fd = nfd;
    return 0;
}

int ckpt_owner_lock(const tern_ckpt *ck, int *fd, char *why, size_t whylen)
{
    static bool warned;
    char path[PATH_MAX];
    ckpt_path(path, sizeof path, "%s/.lock", ck->dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, CKPT_LOCK_MODE);
    struct stat st;
    if (*fd >= 0 && fstat(*fd, &st) == 0 && st.st_uid != geteuid()) {
        /* Someone else's: whoever holds it could stall every save. */
        snprintf(why, whylen, "%.200s belongs to uid %u, not to this job's user: remove it, or "
                 "use a checkpoint directory of your own", path, (unsigned)st.st_uid);
        close(*fd);
        *fd = -1;
        errno = EPERM;
        return TERN_ESYS;
    }
    /* A lock an earlier tern made 0644 may be open in another user's
     * process: a fresh one, 0600, takes its name. */
    if (*fd >= 0 && (st.st_mode & 077) && replace_lock(path, fd) < 0) {
        close(*fd);
        *fd = -1;
    }
    if (*fd >= 0 && flock(*fd, LOCK_EX) == 0)
        return 0;
    int err = errno;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    if (err == ENOSYS || err == EOPNOTSUPP || err == ENOLCK) {
        /* A file system without locks (Lustre -o noflock): the OWNER check
         * alone still fences all but a commit racing a claim. */
        if (!warned)
            fprintf(stderr, "tern: checkpoint: %s cannot be locked (%s); fencing without "
                    "the lock\n", ck->dir, strerror(err));
        warned = true;
        return 0;
    }
    snprintf(why, whylen, "locking %.200s: %s", path, strerror(err));
    errno = err;
    return TERN_ESYS;
}

void ckpt_owner_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* The attempt recorded in DIR/OWNER for this job, or -1 when none is. */
static int64_t owner_attempt(const tern_ckpt *ck)
{
    char path[PATH_MAX], *text;
    ckpt_path(path, sizeof path, "%s/OWNER", ck->dir);
    if (fs_read_all(path, 256, &text, NULL) < 0)
        return -1;
    uint64_t job;
    uint32_t attempt;
    int64_t rc = -1;
    if (sscanf(text, "job %" SCNu64 " attempt %" SCNu32, &job, &attempt) == 2 && job == ck->job)
        rc = attempt;
    free(text);
    return rc;
}

/* Errors that say this attempt may only read the directory. */
static bool read_only(int err)
{
    return err == EROFS || err == EACCES || err == EPERM;
}

/* TERN_EFENCED, with the reason, when 'owner' (owner_attempt's answer) is a
 * later attempt than this one; 0 otherwise. */
static int fenced(const tern_ckpt *ck, int64_t owner, char *why, size_t whylen)
{
    if (owner <= (int64_t)ck->attempt)
        return 0;
    snprintf(why, whylen, "attempt %" PRId64 " of job %" PRIu64 " owns %.200s now; this "
             "attempt (%" PRIu32 ") may not commit there", owner, ck->job, ck->dir, ck->attempt);
    return TERN_EFENCED;
}

int ckpt_owner_check(const tern_ckpt *ck, char *why, size_t whylen)
{
    return ck->job ? fenced(ck, owner_attempt(ck), why, whylen) : 0;
}

int ckpt_owner_claim(const tern_ckpt *ck, char *why, size_t whylen)
{
    if (!ck->job)
        return 0;
    int fd;
    int rc = ckpt_owner_lock(ck, &fd, why, whylen);
    if (rc) {
        /* A directory this attempt may only read (to resume or fine-tune
         * from): no claim; a save there fails on its own. */
        return read_only(errno) ? 0 : rc;
    }
    int64_t owner = owner_attempt(ck);
    rc = fenced(ck, owner, why, whylen);
    if (rc == 0 && owner != (int64_t)ck->attempt) {
        char path[PATH_MAX], text[96];
        ckpt_path(path, sizeof path, "%s/OWNER", ck->dir);
        int n = snprintf(text, sizeof text, "job %" PRIu64 " attempt %" PRIu32 "\n", ck->job,
                         ck->attempt);
        if ((fs_write_atomic(path, text, (size_t)n, CKPT_FILE_MODE) < 0 ||
             fs_fsync_dir(ck->dir) < 0) && !read_only(errno)) {
            snprintf(why, whylen, "writing %.200s: %s", path, strerror(errno));
            rc = TERN_ESYS;
        }
    }
    ckpt_owner_unlock(fd);
    return rc;
}
