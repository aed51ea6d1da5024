/* Small file-system helpers. All return 0, or -1 with errno set. */
#ifndef TERN_FSUTIL_H
#define TERN_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Buffer sizes for paths: FS_PATH_LEN holds any path the kernel takes
 * (PATH_MAX with its NUL); FS_SUBPATH_LEN a file in a directory of that
 * size (DIR/NAME, NAME up to about 100 bytes); FS_MSG_LEN a one-line
 * message that names such a path. */
#define FS_PATH_LEN 4096
#define FS_SUBPATH_LEN 4200
#define FS_MSG_LEN 4400

/* mkdir -p with 'mode' for the directories it creates. */
int fs_mkdir_p(const char *path, mode_t mode);

/* Writes 'len' bytes to 'path' through a temporary file, fsync and rename,
 * so readers see the old content or the new, never a part. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* fsync of a directory, so that the names created or renamed in it last. */
int fs_fsync_dir(const char *path);

/* rm -rf: removes 'path' and everything under it (not following links).
 * A path that is already gone is not an error. */
int fs_rm_rf(const char *path);

/* Writes all 'len' bytes to 'fd', retrying short writes and EINTR. */
int fs_write_fd(int fd, const void *data, size_t len);

/* Reads a whole file of at most 'max' bytes into a NUL-terminated buffer
 * the caller frees. EFBIG when larger. */
int fs_read_all(const char *path, size_t max, char **out, size_t *outlen);

/* Resolves 'path' against 'cwd' when relative; writes at most 'len' bytes.
 * ENAMETOOLONG when it does not fit. */
int fs_absolute(const char *cwd, const char *path, char *out, size_t len);

#endif
