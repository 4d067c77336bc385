/* test_parse.c: the strict field parser (parse.h): what each kind of number accepts and
 * refuses, whole fields only (long, NUL inside, bytes after the field), ranges, integer
 * overflow, and the quoting of values in messages. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "hyscale/parse.h"

#define S(lit) lit, sizeof(lit) - 1 /* a literal as (pointer, length), NULs inside kept */

static hs_parse_err real(const char *s, size_t len, double *v)
{
    return hs_parse_real(s, len, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, v);
}

Test(parse_real, plain_decimals)
{
    static const struct {
        const char *s;
        double v;
    } ok[] = {{"0", 0},       {"8.04", 8.04}, {"-3", -3},     {"+2.5", 2.5},  {".5", 0.5},
              {"5.", 5},      {"1e3", 1e3},   {"1E-3", 1e-3}, {"2.5e+2", 250}, {"1e15", 1e15},
              {"-1e15", -1e15}, {"1e-400", 0}, {"000012", 12}};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        double v = -1;
        cr_assert_eq(real(ok[k].s, strlen(ok[k].s), &v), HS_PARSE_OK, "'%s' refused", ok[k].s);
        cr_assert_eq(v, ok[k].v, "'%s' read %.17g", ok[k].s, v);
    }
}

Test(parse_real, refuses_what_strtod_takes)
{
    static const char *const bad[] = {"0x10", "inf",  "-inf", "nan", "NaN", "infinity", " 1", "1 ", "1,5", "1e",
                                      "1e+",  "e5",   ".",    "-",   "+",   "1.2.3",    "1x", "--1", "1e5.5"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        double v = 42;
        cr_assert_eq(real(bad[k], strlen(bad[k]), &v), HS_PARSE_SYNTAX, "'%s' accepted", bad[k]);
        cr_assert_eq(v, 42, "'%s' wrote the output", bad[k]);
    }
    double v;
    cr_assert_eq(real("", 0, &v), HS_PARSE_EMPTY);
}

Test(parse_real, range_is_the_callers)
{
    double v;
    cr_assert_eq(real(S("1e200"), &v), HS_PARSE_RANGE);
    cr_assert_eq(real(S("1e309"), &v), HS_PARSE_RANGE);
    cr_assert_eq(real(S("-1.000001e15"), &v), HS_PARSE_RANGE);
    cr_assert_eq(hs_parse_real(S("-1"), 0, 10, &v), HS_PARSE_RANGE);
    cr_assert_eq(hs_parse_real(S("10"), 0, 10, &v), HS_PARSE_OK);
    cr_assert_eq(v, 10);
}

/* "1" then 70 zeros then a letter: a 64-byte copy used to cut the letter off and read 1e70. */
Test(parse_real, long_field_judged_whole)
{
    char s[80];
    s[0] = '1';
    memset(s + 1, '0', 70);
    s[71] = 'x';
    double v;
    cr_assert_eq(real(s, 72, &v), HS_PARSE_SYNTAX);
    cr_assert_eq(real(s, 71, &v), HS_PARSE_RANGE, "1e70 is out of range");
    /* a long but valid small number converts exactly (the long path copies to the heap) */
    char t[300] = "0.";
    memset(t + 2, '0', 250);
    memcpy(t + 252, "25", 3);
    cr_assert_eq(real(t, strlen(t), &v), HS_PARSE_OK);
    cr_assert_eq(v, 25e-252);
}

Test(parse_real, nul_and_bytes_after_the_field)
{
    double v;
    cr_assert_eq(real(S("8.04\0garbage"), &v), HS_PARSE_NUL);
    cr_assert_eq(real(S("8.04\0"), &v), HS_PARSE_NUL);
    /* only len bytes count: what follows in memory (a libcsv buffer) is never read */
    cr_assert_eq(real("12345", 2, &v), HS_PARSE_OK);
    cr_assert_eq(v, 12);
    cr_assert_eq(real("1e5", 2, &v), HS_PARSE_SYNTAX);
}

