/* The identity a rank runs as. A worker running as root starts a job's
 * ranks as the job's user: the name is resolved on this node (the uid and
 * gid a client claims are not trusted) to its uid, primary gid and
 * supplementary groups. A job runs as root only when an admin key submitted
 * it. A worker that is not root runs every rank as itself, as before.
 *
 * The worker has ZeroMQ threads and launches with vfork, so nothing here
 * uses glibc's set*id (which signals every thread): runas_fs_enter changes
 * only the calling thread's filesystem identity, and runas_become is made
 * of raw system calls for the vfork child. */
#ifndef TERN_WORKER_RUNAS_H
#define TERN_WORKER_RUNAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/tern.pb-c.h"

typedef struct runas {
    bool change;                   /* the worker is root and the user someone else */
    char *name;                    /* the job's user (a copy); NULL when not changing */
    uid_t uid;
    gid_t gid;
    gid_t *groups;                 /* the user's supplementary groups (its gid among them) */
    size_t ngroups;
    gid_t *self_groups;            /* the worker's own, to return to after runas_fs_enter */
    size_t nself_groups;
    gid_t self_gid;
} runas;

/* What runas_become did not manage, or RUNAS_OK. */
enum runas_step {
    RUNAS_OK = 0,
    RUNAS_SETGROUPS,
    RUNAS_SETRESGID,
    RUNAS_SETRESUID,
    RUNAS_CHECK_UID,               /* real, effective or saved uid not the user's */
    RUNAS_CHECK_GID,
    RUNAS_CHECK_ROOT,              /* root could be regained */
};

/* Decides who the ranks of job 'job_id' ('spec') run as on node 'node'
 * and fills 'ra', which owns what it holds (runas_clear frees it: an
 * attempt keeps it to read its files as the user). Returns 0, or -1 with
 * the reason
 * for the user in 'err' ("user 'bob' has no account on node n1", "job 7
 * would run as root but was not submitted with an admin key", or out of
 * memory), 'ra' then needing no runas_clear. */
int runas_resolve(runas *ra, const Tern__JobSpec *spec, uint64_t job_id, const char *node,
                  char *err, size_t errlen);

/* Frees what runas_resolve allocated; accepts a cleared or zeroed 'ra'. */
void runas_clear(runas *ra);

/* Gives the file 'fd' (a directory the worker created for the job) to the
 * user. A no-op returning 0 when not changing; else 0 or -1 with errno. */
int runas_give(const runas *ra, int fd);

/* The calling thread creates, opens and searches files as the user from
 * now on (fsuid, fsgid and groups; the other threads keep theirs), until
 * runas_fs_leave. No-ops when not changing. runas_fs_enter returns 0, or
 * -1 with errno, with the worker's identity back. runas_fs_leave aborts
 * the worker if it cannot become itself again, which only a bug can cause:
 * carrying on under another identity is worse. */
int runas_fs_enter(const runas *ra);
void runas_fs_leave(const runas *ra);

/* The uid and gid the ranks run as: the user's when changing, else the
 * worker's own. */
uid_t runas_uid(const runas *ra);
gid_t runas_gid(const runas *ra);

/* In the vfork child, before exec: becomes the user for good (groups,
 * then gid, then uid), and checks that it did and that root cannot be
 * regained. Raw system calls only; a no-op when not changing. Returns
 * RUNAS_OK, or the step that failed with its errno in *err (0 for a
 * check). */
enum runas_step runas_become(const runas *ra, int *err);

/* "setresuid", "identity check: root could be regained", ... */
const char *runas_step_name(enum runas_step step);

#endif
