/* A map from strings to pointers (open addressing). Keys are copied;
 * values are borrowed: the map never frees them. */
#ifndef TERN_STRMAP_H
#define TERN_STRMAP_H

#include <stddef.h>

typedef struct strmap strmap;

/* Returns a new empty map, or NULL with errno ENOMEM. */
strmap *strmap_new(void);
void strmap_destroy(strmap **mp);

/* Sets 'key' to 'value' (replacing). Returns 0, or -1 with errno ENOMEM. */
int strmap_put(strmap *m, const char *key, void *value);
/* The value for 'key', or NULL. */
void *strmap_get(const strmap *m, const char *key);
/* Removes 'key' if present. */
void strmap_del(strmap *m, const char *key);
size_t strmap_count(const strmap *m);

#endif