Test(parse_int, overflow_and_syntax)
{
    int64_t v = 7;
    cr_assert_eq(hs_parse_int(S("9223372036854775807"), INT64_MIN, INT64_MAX, &v), HS_PARSE_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(hs_parse_int(S("-9223372036854775808"), INT64_MIN, INT64_MAX, &v), HS_PARSE_OK);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(hs_parse_int(S("9223372036854775808"), INT64_MIN, INT64_MAX, &v), HS_PARSE_RANGE);
    cr_assert_eq(hs_parse_int(S("99999999999999999999999x"), INT64_MIN, INT64_MAX, &v), HS_PARSE_SYNTAX);
    cr_assert_eq(hs_parse_int(S("1.0"), 0, 10, &v), HS_PARSE_SYNTAX);
    cr_assert_eq(hs_parse_int(S("0x10"), 0, 100, &v), HS_PARSE_SYNTAX);
    cr_assert_eq(hs_parse_int(S("11"), 0, 10, &v), HS_PARSE_RANGE);
    cr_assert_eq(hs_parse_int(S("1\0"), 0, 10, &v), HS_PARSE_NUL);
    cr_assert_eq(hs_parse_int(S("-"), 0, 10, &v), HS_PARSE_SYNTAX);
}

Test(parse_count, trace_counts)
{
    uint32_t v = 9;
    cr_assert_eq(hs_parse_count(S("4294967295"), &v), HS_PARSE_OK);
    cr_assert_eq(v, UINT32_MAX);
    cr_assert_eq(hs_parse_count(S("5.00"), &v), HS_PARSE_OK);
    cr_assert_eq(v, 5);
    cr_assert_eq(hs_parse_count(S("-0.0"), &v), HS_PARSE_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(hs_parse_count(S("4294967296"), &v), HS_PARSE_RANGE);
    cr_assert_eq(hs_parse_count(S("99999999999999999999999999999"), &v), HS_PARSE_RANGE);
    cr_assert_eq(hs_parse_count(S("-3"), &v), HS_PARSE_NEGATIVE);
    cr_assert_eq(hs_parse_count(S("2.5"), &v), HS_PARSE_FRACTIONAL);
    cr_assert_eq(hs_parse_count(S("-."), &v), HS_PARSE_SYNTAX);
    cr_assert_eq(hs_parse_count(S(".5"), &v), HS_PARSE_SYNTAX);
    cr_assert_eq(hs_parse_count(S("0x10"), &v), HS_PARSE_SYNTAX);
    cr_assert_eq(hs_parse_count(S("7\0"), &v), HS_PARSE_NUL);
}

Test(parse_time, whole_field)
{
    int64_t t;
    cr_assert_eq(hs_parse_time_n(S("2020-01-02 03:04:05"), &t), HS_PARSE_OK);
    cr_assert_eq(t, 1577934245);
    cr_assert_eq(hs_parse_time_n("2020-01-02xyz", 10, &t), HS_PARSE_OK, "only len bytes count");
    cr_assert_eq(hs_parse_time_n(S("2020-01-02\0junk"), &t), HS_PARSE_NUL);
    char longt[100];
    memset(longt, '0', sizeof longt);
    memcpy(longt, "2020-01-02 03:04:05.", 20);
    cr_assert_eq(hs_parse_time_n(longt, sizeof longt, &t), HS_PARSE_TOO_LONG);
}

Test(parse_field, exact_names)
{
    cr_assert(hs_parse_field_is(S("ds"), "ds"));
    cr_assert(!hs_parse_field_is(S("ds\0x"), "ds"));
    cr_assert(!hs_parse_field_is(S("d"), "ds"));
}

Test(parse_quote, escaped_and_cut)
{
    char q[HS_PARSE_QUOTE_CAP];
    hs_parse_quote(S("a\nb\t\x01'\\"), q, sizeof q);
    cr_assert_str_eq(q, "a\\nb\\t\\x01\\'\\\\");
    char s[100];
    memset(s, '7', sizeof s);
    hs_parse_quote(s, sizeof s, q, sizeof q);
    cr_assert_eq(strlen(q), HS_PARSE_QUOTE_CHARS + 3);
    cr_assert(!strcmp(q + HS_PARSE_QUOTE_CHARS, "..."));
    /* every byte escaped to 4 still fits */
    memset(s, 1, sizeof s);
    hs_parse_quote(s, sizeof s, q, sizeof q);
    cr_assert_eq(strlen(q), 4 * HS_PARSE_QUOTE_CHARS + 3);
    /* a small buffer is cut, never overrun */
    char small[6];
    hs_parse_quote(S("abcdefgh"), small, sizeof small);
    cr_assert_str_eq(small, "abcde");
}
