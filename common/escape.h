/* Text from others made safe to show on a terminal: a job's name, argv,
 * labels, environment, reasons and messages come from users and nodes,
 * and an ESC sequence or a newline in them must not move the cursor, set
 * the title or fake a line of output. JSON needs none of this (its encoder
 * escapes), only valid UTF-8. */
#ifndef TERN_ESCAPE_H
#define TERN_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at 'p' (1 to 4; an overlong form, a
 * surrogate or a code point past U+10FFFF is not valid), or 0. */
size_t escape_utf8_len(const char *p);

/* Whether 's' (NULL counts as "") has something escape_str would change. */
bool escape_needed(const char *s);

/* The bytes escape_str needs for all of 's' (NULL: ""), its NUL included. */
size_t escape_size(const char *s);

/* Copies 's' (NULL: "") into 'buf' of 'len' bytes (len > 0), each control
 * character written out: \n, \t, \r, and \xNN for any other byte below 0x20
 * and for 0x7f; each byte that is not part of valid UTF-8 as \xNN; the C1
 * controls U+0080..U+009F (which some terminals act on) as \xc2\xNN.
 * Backslashes stay as they are: this is for reading, not for parsing back.
 * When it does not fit, the copy stops before the first character or escape
 * that does not. Returns buf, always NUL-terminated. */
char *escape_str(const char *s, char *buf, size_t len);

#endif
