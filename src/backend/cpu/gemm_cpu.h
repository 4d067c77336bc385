/* gemm_cpu.h: a small single-threaded SGEMM for the LSTM's shapes (lstm_cpu.c), with AVX-512F
 * and AVX2+FMA kernels chosen at run time. It exists because a BLAS older than the CPU may fall
 * back to generic SSE kernels (Debian's OpenBLAS 0.3.21 runs Sapphire Rapids as "Prescott").
 * Its callers keep OpenBLAS for every shape it declines (returns 0).
 *
 *     float *wp = ...;                                 // hs_gemm_pack_size(4H, H) floats
 *     hs_gemm_pack_t(G4, H, w_hh, H, wp);              // B = W_hh^T, packed once
 *     if (!hs_gemm(nb, G4, H, h, H, 1, HS_GEMM_B_PACKED(wp, H), 1, g, G4))
 *         cblas_sgemm(...);                            // no kernel for this CPU or shape
 *
 * Every sum over k runs in the order k = 0, 1, ..., K-1 in one accumulator per element, so a
 * result depends only on the inputs, never on the thread count or on where the rows sit.
 */
#ifndef HYSCALE_GEMM_CPU_H
#define HYSCALE_GEMM_CPU_H

#include <stddef.h>

/* Columns of one B panel: B is read as panels of HS_GEMM_NR columns, panel p at
 * b + p * panel_stride, its row k at + k * row_stride. */
#define HS_GEMM_NR 32

/* A B operand: B (K, N), B(k, j) = b[(j / NR) * ps + k * rs + j % NR]. */
typedef struct hs_gemm_b {
    const float *b;
    ptrdiff_t ps, rs;
} hs_gemm_b;

/* B row-major with leading dimension ldb. */
#define HS_GEMM_B_ROWS(ptr, ldb) ((hs_gemm_b){(ptr), HS_GEMM_NR, (ldb)})
/* B packed by hs_gemm_pack_t for depth K. */
#define HS_GEMM_B_PACKED(ptr, K) ((hs_gemm_b){(ptr), (ptrdiff_t)HS_GEMM_NR * (K), HS_GEMM_NR})

typedef enum hs_gemm_isa { HS_GEMM_ISA_NONE = 0, HS_GEMM_ISA_AVX2 = 1, HS_GEMM_ISA_AVX512 = 2 } hs_gemm_isa;

/* The kernels this CPU runs (detected once; thread-safe). */
hs_gemm_isa hs_gemm_isa_best(void);

/* Floats that hs_gemm_pack_t writes for W (N, K): N * K. */
size_t hs_gemm_pack_size(int N, int K);

/* Packs B = W^T (K, N) from W (N, K) row-major (leading dimension ldw) into panels:
 * out[(j / NR) * NR * K + k * NR + j % NR] = W[j * ldw + k]. N must be a multiple of NR. */
void hs_gemm_pack_t(int N, int K, const float *w, int ldw, float *out);

/* C (M, N) = A (M, K) B (K, N) (+ C when accumulate is 1, else overwriting C), row-major C with
 * leading dimension ldc. A(i, k) = a[i * a_rs + k * a_cs], where a_rs == 1 (A is a transposed
 * row-major matrix) or a_cs == 1 (A row-major). Returns 1 when done, 0 when it declined (no
 * kernel for this CPU, N not a multiple of NR, or another A layout): C is then untouched. */
int hs_gemm(int M, int N, int K, const float *a, ptrdiff_t a_rs, ptrdiff_t a_cs, hs_gemm_b b, int accumulate,
            float *c, ptrdiff_t ldc);

/* As hs_gemm with the kernels of the given ISA (for tests and benchmarks); declines an ISA that
 * this CPU lacks. */
int hs_gemm_isa_run(hs_gemm_isa isa, int M, int N, int K, const float *a, ptrdiff_t a_rs, ptrdiff_t a_cs,
                    hs_gemm_b b, int accumulate, float *c, ptrdiff_t ldc);

#endif
