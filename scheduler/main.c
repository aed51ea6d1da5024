/* ternd: the tern scheduler daemon. */
#include "scheduler/loop.h"
#include "scheduler/options.h"
#include "scheduler/sched.h"

#include "common/fsutil.h"
#include "common/log.h"
#include "common/options.h"

#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    sched s;
    memset(&s, 0, sizeof s);
    s.sigfd = -1;
    sched_opts *so = &s.opt;
    enum log_level level = LOG_INFO;
    int rc = options_parse("ternd", "[options]", argc, argv, sched_options, so, &level);
    if (rc != 0) {
        rc = rc == 1 ? 0 : 2;
        goto out;
    }
    if (!so->log_dir) {
        char *copy = strdup(so->state_path), buf[FS_PATH_LEN];
        snprintf(buf, sizeof buf, "%s/logs", dirname(copy));
        free(copy);
        options_str(&so->log_dir, buf);
    }
    if (so->log_dir[0] != '/') {
        char cwd[2048], buf[FS_PATH_LEN];
        if (getcwd(cwd, sizeof cwd)) {
            snprintf(buf, sizeof buf, "%s/%s", cwd, so->log_dir);
            options_str(&so->log_dir, buf);
        }
    }
    if ((uint64_t)so->heartbeat_ms * 2 > so->node_timeout_ms) {
        fprintf(stderr, "ternd: node-timeout (%u ms) must be at least twice heartbeat-ms (%u)\n",
                so->node_timeout_ms, so->heartbeat_ms);
        rc = 2;
        goto out;
    }
    log_init("ternd", level);

    rc = sched_start(&s) == 0 && sched_run(&s) == 0 ? 0 : 1;
    sched_finish(&s);
out:
    options_free(sched_options, so);
    return rc;
}
