/* rng.h: Philox4x32-10, a counter-based random generator (Salmon et al., SC'11, "Parallel
 * random numbers: as easy as 1, 2, 3"), usable from C and CUDA alike.
 *
 * A stream is (key = seed, counter = (stream id, index)): any element is computed on its own,
 * so env e, step t draws hs_rng_uniform(seed, e, t, 0) on the CPU or in a kernel and gets the
 * same number. No state to carry between threads.
 *
 *     float u = hs_rng_uniform(42, env, step, 0);   // in [0, 1)
 */
#ifndef HYSCALE_MATH_RNG_H
#define HYSCALE_MATH_RNG_H

#include <stdint.h>

#include "hyscale/math/hd.h"

typedef struct hs_u32x4 {
    uint32_t v[4];
} hs_u32x4;

static inline HS_HD uint32_t hs_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

/* Philox4x32 with 10 rounds: ctr (4 words) under key (2 words). */
static inline HS_HD hs_u32x4 hs_philox4x32_10(hs_u32x4 ctr, uint32_t k0, uint32_t k1)
{
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = hs_mulhilo32(0xD2511F53u, ctr.v[0], &hi0);
        uint32_t lo1 = hs_mulhilo32(0xCD9E8D57u, ctr.v[2], &hi1);
        hs_u32x4 n;
        n.v[0] = hi1 ^ ctr.v[1] ^ k0;
        n.v[1] = lo1;
        n.v[2] = hi0 ^ ctr.v[3] ^ k1;
        n.v[3] = lo0;
        ctr = n;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return ctr;
}

/* Four 32-bit draws for (seed, stream, index). */
static inline HS_HD hs_u32x4 hs_rng_u32x4(uint64_t seed, uint64_t stream, uint64_t index)
{
    hs_u32x4 c;
    c.v[0] = (uint32_t)index;
    c.v[1] = (uint32_t)(index >> 32);
    c.v[2] = (uint32_t)stream;
    c.v[3] = (uint32_t)(stream >> 32);
    return hs_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/* u32 to a float in [0, 1) with 24 random bits. */
static inline HS_HD float hs_u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* u32 pair to a double in [0, 1) with 53 random bits. */
static inline HS_HD double hs_u64_to_unit(uint32_t hi, uint32_t lo)
{
    uint64_t x = ((uint64_t)hi << 21) ^ ((uint64_t)lo >> 11);
    return (double)(x & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/* Word w (0..3) of the draw for (seed, stream, index), as a float in [0, 1). */
static inline HS_HD float hs_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index, int w)
{
    return hs_u32_to_unit(hs_rng_u32x4(seed, stream, index).v[w & 3]);
}

/* A sequential view for CPU loops that want many draws: counter advances by one per 4 words. */
typedef struct hs_rng {
    uint64_t seed, stream, index;
    hs_u32x4 buf;
    int used; /* words of buf already handed out (4 = empty) */
} hs_rng;

static inline HS_HD hs_rng hs_rng_make(uint64_t seed, uint64_t stream)
{
    hs_rng r;
    r.seed = seed;
    r.stream = stream;
    r.index = 0;
    r.used = 4;
    r.buf.v[0] = r.buf.v[1] = r.buf.v[2] = r.buf.v[3] = 0;
    return r;
}

static inline HS_HD uint32_t hs_rng_next_u32(hs_rng *r)
{
    if (r->used == 4) {
        r->buf = hs_rng_u32x4(r->seed, r->stream, r->index++);
        r->used = 0;
    }
    return r->buf.v[r->used++];
}

/* Uniform double in [0, 1). */
static inline HS_HD double hs_rng_next_double(hs_rng *r)
{
    uint32_t hi = hs_rng_next_u32(r);
    uint32_t lo = hs_rng_next_u32(r);
    return hs_u64_to_unit(hi, lo);
}

#endif
