/* Opening and closing a checkpoint directory; errors; fault injection.
 *
 * Open is collective: rank 0 creates the directory, clears what saves
 * that died left behind, and picks a port for the checkpointer's own
 * communicator, which every rank then joins (CPU backend, on MASTER_ADDR
 * or rank 0's host name). */
#include "checkpoint/ckpt.h"

#include "checkpoint/layout.h"
#include "checkpoint/owner.h"
#include "checkpoint/save.h"

#include "collectives/coll.h"
#include "common/fsutil.h"
#include "common/netaddr.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_KEEP 2

int ckpt_fail(tern_ckpt *ck, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ck->err, sizeof ck->err, fmt, ap);
    va_end(ap);
    return code;
}

void ckpt_path(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

void ckpt_fault(const char *phase)
{
    const char *v = getenv("TERN_CKPT_FAULT");
    if (v && strncmp(v, "kill:", 5) == 0 && strcmp(v + 5, phase) == 0)
        raise(SIGKILL);
}

/* What rank 0 tells the others at open. */
typedef struct rendezvous {
    int64_t status;
    int64_t port;
    char addr[256];
    char why[CKPT_WHY];
} rendezvous;
_Static_assert(sizeof(rendezvous) % 8 == 0, "travels as 8-byte words");

static uint64_t env_u64(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : 0;
}

/* Rank 0: no save of this run is in flight while it starts, so every
 * step-N.tmp and step-N.old is what a dead save left (or one of an
 * attempt tern has moved on from). A step-N.old without its step-N is a
 * complete step whose replacement died between two renames: it goes back. */
static void clear_leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    int64_t step;
    int kind;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (ckpt_name_step(e->d_name, &step, &kind) < 0 || kind == CKPT_COMMITTED)
            continue;
        ckpt_path(path, sizeof path, "%s/%s", dir, e->d_name);
        if (kind == CKPT_OLD) {
            char final[PATH_MAX];
            struct stat sb;
            ckpt_path(final, sizeof final, "%s/step-%" PRId64, dir, step);
            if (lstat(final, &sb) < 0 && errno == ENOENT && rename(path, final) == 0) {
                fs_fsync_dir(dir);
                continue;
            }
        }
        if (fs_rm_rf(path) < 0)
            fprintf(stderr, "tern: checkpoint: cannot remove %s: %s\n", path, strerror(errno));
    }
    closedir(d);
}

static void rank0_prepare(tern_ckpt *ck, rendezvous *rv)
{
    if (fs_mkdir_p(ck->dir, CKPT_DIR_MODE) < 0) {
        rv->status = TERN_ESYS;
        snprintf(rv->why, sizeof rv->why, "cannot create %.160s: %s", ck->dir, strerror(errno));
        return;
    }
    /* The directory itself must outlive a power cut with its first step. */
    char parent[PATH_MAX];
    ckpt_path(parent, sizeof parent, "%s/..", ck->dir);
    fs_fsync_dir(parent);
    int rc = ckpt_owner_claim(ck, rv->why, sizeof rv->why);
    if (rc) {
        rv->status = rc;
        return;
    }
    clear_leftovers(ck->dir);
    const char *addr = getenv("MASTER_ADDR");
    if (addr && *addr)
        snprintf(rv->addr, sizeof rv->addr, "%s", addr);
    else if (gethostname(rv->addr, sizeof rv->addr - 1) < 0)
        snprintf(rv->addr, sizeof rv->addr, "127.0.0.1");
    rv->port = netaddr_free_port();
}

/* A checkpointer of comm's rank and size, its settings from opts and the
 * environment; NULL when out of memory. */
static tern_ckpt *ckpt_new(tern_comm *comm, const tern_ckpt_opts *opts)
{
    tern_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck)
        return NULL;
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->cv, NULL);
    ck->rank = tern_comm_rank(comm);
    ck->size = tern_comm_size(comm);
    ck->job = env_u64("TERN_JOB_ID");
    ck->attempt = (uint32_t)env_u64("TERN_ATTEMPT");
    ck->keep = opts->keep > 0 ? opts->keep : (int)env_u64("TERN_CKPT_KEEP");
    if (ck->keep <= 0)
        ck->keep = DEFAULT_KEEP;
    return ck;
}

