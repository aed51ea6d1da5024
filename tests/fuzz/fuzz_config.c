/* libFuzzer target: a daemon's configuration file, as 'ternd --config FILE'
 * and 'tern-worker --config FILE' read it: options_parse hands the file to
 * config_read, whose "key = value" lines reach the same dispatch as the
 * command line (log-level, a nested config, switches, unknown names).
 * The file is a memfd at a fixed descriptor, so its path is always
 * CONFIG_PATH and an input can name itself ("config = /proc/self/fd/900"). */
#include "common/config.h"
#include "common/options.h"
#include "common/parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CONFIG_FD 900
#define CONFIG_PATH "/proc/self/fd/900"
#define MAX_VALUES 64

/* Both daemons' option names ("?": a switch). */
static const char *const names[] = {
    "state", "client", "worker", "endpoints-file", "log-dir", "heartbeat-ms", "node-timeout",
    "kill-wait", "fail-kill-ms", "master-ports", "notice-margin", "preempt-grace",
    "fairshare-halflife", "backfill-depth", "metrics", "scheduler", "name", "addr", "cpus",
    "gpus", "topology", "label", "spot?", "price", "notice-url", "notice-poll-ms",
    "sigterm-notice", "fence-after", "nccl-ifname", "key", "authorized-keys", "rate-limit",
    "server-key", NULL,
};

typedef struct settings {
    char *values[MAX_VALUES];
    size_t n;
} settings;

static FILE *devnull;

/* As the daemons' setters: numbers checked, switches true or false, the
 * rest kept as copies. */
static int set_option(void *ctx, const char *key, const char *v, char *err, size_t errlen)
{
    settings *s = ctx;
    uint32_t n;
    if (strcmp(key, "spot") == 0) {
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            return 0;
        snprintf(err, errlen, "spot '%s': expected true or false", v);
        return -1;
    }
    if (strstr(key, "-ms") || strcmp(key, "cpus") == 0 || strcmp(key, "gpus") == 0) {
        if (parse_u32(v, 0, 86400000, &n) == 0)
            return 0;
        snprintf(err, errlen, "%s '%s': expected a number", key, v);
        return -1;
    }
    if (s->n == MAX_VALUES) {
        snprintf(err, errlen, "too many settings");
        return -1;
    }
    s->values[s->n] = NULL;
    if (options_str(&s->values[s->n], v) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->n++;
    return 0;
}

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
    settings s = { .n = 0 };
    enum log_level level = LOG_INFO;
    /* options_parse says what is wrong on stderr: not each time here. The
     * sanitizers and libFuzzer write to descriptor 2, not through 'stderr'. */
    FILE *saved = stderr;
    stderr = devnull;
    (void)options_parse("ternd", 3, argv, names, "usage\n", set_option, &s, &level);
    stderr = saved;
    for (size_t i = 0; i < s.n; i++)
        free(s.values[i]);
    return 0;
}
