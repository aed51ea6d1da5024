#include "common/strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char *key;       /* NULL: empty; TOMB: deleted */
    void *value;
};

struct strmap {
    struct slot *slots;
    size_t cap;      /* power of two */
    size_t used;     /* live + tombstones */
    size_t count;
};

static char tomb_key;
#define TOMB (&tomb_key)

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;     /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

strmap *strmap_new(void)
{
    strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        errno = ENOMEM;
        return NULL;
    }
    return m;
}

void strmap_destroy(strmap **mp)
{
    if (!mp || !*mp)
        return;
    strmap *m = *mp;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMB)
            free(m->slots[i].key);
    free(m->slots);
    free(m);
    *mp = NULL;
}

/* The slot holding 'key', or the empty/tomb slot where it would go. */
static struct slot *find(const strmap *m, const char *key)
{
    size_t mask = m->cap - 1, i = hash(key) & mask;
    struct slot *tomb = NULL;
    for (;;) {
        struct slot *s = &m->slots[i];
        if (!s->key)
            return tomb ? tomb : s;
        if (s->key == TOMB) {
            if (!tomb)
                tomb = s;
        } else if (strcmp(s->key, key) == 0) {
            return s;
        }
        i = (i + 1) & mask;
    }
}

static int grow(strmap *m)
{
    size_t oldcap = m->cap;
    struct slot *old = m->slots;
    size_t cap = m->count * 4 > oldcap ? oldcap * 2 : oldcap;
    struct slot *slots = calloc(cap, sizeof *slots);
    if (!slots) {
        errno = ENOMEM;
        return -1;
    }
    m->slots = slots;
    m->cap = cap;
    m->used = m->count;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key && old[i].key != TOMB)
            *find(m, old[i].key) = old[i];
    }
    free(old);
    return 0;
}

int strmap_put(strmap *m, const char *key, void *value)
{
    if ((m->used + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return -1;
    struct slot *s = find(m, key);
    if (s->key && s->key != TOMB) {
        s->value = value;
        return 0;
    }
    char *k = strdup(key);
    if (!k) {
        errno = ENOMEM;
        return -1;
    }
    if (!s->key)
        m->used++;
    s->key = k;
    s->value = value;
    m->count++;
    return 0;
}

void *strmap_get(const strmap *m, const char *key)
{
    struct slot *s = find(m, key);
    return s->key && s->key != TOMB ? s->value : NULL;
}

void strmap_del(strmap *m, const char *key)
{
    struct slot *s = find(m, key);
    if (!s->key || s->key == TOMB)
        return;
    free(s->key);
    s->key = TOMB;
    s->value = NULL;
    m->count--;
}

size_t strmap_count(const strmap *m)
{
    return m->count;
}
