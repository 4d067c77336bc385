/* lstm_cpu.c: the CPU backend of the LSTM (lstm.h), the reference every faster backend is held
 * to. Per model and layer: the input projection of all W steps in one GEMM, one GEMM per step
 * for the recurrence, the gate math from math/lstm_cell.h; backward through time from the kept
 * activations with the same GEMM shapes transposed. OpenMP across the models.
 * The gate loops are `omp simd`, and this file is built with -O3 -ffast-math (CMakeLists.txt)
 * so that expf/tanhf vectorise through glibc's libmvec: the exponentials, not the GEMMs, were
 * most of the time. */
#include <cblas.h>
#include <string.h>

#include "../../forecast/lstm_internal.h"
#include "hyscale/math/lstm_cell.h"

/* C (M, N) = alpha * A (M, K) * op(B) + beta * C, row-major; tb: B is (N, K) and transposed. */
static void hs_gemm(int M, int N, int K, const float *A, int lda, const float *Bm, int ldb, int tb, float beta,
                    float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, Bm, ldb, beta,
                C, ldc);
}

/* Built twice, for AVX2+FMA and for the baseline, chosen at load time: the gate loops then use
 * libmvec's 8-wide expf/tanhf where the CPU has them. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HS_CLONES __attribute__((target_clones("avx2,fma", "default")))
#else
#define HS_CLONES
#endif

HS_CLONES
static void hs_lstm_forward_model(hs_lstm *m, int64_t n, const float *x, int B)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon, F = c->features, G4 = 4 * H;
    int64_t Bmax = c->batch;
    const float *p = m->params + n * m->P;
    const float *in = x + (int64_t)n * W * B * F; /* (W, B, F) */
    int Fl = F;
    for (int l = 0; l < L; l++) {
        float *gates = m->gates + ((n * L + l) * W) * Bmax * G4; /* (W, B, 4H) */
        float *cell = m->cell + ((n * L + l) * W) * Bmax * H;    /* (W, B, H) */
        float *hid = m->hid + ((n * L + l) * W) * Bmax * H;
        const float *w_ih = p + m->lay.w_ih[l], *w_hh = p + m->lay.w_hh[l];
        const float *b_ih = p + m->lay.b_ih[l], *b_hh = p + m->lay.b_hh[l];
        /* all steps' input projection at once: (W*B, F_l) x (4H, F_l)^T */
        for (int t = 0; t < W; t++)
            for (int b = 0; b < B; b++) {
                float *row = gates + ((int64_t)t * B + b) * G4;
                for (int j = 0; j < G4; j++)
                    row[j] = b_ih[j] + b_hh[j];
            }
        hs_gemm(W * B, G4, Fl, in, Fl, w_ih, Fl, 1, 1.0f, gates, G4);
        for (int t = 0; t < W; t++) {
            float *gt = gates + (int64_t)t * B * G4;
            const float *hprev = t ? hid + (int64_t)(t - 1) * B * H : m->zeros;
            const float *cprev = t ? cell + (int64_t)(t - 1) * B * H : m->zeros;
            if (t)
                hs_gemm(B, G4, H, hprev, H, w_hh, H, 1, 1.0f, gt, G4);
            float *ct = cell + (int64_t)t * B * H, *ht = hid + (int64_t)t * B * H;
            for (int b = 0; b < B; b++) {
                float *g = gt + (int64_t)b * G4;
#pragma omp simd
                for (int j = 0; j < H; j++)
                    hs_lstm_cell_fwd(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], cprev[(int64_t)b * H + j],
                                     &ct[(int64_t)b * H + j], &ht[(int64_t)b * H + j]);
            }
        }
        in = hid;
        Fl = H;
    }
    /* the head on the last step of the top layer: (B, H) x (K, H)^T + b */
    const float *hlast = in + (int64_t)(W - 1) * B * H;
    float *y = m->y + n * B * K;
    for (int b = 0; b < B; b++)
        memcpy(y + (int64_t)b * K, p + m->lay.b_out, (size_t)K * sizeof *y);
    hs_gemm(B, K, H, hlast, H, p + m->lay.w_out, H, 1, 1.0f, y, K);
}

/* With several models, OpenMP runs one per thread: OpenBLAS then keeps to one thread each, so
 * the two levels do not oversubscribe the cores. Returns the thread count to restore. */
static int hs_blas_single_begin(int64_t models)
{
    if (models <= 1)
        return 0;
    int prev = openblas_get_num_threads();
    openblas_set_num_threads(1);
    return prev;
}

static void hs_blas_single_end(int prev)
{
    if (prev > 0)
        openblas_set_num_threads(prev);
}

static hs_status hs_lstm_cpu_forward(hs_lstm *m, const float *x, int B)
{
    if (B < 1 || B > m->cfg.batch)
        return hs_error_set(HS_ERR_USAGE, "lstm: batch %d outside 1..%d", B, m->cfg.batch);
    m->x = x;
    m->B = B;
    int64_t N = m->cfg.models;
    int blas = hs_blas_single_begin(N);
#pragma omp parallel for schedule(dynamic) if (N > 1)
    for (int64_t n = 0; n < N; n++)
        hs_lstm_forward_model(m, n, x, B);
    hs_blas_single_end(blas);
    return HS_OK;
}

