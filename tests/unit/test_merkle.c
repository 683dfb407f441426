/* Unit: RFC 6962 known answers (transparency-dev test leaves), proofs for every (index, size)
 * and (first, second) up to 8 verified with the RFC 9162 algorithms, C2SP signed-note vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "merkle.h"
#include "note.h"

static const char *const leaves_hex[] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
static const char *const roots_hex[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void hex_decode(const char *hex, uint8_t *out, size_t *len)
{
    *len = strlen(hex) / 2;
    for (size_t i = 0; i < *len; i++) {
        unsigned byte = 0;
        sscanf(hex + 2 * i, "%2x", &byte);
        out[i] = (uint8_t)byte;
    }
}

static merkle_hash_t leaf_hashes[8];

static void build_leaves(void)
{
    for (int i = 0; i < 8; i++) {
        uint8_t data[32];
        size_t len = 0;
        hex_decode(leaves_hex[i], data, &len);
        merkle_leaf_hash(data, len, leaf_hashes[i]);
    }
}

/* Perfect subtree hashes computed from the in-memory leaves. */
static int fetch(void *context, int level, uint64_t index, merkle_hash_t out)
{
    (void)context;
    uint64_t lo = index << level, n = (uint64_t)1 << level;
    if (n == 1) {
        memcpy(out, leaf_hashes[lo], MERKLE_HASH_BYTES);
        return 0;
    }
    merkle_hash_t left, right;
    fetch(NULL, level - 1, index * 2, left);
    fetch(NULL, level - 1, index * 2 + 1, right);
    merkle_node_hash(left, right, out);
    return 0;
}

static void test_rfc6962_roots(void **state)
{
    (void)state;
    build_leaves();
    merkle_frontier_t frontier;
    memset(&frontier, 0, sizeof frontier);
    merkle_hash_t root, expected, ranged;
    size_t len = 0;
    merkle_frontier_root(&frontier, root);
    hex_decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", expected, &len);
    assert_memory_equal(root, expected, 32);
    for (int n = 1; n <= 8; n++) {
        merkle_frontier_append(&frontier, leaf_hashes[n - 1]);
        merkle_frontier_root(&frontier, root);
        hex_decode(roots_hex[n - 1], expected, &len);
        assert_memory_equal(root, expected, 32);
        assert_int_equal(merkle_range_hash(fetch, NULL, 0, (uint64_t)n, ranged), 0);
        assert_memory_equal(ranged, expected, 32);
    }
}

static void test_inclusion_proofs(void **state)
{
    (void)state;
    build_leaves();
    merkle_hash_t path[MERKLE_DEPTH_MAX], root;
    size_t count = 0, len = 0;
    for (uint64_t size = 1; size <= 8; size++) {
        hex_decode(roots_hex[size - 1], root, &len);
        for (uint64_t index = 0; index < size; index++) {
            assert_int_equal(merkle_inclusion_proof(fetch, NULL, index, size, path, &count), 0);
            assert_true(merkle_verify_inclusion(index, size, leaf_hashes[index], path, count, root));
            assert_false(merkle_verify_inclusion(index, size, leaf_hashes[(index + 1) % 8], path, count, root));
            if (count > 0) {
                path[0][0] ^= 1;
                assert_false(merkle_verify_inclusion(index, size, leaf_hashes[index], path, count, root));
            }
        }
    }
    /* transparency-dev known answer: leaf 0 in the tree of 8 */
    assert_int_equal(merkle_inclusion_proof(fetch, NULL, 0, 8, path, &count), 0);
    assert_int_equal(count, 3);
    merkle_hash_t expected;
    hex_decode("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", expected, &len);
    assert_memory_equal(path[0], expected, 32);
    hex_decode("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", expected, &len);
    assert_memory_equal(path[1], expected, 32);
    hex_decode("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4", expected, &len);
    assert_memory_equal(path[2], expected, 32);
    assert_int_equal(merkle_inclusion_proof(fetch, NULL, 8, 8, path, &count), -1);
}

