/* Options of the daemons. Each daemon lists its option names and gives one
 * setter; "--name value" (or "--name=value") on the command line and
 * "name = value" in a --config file both reach it, so the two can never
 * disagree. --config, --log-level and --help are handled here; a config
 * file may name another ("config = FILE"), at most 8 deep. */
#ifndef TERN_OPTIONS_H
#define TERN_OPTIONS_H

#include <stddef.h>

#include "common/log.h"

/* Applies one option. Returns 0, or -1 with a message in 'err'. */
typedef int (*option_fn)(void *ctx, const char *name, const char *value, char *err,
                         size_t errlen);

/* Parses argv. 'names' is NULL-terminated; every option takes a value,
 * except a switch, listed as "NAME?": --NAME alone gives it "true"; its
 * value, if any, must be attached (--NAME=false), or given in a config
 * file ("NAME = false").
 * Returns 0 to go on, 1 after printing 'usage' for --help, 2 after printing
 * "PROG: what" for a usage error. */
int options_parse(const char *prog, int argc, char **argv, const char *const *names,
                  const char *usage, option_fn fn, void *ctx, enum log_level *level);

/* Replaces *dst with a copy of v. Returns 0, or -1 (ENOMEM). */
int options_str(char **dst, const char *v);

#endif
