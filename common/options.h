/* Options of the daemons. Each daemon describes its options in one table,
 * from which come its --help text, its defaults and the setting of each
 * field: "--name value" (or "--name=value") on the command line and
 * "name = value" in a --config file both go through it, so the two can
 * never disagree. --config, --log-level and --help are handled here; a
 * config file may name another ("config = FILE"), at most 8 deep. */
#ifndef TERN_OPTIONS_H
#define TERN_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

typedef enum option_kind {
    OPTION_TEXT,     /* char *: a copy of the value (freed by options_free),
                      * once 'set', if any, has accepted it (it writes nothing) */
    OPTION_U32,      /* uint32_t: min to max */
    OPTION_SECONDS,  /* uint32_t in milliseconds: given in seconds, min to max */
    OPTION_SWITCH,   /* bool: true or false; --NAME alone is true */
    OPTION_CUSTOM,   /* 'set' reads and applies it */
} option_kind;

/* Applies a value of an OPTION_CUSTOM option to 'opts' (the daemon's
 * options struct), or checks that of an OPTION_TEXT one. Returns 0, or -1
 * with the message in 'err'. */
typedef int (*option_set_fn)(void *opts, const char *name, const char *value, char *err,
                             size_t errlen);

/* One option. A table ends with an entry whose name is NULL. */
typedef struct option_spec {
    const char *name;    /* "heartbeat-ms" */
    const char *arg;     /* the value in the usage ("MS"); NULL for a switch */
    option_kind kind;
    size_t off;          /* offsetof the field in the daemon's options struct */
    uint32_t min, max;   /* OPTION_U32, OPTION_SECONDS */
    const char *dflt;    /* set before the command line is read; NULL: none */
    const char *help;    /* the usage text; " (default DFLT)" follows unless it says "default" */
    const char *expect;  /* the error's "expected ..." when not "MIN to MAX" */
    option_set_fn set;   /* OPTION_CUSTOM; OPTION_TEXT: a check, or NULL */
} option_spec;

/* Sets the defaults of 'table' in 'opts', then parses argv into it.
 * 'synopsis' follows "usage: PROG " in the --help text.
 * Returns 0 to go on, 1 after printing the usage for --help, 2 after
 * printing "PROG: what" for a usage error (or out of memory). Whatever
 * the return, options_free releases what was set. */
int options_parse(const char *prog, const char *synopsis, int argc, char **argv,
                  const option_spec *table, void *opts, enum log_level *level);

/* Frees the OPTION_TEXT fields of 'opts' that 'table' names, setting them NULL. */
void options_free(const option_spec *table, void *opts);

/* Replaces *dst with a copy of v. Returns 0, or -1 (ENOMEM). */
int options_str(char **dst, const char *v);

#endif
