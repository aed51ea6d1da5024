#include "common/escape.h"

#include <stdio.h>
#include <string.h>

size_t escape_utf8_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] < 0x80)
        return 1;
    size_t n = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || (n == 2 && p[0] < 0xc2) || (n == 4 && p[0] > 0xf4))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
        (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

/* How the character at 'p' is shown: its own 'n' bytes (returns 0), or
 * an escape of 'n' bytes written into 'out' (returns its length). */
static size_t one(const char *p, size_t *n, char out[16])
{
    unsigned char c = (unsigned char)*p;
    size_t len = escape_utf8_len(p);
    *n = len ? len : 1;
    if (c == '\n' || c == '\t' || c == '\r') {
        out[0] = '\\';
        out[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        return 2;
    }
    if (c < 0x20 || c == 0x7f || len == 0)
        return (size_t)snprintf(out, 16, "\\x%02x", c);
    if (len == 2 && c == 0xc2 && (unsigned char)p[1] < 0xa0)
        return (size_t)snprintf(out, 16, "\\xc2\\x%02x", (unsigned char)p[1]);
    return 0;
}

bool escape_needed(const char *s)
{
    char e[16];
    size_t n;
    for (const char *p = s ? s : ""; *p; p += n)
        if (one(p, &n, e))
            return true;
    return false;
}

size_t escape_size(const char *s)
{
    char e[16];
    size_t n, size = 1;
    for (const char *p = s ? s : ""; *p; p += n) {
        size_t k = one(p, &n, e);
        size += k ? k : n;
    }
    return size;
}

char *escape_str(const char *s, char *buf, size_t len)
{
    char e[16];
    size_t n, o = 0;
    for (const char *p = s ? s : ""; *p; p += n) {
        size_t k = one(p, &n, e);
        const char *from = k ? e : p;
        if (!k)
            k = n;
        if (o + k >= len)
            break;
        memcpy(buf + o, from, k);
        o += k;
    }
    buf[o] = '\0';
    return buf;
}
