/* lstm_cpu.c: the CPU backend of the LSTM (lstm.h), the reference every faster backend is held
 * to. Layer by layer: the input projection of all steps and rows in one GEMM, then the
 * recurrence as one OpenMP task per (model, chunk of HS_LSTM_CHUNK rows), each with
 * single-threaded OpenBLAS GEMMs per step and the gate math of math/lstm_cell.h. Backward the
 * same way down the layers (BPTT per chunk, the gradient into the layer below in one GEMM), then
 * the weight gradients in GEMMs over all steps and rows, one task per (model, quarter of the 4H
 * gate rows). The partition depends only on the batch, never on the thread count.
 * The gate loops are `omp simd`, built with -O3 -ffast-math (CMakeLists.txt) and cloned for
 * AVX2 so that expf/tanhf vectorise through glibc's libmvec. */
#include <cblas.h>
#include <string.h>

#include "../../forecast/lstm_internal.h"
#include "hyscale/math/lstm_cell.h"

#define HS_LSTM_CHUNK 64
#define HS_LSTM_PARTS 4 /* of the gate rows, for the weight gradients */

/* C (M, N) = A (M, K) * op(B) + beta * C, row-major; tb: B is (N, K) and transposed. */
static void hs_gemm(int M, int N, int K, const float *A, int lda, const float *Bm, int ldb, int tb, float beta,
                    float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, Bm, ldb, beta,
                C, ldc);
}

/* Built twice, for AVX2+FMA and for the baseline, chosen at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HS_CLONES __attribute__((target_clones("avx2,fma", "default")))
#else
#define HS_CLONES
#endif

/* Layer l's input projection of model n, hoisted out of the recurrence: rows [r0, r1) of the
 * W*B (step, row) rows in one GEMM (the bias included):
 * gates (W*B, 4H) = X (W*B, F_l) W_ih^T + b_ih + b_hh. */
static void hs_lstm_project(hs_lstm *m, int64_t n, const float *x, int B, int l, int64_t r0, int64_t r1)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, F = c->features, G4 = 4 * H;
    int64_t Bmax = c->batch;
    const float *p = m->params + n * m->P;
    const float *in = l ? m->hid + ((n * L + l - 1) * W) * Bmax * H : x + (int64_t)n * W * B * F;
    int Fl = l ? H : F;
    float *gates = m->gates + ((n * L + l) * W) * Bmax * G4;
    const float *b_ih = p + m->lay.b_ih[l], *b_hh = p + m->lay.b_hh[l];
    (void)W;
    for (int64_t r = r0; r < r1; r++)
        for (int j = 0; j < G4; j++)
            gates[r * G4 + j] = b_ih[j] + b_hh[j];
    hs_gemm((int)(r1 - r0), G4, Fl, in + r0 * Fl, Fl, p + m->lay.w_ih[l], Fl, 1, 1.0f, gates + r0 * G4, G4);
}

/* Layer l's recurrence over rows [b0, b1) of model n (the projection already in the gates). */
HS_CLONES
static void hs_lstm_recur_chunk(hs_lstm *m, int64_t n, int B, int l, int b0, int b1)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, G4 = 4 * H, nb = b1 - b0;
    int64_t Bmax = c->batch;
    const float *w_hh = m->params + n * m->P + m->lay.w_hh[l];
    float *gates = m->gates + ((n * L + l) * W) * Bmax * G4; /* (W, B, 4H) */
    float *cell = m->cell + ((n * L + l) * W) * Bmax * H;    /* (W, B, H) */
    float *hid = m->hid + ((n * L + l) * W) * Bmax * H;
    for (int t = 0; t < W; t++) {
        int64_t r0 = (int64_t)t * B + b0; /* first row of the chunk at step t */
        float *gt = gates + r0 * G4;
        if (t)
            hs_gemm(nb, G4, H, hid + (r0 - B) * H, H, w_hh, H, 1, 1.0f, gt, G4);
        const float *cprev = t ? cell + (r0 - B) * H : m->zeros;
        float *ct = cell + r0 * H, *ht = hid + r0 * H;
        for (int b = 0; b < nb; b++) {
            float *g = gt + (int64_t)b * G4;
#pragma omp simd
            for (int j = 0; j < H; j++)
                hs_lstm_cell_fwd(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], cprev[(int64_t)b * H + j],
                                 &ct[(int64_t)b * H + j], &ht[(int64_t)b * H + j]);
        }
    }
}

