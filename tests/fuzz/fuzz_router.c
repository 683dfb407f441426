/* libFuzzer: the router on raw request targets ("METHOD path"). A match is a real route whose
 * captured parameter is one non-empty path segment. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    char *space = strchr(text, ' '), param[ROUTER_PARAM_MAX] = "";
    int path_known = 0;
    if (space != NULL) {
        *space = '\0';
        int index = router_find(text, space + 1, param, &path_known);
        if (index >= 0) {
            ASSERT_ALWAYS((size_t)index < router_route_count && path_known);
            ASSERT_ALWAYS(strcmp(router_routes[index].method, text) == 0);
            if (strchr(router_routes[index].pattern, ':')) ASSERT_ALWAYS(param[0] != '\0' && !strchr(param, '/'));
        }
    }
    free(text);
    return 0;
}
