/* ternd's options. */
#ifndef TERN_SCHED_OPTIONS_H
#define TERN_SCHED_OPTIONS_H

#include "common/options.h"

/* The options of ternd, for options_parse into a sched_opts (sched.h):
 * names, defaults, limits and the --help text. options_free releases what
 * they set. */
extern const option_spec sched_options[];

#endif