/* The head of model n on the last step of the top layer: y (B, K) = h (B, H) W_out^T + b. */
static void hs_lstm_head(hs_lstm *m, int64_t n, int B)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon;
    const float *p = m->params + n * m->P;
    const float *hlast = m->hid + ((n * L + (L - 1)) * W + (W - 1)) * (int64_t)c->batch * H;
    float *y = m->y + n * B * K;
    for (int b = 0; b < B; b++)
        memcpy(y + (int64_t)b * K, p + m->lay.b_out, (size_t)K * sizeof *y);
    hs_gemm(B, K, H, hlast, H, p + m->lay.w_out, H, 1, 1.0f, y, K);
}

/* Layer l's backward through time over rows [b0, b1) of model n: its pre-activation gradients
 * (m->dgates) from dL/dh coming from the head (top layer) or from the layer above (m->dx). */
HS_CLONES
static void hs_lstm_bptt_chunk(hs_lstm *m, int64_t n, const float *dy_all, int B, int l, int b0, int b1)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon, G4 = 4 * H, nb = b1 - b0;
    int64_t Bmax = c->batch;
    const float *p = m->params + n * m->P;
    const float *dx = m->dx + n * W * Bmax * H; /* (W, B, H): dL/dh from the layer above */
    float *dh = m->dh + (n * Bmax + b0) * H, *dc = m->dc + (n * Bmax + b0) * H;
    const float *gates = m->gates + ((n * L + l) * W) * Bmax * G4;
    const float *cell = m->cell + ((n * L + l) * W) * Bmax * H;
    float *dG = m->dgates + ((n * L + l) * W) * Bmax * G4;
    const float *w_hh = p + m->lay.w_hh[l];
    memset(dc, 0, (size_t)nb * H * sizeof *dc);
    if (l == L - 1) /* the head reads only the last step: dL/dh = dy W_out */
        hs_gemm(nb, H, K, dy_all + (n * B + b0) * K, K, p + m->lay.w_out, H, 0, 0.0f, dh, H);
    else
        memset(dh, 0, (size_t)nb * H * sizeof *dh);
    for (int t = W - 1; t >= 0; t--) {
        int64_t r0 = (int64_t)t * B + b0;
        const float *gt = gates + r0 * G4, *ct = cell + r0 * H;
        const float *cprev = t ? cell + (r0 - B) * H : m->zeros;
        float *dgt = dG + r0 * G4;
        /* the top layer has no gradient from above: read zeros, so the loop has no branch */
        const float *from_above = l < L - 1 ? dx + r0 * H : m->zeros;
        for (int b = 0; b < nb; b++) {
            const float *gg = gt + (int64_t)b * G4;
            float *dgg = dgt + (int64_t)b * G4;
#pragma omp simd
            for (int j = 0; j < H; j++) {
                int64_t e = (int64_t)b * H + j;
                float dht = dh[e] + from_above[e];
                dc[e] = hs_lstm_cell_bwd(gg[j], gg[H + j], gg[2 * H + j], gg[3 * H + j], ct[e], cprev[e], dht, dc[e],
                                         &dgg[j], &dgg[H + j], &dgg[2 * H + j], &dgg[3 * H + j]);
            }
        }
        if (t) /* dL/dh_{t-1} through the recurrence: dG_t W_hh */
            hs_gemm(nb, H, G4, dgt, G4, w_hh, H, 0, 0.0f, dh, H);
    }
}

