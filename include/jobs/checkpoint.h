/* checkpoint.h — signed tree heads (C2SP checkpoints) over the stored journal tree, exports
 * (spec 10) streamed in bounded memory, and inclusion/consistency proofs from stored subtrees.
 * Nothing is signed unless the tree is consistent with the last signed checkpoint. */
#ifndef LEDGER_CHECKPOINT_H
#define LEDGER_CHECKPOINT_H

#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "merkle.h"
#include "result.h"
#include "store.h"

/* A signed note for the tree at size (0 = the current size). *size_out gets the size used.
 * RESULT_TREE_INCONSISTENT when the stored tree disagrees with the last checkpoint. */
result_t checkpoint_sign(store_conn_t *conn, const crypto_signer_t *key, const char *origin, uint64_t size,
                         uint64_t *size_out, merkle_hash_t root, char **note);

#define EXPORT_FORMAT "coalition-ledger-export/1"

typedef struct export_stream export_stream_t;

/* Starts a full export of the committed journal (seq 1 .. current size). conn is borrowed and
 * must stay open until export_close. Returns NULL with *result set on failure. */
export_stream_t *export_open(store_conn_t *conn, const crypto_signer_t *key, const char *origin, result_t *result);
/* Appends the next piece (header, up to a batch of entry lines, or the checkpoint line) to out.
 * Returns 1 while more follows, 0 when finished, -1 on a database error. */
int export_next(export_stream_t *stream, buf_t *out);
void export_close(export_stream_t *stream);

#endif
