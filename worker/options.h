/* tern-worker's options. */
#ifndef TERN_WORKER_OPTIONS_H
#define TERN_WORKER_OPTIONS_H

#include "common/options.h"

/* The options of tern-worker, for options_parse into a worker_opts
 * (worker.h): names, defaults, limits and the --help text. options_free
 * releases the text they set; the labels (worker_opts.labels, each and the
 * array) are the caller's to free. */
extern const option_spec worker_options[];

#endif
