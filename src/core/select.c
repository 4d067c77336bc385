/* select.c: quickselect and percentiles (select.h). */
#include "hyscale/select.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "hyscale/status.h"

double hs_select_inplace(double *w, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = w[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (w[i] < pivot)
                i++;
            while (w[j] > pivot)
                j--;
            if (i <= j) {
                double t = w[i];
                w[i++] = w[j];
                w[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return w[k];
    }
    return w[k];
}

double hs_quantile_inplace(double *w, int64_t n, double p)
{
    double h = p / 100.0 * (double)(n - 1);
    int64_t j = (int64_t)floor(h);
    double a = hs_select_inplace(w, n, j);
    if (j >= n - 1)
        return a;
    double b = w[j + 1];
    for (int64_t i = j + 2; i < n; i++)
        b = w[i] < b ? w[i] : b; /* after the select, w[j+1..] hold the larger values */
    return a + (h - (double)j) * (b - a);
}

float hs_select_inplace_f(float *w, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1; /* w[..lo - 1] <= w[lo..hi] <= w[hi + 1..], rank k within */
    while (lo < hi) {
        /* the median of three as the pivot, moved to w[hi] */
        int64_t mid = lo + (hi - lo) / 2;
        float a = w[lo], b = w[mid], c = w[hi];
        int64_t pi = a < b ? (b < c ? mid : a < c ? hi : lo) : (a < c ? lo : b < c ? hi : mid);
        float p = w[pi];
        w[pi] = c;
        w[hi] = p;
        int64_t i = lo, eq = 0;
        for (int64_t q = lo; q < hi; q++) {
            float x = w[q];
            w[q] = w[i];
            w[i] = x;
            i += x < p;
            eq += x == p;
        }
        w[hi] = w[i];
        w[i] = p; /* w[lo..i - 1] < p = w[i] <= w[i + 1..hi] */
        if (k < i)
            hi = i - 1;
        else if (k == i)
            return p;
        else if (eq == 0)
            lo = i + 1;
        else {
            int64_t e = i + 1; /* the values equal to p moved to w[i + 1..e - 1] */
            for (int64_t q = i + 1; q <= hi; q++) {
                float x = w[q];
                w[q] = w[e];
                w[e] = x;
                e += x == p;
            }
            if (k < e)
                return p;
            lo = e;
        }
    }
    return w[k];
}

/* Order statistic j of w (n, selected in place), then numpy's step of t towards the next. */
static double hs_lerp_selected_f(float *w, int64_t n, int64_t j, double t)
{
    double a = hs_select_inplace_f(w, n, j);
    if (j >= n - 1)
        return a;
    float b = w[j + 1];
    for (int64_t i = j + 2; i < n; i++)
        b = w[i] < b ? w[i] : b; /* after the select, w[j+1..] hold the larger values */
    return a + t * ((double)b - a);
}

/* The loops over every value below carry `omp simd`: vectorised (four or eight floats at a time)
 * at -O2 as at -O3, where GCC's own choice differs between the two by 5x. */

/* How many of w (n) are below each of the four pivots p. */
static void hs_count_below4(const float *w, int n, const float p[4], int c[4])
{
    int c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    const float p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3];
#pragma omp simd reduction(+ : c0, c1, c2, c3)
    for (int i = 0; i < n; i++) {
        float x = w[i];
        c0 += x < p0;
        c1 += x < p1;
        c2 += x < p2;
        c3 += x < p3;
    }
    c[0] = c0;
    c[1] = c1;
    c[2] = c2;
    c[3] = c3;
}

/* The least and greatest of the values of w (n) in [a, b) (INFINITY and -INFINITY for none). */
static void hs_range_in(const float *w, int n, float a, float b, float *lo, float *hi)
{
    float mn = INFINITY, mx = -INFINITY;
#pragma omp simd reduction(min : mn) reduction(max : mx)
    for (int i = 0; i < n; i++) {
        float x = w[i];
        int in = (x >= a) & (x < b);
        float u = in ? x : INFINITY, v = in ? x : -INFINITY;
        mn = u < mn ? u : mn;
        mx = v > mx ? v : mx;
    }
    *lo = mn;
    *hi = mx;
}

/* The values of w (n) in [br[0], br[1]) to g[0], those in [br[2], br[3]) to g[1], c[0] and c[1]
 * of them, in order. By chunks: a byte per value says which bracket holds it (a loop that
 * vectorises), then eight bytes at a time are read as one word, and the few values inside are
 * picked out of the words that are not zero. */
static void hs_gather2(const float *w, int n, const float br[4], float *const g[2], int64_t c[2])
{
    enum { CHUNK = 256 };
    unsigned char in[CHUNK + 8];
    const float a0 = br[0], b0 = br[1], a1 = br[2], b1 = br[3];
    int64_t n0 = 0, n1 = 0;
    for (int lo = 0; lo < n; lo += CHUNK) {
        int m = n - lo < CHUNK ? n - lo : CHUNK;
        const float *x = w + lo;
#pragma omp simd
        for (int i = 0; i < m; i++)
            in[i] = (unsigned char)(((x[i] >= a0) & (x[i] < b0)) | (((x[i] >= a1) & (x[i] < b1)) << 1));
        memset(in + m, 0, 8);
        for (int k = 0; k < m; k += 8) {
            uint64_t word;
            memcpy(&word, in + k, 8);
            if (!word)
                continue;
            for (int i = k; i < k + 8 && i < m; i++) {
                if (in[i] & 1)
                    g[0][n0++] = x[i];
                if (in[i] & 2)
                    g[1][n1++] = x[i];
            }
        }
    }
    c[0] = n0;
    c[1] = n1;
}

/* A percentile being narrowed: the values in [a, b) are those of ranks [below_a, below_b) (a
 * may be -INFINITY, b INFINITY: then the bracket was missed on that side); the order statistics
 * sought are r0..r1, t numpy's step from r0 towards r1; step the width of the next stride of a
 * search outwards from a missed bracket. */
typedef struct hs_narrow {
    float a, b, step;
    int below_a, below_b, r0, r1;
    double t;
} hs_narrow;

/* Two pivots p inside (a, b) around the ranks sought: past a missed bracket, one and four strides
 * out (the stride grows sixteenfold a round); else placed by the ranks' share of the bracket
 * (the values spread about evenly over a narrow one) with `margin` values either side. 0 when
 * the bracket holds few values (at most `few`) or cannot be split. */
static int hs_narrow_pivots(hs_narrow *s, int few, double margin, float *p)
{
    int m = s->below_b - s->below_a;
    if (m <= few)
        return 0;
    float p0, p1;
    if (s->a == -INFINITY || s->b == INFINITY) {
        float edge = s->a == -INFINITY ? s->b : s->a, sign = s->a == -INFINITY ? -1.0f : 1.0f;
        float st = fmaxf(s->step, fmaxf(fabsf(edge) * 0x1p-20f, FLT_MIN));
        s->step = 16 * st;
        p0 = edge + sign * st;
        p1 = edge + sign * 4 * st;
        if (sign < 0) {
            float x = p0;
            p0 = p1;
            p1 = x;
        }
    } else {
        double w = (double)s->b - s->a;
        double f0 = (s->r0 - s->below_a - margin) / m, f1 = (s->r1 + 1 - s->below_a + margin) / m;
        p0 = (float)(s->a + w * (f0 > 0 ? f0 : 0));
        p1 = (float)(s->a + w * (f1 < 1 ? f1 : 1));
    }
    p0 = p0 > s->a ? p0 : nextafterf(s->a, INFINITY);
    p1 = p1 < s->b ? p1 : nextafterf(s->b, -INFINITY);
    if (!(p0 <= p1 && p0 > s->a && p1 < s->b && isfinite(p0) && isfinite(p1)))
        return 0;
    p[0] = p0;
    p[1] = p1;
    return 1;
}

/* The bracket after counting the values below the pivots p (2): the narrowest [pivot, pivot)
 * that still holds ranks r0..r1. */
static void hs_narrow_update(hs_narrow *s, const float *p, const int *below)
{
    for (int k = 0; k < 2; k++) {
        if (below[k] <= s->r0 && p[k] > s->a) {
            s->a = p[k];
            s->below_a = below[k];
        }
        if (below[k] > s->r1 && p[k] < s->b) {
            s->b = p[k];
            s->below_b = below[k];
        }
    }
}

int hs_quantile_pair_f(const float *w, int64_t n, double plo, double phi, const float *guess, float *scratch,
                       double *lo, double *hi)
{
    HS_ASSERT(n >= 1 && n < 2147483647);
    const double h[2] = {plo / 100.0 * (double)(n - 1), phi / 100.0 * (double)(n - 1)};
    double *const out[2] = {lo, hi};
    int ok[2] = {0, 0}, missed = 0;
    if (guess && n >= 2) {
        const int few = 32;       /* gathered and selected among once a bracket holds so few */
        const double margin = 5; /* values either side of the ranks sought, for the pivots */
        hs_narrow s[2];
        int below[4], tied[2] = {0, 0}; /* tied: the bracket holds one value, repeated */
        hs_count_below4(w, (int)n, guess, below);
        for (int q = 0; q < 2; q++) {
            /* the guess's bounds that hold the ranks sought, else the search goes outwards from
             * the nearer one (a missed bracket) */
            int j = (int)floor(h[q]);
            s[q] = (hs_narrow){-INFINITY, INFINITY, guess[2 * q + 1] - guess[2 * q], 0, (int)n, j,
                               j + 1 < n ? j + 1 : j, h[q] - j};
            hs_narrow_update(&s[q], guess + 2 * q, below + 2 * q);
            missed += s[q].a == -INFINITY || s[q].b == INFINITY;
        }
        /* narrow both brackets together, four pivots a pass, until each holds a few values */
        for (int round = 0; round < 12; round++) {
            float p[4];
            int act[2];
            for (int q = 0; q < 2; q++) {
                tied[q] |= !(nextafterf(s[q].a, INFINITY) < s[q].b); /* [a, b) holds a only */
                act[q] = !tied[q] && hs_narrow_pivots(&s[q], few, margin, p + 2 * q);
                if (!act[q])
                    p[2 * q] = p[2 * q + 1] = -INFINITY; /* counts nothing */
            }
            if (!act[0] && !act[1])
                break;
            int cnt[4];
            hs_count_below4(w, (int)n, p, cnt);
            for (int q = 0; q < 2; q++) {
                if (!act[q])
                    continue;
                int m = s[q].below_b - s[q].below_a;
                hs_narrow_update(&s[q], p + 2 * q, cnt + 2 * q);
                if (s[q].below_b - s[q].below_a < m)
                    continue;
                /* no value left the bracket: ties, values bunched between the pivots, or a
                 * search outwards that has not reached them: the values' own range */
                float mn, mx;
                hs_range_in(w, (int)n, s[q].a, s[q].b, &mn, &mx);
                s[q].a = mn;
                s[q].b = nextafterf(mx, INFINITY);
                tied[q] = mn == mx;
            }
        }
        /* gather each bracket's values (few, but for many ties) and select among them */
        int64_t c[2] = {0, 0};
        float *g[2] = {scratch, scratch + n};
        float br[4] = {tied[0] ? INFINITY : s[0].a, tied[0] ? -INFINITY : s[0].b, tied[1] ? INFINITY : s[1].a,
                       tied[1] ? -INFINITY : s[1].b};
        if (!tied[0] || !tied[1])
            hs_gather2(w, (int)n, br, g, c);
        for (int q = 0; q < 2; q++) {
            if (tied[q])
                *out[q] = s[q].a; /* both order statistics are this value */
            else if (c[q] == s[q].below_b - s[q].below_a) /* else NaNs: counted nowhere */
                *out[q] = hs_lerp_selected_f(g[q], c[q], s[q].r0 - s[q].below_a, s[q].t);
            else
                continue;
            ok[q] = 1;
        }
        if (ok[0] && ok[1])
            return missed;
    }
    /* by quickselect over a copy: the upper percentile among the values above the lower's rank */
    for (int64_t i = 0; i < n; i++)
        scratch[i] = w[i];
    int64_t j0 = (int64_t)floor(h[0]), j1 = (int64_t)floor(h[1]);
    if (!ok[0])
        *lo = hs_lerp_selected_f(scratch, n, j0, h[0] - (double)j0);
    if (!ok[1]) {
        if (!ok[0] && j1 > j0 && j0 + 1 < n) /* scratch[j0 + 1..] hold the n - j0 - 1 largest */
            *hi = hs_lerp_selected_f(scratch + j0 + 1, n - j0 - 1, j1 - j0 - 1, h[1] - (double)j1);
        else
            *hi = hs_lerp_selected_f(scratch, n, j1, h[1] - (double)j1);
    }
    return missed;
}
