#include "worker/runas.h"

#include "common/log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A passwd entry's strings are short; a lookup needing more is broken. */
#define MAX_PW_BUF (1u << 20)

/* The groups of 'pw' (primary included), as initgroups would set them.
 * Returns the array (the caller frees it) with its length in *n, or NULL
 * with errno. */
static gid_t *user_groups(const struct passwd *pw, size_t *n)
{
    int len = 32;
    for (;;) {
        gid_t *g = malloc((size_t)len * sizeof *g);
        if (!g)
            return NULL;
        int got = len;
        if (getgrouplist(pw->pw_name, pw->pw_gid, g, &got) >= 0) {
            *n = (size_t)got;
            return g;
        }
        free(g);
        if (got <= len) {   /* no larger count to retry with */
            errno = EINVAL;
            return NULL;
        }
        len = got;
    }
}

/* The calling thread's groups: those the worker returns to. */
static gid_t *own_groups(size_t *n)
{
    int len = getgroups(0, NULL);
    if (len < 0)
        return NULL;
    gid_t *g = malloc((size_t)(len ? len : 1) * sizeof *g);
    if (!g)
        return NULL;
    if ((len = getgroups(len, g)) < 0) {
        free(g);
        return NULL;
    }
    *n = (size_t)len;
    return g;
}

int runas_resolve(runas *ra, const Tern__JobSpec *spec, uint64_t job_id, const char *node,
                  char *err, size_t errlen)
{
    memset(ra, 0, sizeof *ra);
    uid_t self = geteuid();
    if (self != 0)   /* it could not change identity anyway: runs as itself */
        return 0;
    const char *user = spec->user ? spec->user : "";
    struct passwd pw, *found = NULL;
    char *buf = NULL;
    int rc = ERANGE;
    for (size_t blen = 4096; rc == ERANGE && blen <= MAX_PW_BUF; blen *= 2) {
        free(buf);
        if (!(buf = malloc(blen))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        rc = getpwnam_r(user, &pw, buf, blen, &found);
    }
    if (!found) {
        /* (getpwnam_r's errors for "no such user" vary by NSS module) */
        if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
            snprintf(err, errlen, "user '%s' has no account on node %s", user, node);
        else
            snprintf(err, errlen, "cannot look up user '%s' on node %s: %s", user, node,
                     strerror(rc));
        free(buf);
        return -1;
    }
    if (pw.pw_uid == 0 && !spec->admin) {
        snprintf(err, errlen, "job %llu would run as root but was not submitted with an "
                 "admin key", (unsigned long long)job_id);
        free(buf);
        return -1;
    }
    if (pw.pw_uid == self) {   /* an admin's job as root: nothing to change */
        free(buf);
        return 0;
    }
    ra->groups = user_groups(&pw, &ra->ngroups);
    ra->self_groups = own_groups(&ra->nself_groups);
    ra->name = strdup(user);
    if (!ra->groups || !ra->self_groups || !ra->name) {
        snprintf(err, errlen, "cannot read the groups of user '%s' on node %s: %s", user, node,
                 strerror(errno));
        runas_clear(ra);
        free(buf);
        return -1;
    }
    ra->change = true;
    ra->uid = pw.pw_uid;
    ra->gid = pw.pw_gid;
    ra->self_gid = getegid();
    free(buf);
    return 0;
}

void runas_clear(runas *ra)
{
    if (!ra)
        return;
    free(ra->groups);
    free(ra->self_groups);
    free(ra->name);
    memset(ra, 0, sizeof *ra);
}

int runas_give(const runas *ra, int fd)
{
    if (!ra->change)
        return 0;
    return fchown(fd, ra->uid, ra->gid);
}

/* setfsuid and setfsgid say nothing of failure: asking with an invalid
 * id changes nothing and returns the current one. */
static bool fs_is(uid_t uid, gid_t gid)
{
    return (uid_t)syscall(SYS_setfsuid, (uid_t)-1) == uid &&
           (gid_t)syscall(SYS_setfsgid, (gid_t)-1) == gid;
}

int runas_fs_enter(const runas *ra)
{
    if (!ra->change)
        return 0;
    /* Raw system calls change the calling thread alone; the order lets
     * each need only the capabilities root still has at that point. */
    if (syscall(SYS_setgroups, ra->ngroups, ra->groups) < 0)
        return -1;
    syscall(SYS_setfsgid, ra->gid);
    syscall(SYS_setfsuid, ra->uid);
    if (!fs_is(ra->uid, ra->gid)) {
        runas_fs_leave(ra);
        errno = EPERM;
        return -1;
    }
    return 0;
}

void runas_fs_leave(const runas *ra)
{
    if (!ra->change)
        return;
    /* fsuid 0 first: it gives back the capabilities the rest needs. */
    syscall(SYS_setfsuid, (uid_t)0);
    syscall(SYS_setfsgid, ra->self_gid);
    if (syscall(SYS_setgroups, ra->nself_groups, ra->self_groups) < 0 ||
        !fs_is(0, ra->self_gid)) {
        log_err("cannot return from user %s's file identity: %s", ra->name, strerror(errno));
        abort();
    }
}

uid_t runas_uid(const runas *ra)
{
    return ra->change ? ra->uid : getuid();
}

gid_t runas_gid(const runas *ra)
{
    return ra->change ? ra->gid : getgid();
}

enum runas_step runas_become(const runas *ra, int *err)
{
    *err = 0;
    if (!ra->change)
        return RUNAS_OK;
    /* Groups and gid while still root; the uid last, as it drops the
     * capabilities the others need. */
    if (syscall(SYS_setgroups, ra->ngroups, ra->groups) < 0) {
        *err = errno;
        return RUNAS_SETGROUPS;
    }
    if (syscall(SYS_setresgid, ra->gid, ra->gid, ra->gid) < 0) {
        *err = errno;
        return RUNAS_SETRESGID;
    }
    if (syscall(SYS_setresuid, ra->uid, ra->uid, ra->uid) < 0) {
        *err = errno;
        return RUNAS_SETRESUID;
    }
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    if (syscall(SYS_getresuid, &ru, &eu, &su) < 0 || ru != ra->uid || eu != ra->uid ||
        su != ra->uid)
        return RUNAS_CHECK_UID;
    if (syscall(SYS_getresgid, &rg, &eg, &sg) < 0 || rg != ra->gid || eg != ra->gid ||
        sg != ra->gid)
        return RUNAS_CHECK_GID;
    if (syscall(SYS_setresuid, 0, 0, 0) == 0 || errno != EPERM)
        return RUNAS_CHECK_ROOT;
    return RUNAS_OK;
}

const char *runas_step_name(enum runas_step step)
{
    switch (step) {
    case RUNAS_OK:         return "no error";
    case RUNAS_SETGROUPS:  return "setgroups";
    case RUNAS_SETRESGID:  return "setresgid";
    case RUNAS_SETRESUID:  return "setresuid";
    case RUNAS_CHECK_UID:  return "identity check: the uid did not change";
    case RUNAS_CHECK_GID:  return "identity check: the gid did not change";
    case RUNAS_CHECK_ROOT: return "identity check: root could be regained";
    }
    return "unknown step";
}
