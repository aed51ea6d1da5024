/* A training program's progress, for tern top: the last step it reports
 * goes into the file TERN_PROGRESS_FILE names (set for rank 0 by its
 * worker), which the worker reads with each heartbeat. Written at most
 * five times a second, by rename, so it costs a training loop nothing. */
#include "tern/tern.h"

#include "common/clock.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define REPORT_EVERY_MS 200

int tern_report_step(int64_t step)
{
    static int64_t last_ms = -REPORT_EVERY_MS;
    const char *path = getenv("TERN_PROGRESS_FILE");
    if (!path || !path[0])
        return 0;
    int64_t now = clock_mono_ms();
    if (now - last_ms < REPORT_EVERY_MS)
        return 0;
    last_ms = now;
    char tmp[FS_SUBPATH_LEN];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* Not readable by others (as the job's checkpoints), less the umask. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int ok = fprintf(f, "%lld\n", (long long)step) > 0;
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
        return -1;
    return 0;
}
