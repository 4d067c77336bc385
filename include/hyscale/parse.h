/* parse.h: the one strict parser for numbers and times read from input fields, and the one
 * message format for a bad field.
 *
 *     double y;
 *     hs_parse_err e = hs_parse_real(s, len, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, &y);
 *     if (e) {
 *         char what[96];
 *         hs_parse_explain(e, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, what, sizeof what);
 *         return hs_parse_field_error(HS_ERR_INPUT, path, line, 1, "y", what, s, len);
 *     }
 *
 * A field is taken as (pointer, length), never as a NUL-terminated string: it is judged whole,
 * so nothing is cut at a buffer size or at an embedded NUL byte. What is accepted:
 *   real:  [+-]? (D+ ('.' D*)? | '.' D+) ([eE] [+-]? D+)?   (plain decimal; no hex, no inf or
 *          nan, no spaces, nothing after), finite, within the [lo, hi] the caller states;
 *          a value below the smallest double reads as 0 (or a subnormal), as strtod gives it.
 *   int:   [+-]? D+ within [lo, hi], overflow-checked.
 *   count: '-'? D+ ('.' D*)? : a trace's invocation count, at most UINT32_MAX; "5.0" and "-0"
 *          read as 5 and 0, a nonzero fraction is HS_PARSE_FRACTIONAL, a nonzero negative
 *          HS_PARSE_NEGATIVE (the trace reader counts these causes apart).
 *   time:  hs_parse_time's forms (series.h), at most HS_PARSE_TIME_MAX bytes.
 *
 * Ranges. A y value or an invocation count is at most HS_PARSE_Y_MAX = 1e15 in magnitude: the
 * largest real series is about 1e10 invocations a minute, and 1e15 keeps everything built from
 * it finite: float storage (3.4e38), squares (1e30) summed over 1e8 points (1e38), Prophet's
 * scaled design and log1p (34.5, so expm1 back stays finite). A log1p column is within
 * [0, HS_PARSE_LOG1P_MAX], the log1p of that bound rounded up.
 *
 * No state, no allocation that outlives a call: safe from any thread.
 */
#ifndef HYSCALE_PARSE_H
#define HYSCALE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_PARSE_Y_MAX 1e15      /* |y|, |yhat|, invocations, durations, timestamps in seconds */
#define HS_PARSE_LOG1P_MAX 35.0  /* log1p(1e15) = 34.54, rounded up */
#define HS_PARSE_MINUTE_MAX ((int64_t)1 << 40) /* series.csv minute: *60 stays far inside int64 */
#define HS_PARSE_TIME_MAX 40     /* longest time text: "YYYY-MM-DD HH:MM:SS.fffffffffZ" and more */
#define HS_PARSE_QUOTE_CHARS 40  /* a value in a message shows at most this many input bytes */
#define HS_PARSE_QUOTE_CAP (HS_PARSE_QUOTE_CHARS * 4 + 4) /* room for hs_parse_quote's output */

typedef enum hs_parse_err {
    HS_PARSE_OK = 0,
    HS_PARSE_EMPTY,      /* no bytes */
    HS_PARSE_NUL,        /* a NUL byte inside the field */
    HS_PARSE_SYNTAX,     /* not a plain decimal number (or not a time) */
    HS_PARSE_RANGE,      /* a number outside the caller's [lo, hi] (or too large for a double) */
    HS_PARSE_FRACTIONAL, /* count or integer with a nonzero fraction */
    HS_PARSE_NEGATIVE,   /* count below zero */
    HS_PARSE_TOO_LONG,   /* a time longer than HS_PARSE_TIME_MAX */
    HS_PARSE_NOMEM       /* a long number could not be copied for conversion */
} hs_parse_err;

/* A real number within [lo, hi] (both finite, lo <= hi). *out is set only on HS_PARSE_OK. */
hs_parse_err hs_parse_real(const char *s, size_t len, double lo, double hi, double *out);

/* An integer within [lo, hi]. *out is set only on HS_PARSE_OK. */
hs_parse_err hs_parse_int(const char *s, size_t len, int64_t lo, int64_t hi, int64_t *out);

/* A trace count (see above). *out is set only on HS_PARSE_OK. */
hs_parse_err hs_parse_count(const char *s, size_t len, uint32_t *out);

/* A time (hs_parse_time in series.h) given as (pointer, length). */
hs_parse_err hs_parse_time_n(const char *s, size_t len, int64_t *unix_seconds);

/* 1 when the field is exactly the NUL-terminated text `want` (a header name). */
int hs_parse_field_is(const char *s, size_t len, const char *want);

/* What went wrong, in words, into buf (always terminated): the range is written when e is
 * HS_PARSE_RANGE, with lo and hi as given (for an integer range pass them as doubles). */
void hs_parse_explain(hs_parse_err e, double lo, double hi, char *buf, size_t cap);

/* The field as a message shows it, into buf (cap >= HS_PARSE_QUOTE_CAP for no loss): at most
 * HS_PARSE_QUOTE_CHARS bytes then "...", a newline as \n, a tab \t, a carriage return \r, a
 * backslash \\, a quote \', other control bytes and bytes >= 0x7f as \xNN. One line always. */
void hs_parse_quote(const char *s, size_t len, char *buf, size_t cap);

/* Records "path:line: column C (name): what 'value'" (C = col + 1, value quoted as above) and
 * returns st. */
hs_status hs_parse_field_error(hs_status st, const char *path, int64_t line, int col, const char *name,
                               const char *what, const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
