/* test_gemm.c: the small SGEMM of src/backend/cpu/gemm_cpu.h (used by the LSTM and the PPO MLPs)
 * against a double-precision product, for each instruction set this CPU runs (AVX-512F and
 * AVX2+FMA), both A layouts, row-major and packed B, overwrite and accumulate; rows computed
 * apart give the same bits as rows computed together; shapes it does not take are declined. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/backend/cpu/gemm_cpu.h"
#include "hs_test.h"
#include "hyscale/math/rng.h"

static void fill(float *v, int64_t n, uint64_t seed)
{
    hs_rng g = hs_rng_make(seed, 0);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)(2.0 * hs_rng_next_double(&g) - 1.0);
}

/* C = (C0 if acc) + A B in double; A(i, k) = a[i * ars + k * acs], B row-major (K, N). */
static void ref(int M, int N, int K, const float *a, int ars, int acs, const float *b, const float *c0, int acc,
                double *c)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = acc ? c0[i * N + j] : 0.0;
            for (int k = 0; k < K; k++)
                s += (double)a[i * ars + k * acs] * b[k * N + j];
            c[i * N + j] = s;
        }
}

static void check_isa(hs_gemm_isa isa)
{
    const int shapes[][3] = {{1, 32, 1}, {7, 64, 23}, {13, 32, 300}, {64, 128, 64}, {100, 64, 600}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *a = malloc((size_t)M * K * sizeof *a), *b = malloc((size_t)K * N * sizeof *b);
        float *wt = malloc((size_t)N * K * sizeof *wt), *pk = malloc(hs_gemm_pack_size(N, K) * sizeof *pk);
        float *c = malloc((size_t)M * N * sizeof *c), *c0 = malloc((size_t)M * N * sizeof *c0);
        double *r = malloc((size_t)M * N * sizeof *r);
        fill(a, (int64_t)M * K, 1 + s);
        fill(b, (int64_t)K * N, 2 + s);
        fill(c0, (int64_t)M * N, 3 + s);
        for (int k = 0; k < K; k++) /* W (N, K) with W^T = B, for the packed form */
            for (int j = 0; j < N; j++)
                wt[j * K + k] = b[k * N + j];
        hs_gemm_pack_t(N, K, wt, K, pk);
        for (int layout = 0; layout < 2; layout++)
            for (int packed = 0; packed < 2; packed++)
                for (int acc = 0; acc < 2; acc++) {
                    /* layout 0: A row-major (M, K); 1: A stored transposed (K, M) */
                    float *at = malloc((size_t)M * K * sizeof *at);
                    for (int i = 0; i < M; i++)
                        for (int k = 0; k < K; k++)
                            at[k * M + i] = a[i * K + k];
                    const float *ap = layout ? at : a;
                    int ars = layout ? 1 : K, acs = layout ? M : 1;
                    memcpy(c, c0, (size_t)M * N * sizeof *c);
                    hs_gemm_b bb = packed ? HS_GEMM_B_PACKED(pk, K) : HS_GEMM_B_ROWS(b, N);
                    cr_assert_eq(hs_gemm_isa_run(isa, M, N, K, ap, ars, acs, bb, acc, c, N), 1);
                    ref(M, N, K, a, K, 1, b, c0, acc, r);
                    /* float products summed in blocks of 256: ~K * 6e-8 relative of sum |a b| <= K */
                    double worst = 0;
                    for (int i = 0; i < M * N; i++)
                        worst = fmax(worst, fabs(c[i] - r[i]) / (1e-6 * (K + 1)));
                    cr_expect(worst <= 1.0, "isa %d M %d N %d K %d layout %d packed %d acc %d: error %g of the bound",
                              isa, M, N, K, layout, packed, acc, worst);
                    /* rows apart: the same bits as together */
                    if (M > 5 && !acc) {
                        float *c2 = calloc((size_t)M * N, sizeof *c2);
                        hs_gemm_isa_run(isa, 5, N, K, ap, ars, acs, bb, 0, c2, N);
                        hs_gemm_isa_run(isa, M - 5, N, K, ap + 5 * ars, ars, acs, bb, 0, c2 + 5 * N, N);
                        cr_expect_eq(memcmp(c, c2, (size_t)M * N * sizeof *c), 0, "row split changes bits");
                        free(c2);
                    }
                    free(at);
                }
        free(a);
        free(b);
        free(wt);
        free(pk);
        free(c);
        free(c0);
        free(r);
    }
}

Test(gemm, avx512_against_double)
{
    if (hs_gemm_isa_best() < HS_GEMM_ISA_AVX512)
        cr_skip_test("this CPU has no AVX-512F");
    check_isa(HS_GEMM_ISA_AVX512);
}

Test(gemm, avx2_against_double)
{
    if (hs_gemm_isa_best() < HS_GEMM_ISA_AVX2)
        cr_skip_test("this CPU has no AVX2+FMA");
    check_isa(HS_GEMM_ISA_AVX2);
}

Test(gemm, declines_what_it_does_not_take)
{
    float a[64] = {0}, b[64 * 40] = {0}, c[64 * 40];
    cr_expect_eq(hs_gemm(2, 33, 2, a, 2, 1, HS_GEMM_B_ROWS(b, 33), 0, c, 33), 0, "N not a multiple of 32");
    cr_expect_eq(hs_gemm(2, 32, 2, a, 3, 2, HS_GEMM_B_ROWS(b, 32), 0, c, 32), 0, "A neither layout");
    cr_expect_eq(hs_gemm_isa_run(HS_GEMM_ISA_NONE, 2, 32, 2, a, 2, 1, HS_GEMM_B_ROWS(b, 32), 0, c, 32), 0);
}
