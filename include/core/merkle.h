/* merkle.h — RFC 6962 / RFC 9162 Merkle tree over the journal: leaf and node hashes, the
 * compact-range frontier (O(log n) state), subtree hashes from stored perfect subtrees,
 * inclusion and consistency proofs and their verification. Pure (hashing via crypto.h). */
#ifndef LEDGER_MERKLE_H
#define LEDGER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define MERKLE_HASH_BYTES 32
#define MERKLE_DEPTH_MAX  LIMIT_MERKLE_DEPTH_MAX /* proofs and frontiers never exceed one hash per tree level */

typedef uint8_t merkle_hash_t[MERKLE_HASH_BYTES];

void merkle_leaf_hash(const void *data, size_t len, merkle_hash_t out);
void merkle_node_hash(const merkle_hash_t left, const merkle_hash_t right, merkle_hash_t out);

/* Roots of the perfect subtrees of the tree so far, largest (leftmost) first. */
typedef struct {
    merkle_hash_t hashes[MERKLE_DEPTH_MAX];
    size_t count;
    uint64_t size;
} merkle_frontier_t;

void merkle_frontier_append(merkle_frontier_t *frontier, const merkle_hash_t leaf);
/* MTH of the whole tree; SHA-256("") for the empty tree. */
void merkle_frontier_root(const merkle_frontier_t *frontier, merkle_hash_t root);

/* Source of the hash of the perfect subtree of 2^level leaves starting at index << level.
 * Returns 0 on success. */
typedef int (*merkle_subtree_fn)(void *context, int level, uint64_t index, merkle_hash_t out);

/* MTH(D[lo:hi]) for 0 <= lo < hi (lo aligned as in RFC 6962 recursion). Returns 0 on success. */
int merkle_range_hash(merkle_subtree_fn fetch, void *context, uint64_t lo, uint64_t hi, merkle_hash_t out);
/* RFC 6962 2.1.1 PATH(index, D[0:size]). */
int merkle_inclusion_proof(merkle_subtree_fn fetch, void *context, uint64_t index, uint64_t size,
                           merkle_hash_t path[MERKLE_DEPTH_MAX], size_t *count);
/* RFC 6962 2.1.2 PROOF(first, D[0:second]), 0 < first <= second. */
int merkle_consistency_proof(merkle_subtree_fn fetch, void *context, uint64_t first, uint64_t second,
                             merkle_hash_t path[MERKLE_DEPTH_MAX], size_t *count);

/* RFC 9162 2.1.3.2. Returns 1 when leaf is at index in the tree of size with this root. */
int merkle_verify_inclusion(uint64_t index, uint64_t size, const merkle_hash_t leaf, const merkle_hash_t *path,
                            size_t count, const merkle_hash_t root);
/* RFC 9162 2.1.4.2. Returns 1 when the tree of size second with second_root extends first. */
int merkle_verify_consistency(uint64_t first, uint64_t second, const merkle_hash_t first_root,
                              const merkle_hash_t second_root, const merkle_hash_t *path, size_t count);

#endif
