/* status.c: the thread-local error message behind hs_status. */
#include "hyscale/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char hs_err_buf[1024];

hs_status hs_error_set(hs_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hs_err_buf, sizeof hs_err_buf, fmt, ap);
    va_end(ap);
    return st;
}

const char *hs_error_message(void) { return hs_err_buf; }

void hs_error_clear(void) { hs_err_buf[0] = '\0'; }

const char *hs_status_name(hs_status st)
{
    switch (st) {
    case HS_OK: return "ok";
    case HS_ERR_USAGE: return "usage";
    case HS_ERR_INPUT: return "input";
    case HS_ERR_IO: return "io";
    case HS_ERR_NOMEM: return "out of memory";
    case HS_ERR_DEVICE: return "device";
    case HS_ERR_INTERNAL: return "internal";
    }
    return "unknown";
}

int hs_status_exit_code(hs_status st)
{
    if (st == HS_OK)
        return 0;
    return st == HS_ERR_USAGE ? 2 : 1;
}

void hs_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "hyscale: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
