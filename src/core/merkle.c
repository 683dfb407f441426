/* merkle.c — see merkle.h. Recursion depth is bounded by the tree height (<= 64). */
#include "merkle.h"

#include <string.h>

#include "assert_always.h"
#include "crypto.h"

void merkle_leaf_hash(const void *data, size_t len, merkle_hash_t out)
{
    crypto_sha256_prefixed(0x00, data, len, out); /* SHA-256(0x00 || data), no copy */
}

void merkle_node_hash(const merkle_hash_t left, const merkle_hash_t right, merkle_hash_t out)
{
    uint8_t both[2 * MERKLE_HASH_BYTES];
    memcpy(both, left, MERKLE_HASH_BYTES);
    memcpy(both + MERKLE_HASH_BYTES, right, MERKLE_HASH_BYTES);
    crypto_sha256_prefixed(0x01, both, sizeof both, out);
}

void merkle_frontier_append(merkle_frontier_t *frontier, const merkle_hash_t leaf)
{
    merkle_hash_t carry;
    memcpy(carry, leaf, MERKLE_HASH_BYTES);
    /* binary counter: each trailing 1 bit of the old size is a same-sized subtree to merge */
    for (uint64_t index = frontier->size; index & 1; index >>= 1) {
        ASSERT_ALWAYS(frontier->count > 0);
        merkle_node_hash(frontier->hashes[frontier->count - 1], carry, carry);
        frontier->count--;
    }
    ASSERT_ALWAYS(frontier->count < MERKLE_DEPTH_MAX);
    memcpy(frontier->hashes[frontier->count++], carry, MERKLE_HASH_BYTES);
    frontier->size++;
}

void merkle_frontier_root(const merkle_frontier_t *frontier, merkle_hash_t root)
{
    if (frontier->count == 0) {
        crypto_sha256("", 0, root);
        return;
    }
    memcpy(root, frontier->hashes[frontier->count - 1], MERKLE_HASH_BYTES);
    for (size_t i = frontier->count - 1; i-- > 0;)
        merkle_node_hash(frontier->hashes[i], root, root);
}

static uint64_t largest_power_below(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

static int is_power_of_two(uint64_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

int merkle_range_hash(merkle_subtree_fn fetch, void *context, uint64_t lo, uint64_t hi, merkle_hash_t out)
{
    uint64_t n = hi - lo;
    ASSERT_ALWAYS(hi > lo);
    if (is_power_of_two(n) && lo % n == 0) {
        int level = __builtin_ctzll(n);
        return fetch(context, level, lo >> level, out);
    }
    merkle_hash_t left, right;
    uint64_t k = largest_power_below(n);
    if (merkle_range_hash(fetch, context, lo, lo + k, left) != 0) return -1;
    if (merkle_range_hash(fetch, context, lo + k, hi, right) != 0) return -1;
    merkle_node_hash(left, right, out);
    return 0;
}

static int inclusion_path(merkle_subtree_fn fetch, void *context, uint64_t index, uint64_t lo, uint64_t hi,
                          merkle_hash_t *path, size_t *count)
{
    uint64_t n = hi - lo;
    if (n == 1) return 0;
    uint64_t k = largest_power_below(n);
    int status = index < k ? inclusion_path(fetch, context, index, lo, lo + k, path, count)
                           : inclusion_path(fetch, context, index - k, lo + k, hi, path, count);
    if (status != 0 || *count == MERKLE_DEPTH_MAX) return -1;
    status = index < k ? merkle_range_hash(fetch, context, lo + k, hi, path[*count])
                       : merkle_range_hash(fetch, context, lo, lo + k, path[*count]);
    (*count)++;
    return status;
}

int merkle_inclusion_proof(merkle_subtree_fn fetch, void *context, uint64_t index, uint64_t size,
                           merkle_hash_t path[MERKLE_DEPTH_MAX], size_t *count)
{
    *count = 0;
    if (index >= size) return -1;
    return inclusion_path(fetch, context, index, 0, size, path, count);
}

static int subproof(merkle_subtree_fn fetch, void *context, uint64_t m, uint64_t lo, uint64_t hi, int whole,
                    merkle_hash_t *path, size_t *count)
{
    uint64_t n = hi - lo;
    if (*count == MERKLE_DEPTH_MAX) return -1;
    if (m == n) {
        if (whole) return 0;
        return merkle_range_hash(fetch, context, lo, hi, path[(*count)++]);
    }
    uint64_t k = largest_power_below(n);
    int status = m <= k ? subproof(fetch, context, m, lo, lo + k, whole, path, count)
                        : subproof(fetch, context, m - k, lo + k, hi, 0, path, count);
    if (status != 0 || *count == MERKLE_DEPTH_MAX) return -1;
    status = m <= k ? merkle_range_hash(fetch, context, lo + k, hi, path[*count])
                    : merkle_range_hash(fetch, context, lo, lo + k, path[*count]);
    (*count)++;
    return status;
}

int merkle_consistency_proof(merkle_subtree_fn fetch, void *context, uint64_t first, uint64_t second,
                             merkle_hash_t path[MERKLE_DEPTH_MAX], size_t *count)
{
    *count = 0;
    if (first == 0 || first > second) return -1;
    return subproof(fetch, context, first, 0, second, 1, path, count);
}

int merkle_verify_inclusion(uint64_t index, uint64_t size, const merkle_hash_t leaf, const merkle_hash_t *path,
                            size_t count, const merkle_hash_t root)
{
    if (index >= size) return 0;
    uint64_t fn = index, sn = size - 1;
    merkle_hash_t r;
    memcpy(r, leaf, MERKLE_HASH_BYTES);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0) return 0;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(path[i], r, r);
            while (!(fn & 1) && fn != 0)
                fn >>= 1, sn >>= 1;
        } else {
            merkle_node_hash(r, path[i], r);
        }
        fn >>= 1, sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, MERKLE_HASH_BYTES) == 0;
}

int merkle_verify_consistency(uint64_t first, uint64_t second, const merkle_hash_t first_root,
                              const merkle_hash_t second_root, const merkle_hash_t *path, size_t count)
{
    if (first == 0 || first > second) return 0;
    if (first == second) return count == 0 && memcmp(first_root, second_root, MERKLE_HASH_BYTES) == 0;
    if (count == 0 || count >= MERKLE_DEPTH_MAX) return 0;
    merkle_hash_t proof[MERKLE_DEPTH_MAX + 1];
    size_t n = 0;
    if (is_power_of_two(first)) memcpy(proof[n++], first_root, MERKLE_HASH_BYTES);
    for (size_t i = 0; i < count; i++)
        memcpy(proof[n++], path[i], MERKLE_HASH_BYTES);
    uint64_t fn = first - 1, sn = second - 1;
    while (fn & 1)
        fn >>= 1, sn >>= 1;
    merkle_hash_t fr, sr;
    memcpy(fr, proof[0], MERKLE_HASH_BYTES);
    memcpy(sr, proof[0], MERKLE_HASH_BYTES);
    for (size_t i = 1; i < n; i++) {
        if (sn == 0) return 0;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(proof[i], fr, fr);
            merkle_node_hash(proof[i], sr, sr);
            while (!(fn & 1) && fn != 0)
                fn >>= 1, sn >>= 1;
        } else {
            merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1, sn >>= 1;
    }
    return sn == 0 && memcmp(fr, first_root, MERKLE_HASH_BYTES) == 0 && memcmp(sr, second_root, MERKLE_HASH_BYTES) == 0;
}
