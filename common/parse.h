/* Parsing of the values users type: counts, time limits, signals.
 * All return 0 on success, -1 on a malformed or out-of-range value
 * (nothing written to *out then). */
#ifndef TERN_PARSE_H
#define TERN_PARSE_H

#include <stdint.h>

/* Decimal integer in [min, max], nothing else on the line. */
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int parse_i32(const char *s, int32_t min, int32_t max, int32_t *out);
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A SLURM time limit in seconds: "M", "M:S", "H:M:S", "D-H", "D-H:M",
 * "D-H:M:S"; "0", "UNLIMITED" and "INFINITE" mean none (0). */
int parse_time_limit(const char *s, uint64_t *out_secs);

/* A signal by name ("USR1", "SIGUSR1"), number, or "SIG<number>". */
int parse_signal(const char *s, int *out);

/* "SIGUSR1" for SIGUSR1; a static "SIG<n>" for unnamed numbers. */
const char *signal_name(int signo);

/* True when 's' (NULL counts as "") has no control character (below 0x20,
 * or 0x7f): names that end up in logs, tables and files. */
#include <stdbool.h>
bool text_printable(const char *s);

/* Writes "1-02:03:04", "2:03:04" or "3:04" into buf (squeue TIME). */
void format_duration(uint64_t secs, char *buf, unsigned len);

#endif
