#include "common/options.h"

#include "common/config.h"
#include "common/parse.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How deep config files may name further ones: an end for a file that
 * names itself, which would otherwise recurse until the stack overflows. */
#define CONFIG_MAX_DEPTH 8

/* Where the help text of an option starts, and how wide the usage is. */
#define HELP_COLUMN 24
#define USAGE_WIDTH 88

typedef struct dispatch {
    const option_spec *table;
    void *opts;
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

static int set_u32(const option_spec *o, uint32_t *field, const char *v, uint32_t scale,
                   char *err, size_t errlen)
{
    uint32_t n;
    if (parse_u32(v, o->min, o->max, &n) == 0) {
        *field = n * scale;
        return 0;
    }
    if (o->expect)
        snprintf(err, errlen, "%s '%s': expected %s", o->name, v, o->expect);
    else
        snprintf(err, errlen, "%s '%s': expected %s%u to %u", o->name, v,
                 o->kind == OPTION_SECONDS ? "seconds, " : "", o->min, o->max);
    return -1;
}

/* Applies 'v' to the option 'o' describes. Returns 0, or -1 with 'err'. */
static int set_one(const option_spec *o, void *opts, const char *v, char *err, size_t errlen)
{
    void *field = (char *)opts + o->off;
    switch (o->kind) {
    case OPTION_TEXT:
        if (o->set && o->set(opts, o->name, v, err, errlen) < 0)
            return -1;
        if (options_str(field, v) == 0)
            return 0;
        snprintf(err, errlen, "%s: out of memory", o->name);
        return -1;
    case OPTION_U32:
        return set_u32(o, field, v, 1, err, errlen);
    case OPTION_SECONDS:
        return set_u32(o, field, v, 1000, err, errlen);
    case OPTION_SWITCH:
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
            *(bool *)field = strcmp(v, "true") == 0;
            return 0;
        }
        snprintf(err, errlen, "%s '%s': expected true or false", o->name, v);
        return -1;
    case OPTION_CUSTOM:
        break;
    }
    return o->set(opts, o->name, v, err, errlen);
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
    for (const option_spec *o = d->table; o->name; o++)
        if (strcmp(key, o->name) == 0)
            return set_one(o, d->opts, value ? value : "true", err, errlen);
    snprintf(err, errlen, "unknown option '%s'", key);
    return -1;
}

/* Writes 'text' from column 'col' on, wrapped at USAGE_WIDTH, each further
 * line from HELP_COLUMN; a '\n' in 'text' breaks the line there. */
static void print_wrapped(FILE *f, const char *text, size_t col)
{
    const char *p = text;
    bool line_start = true;
    while (*p) {
        size_t word = strcspn(p, " \n");
        if (!line_start && col + 1 + word > USAGE_WIDTH) {
            fprintf(f, "\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
        } else if (!line_start) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)word, p);
        col += word;
        p += word;
        line_start = false;
        if (*p == '\n') {
            fprintf(f, "\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
            line_start = true;
        }
        p += strspn(p, " \n");
    }
    fputc('\n', f);
}

/* One option's line(s): its help, then its default, inside the help's
 * closing parenthesis when it ends with one ("(port 0: any; default X)"). */
static void print_option(FILE *f, const char *name, const char *arg, const char *help,
                         const char *dflt)
{
    int col = fprintf(f, "  --%s%s%s", name, arg ? " " : "", arg ? arg : "");
    col += fprintf(f, "%*s", col <= HELP_COLUMN - 2 ? HELP_COLUMN - col : 2, "");
    char text[1024];
    size_t len = strlen(help);
    if (!dflt || strstr(help, "default"))
        snprintf(text, sizeof text, "%s", help);
    else if (len && help[len - 1] == ')')
        snprintf(text, sizeof text, "%.*s; default %s)", (int)(len - 1), help, dflt);
    else
        snprintf(text, sizeof text, "%s (default %s)", help, dflt);
    print_wrapped(f, text, (size_t)col);
}

static void print_usage(const char *prog, const char *synopsis, const option_spec *table)
{
    printf("usage: %s %s\n", prog, synopsis);
    for (const option_spec *o = table; o->name; o++)
        print_option(stdout, o->name, o->arg, o->help, o->dflt);
    print_option(stdout, "config", "FILE", "read 'option = value' lines (same names as above)",
                 NULL);
    print_option(stdout, "log-level", "LEVEL", "error, warn, info (default) or debug", NULL);
}

static int set_defaults(const char *prog, const option_spec *table, void *opts)
{
    for (const option_spec *o = table; o->name; o++) {
        char err[1200];
        if (o->dflt && set_one(o, opts, o->dflt, err, sizeof err) < 0) {
            fprintf(stderr, "%s: default %s\n", prog, err);
            return -1;
        }
    }
    return 0;
}

void options_free(const option_spec *table, void *opts)
{
    for (const option_spec *o = table; o->name; o++) {
        if (o->kind != OPTION_TEXT)
            continue;
        char **field = (char **)((char *)opts + o->off);
        free(*field);
        *field = NULL;
    }
}

int options_parse(const char *prog, const char *synopsis, int argc, char **argv,
                  const option_spec *table, void *opts, enum log_level *level)
{
    size_t n = 0;
    while (table[n].name)
        n++;
    if (set_defaults(prog, table, opts) < 0)
        return 2;
    struct option *longopts = calloc(n + 4, sizeof *longopts);
    if (!longopts)
        return 2;
    /* A switch (no value in the usage): --NAME alone means --NAME=true. */
    for (size_t i = 0; i < n; i++)
        longopts[i] = (struct option){ table[i].name,
                                       table[i].arg ? required_argument : optional_argument, 0,
                                       0 };
    longopts[n] = (struct option){ "config", required_argument, 0, 0 };
    longopts[n + 1] = (struct option){ "log-level", required_argument, 0, 0 };
    longopts[n + 2] = (struct option){ "help", no_argument, 0, 'h' };
    dispatch d = { table, opts, level, 0 };
    int c, idx, rc = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "+:h", longopts, &idx)) != -1) {
        char err[1200];
        if (c == 'h') {
            print_usage(prog, synopsis, table);
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
