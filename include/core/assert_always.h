/* assert_always.h — programmer errors: always-on assertion that logs and aborts (never NDEBUG'd). */
#ifndef LEDGER_ASSERT_ALWAYS_H
#define LEDGER_ASSERT_ALWAYS_H

#include <stdio.h>
#include <stdlib.h>

#define ASSERT_ALWAYS(condition)                                                                                       \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            fprintf(stderr,                                                                                            \
                    "{\"level\":\"fatal\",\"msg\":\"assertion failed\",\"what\":\"%s\","                               \
                    "\"file\":\"%s\",\"line\":%d}\n",                                                                  \
                    #condition, __FILE__, __LINE__);                                                                   \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#endif
