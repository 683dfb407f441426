/* map.h — string-keyed hash map to int64 (open addressing, FNV-1a), for the offline verifier's
 * state (accounts, members). Owns copies of its keys. Grows to keep the load under 1/2. */
#ifndef LEDGER_MAP_H
#define LEDGER_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **keys;
    int64_t *values;
    size_t cap;
    size_t count;
} map_t;

/* Pointer to the value of key, inserting 0 when absent. Valid until the next insert. */
int64_t *map_slot(map_t *map, const char *key);
/* Pointer to the value of key, or NULL when absent. */
int64_t *map_find(const map_t *map, const char *key);
void map_free(map_t *map);

#endif
