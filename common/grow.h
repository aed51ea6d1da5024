/* Growing an array one element at a time. */
#ifndef TERN_GROW_H
#define TERN_GROW_H

#include <stddef.h>

/* Makes 'items' (an array of *cap elements of 'size' bytes, or NULL with
 * *cap 0) hold at least 'need' elements: when it is too small, reallocates
 * it to twice its size ('first' elements when it has none, more when
 * 'need' asks), zeroes the new slots and updates *cap. Returns the array, which the caller stores in place of
 * 'items'; or NULL with errno ENOMEM, 'items' and *cap left as they were
 * (still the caller's to free). */
void *grow(void *items, size_t *cap, size_t need, size_t size, size_t first);

#endif
