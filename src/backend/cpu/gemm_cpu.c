/* gemm_cpu.c: the small SGEMM of gemm_cpu.h. Register tiles of up to MR rows x 32 columns
 * (AVX-512F: 12 x 2 zmm accumulators; AVX2+FMA: 6 x 2 ymm, twice per panel), K blocked by
 * HS_GEMM_KC. A is read in place, row-major or transposed (each a variant of the tile, so that
 * its loops unroll); a B operand is read by panels of 32 columns, row-major or packed. Each
 * ISA's code carries a target attribute, so the file builds for the baseline and the CPU is
 * asked at run time (__builtin_cpu_supports). */
#include "gemm_cpu.h"

#include <string.h>

#define HS_GEMM_KC 256
#define HS_GEMM_MR_MAX 12

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HS_GEMM_X86 1
#include <immintrin.h>
#else
#define HS_GEMM_X86 0
#endif

/* One register tile: C (mr, 32) (+)= A (mr, kc) B (kc, 32), A(i, k) = a[i * ars + k * acs] with
 * ars == 1 or acs == 1, B(k, j) = b[k * bsk + j]; load: add to C instead of overwriting it. The
 * products are summed from zero over the block and then added to C: blocked summation, K / kc + kc
 * roundings deep. */
typedef void (*hs_gemm_tile_fn)(int mr, int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
                                ptrdiff_t bsk, float *c, ptrdiff_t ldc, int load);

#if HS_GEMM_X86
#define HS_AVX512 __attribute__((target("avx512f")))
#define HS_AVX2 __attribute__((target("avx2,fma")))
#define HS_INLINE static inline __attribute__((always_inline))

/* MR and ROWS are constants at every call: the loops over i unroll and the accumulators live in
 * registers. ROWS: A(i, k) = a[i * ars + k], else a[k * acs + i]. */
HS_INLINE HS_AVX512 void hs_tile512(const int MR, const int ROWS, int kc, const float *a, ptrdiff_t ars,
                                    ptrdiff_t acs, const float *b, ptrdiff_t bsk, float *c, ptrdiff_t ldc, int load)
{
    __m512 c0[HS_GEMM_MR_MAX], c1[HS_GEMM_MR_MAX];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b + k * bsk), b1 = _mm512_loadu_ps(b + k * bsk + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(ROWS ? a[i * ars + k] : a[k * acs + i]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (load) {
            c0[i] = _mm512_add_ps(_mm512_loadu_ps(c + i * ldc), c0[i]);
            c1[i] = _mm512_add_ps(_mm512_loadu_ps(c + i * ldc + 16), c1[i]);
        }
        _mm512_storeu_ps(c + i * ldc, c0[i]);
        _mm512_storeu_ps(c + i * ldc + 16, c1[i]);
    }
}

static HS_AVX512 void hs_gemm_tile_avx512(int mr, int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                                          const float *b, ptrdiff_t bsk, float *c, ptrdiff_t ldc, int load)
{
    int rows = ars != 1;
    switch (mr * 2 + rows) {
#define HS_CASE(n)                                                                                                     \
    case 2 * n:                                                                                                        \
        hs_tile512(n, 0, kc, a, ars, acs, b, bsk, c, ldc, load);                                                       \
        break;                                                                                                         \
    case 2 * n + 1:                                                                                                    \
        hs_tile512(n, 1, kc, a, ars, acs, b, bsk, c, ldc, load);                                                       \
        break;
        HS_CASE(12) HS_CASE(11) HS_CASE(10) HS_CASE(9) HS_CASE(8) HS_CASE(7)
        HS_CASE(6) HS_CASE(5) HS_CASE(4) HS_CASE(3) HS_CASE(2) HS_CASE(1)
#undef HS_CASE
    default:
        break;
    }
}

/* 16 of the panel's 32 columns. */
HS_INLINE HS_AVX2 void hs_tile256(const int MR, const int ROWS, int kc, const float *a, ptrdiff_t ars,
                                  ptrdiff_t acs, const float *b, ptrdiff_t bsk, float *c, ptrdiff_t ldc, int load)
{
    __m256 c0[6], c1[6];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        c0[i] = _mm256_setzero_ps();
        c1[i] = _mm256_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * bsk), b1 = _mm256_loadu_ps(b + k * bsk + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(ROWS ? a + i * ars + k : a + k * acs + i);
            c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        if (load) {
            c0[i] = _mm256_add_ps(_mm256_loadu_ps(c + i * ldc), c0[i]);
            c1[i] = _mm256_add_ps(_mm256_loadu_ps(c + i * ldc + 8), c1[i]);
        }
        _mm256_storeu_ps(c + i * ldc, c0[i]);
        _mm256_storeu_ps(c + i * ldc + 8, c1[i]);
    }
}

