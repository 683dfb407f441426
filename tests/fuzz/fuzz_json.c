/* libFuzzer: the strict JSON reader and the RFC 8785 writer. Anything the reader accepts must
 * serialize canonically, and canonical text must read back to the same canonical text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *detail = NULL;
    json_t *value = json_parse_strict((const char *)data, size, &detail);
    if (value == NULL) {
        ASSERT_ALWAYS(detail != NULL);
        return 0;
    }
    char *first = json_canonical(value);
    json_t *again = json_parse_strict(first, strlen(first), &detail);
    ASSERT_ALWAYS(again != NULL);
    char *second = json_canonical(again);
    ASSERT_ALWAYS(strcmp(first, second) == 0);
    free(first);
    free(second);
    json_decref(value);
    json_decref(again);
    return 0;
}
