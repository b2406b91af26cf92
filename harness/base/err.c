/* err: formatting and mapping of kshot's error record. */
#include "harness/base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    if (!e)
        return ERR_OK;
    char old[ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof e->msg ? (size_t)n : sizeof e->msg - 1;
    /* Append ": old", truncating at the buffer's end. */
    const char *parts[2] = {": ", old};
    for (int i = 0; i < 2; i++)
        for (const char *c = parts[i]; *c && used + 1 < sizeof e->msg; c++)
            e->msg[used++] = *c;
    e->msg[used] = '\0';
    return e->code;
}

int err_exit_status(int code)
{
    switch (code) {
    case ERR_OK: return 0;
    case ERR_USAGE: return 2;
    case ERR_STOPPED: return 3;
    default: return 1;
    }
}

void err_clear(struct err *e)
{
    if (e) {
        e->code = ERR_OK;
        e->msg[0] = '\0';
    }
}
