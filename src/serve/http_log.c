/* http_log.c: the service's log, one `key=value` line per event on stderr (docs/SERVE.md):
 * `ts=2026-12-03T15:00:00Z level=info event=request method=POST path=/api/autoscale status=200
 * ms=0.051`. Each line is formatted whole and written with one write(2), so lines of worker
 * threads never interleave; values that come from clients (paths, messages) are quoted and
 * escaped, so a request cannot forge a log line. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"

const char *hs_http_log_value(const char *s, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    int plain = s[0] != '\0';
    for (const char *p = s; *p && plain; p++) {
        unsigned char c = (unsigned char)*p;
        plain = c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '=';
    }
    if (plain) {
        snprintf(buf, size, "%s", s);
        return buf;
    }
    size_t o = 0;
    if (size < 3) {
        buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        int k;
        if (*p == '"' || *p == '\\')
            k = snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p < ' ' || *p == 0x7f)
            k = snprintf(esc, sizeof esc, "\\x%02x", *p);
        else
            k = snprintf(esc, sizeof esc, "%c", *p);
        if (o + (size_t)k + 2 > size)
            break;
        memcpy(buf + o, esc, (size_t)k);
        o += (size_t)k;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

void hs_http_log(const char *level, const char *event, const char *fmt, ...)
{
    char line[2048];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t o = strftime(line, sizeof line, "ts=%Y-%m-%dT%H:%M:%SZ", &tm);
    int k = snprintf(line + o, sizeof line - o, " level=%s event=%s", level, event);
    if (k > 0)
        o += (size_t)k < sizeof line - o ? (size_t)k : sizeof line - o - 1;
    if (fmt && fmt[0] && o < sizeof line - 2) {
        line[o++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        k = vsnprintf(line + o, sizeof line - o, fmt, ap);
        va_end(ap);
        if (k > 0)
            o += (size_t)k < sizeof line - o ? (size_t)k : sizeof line - o - 1;
    }
    line[o++] = '\n';
    const char *p = line;
    while (o > 0) {
        ssize_t w = write(STDERR_FILENO, p, o);
        if (w <= 0)
            return; /* a log that cannot be written is not a reason to stop serving */
        p += w;
        o -= (size_t)w;
    }
}