static void test_consistency_proofs(void **state)
{
    (void)state;
    build_leaves();
    merkle_hash_t path[MERKLE_DEPTH_MAX], first_root, second_root;
    size_t count = 0, len = 0;
    for (uint64_t second = 1; second <= 8; second++) {
        hex_decode(roots_hex[second - 1], second_root, &len);
        for (uint64_t first = 1; first <= second; first++) {
            hex_decode(roots_hex[first - 1], first_root, &len);
            assert_int_equal(merkle_consistency_proof(fetch, NULL, first, second, path, &count), 0);
            assert_true(merkle_verify_consistency(first, second, first_root, second_root, path, count));
            if (first < second) {
                merkle_hash_t wrong;
                memcpy(wrong, first_root, 32);
                wrong[5] ^= 0x40; /* a forked history */
                assert_false(merkle_verify_consistency(first, second, wrong, second_root, path, count));
                path[count - 1][0] ^= 1;
                assert_false(merkle_verify_consistency(first, second, first_root, second_root, path, count));
            }
        }
    }
    /* known answer (1, 8) */
    assert_int_equal(merkle_consistency_proof(fetch, NULL, 1, 8, path, &count), 0);
    assert_int_equal(count, 3);
    merkle_hash_t expected;
    hex_decode("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", expected, &len);
    assert_memory_equal(path[0], expected, 32);
}

static void test_c2sp_note_vectors(void **state)
{
    (void)state;
    /* golang.org/x/mod/sumdb/note example (PeterNeumann) */
    const char *text = "If you think cryptography is the answer to your problem,\n"
                       "then you don't know what your problem is.\n";
    const char *note = "If you think cryptography is the answer to your problem,\n"
                       "then you don't know what your problem is.\n"
                       "\n"
                       "\xe2\x80\x94 PeterNeumann "
                       "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    uint8_t typed[40], seed_typed[40];
    size_t len = 0;
    assert_int_equal(
        crypto_base64_decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", 44, typed, sizeof typed, &len), 0);
    assert_int_equal(len, 33);
    assert_int_equal(typed[0], 1);
    assert_int_equal(note_key_hash("PeterNeumann", typed + 1), 0xc74f20a3);
    char *vkey = note_verifier_key("PeterNeumann", typed + 1);
    assert_string_equal(vkey, "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
    free(vkey);
    char *body = NULL;
    assert_int_equal(note_open(note, strlen(note), "PeterNeumann", typed + 1, &body), 0);
    assert_string_equal(body, text);
    free(body);
    /* the same text signed with the example's private key gives the same note */
    assert_int_equal(
        crypto_base64_decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", 44, seed_typed, sizeof seed_typed, &len),
        0);
    crypto_signer_t *signer = crypto_signer_from_seed(seed_typed + 1);
    char *signed_note = note_sign(text, "PeterNeumann", signer);
    assert_string_equal(signed_note, note);
    free(signed_note);
    crypto_signer_free(signer);
    /* tampering and wrong names fail */
    char *bad = strdup(note);
    bad[3] ^= 1;
    assert_int_equal(note_open(bad, strlen(bad), "PeterNeumann", typed + 1, &body), -1);
    free(bad);
    assert_int_equal(note_open(note, strlen(note), "EnochRoot", typed + 1, &body), -1);
    /* C2SP signed-note spec example */
    const char *example =
        "This is an example message.\n\n\xe2\x80\x94 example.com/foo "
        "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    assert_int_equal(
        crypto_base64_decode("AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", 44, typed, sizeof typed, &len), 0);
    assert_int_equal(note_open(example, strlen(example), "example.com/foo", typed + 1, &body), 0);
    assert_string_equal(body, "This is an example message.\n");
    free(body);
}

static void test_checkpoint_body(void **state)
{
    (void)state;
    merkle_hash_t root, parsed;
    char origin[64];
    uint64_t size = 0;
    memset(root, 7, sizeof root);
    char *body = note_checkpoint_body("ledger.example", 42, root);
    assert_int_equal(note_checkpoint_parse(body, origin, sizeof origin, &size, parsed), 0);
    assert_string_equal(origin, "ledger.example");
    assert_int_equal(size, 42);
    assert_memory_equal(parsed, root, 32);
    free(body);
    assert_int_equal(note_checkpoint_parse("o\n01\nAAAA\n", origin, sizeof origin, &size, parsed), -1);
    assert_int_equal(note_checkpoint_parse("o\n1\n", origin, sizeof origin, &size, parsed), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6962_roots),      cmocka_unit_test(test_inclusion_proofs),
        cmocka_unit_test(test_consistency_proofs), cmocka_unit_test(test_c2sp_note_vectors),
        cmocka_unit_test(test_checkpoint_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
