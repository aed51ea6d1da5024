#include "common/pattern.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pattern_expand(const char *pat, const pattern_vars *v, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = pat; *p; p++) {
        char piece[64];
        const char *add = piece;
        if (*p != '%') {
            piece[0] = *p;
            piece[1] = '\0';
        } else {
            switch (*++p) {
            case '%': add = "%"; break;
            case 'j': snprintf(piece, sizeof piece, "%llu", (unsigned long long)v->job_id); break;
            case 't':
                if (v->rank < 0) add = "%t";
                else snprintf(piece, sizeof piece, "%lld", (long long)v->rank);
                break;
            case 'n':
                if (v->node_rank < 0) add = "%n";
                else snprintf(piece, sizeof piece, "%lld", (long long)v->node_rank);
                break;
            case 'N': add = v->node_name ? v->node_name : "%N"; break;
            case 'x': add = v->job_name && *v->job_name ? v->job_name : "job"; break;
            default:
                errno = EINVAL;
                return -1;
            }
        }
        size_t al = strlen(add);
        if (o + al >= len) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out + o, add, al);
        o += al;
    }
    if (o >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    out[o] = '\0';
    return 0;
}