/* dL/dh of layer l-1 for rows [r0, r1) of the W*B (step, row) rows in one GEMM:
 * dx (W*B, H) = dG_l (W*B, 4H) W_ih_l. */
static void hs_lstm_down(hs_lstm *m, int64_t n, int l, int64_t r0, int64_t r1)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, G4 = 4 * H;
    int64_t Bmax = c->batch;
    hs_gemm((int)(r1 - r0), H, G4, m->dgates + ((n * L + l) * W) * Bmax * G4 + r0 * G4, G4,
            m->params + n * m->P + m->lay.w_ih[l], H, 0, 0.0f, m->dx + n * W * Bmax * H + r0 * H, H);
}

/* Weight gradients of model n, gate rows of part `part` (and the head in part 0), from the
 * pre-activation gradients of all rows and steps. */
static void hs_lstm_weight_grads(hs_lstm *m, int64_t n, const float *dy_all, int B, int part)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon, F = c->features, G4 = 4 * H;
    int64_t Bmax = c->batch;
    float *g = m->grads + n * m->P;
    int q0 = (int)((int64_t)G4 * part / HS_LSTM_PARTS), q1 = (int)((int64_t)G4 * (part + 1) / HS_LSTM_PARTS);
    if (part == 0) {
        const float *dy = dy_all + n * B * K;
        const float *htop = m->hid + ((n * L + (L - 1)) * W + (W - 1)) * Bmax * H;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, H, B, 1.0f, dy, K, htop, H, 0.0f, g + m->lay.w_out,
                    H);
        for (int k = 0; k < K; k++) {
            float s = 0;
            for (int b = 0; b < B; b++)
                s += dy[(int64_t)b * K + k];
            g[m->lay.b_out + k] = s;
        }
    }
    if (q1 <= q0)
        return;
    for (int l = 0; l < L; l++) {
        const float *dG = m->dgates + ((n * L + l) * W) * Bmax * G4;
        const float *hid = m->hid + ((n * L + l) * W) * Bmax * H;
        const float *in = l ? m->hid + ((n * L + l - 1) * W) * Bmax * H : m->x + n * W * B * F;
        int Fl = l ? H : F;
        /* dW_ih[q0:q1] = dG[:, q0:q1]^T X over all steps and rows */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q1 - q0, Fl, W * B, 1.0f, dG + q0, G4, in, Fl, 0.0f,
                    g + m->lay.w_ih[l] + (int64_t)q0 * Fl, Fl);
        if (W > 1)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q1 - q0, H, (W - 1) * B, 1.0f,
                        dG + (int64_t)B * G4 + q0, G4, hid, H, 0.0f, g + m->lay.w_hh[l] + (int64_t)q0 * H, H);
        else
            memset(g + m->lay.w_hh[l] + (int64_t)q0 * H, 0, (size_t)(q1 - q0) * H * sizeof *g);
        float *gbi = g + m->lay.b_ih[l], *gbh = g + m->lay.b_hh[l];
        for (int j = q0; j < q1; j++)
            gbi[j] = 0;
        for (int64_t r = 0; r < (int64_t)W * B; r++)
            for (int j = q0; j < q1; j++)
                gbi[j] += dG[r * G4 + j];
        memcpy(gbh + q0, gbi + q0, (size_t)(q1 - q0) * sizeof *gbh);
    }
}

/* OpenMP runs the tasks; OpenBLAS keeps to one thread inside them, so the two levels do not
 * oversubscribe the cores. Returns the thread count to restore. */
static int hs_blas_single_begin(void)
{
    int prev = openblas_get_num_threads();
    openblas_set_num_threads(1);
    return prev;
}

/* The whole-layer GEMMs (projection, gradient into the layer below) run as one task per
 * (model, block of HS_LSTM_ROWS of the W*B rows): parallel without OpenBLAS's threads, and the
 * same partition on any number of cores. */
