#include "common/options.h"

#include "common/config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dispatch {
    const char *const *names;
    option_fn fn;
    void *ctx;
    enum log_level *level;
} dispatch;

int options_str(char **dst, const char *v)
{
    char *copy = strdup(v);
    if (!copy)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

static int apply(void *arg, const char *key, const char *value, char *err, size_t errlen)
{
    dispatch *d = arg;
    if (strcmp(key, "log-level") == 0) {
        if (log_level_parse(value, d->level) == 0)
            return 0;
        snprintf(err, errlen, "log-level '%s': expected error, warn, info or debug", value);
        return -1;
    }
    if (strcmp(key, "config") == 0) {
        char why[1024];
        if (config_read(value, apply, arg, why, sizeof why) == 0)
            return 0;
        snprintf(err, errlen, "config %s", why);
        return -1;
    }
    for (const char *const *n = d->names; *n; n++)
        if (strcmp(key, *n) == 0)
            return d->fn(d->ctx, key, value, err, errlen);
    snprintf(err, errlen, "unknown option '%s'", key);
    return -1;
}

int options_parse(const char *prog, int argc, char **argv, const char *const *names,
                  const char *usage, option_fn fn, void *ctx, enum log_level *level)
{
    size_t n = 0;
    while (names[n])
        n++;
    struct option *longopts = calloc(n + 4, sizeof *longopts);
    if (!longopts)
        return 2;
    for (size_t i = 0; i < n; i++)
        longopts[i] = (struct option){ names[i], required_argument, 0, 0 };
    longopts[n] = (struct option){ "config", required_argument, 0, 0 };
    longopts[n + 1] = (struct option){ "log-level", required_argument, 0, 0 };
    longopts[n + 2] = (struct option){ "help", no_argument, 0, 'h' };
    dispatch d = { names, fn, ctx, level };
    int c, idx, rc = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "+:h", longopts, &idx)) != -1) {
        char err[1200];
        if (c == 'h') {
            fputs(usage, stdout);
            rc = 1;
        } else if (c == ':') {
            fprintf(stderr, "%s: option '%s' needs a value\n", prog, argv[optind - 1]);
            rc = 2;
        } else if (c == '?') {
            fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", prog, argv[optind - 1],
                    prog);
            rc = 2;
        } else if (apply(&d, longopts[idx].name, optarg, err, sizeof err) < 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            rc = 2;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (see %s --help)\n", prog, argv[optind],
                prog);
        rc = 2;
    }
    free(longopts);
    return rc;
}
