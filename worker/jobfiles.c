#include "worker/jobfiles.h"

#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <unistd.h>

/* Gives the job's directory (just created, or as an earlier launch left
 * it) to its user. Returns 0, or -1 with errno. */
static int give_dir(const runas *ra, const char *dir)
{
    if (!ra->change)
        return 0;
    /* Not through a link: the directory is the job's own, under ternd's. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = runas_give(ra, fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int jobfiles_make_dir(const runas *ra, const char *dir, mode_t mask)
{
    char parent[FS_PATH_LEN];
    snprintf(parent, sizeof parent, "%s", dir);
    if (fs_mkdir_p(dirname(parent), 0755) < 0 || fs_mkdir_p(dir, JOB_DIR_MODE & ~mask) < 0)
        return -1;
    return give_dir(ra, dir);
}

int jobfiles_open_output(const char *pattern, const pattern_vars *vars,
                         const pattern_array *array, mode_t mask, char *path, size_t len)
{
    if (pattern_expand_array(pattern, vars, array, path, len) < 0)
        return -1;
    char dir[FS_PATH_LEN];
    snprintf(dir, sizeof dir, "%s", path);
    if (fs_mkdir_p(dirname(dir), JOB_DIR_MODE & ~mask) < 0)
        return -1;
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, JOB_FILE_MODE & ~mask);
}
