#include "common/grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *grow(void *items, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return items;
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2) {
            n = need;
            break;
        }
        n *= 2;
    }
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    char *p = realloc(items, n * size);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    memset(p + *cap * size, 0, (n - *cap) * size);
    *cap = n;
    return p;
}
