/* parse.c: strict numbers, times and field messages for every reader (parse.h). The grammar is
 * checked over the whole field first; only then is a valid decimal handed to strtod, on a
 * terminated copy (on the stack when short), so strtod never sees bytes past the field. */
#include "hyscale/parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/series.h"

#define HS_PARSE_STACK 128

static int hs_is_digit(char c) { return (unsigned)(c - '0') < 10u; }

/* The common failures before any grammar: empty, NUL inside. */
static hs_parse_err hs_parse_pre(const char *s, size_t len)
{
    if (len == 0)
        return HS_PARSE_EMPTY;
    if (memchr(s, '\0', len))
        return HS_PARSE_NUL;
    return HS_PARSE_OK;
}

hs_parse_err hs_parse_real(const char *s, size_t len, double lo, double hi, double *out)
{
    hs_parse_err e = hs_parse_pre(s, len);
    if (e)
        return e;
    size_t i = 0, d = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    for (; i < len && hs_is_digit(s[i]); i++)
        d++;
    if (i < len && s[i] == '.')
        for (i++; i < len && hs_is_digit(s[i]); i++)
            d++;
    if (d == 0)
        return HS_PARSE_SYNTAX;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        for (; i < len && hs_is_digit(s[i]); i++)
            ed++;
        if (ed == 0)
            return HS_PARSE_SYNTAX;
    }
    if (i != len)
        return HS_PARSE_SYNTAX;
    char stack[HS_PARSE_STACK];
    char *buf = len < sizeof stack ? stack : malloc(len + 1);
    if (!buf)
        return HS_PARSE_NOMEM;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    int whole = end == buf + len;
    if (buf != stack)
        free(buf);
    if (!whole)
        return HS_PARSE_SYNTAX; /* cannot happen after the grammar above; kept as a guard */
    if (!isfinite(v) || v < lo || v > hi)
        return HS_PARSE_RANGE;
    *out = v;
    return HS_PARSE_OK;
}

hs_parse_err hs_parse_int(const char *s, size_t len, int64_t lo, int64_t hi, int64_t *out)
{
    hs_parse_err e = hs_parse_pre(s, len);
    if (e)
        return e;
    size_t i = 0;
    int neg = s[0] == '-';
    if (s[0] == '+' || s[0] == '-')
        i++;
    if (i == len)
        return HS_PARSE_SYNTAX;
    /* accumulate the magnitude as uint64 with an overflow check; INT64_MIN's magnitude fits */
    uint64_t m = 0;
    const uint64_t lim = (uint64_t)INT64_MAX + (uint64_t)neg;
    int over = 0;
    for (; i < len; i++) {
        if (!hs_is_digit(s[i]))
            return HS_PARSE_SYNTAX;
        uint64_t dg = (uint64_t)(s[i] - '0');
        if (m > (lim - dg) / 10)
            over = 1; /* keep scanning: a later letter is a syntax error, not a range one */
        else
            m = m * 10 + dg;
    }
    if (over)
        return HS_PARSE_RANGE;
    int64_t v = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
    if (v < lo || v > hi)
        return HS_PARSE_RANGE;
    *out = v;
    return HS_PARSE_OK;
}

hs_parse_err hs_parse_count(const char *s, size_t len, uint32_t *out)
{
    hs_parse_err e = hs_parse_pre(s, len);
    if (e)
        return e;
    size_t i = s[0] == '-';
    size_t d0 = i;
    uint64_t v = 0;
    int over = 0;
    for (; i < len && hs_is_digit(s[i]); i++) {
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX) {
            over = 1;
            v = (uint64_t)UINT32_MAX + 1; /* saturate: no wrap however long */
        }
    }
    if (i == d0)
        return HS_PARSE_SYNTAX;
    int frac = 0;
    if (i < len && s[i] == '.')
        for (i++; i < len && hs_is_digit(s[i]); i++)
            frac |= s[i] != '0';
    if (i != len)
        return HS_PARSE_SYNTAX;
    if (d0 && (v != 0 || frac))
        return HS_PARSE_NEGATIVE;
    if (frac)
        return HS_PARSE_FRACTIONAL;
    if (over)
        return HS_PARSE_RANGE;
    *out = (uint32_t)v;
    return HS_PARSE_OK;
}

hs_parse_err hs_parse_time_n(const char *s, size_t len, int64_t *unix_seconds)
{
    hs_parse_err e = hs_parse_pre(s, len);
    if (e)
        return e;
    if (len > HS_PARSE_TIME_MAX)
        return HS_PARSE_TOO_LONG;
    char buf[HS_PARSE_TIME_MAX + 1];
    memcpy(buf, s, len);
    buf[len] = '\0';
    return hs_parse_time(buf, unix_seconds) ? HS_PARSE_SYNTAX : HS_PARSE_OK;
}

int hs_parse_field_is(const char *s, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(s, want, len) == 0;
}

void hs_parse_explain(hs_parse_err e, double lo, double hi, char *buf, size_t cap)
{
    switch (e) {
    case HS_PARSE_OK: snprintf(buf, cap, "ok"); break;
    case HS_PARSE_EMPTY: snprintf(buf, cap, "empty value"); break;
    case HS_PARSE_NUL: snprintf(buf, cap, "NUL byte inside the value"); break;
    case HS_PARSE_SYNTAX: snprintf(buf, cap, "non-numeric value"); break;
    case HS_PARSE_RANGE: snprintf(buf, cap, "value outside [%.17g, %.17g]", lo, hi); break;
    case HS_PARSE_FRACTIONAL: snprintf(buf, cap, "fractional count"); break;
    case HS_PARSE_NEGATIVE: snprintf(buf, cap, "negative value"); break;
    case HS_PARSE_TOO_LONG: snprintf(buf, cap, "time longer than %d characters", HS_PARSE_TIME_MAX); break;
    case HS_PARSE_NOMEM: snprintf(buf, cap, "out of memory reading the value"); break;
    default: snprintf(buf, cap, "bad value"); break;
    }
}

void hs_parse_quote(const char *s, size_t len, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    size_t o = 0, n = len < HS_PARSE_QUOTE_CHARS ? len : HS_PARSE_QUOTE_CHARS;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[5];
        if (c == '\n')
            memcpy(esc, "\\n", 3);
        else if (c == '\r')
            memcpy(esc, "\\r", 3);
        else if (c == '\t')
            memcpy(esc, "\\t", 3);
        else if (c == '\\')
            memcpy(esc, "\\\\", 3);
        else if (c == '\'')
            memcpy(esc, "\\'", 3);
        else if (c < 0x20 || c >= 0x7f)
            snprintf(esc, sizeof esc, "\\x%02x", c);
        else {
            esc[0] = (char)c;
            esc[1] = '\0';
        }
        size_t el = strlen(esc);
        if (o + el + 1 > cap)
            break;
        memcpy(buf + o, esc, el);
        o += el;
    }
    if (len > n && o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}

hs_status hs_parse_field_error(hs_status st, const char *path, int64_t line, int col, const char *name,
                               const char *what, const char *s, size_t len)
{
    char q[HS_PARSE_QUOTE_CAP];
    hs_parse_quote(s, len, q, sizeof q);
    return hs_error_set(st, "%s:%lld: column %d (%s): %s '%s'", path, (long long)line, col + 1, name, what, q);
}