HS_CLONES
static void hs_lstm_backward_model(hs_lstm *m, int64_t n, const float *dy_all, int B)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon, F = c->features, G4 = 4 * H;
    int64_t Bmax = c->batch;
    const float *p = m->params + n * m->P;
    float *g = m->grads + n * m->P;
    memset(g, 0, (size_t)m->P * sizeof *g);
    const float *dy = dy_all + n * B * K;
    float *dG = m->dgates + n * W * Bmax * G4; /* (W, B, 4H) */
    float *dx = m->dx + n * W * Bmax * H;      /* (W, B, H): gradient into the layer below */
    float *dh = m->dh + n * Bmax * H, *dc = m->dc + n * Bmax * H;
    /* head: dW_out = dy^T h_last, db_out = sum dy, and dL/dh_last = dy W_out */
    const float *htop = m->hid + ((n * L + (L - 1)) * W + (W - 1)) * Bmax * H;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, H, B, 1.0f, dy, K, htop, H, 0.0f, g + m->lay.w_out, H);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++)
            g[m->lay.b_out + k] += dy[(int64_t)b * K + k];
    for (int l = L - 1; l >= 0; l--) {
        const float *gates = m->gates + ((n * L + l) * W) * Bmax * G4;
        const float *cell = m->cell + ((n * L + l) * W) * Bmax * H;
        const float *hid = m->hid + ((n * L + l) * W) * Bmax * H;
        const float *in = l ? m->hid + ((n * L + l - 1) * W) * Bmax * H : m->x + n * W * B * F;
        int Fl = l ? H : F;
        const float *w_ih = p + m->lay.w_ih[l], *w_hh = p + m->lay.w_hh[l];
        memset(dh, 0, (size_t)B * H * sizeof *dh);
        memset(dc, 0, (size_t)B * H * sizeof *dc);
        if (l == L - 1) /* the head reads only the last step */
            hs_gemm(B, H, K, dy, K, p + m->lay.w_out, H, 0, 0.0f, dh, H);
        for (int t = W - 1; t >= 0; t--) {
            const float *gt = gates + (int64_t)t * B * G4;
            const float *ct = cell + (int64_t)t * B * H;
            const float *cprev = t ? cell + (int64_t)(t - 1) * B * H : m->zeros;
            float *dgt = dG + (int64_t)t * B * G4;
            /* the top layer has no gradient from above: read zeros, so the loop has no branch */
            const float *from_above = l < L - 1 ? dx + (int64_t)t * B * H : m->zeros;
            for (int b = 0; b < B; b++) {
                const float *gg = gt + (int64_t)b * G4;
                float *dgg = dgt + (int64_t)b * G4;
#pragma omp simd
                for (int j = 0; j < H; j++) {
                    int64_t e = (int64_t)b * H + j;
                    float dht = dh[e] + from_above[e];
                    dc[e] = hs_lstm_cell_bwd(gg[j], gg[H + j], gg[2 * H + j], gg[3 * H + j], ct[e], cprev[e], dht,
                                             dc[e], &dgg[j], &dgg[H + j], &dgg[2 * H + j], &dgg[3 * H + j]);
                }
            }
            /* dL/dh_{t-1} through the recurrence: dG_t W_hh */
            if (t)
                hs_gemm(B, H, G4, dgt, G4, w_hh, H, 0, 0.0f, dh, H);
        }
        /* weight gradients over all steps at once */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G4, Fl, W * B, 1.0f, dG, G4, in, Fl, 0.0f,
                    g + m->lay.w_ih[l], Fl);
        if (W > 1)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G4, H, (W - 1) * B, 1.0f, dG + (int64_t)B * G4, G4,
                        hid, H, 0.0f, g + m->lay.w_hh[l], H);
        float *gbi = g + m->lay.b_ih[l], *gbh = g + m->lay.b_hh[l];
        for (int64_t r = 0; r < (int64_t)W * B; r++)
            for (int j = 0; j < G4; j++)
                gbi[j] += dG[r * G4 + j];
        memcpy(gbh, gbi, (size_t)G4 * sizeof *gbh);
        /* the gradient into the layer below: dG W_ih, (W*B, 4H) x (4H, H) */
        if (l > 0)
            hs_gemm(W * B, H, G4, dG, G4, w_ih, Fl, 0, 0.0f, dx, H);
    }
}

static hs_status hs_lstm_cpu_backward(hs_lstm *m, const float *dy, int B)
{
    if (B != m->B || !m->x)
        return hs_error_set(HS_ERR_USAGE, "lstm: backward needs the forward of the same batch first");
    int64_t N = m->cfg.models;
    int blas = hs_blas_single_begin(N);
#pragma omp parallel for schedule(dynamic) if (N > 1)
    for (int64_t n = 0; n < N; n++)
        hs_lstm_backward_model(m, n, dy, B);
    hs_blas_single_end(blas);
    return HS_OK;
}

const hs_lstm_backend *hs_lstm_backend_cpu(void)
{
    static const hs_lstm_backend be = {"cpu", hs_lstm_cpu_forward, hs_lstm_cpu_backward};
    return &be;
}