static HS_AVX2 void hs_gemm_tile_avx2(int mr, int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                                      const float *b, ptrdiff_t bsk, float *c, ptrdiff_t ldc, int load)
{
    int rows = ars != 1;
    for (int h = 0; h < HS_GEMM_NR; h += 16) {
        switch (mr * 2 + rows) {
#define HS_CASE(n)                                                                                                     \
    case 2 * n:                                                                                                        \
        hs_tile256(n, 0, kc, a, ars, acs, b + h, bsk, c + h, ldc, load);                                               \
        break;                                                                                                         \
    case 2 * n + 1:                                                                                                    \
        hs_tile256(n, 1, kc, a, ars, acs, b + h, bsk, c + h, ldc, load);                                               \
        break;
            HS_CASE(6) HS_CASE(5) HS_CASE(4) HS_CASE(3) HS_CASE(2) HS_CASE(1)
#undef HS_CASE
        default:
            break;
        }
    }
}
#endif

hs_gemm_isa hs_gemm_isa_best(void)
{
#if HS_GEMM_X86
    /* libgcc's answer includes the OS's consent (XCR0) to the wider registers */
    if (__builtin_cpu_supports("avx512f"))
        return HS_GEMM_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return HS_GEMM_ISA_AVX2;
#endif
    return HS_GEMM_ISA_NONE;
}

size_t hs_gemm_pack_size(int N, int K) { return (size_t)N * (size_t)K; }

void hs_gemm_pack_t(int N, int K, const float *w, int ldw, float *out)
{
    for (int p = 0; p < N / HS_GEMM_NR; p++) {
        float *o = out + (ptrdiff_t)p * HS_GEMM_NR * K;
        const float *wp = w + (ptrdiff_t)p * HS_GEMM_NR * ldw;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < HS_GEMM_NR; j++)
                o[(ptrdiff_t)k * HS_GEMM_NR + j] = wp[(ptrdiff_t)j * ldw + k];
    }
}

#if HS_GEMM_X86
static int hs_gemm_drive(hs_gemm_tile_fn tile, int MR, int M, int N, int K, const float *a, ptrdiff_t a_rs,
                         ptrdiff_t a_cs, hs_gemm_b b, int accumulate, float *c, ptrdiff_t ldc)
{
    if (M < 1 || N < 1 || N % HS_GEMM_NR || (a_rs != 1 && a_cs != 1))
        return 0;
    if (K < 1) {
        if (!accumulate)
            for (int i = 0; i < M; i++)
                memset(c + i * ldc, 0, (size_t)N * sizeof *c);
        return 1;
    }
    /* row tiles of nearly equal height (64 rows: 6 tiles of 11 or 10, not 5 of 12 and one of 4) */
    int np = N / HS_GEMM_NR, nt = (M + MR - 1) / MR, base = M / nt, extra = M % nt;
    for (int k0 = 0; k0 < K; k0 += HS_GEMM_KC) {
        int kc = K - k0 < HS_GEMM_KC ? K - k0 : HS_GEMM_KC, load = accumulate || k0 > 0;
        const float *bk = b.b + k0 * b.rs;
        for (int t = 0, i0 = 0; t < nt; i0 += base + (t < extra), t++)
            for (int p = 0; p < np; p++)
                tile(base + (t < extra), kc, a + i0 * a_rs + k0 * a_cs, a_rs, a_cs, bk + p * b.ps, b.rs,
                     c + i0 * ldc + p * HS_GEMM_NR, ldc, load);
    }
    return 1;
}
#endif

int hs_gemm_isa_run(hs_gemm_isa isa, int M, int N, int K, const float *a, ptrdiff_t a_rs, ptrdiff_t a_cs,
                    hs_gemm_b b, int accumulate, float *c, ptrdiff_t ldc)
{
#if HS_GEMM_X86
    if (isa > hs_gemm_isa_best())
        return 0;
    if (isa == HS_GEMM_ISA_AVX512)
        return hs_gemm_drive(hs_gemm_tile_avx512, 12, M, N, K, a, a_rs, a_cs, b, accumulate, c, ldc);
    if (isa == HS_GEMM_ISA_AVX2)
        return hs_gemm_drive(hs_gemm_tile_avx2, 6, M, N, K, a, a_rs, a_cs, b, accumulate, c, ldc);
#else
    (void)isa, (void)M, (void)N, (void)K, (void)a, (void)a_rs, (void)a_cs, (void)b, (void)accumulate, (void)c,
        (void)ldc;
#endif
    return 0;
}

int hs_gemm(int M, int N, int K, const float *a, ptrdiff_t a_rs, ptrdiff_t a_cs, hs_gemm_b b, int accumulate,
            float *c, ptrdiff_t ldc)
{
    return hs_gemm_isa_run(hs_gemm_isa_best(), M, N, K, a, a_rs, a_cs, b, accumulate, c, ldc);
}
