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

/* "file:line:col: path" (parts left out as err_at says) into buf. */
static void location(char *buf, size_t cap, const char *file, int line, int col, const char *path)
{
    size_t used = 0;
    buf[0] = '\0';
    if (file)
        used = (size_t)snprintf(buf, cap, "%s:%d:%d", file, line, col);
    if (path && *path && used < cap)
        snprintf(buf + used, cap - used, "%s%s", used ? ": " : "", path);
}

int err_vat(struct err *e, int code, const char *file, int line, int col, const char *path,
            const char *fmt, va_list ap)
{
    if (!e)
        return code;
    char msg[ERR_MSG_MAX], where[ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    location(where, sizeof where, file, line, col, path);
    return err_set(e, code, "%s%s%s", where, where[0] ? ": " : "", msg);
}

int err_at(struct err *e, int code, const char *file, int line, int col, const char *path,
           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vat(e, code, file, line, col, path, fmt, ap);
    va_end(ap);
    return rc;
}

int err_prefix_at(struct err *e, const char *file, int line, int col, const char *path)
{
    char where[ERR_MSG_MAX];
    location(where, sizeof where, file, line, col, path);
    return where[0] ? err_prefix(e, "%s", where) : (e ? e->code : ERR_OK);
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
