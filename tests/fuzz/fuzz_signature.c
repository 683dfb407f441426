/* libFuzzer: the RFC 9421 / RFC 8941 field parsers of the signature profile. A parsed
 * Signature-Input keeps its member value verbatim and a sane component list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "auth.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *field = xstrndup((const char *)data, size); /* header values arrive NUL-terminated */
    auth_signature_input_t input;
    uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    if (auth_signature_input_parse(field, &input) == RESULT_OK) {
        ASSERT_ALWAYS(input.component_count <= LIMIT_SIGNATURE_COMPONENTS_MAX);
        ASSERT_ALWAYS(strstr(field, input.member_value) != NULL);
        (void)auth_profile_check(&input, 1);
        (void)auth_time_check(&input, 0, 300);
        auth_signature_input_free(&input);
    }
    (void)auth_signature_parse(field, signature);
    (void)auth_content_digest_check(field, data, size);
    free(field);
    return 0;
}
