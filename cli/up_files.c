/* tern up's files: the cluster directory, its keys and the daemons' logs,
 * each with the mode that keeps it to whom it belongs. */
#include "cli/up.h"

#include "cli/cli.h"
#include "common/curve.h"
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The cluster's keys, made once (DIR/keys, mode 0700, made so again): ternd's, one the
 * workers share, and an admin key for whoever ran 'tern up', listed in
 * DIR/keys/authorized_keys (which an admin may extend: it is never
 * rewritten). Sets ci->server_key. Returns 0, or -1 after saying why. */
int up_keys(cluster_info *ci)
{
    static const char *const files[] = { CLUSTER_SERVER_KEY, CLUSTER_WORKER_KEY,
                                         CLUSTER_ADMIN_KEY };
    curve_key k[3];
    char path[FS_SUBPATH_LEN], err[FS_MSG_LEN];
    snprintf(path, sizeof path, "%s/%s", ci->dir, CLUSTER_KEYS_DIR);
    if (fs_mkdir_p(path, 0700) < 0 || chmod(path, 0700) < 0) {
        cli_error("up", "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", ci->dir, files[i]);
        if (access(path, F_OK) == 0 ? curve_key_load(path, &k[i], err, sizeof err) < 0
                                    : curve_keygen(&k[i]) < 0 ||
                                          curve_key_save(path, &k[i], false, err, sizeof err) < 0) {
            cli_error("up", "%s", err);
            return -1;
        }
    }
    snprintf(path, sizeof path, "%s/%s", ci->dir, CLUSTER_AUTHORIZED_KEYS);
    if (access(path, F_OK) < 0) {
        char uname[64], text[512];
        struct passwd *pw = getpwuid(getuid());
        if (pw)
            snprintf(uname, sizeof uname, "%s", pw->pw_name);
        else
            snprintf(uname, sizeof uname, "uid%u", (unsigned)getuid());
        int n = snprintf(text, sizeof text,
                         "# Who may connect to this cluster's ternd: ROLE NAME PUBLICKEY\n"
                         "# (ROLE user, admin or worker; add users' 'tern keygen' keys here)\n"
                         "admin %s %s\nworker * %s\n", uname, k[2].pub, k[1].pub);
        if (fs_write_atomic(path, text, (size_t)n, 0600) < 0) {
            cli_error("up", "cannot write %s: %s", path, strerror(errno));
            return -1;
        }
    }
    snprintf(ci->server_key, sizeof ci->server_key, "%s", k[0].pub);
    return 0;
}

/* A daemon's log file, made (or kept) mode 0600 before the daemon appends
 * to it: what ternd and the workers log (job names, users, nodes, refused
 * keys) is for whoever runs the cluster. Returns 0, or -1 after saying why. */
int up_private_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0) {
        cli_error("up", "cannot make %s private: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* The cluster directory and its logs/ (the jobs' directories, which ternd
 * and the workers make in it): 0711, so that a job's user reaches their
 * own job's directory and the cluster file (0644: endpoints, pids and
 * ternd's public key) without listing anyone's. An existing cluster is
 * brought to these modes too; a directory of the user's own that --dir
 * names for a new cluster keeps its mode. Returns 0, or -1 after saying why. */
int up_dirs(const char *dir)
{
    char logs[FS_SUBPATH_LEN], file[FS_SUBPATH_LEN];
    struct stat st;
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(file, sizeof file, "%s/%s", dir, CLUSTER_FILE);
    bool own = stat(dir, &st) < 0 || stat(file, &st) == 0;
    const char *const dirs[] = { dir, logs };
    for (size_t i = 0; i < 2; i++) {
        if (fs_mkdir_p(dirs[i], 0711) < 0 || ((own || i) && chmod(dirs[i], 0711) < 0)) {
            cli_error("up", "cannot create %s (mode 0711): %s", dirs[i], strerror(errno));
            return -1;
        }
    }
    return 0;
}
