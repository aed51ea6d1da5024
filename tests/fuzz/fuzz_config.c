/* libFuzzer target: a daemon's configuration file, as 'ternd --config FILE'
 * and 'tern-worker --config FILE' read it: options_parse hands the file to
 * config_read, whose "key = value" lines reach the same dispatch as the
 * command line (log-level, a nested config, switches, unknown names), and
 * through the daemons' own option tables to their setters.
 * The file is a memfd at a fixed descriptor, so its path is always
 * CONFIG_PATH and an input can name itself ("config = /proc/self/fd/900"). */
#include "common/options.h"
#include "scheduler/options.h"
#include "scheduler/sched.h"
#include "worker/options.h"
#include "worker/worker.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CONFIG_FD 900
#define CONFIG_PATH "/proc/self/fd/900"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int fd = memfd_create("tern-fuzz.conf", 0);
    if (fd < 0 || dup2(fd, CONFIG_FD) < 0) {
        perror("fuzz_config: memfd");
        exit(1);
    }
    close(fd);
    devnull = fopen("/dev/null", "w");
    if (!devnull) {
        perror("fuzz_config: /dev/null");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(CONFIG_FD, 0) < 0 ||
        (size && pwrite(CONFIG_FD, data, size, 0) != (ssize_t)size))
        abort();
    char *argv[] = { "ternd", "--config", CONFIG_PATH, NULL };
    enum log_level level = LOG_INFO;
    /* options_parse says what is wrong on stderr: not each time here. The
     * sanitizers and libFuzzer write to descriptor 2, not through 'stderr'. */
    FILE *saved = stderr;
    stderr = devnull;
    sched_opts so = { 0 };
    (void)options_parse("ternd", "", 3, argv, sched_options, &so, &level);
    options_free(sched_options, &so);
    argv[0] = "tern-worker";
    worker_opts wo = { 0 };
    (void)options_parse("tern-worker", "", 3, argv, worker_options, &wo, &level);
    options_free(worker_options, &wo);
    for (size_t i = 0; i < wo.nlabels; i++)
        free(wo.labels[i]);
    free(wo.labels);
    stderr = saved;
    return 0;
}
