/* Folding repeated log lines about one peer: the first line about a peer in
 * a second is logged, the rest of that second only counted, and one line
 * "PEER: N more like it in the last second" is logged when the second is
 * over. A flood of bad messages from one peer costs two lines a second, not
 * one a message. At most LOGFOLD_MAX_PEERS are followed at once; lines
 * about further peers are counted together under "other peers". */
#ifndef TERN_LOGFOLD_H
#define TERN_LOGFOLD_H

#include <stdbool.h>
#include <stdint.h>

#define LOGFOLD_MAX_PEERS 4096

typedef struct logfold logfold;

/* Returns a table, or NULL with errno ENOMEM. */
logfold *logfold_new(void);
/* Logs what is still counted, then frees. Accepts NULL. */
void logfold_destroy(logfold **lfp);

/* Whether a line about 'who' at monotonic 'now_ms' should be logged; when
 * not, it is counted. A NULL table allows every line. */
bool logfold_allow(logfold *lf, const char *who, int64_t now_ms);

/* Formats the line's subject from 'fmt' (a peer and what happened, e.g.
 * "client endpoint: a message from user:bob") and, unless folded on that
 * subject, logs "SUBJECT: DETAIL" as a warning. */
void logfold_warn(logfold *lf, int64_t now_ms, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Logs the count of every peer whose second is over and forgets it; call
 * it every few hundred milliseconds. */
void logfold_flush(logfold *lf, int64_t now_ms);

#endif
