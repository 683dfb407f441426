/* openapi.h — docs/openapi.json compiled into ledgerd (tools/embed-openapi.sh), served unsigned at
 * GET /openapi.json. */
#ifndef LEDGER_OPENAPI_H
#define LEDGER_OPENAPI_H

#include <stddef.h>

extern const unsigned char openapi_json[]; /* NUL-terminated */
extern const size_t openapi_json_len;

#endif
