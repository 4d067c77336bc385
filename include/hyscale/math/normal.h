/* normal.h: fast standard normal draws for simulations that need millions of them (Prophet's
 * uncertainty interval draws one per simulated future and point): the 256-layer ziggurat of
 * Marsaglia and Tsang (J. Stat. Softw. 5(8), 2000), over SplitMix64 (Steele, Lea and Flood,
 * OOPSLA 2014), whose state is one word: seed it from Philox (rng.h) for a counter-based stream
 * per point, sample or thread. A draw takes 32 bits (8 pick the layer, 1 the sign, 23 the
 * abscissa: a float's resolution), two to a SplitMix64 word; about 1.2% of draws fall outside
 * their layer's rectangle and take the wedge or the tail (exp or log, and more words).
 *
 *     hs_zig z;
 *     hs_zig_init(&z);                                  // once; read-only after
 *     hs_u32x4 r = hs_rng_u32x4(seed, stream, 0);
 *     uint64_t s = ((uint64_t)r.v[1] << 32) | r.v[0];   // this stream's state
 *     double a, b;
 *     hs_zig_normal2(&z, &s, &a, &b);                   // two N(0, 1) draws; advances s
 */
#ifndef HYSCALE_MATH_NORMAL_H
#define HYSCALE_MATH_NORMAL_H

#include <math.h>
#include <stdint.h>

#include "hyscale/math/hd.h"

#define HS_ZIG_R 3.6541528853610087963519472518        /* the base layer's edge */
#define HS_ZIG_V 4.92867323397465524494e-3             /* the area of each layer */
#define HS_ZIG_M 8388608.0                             /* 2^23: the abscissa's scale */

/* The ziggurat's tables: k (256) the accept-at-once bounds of the 23-bit abscissa, w (512) its
 * scale to x by layer, then the same negated (the sign bit picks the half), f (256) the density
 * at each layer's top edge. */
typedef struct hs_zig {
    uint32_t k[256];
    double w[512], f[256];
} hs_zig;

/* Fills the tables (Marsaglia and Tsang's zigset for 256 layers; about 10 us). */
static inline HS_HD void hs_zig_init(hs_zig *z)
{
    double dn = HS_ZIG_R, tn = dn;
    double q = HS_ZIG_V / exp(-0.5 * dn * dn);
    z->k[0] = (uint32_t)((dn / q) * HS_ZIG_M);
    z->k[1] = 0;
    z->w[0] = q / HS_ZIG_M;
    z->w[255] = dn / HS_ZIG_M;
    z->f[0] = 1.0;
    z->f[255] = exp(-0.5 * dn * dn);
    for (int i = 254; i >= 1; i--) {
        dn = sqrt(-2.0 * log(HS_ZIG_V / dn + exp(-0.5 * dn * dn)));
        z->k[i + 1] = (uint32_t)((dn / tn) * HS_ZIG_M);
        tn = dn;
        z->f[i] = exp(-0.5 * dn * dn);
        z->w[i] = dn / HS_ZIG_M;
    }
    for (int i = 0; i < 256; i++)
        z->w[256 + i] = -z->w[i];
}

/* SplitMix64: the next 64-bit word of the stream whose state is *s. */
static inline HS_HD uint64_t hs_splitmix64(uint64_t *s)
{
    uint64_t x = (*s += 0x9E3779B97F4A7C15ull);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* A uniform double in (0, 1) from the stream *s (53 bits, never 0 or 1). */
static inline HS_HD double hs_splitmix_open01(uint64_t *s)
{
    return ((double)(hs_splitmix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* The N(0, 1) draw whose first try is the word r; further tries (1.2%) from the stream *s. */
static inline HS_HD double hs_zig_normal_from(const hs_zig *z, uint32_t r, uint64_t *s)
{
    for (;;) {
        int idx = (int)(r & 0xff);
        uint32_t rabs = r >> 9;
        double x = (double)rabs * z->w[r & 0x1ff]; /* bit 8: the sign */
        if (rabs < z->k[idx])
            return x; /* inside the layer's rectangle: about 98.8% of draws */
        if (idx == 0) { /* the tail beyond R (Marsaglia's method) */
            for (;;) {
                double xx = -log(hs_splitmix_open01(s)) / HS_ZIG_R;
                double yy = -log(hs_splitmix_open01(s));
                if (yy + yy > xx * xx)
                    return r & 0x100 ? -(HS_ZIG_R + xx) : HS_ZIG_R + xx;
            }
        }
        if ((z->f[idx - 1] - z->f[idx]) * hs_splitmix_open01(s) + z->f[idx] < exp(-0.5 * x * x))
            return x; /* in the wedge under the density */
        r = (uint32_t)hs_splitmix64(s);
    }
}

/* Two N(0, 1) draws from the stream *s. */
static inline HS_HD void hs_zig_normal2(const hs_zig *z, uint64_t *s, double *a, double *b)
{
    uint64_t r = hs_splitmix64(s);
    *a = hs_zig_normal_from(z, (uint32_t)r, s);
    *b = hs_zig_normal_from(z, (uint32_t)(r >> 32), s);
}

#endif