/* What rank 0 found of 'dir', and where the checkpointer's communicator
 * forms, to every rank (*rv): each takes part in the broadcast, whatever
 * it found wrong. 0, or a TERN_E* code with the reason in 'why'. */
static int agree_on_dir(tern_ckpt *ck, tern_comm *comm, const char *dir, rendezvous *rv,
                        char *why, size_t whylen)
{
    if (!dir || !*dir) {
        rv->status = TERN_ENV;
        snprintf(rv->why, sizeof rv->why, "no checkpoint directory: TERN_CHECKPOINT_DIR is not "
                 "set (tern submit --checkpoint-dir DIR)");
    } else if (strlen(dir) >= sizeof ck->dir) {
        rv->status = TERN_EINVAL;
        snprintf(rv->why, sizeof rv->why, "checkpoint directory name too long");
    } else {
        snprintf(ck->dir, sizeof ck->dir, "%s", dir);
        if (ck->rank == 0)
            rank0_prepare(ck, rv);
    }
    int rc = tern_broadcast(comm, rv, sizeof *rv / 8, TERN_F64, 0);
    if (rc < 0) {
        snprintf(why, whylen, "%s", tern_comm_error(comm));
        return rc;
    }
    if (rv->status)
        snprintf(why, whylen, "%s", rv->why);
    return (int)rv->status;
}

/* The checkpointer's own communicator (CPU backend) where rank 0 said, and
 * its gather buffer. 0, or a TERN_E* code with the reason in 'why'. */
static int join_comm(tern_ckpt *ck, const rendezvous *rv, char *why, size_t whylen)
{
    ck->gathered = calloc((size_t)ck->size, CKPT_REC);
    if (!ck->gathered) {
        snprintf(why, whylen, "out of memory");
        return TERN_ENOMEM;
    }
    tern_comm_opts co = { .rank = ck->rank, .world_size = ck->size, .master_addr = rv->addr,
                          .master_port = (int)rv->port };
    char cwhy[512];
    int rc = coll_init(&ck->comm, &co, true, cwhy, sizeof cwhy);
    if (rc < 0)
        snprintf(why, whylen, "the checkpoint communicator: %.450s", cwhy);
    return rc;
}

int tern_ckpt_open(tern_ckpt **out, tern_comm *comm, const tern_ckpt_opts *opts, char *errbuf,
                   size_t errlen)
{
    *out = NULL;
    tern_ckpt_opts dflt = { 0 };
    if (!opts)
        opts = &dflt;
    char why[sizeof ((tern_ckpt *)0)->err] = "";
    int rc = TERN_EINVAL;
    tern_ckpt *ck = ckpt_new(comm, opts);
    if (!ck) {
        snprintf(why, sizeof why, "out of memory");
        rc = TERN_ENOMEM;
        goto fail_early;
    }
    const char *dir = opts->dir ? opts->dir : getenv("TERN_CHECKPOINT_DIR");
    rendezvous rv = { 0 };
    if (!comm) {
        snprintf(why, sizeof why, "no communicator");
        goto fail;
    }
    rc = agree_on_dir(ck, comm, dir, &rv, why, sizeof why);
    if (rc == 0)
        rc = join_comm(ck, &rv, why, sizeof why);
    if (rc == 0) {
        *out = ck;
        return TERN_OK;
    }
fail:
    free(ck->gathered);
    pthread_mutex_destroy(&ck->mu);
    pthread_cond_destroy(&ck->cv);
    free(ck);
fail_early:
    if (errbuf)
        snprintf(errbuf, errlen, "tern_ckpt_open: %s", why);
    return rc;
}

int tern_ckpt_close(tern_ckpt **ckp)
{
    if (!ckp || !*ckp)
        return 0;
    tern_ckpt *ck = *ckp;
    int rc = tern_ckpt_wait(ck);
    ckpt_async_stop(ck);
    tern_comm_destroy(&ck->comm);
    if (ck->staging)
        munmap(ck->staging, ck->staging_cap);
    pthread_mutex_destroy(&ck->mu);
    pthread_cond_destroy(&ck->cv);
    free(ck->skipped);
    free(ck->gathered);
    free(ck);
    *ckp = NULL;
    return rc;
}

const char *tern_ckpt_error(const tern_ckpt *ck)
{
    return ck ? ck->err : "no checkpointer";
}

const char *tern_ckpt_skipped(const tern_ckpt *ck)
{
    return ck && ck->skipped ? ck->skipped : "";
}
