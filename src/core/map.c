/* map.c — see map.h. */
#include "map.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static uint64_t map_hash(const char *key)
{
    uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char *s = (const unsigned char *)key; *s; s++)
        hash = (hash ^ *s) * 1099511628211ULL;
    return hash;
}

static size_t map_index(const map_t *map, const char *key)
{
    size_t i = (size_t)(map_hash(key) & (map->cap - 1));
    while (map->keys[i] != NULL && strcmp(map->keys[i], key) != 0)
        i = (i + 1) & (map->cap - 1);
    return i;
}

static void map_grow(map_t *map)
{
    map_t bigger = {NULL, NULL, map->cap ? map->cap * 2 : 64, 0};
    bigger.keys = xcalloc(bigger.cap, sizeof *bigger.keys);
    bigger.values = xcalloc(bigger.cap, sizeof *bigger.values);
    for (size_t i = 0; i < map->cap; i++) {
        if (map->keys[i] == NULL) continue;
        size_t j = map_index(&bigger, map->keys[i]);
        bigger.keys[j] = map->keys[i];
        bigger.values[j] = map->values[i];
        bigger.count++;
    }
    free(map->keys);
    free(map->values);
    *map = bigger;
}

int64_t *map_slot(map_t *map, const char *key)
{
    if (2 * (map->count + 1) > map->cap) map_grow(map);
    size_t i = map_index(map, key);
    if (map->keys[i] == NULL) {
        map->keys[i] = xstrdup(key);
        map->values[i] = 0;
        map->count++;
    }
    return &map->values[i];
}

int64_t *map_find(const map_t *map, const char *key)
{
    if (map->cap == 0) return NULL;
    size_t i = map_index(map, key);
    return map->keys[i] ? &map->values[i] : NULL;
}

void map_free(map_t *map)
{
    if (map == NULL) return;
    for (size_t i = 0; i < map->cap; i++)
        free(map->keys[i]);
    free(map->keys);
    free(map->values);
    memset(map, 0, sizeof *map);
}
