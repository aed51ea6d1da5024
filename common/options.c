#include "common/options.h"

#include "common/config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How deep config files may name further ones: an end for a file that
 * names itself, which would otherwise recurse until the stack overflows. */
#define CONFIG_MAX_DEPTH 8

typedef struct dispatch {
    const char *const *names;
    option_fn fn;
    void *ctx;
    enum log_level *level;
    int depth;             /* config files being read */
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
        if (d->depth == CONFIG_MAX_DEPTH) {
            snprintf(err, errlen, "config %s: more than %d config files deep (one that names "
                     "itself?)", value, CONFIG_MAX_DEPTH);
            return -1;
        }
        char why[1024];
        d->depth++;
        int rc = config_read(value, apply, arg, why, sizeof why);
        d->depth--;
        if (rc == 0)
            return 0;
        snprintf(err, errlen, "config %s", why);
        return -1;
    }
    for (const char *const *n = d->names; *n; n++) {
        size_t len = strcspn(*n, "?");
        if (strncmp(key, *n, len) == 0 && key[len] == '\0')
            return d->fn(d->ctx, key, value ? value : "true", err, errlen);
    }
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
    char **stripped = calloc(n + 1, sizeof *stripped);
    if (!longopts || !stripped) {
        free(longopts);
        free(stripped);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        /* "NAME?" is a switch: --NAME alone means --NAME=true. */
        size_t len = strcspn(names[i], "?");
        if (names[i][len] == '?' && !(stripped[i] = strndup(names[i], len))) {
            for (size_t k = 0; k < i; k++)
                free(stripped[k]);
            free(stripped);
            free(longopts);
            return 2;
        }
        longopts[i] = (struct option){ stripped[i] ? stripped[i] : names[i],
                                       stripped[i] ? optional_argument : required_argument, 0, 0 };
    }
    longopts[n] = (struct option){ "config", required_argument, 0, 0 };
    longopts[n + 1] = (struct option){ "log-level", required_argument, 0, 0 };
    longopts[n + 2] = (struct option){ "help", no_argument, 0, 'h' };
    dispatch d = { names, fn, ctx, level, 0 };
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
    for (size_t i = 0; i < n; i++)
        free(stripped[i]);
    free(stripped);
    free(longopts);
    return rc;
}