#define HS_LSTM_ROWS 1024
#define HS_ROW_TASKS(N, WB, call)                                                                    \
    do {                                                                                             \
        int64_t nblk_ = ((WB) + HS_LSTM_ROWS - 1) / HS_LSTM_ROWS;                                    \
        _Pragma("omp parallel for schedule(dynamic)") for (int64_t t_ = 0; t_ < (N) * nblk_; t_++)   \
        {                                                                                            \
            int64_t n_ = t_ / nblk_, r0_ = (t_ % nblk_) * HS_LSTM_ROWS;                              \
            int64_t r1_ = r0_ + HS_LSTM_ROWS < (WB) ? r0_ + HS_LSTM_ROWS : (WB);                     \
            call;                                                                                    \
        }                                                                                            \
    } while (0)

static hs_status hs_lstm_cpu_forward(hs_lstm *m, const float *x, int B)
{
    if (B < 1 || B > m->cfg.batch)
        return hs_error_set(HS_ERR_USAGE, "lstm: batch %d outside 1..%d", B, m->cfg.batch);
    m->x = x;
    m->B = B;
    int64_t N = m->cfg.models, nch = (B + HS_LSTM_CHUNK - 1) / HS_LSTM_CHUNK;
    int prev = hs_blas_single_begin();
    for (int l = 0; l < m->cfg.layers; l++) {
        HS_ROW_TASKS(N, (int64_t)m->cfg.window * B, hs_lstm_project(m, n_, x, B, l, r0_, r1_));
#pragma omp parallel for schedule(dynamic) if (N * nch > 1)
        for (int64_t task = 0; task < N * nch; task++) {
            int ch = (int)(task % nch), b0 = ch * HS_LSTM_CHUNK;
            int b1 = b0 + HS_LSTM_CHUNK < B ? b0 + HS_LSTM_CHUNK : B;
            hs_lstm_recur_chunk(m, task / nch, B, l, b0, b1);
        }
    }
#pragma omp parallel for schedule(dynamic) if (N > 1)
    for (int64_t n = 0; n < N; n++)
        hs_lstm_head(m, n, B);
    openblas_set_num_threads(prev);
    return HS_OK;
}

static hs_status hs_lstm_cpu_backward(hs_lstm *m, const float *dy, int B)
{
    if (B != m->B || !m->x)
        return hs_error_set(HS_ERR_USAGE, "lstm: backward needs the forward of the same batch first");
    int64_t N = m->cfg.models, nch = (B + HS_LSTM_CHUNK - 1) / HS_LSTM_CHUNK;
    int prev = hs_blas_single_begin();
    for (int l = m->cfg.layers - 1; l >= 0; l--) {
#pragma omp parallel for schedule(dynamic) if (N * nch > 1)
        for (int64_t task = 0; task < N * nch; task++) {
            int ch = (int)(task % nch), b0 = ch * HS_LSTM_CHUNK;
            int b1 = b0 + HS_LSTM_CHUNK < B ? b0 + HS_LSTM_CHUNK : B;
            hs_lstm_bptt_chunk(m, task / nch, dy, B, l, b0, b1);
        }
        if (l > 0)
            HS_ROW_TASKS(N, (int64_t)m->cfg.window * B, hs_lstm_down(m, n_, l, r0_, r1_));
    }
#pragma omp parallel for schedule(dynamic)
    for (int64_t task = 0; task < N * HS_LSTM_PARTS; task++)
        hs_lstm_weight_grads(m, task / HS_LSTM_PARTS, dy, B, (int)(task % HS_LSTM_PARTS));
    openblas_set_num_threads(prev);
    return HS_OK;
}

const hs_lstm_backend *hs_lstm_backend_cpu(void)
{
    static const hs_lstm_backend be = {"cpu", hs_lstm_cpu_forward, hs_lstm_cpu_backward};
    return &be;
}
