/* lstm_cpu.c: the CPU backend of the LSTM (lstm.h), the reference every faster backend is held
 * to. Forward: one OpenMP task per (model, chunk of HS_LSTM_CHUNK rows) takes its rows up
 * through every layer, step by step (input projection, recurrence, the gate math of
 * math/lstm_cell.h), since rows never mix. Backward: the same tasks come down the layers (BPTT,
 * writing the gate gradients over the gates, then the gradient into the layer below), then the
 * weight gradients in GEMMs over all steps and rows, one task per (model, part of the 4H gate
 * rows); with many one-chunk models, one task per model does both. The partition depends only on
 * the batch, never on the thread count.
 * The gate loops are `omp simd`, built with -O3 -ffast-math (CMakeLists.txt) and cloned for
 * AVX-512 and AVX2 so that expf/tanhf vectorise through glibc's libmvec.
 * The GEMMs go through gemm_cpu.h's kernels wherever they take the shape (a BLAS older than the
 * CPU may run generic SSE kernels), and through OpenBLAS otherwise; which one runs depends only
 * on the CPU and the shapes, so results stay the same on any thread count. */
#include <cblas.h>
#include <stdint.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#include <string.h>

#include "cpu_clones.h"
#include "gemm_cpu.h"
#include "lstm_cpu.h"
#include "hyscale/math/lstm_cell.h"

#define HS_LSTM_CHUNK 64
/* Parts of the 4H gate rows that the weight gradients split into: HS_LSTM_PARTS tasks per model,
 * or one when the batch is a single chunk (then a model is small, and many models are the
 * parallel work). Depends on the batch alone, so a model computes the same sums alone or in a
 * batch of models. */
#define HS_LSTM_PARTS 4
#define HS_LSTM_NPARTS(B) ((B) <= HS_LSTM_CHUNK ? 1 : HS_LSTM_PARTS)
#define HS_LSTM_WG_ROWS 256 /* rows of a block of the weight gradients' sums */

/* The largest W^T that a task packs on its stack for the kernels: 4H x H floats up to H = 128
 * (256 KiB); a bigger one goes to OpenBLAS. */
#define HS_LSTM_PACK_MAX (4 * 128 * 128)

/* The largest slab of one step's gates (or gate gradients) of a chunk kept on a task's stack: a
 * chunk of rows by 4H up to H = 128 (128 KiB); a bigger one is worked on in place. */
#define HS_LSTM_DG_MAX (HS_LSTM_CHUNK * 4 * 128)

/* C (M, N) = A (M, K) B + beta C, row-major, beta 0 or 1; B (K, N) row-major (ldb). */
static void hs_gemm_nn(int M, int N, int K, const float *A, int lda, const float *Bm, int ldb, float beta, float *C,
                       int ldc)
{
    if (!hs_gemm(M, N, K, A, lda, 1, HS_GEMM_B_ROWS(Bm, ldb), beta != 0.0f, C, ldc))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, Bm, ldb, beta, C, ldc);
}

/* As hs_gemm_nn with A^T: A stored (K, M) row-major (lda). One column (N = 1, the input weights of
 * a one-feature layer) is computed as its transpose, C^T (1, M) = B^T (1, K) A (K, M). */
static void hs_gemm_tn(int M, int N, int K, const float *A, int lda, const float *Bm, int ldb, float beta, float *C,
                       int ldc)
{
    if (N == 1 && ldc == 1 && hs_gemm(1, M, K, Bm, 1, ldb, HS_GEMM_B_ROWS(A, lda), beta != 0.0f, C, M))
        return;
    if (!hs_gemm(M, N, K, A, 1, lda, HS_GEMM_B_ROWS(Bm, ldb), beta != 0.0f, C, ldc))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, Bm, ldb, beta, C, ldc);
}

/* Packs W (N, K) row-major (ldw) for C = A W^T into pack (HS_LSTM_PACK_MAX floats) and returns
 * it, or returns NULL when the kernels do not take the shape. */
static const float *hs_gemm_nt_pack(int N, int K, const float *w, int ldw, float *pack)
{
    if (hs_gemm_isa_best() == HS_GEMM_ISA_NONE || N % HS_GEMM_NR || hs_gemm_pack_size(N, K) > HS_LSTM_PACK_MAX)
        return NULL;
    hs_gemm_pack_t(N, K, w, ldw, pack);
    return pack;
}

/* C (M, N) = A (M, K) W^T + beta C; W (N, K) row-major (ldw), packed: what hs_gemm_nt_pack gave. */
static void hs_gemm_nt(int M, int N, int K, const float *A, int lda, const float *w, int ldw, const float *packed,
                       float beta, float *C, int ldc)
{
    if (!packed || !hs_gemm(M, N, K, A, lda, 1, HS_GEMM_B_PACKED(packed, K), beta != 0.0f, C, ldc))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, lda, w, ldw, beta, C, ldc);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HS_STREAM_512 1
/* hs_stream_copy's lines past dst's first 64-byte boundary, a whole line per store; returns the
 * floats done (a multiple of 16). */
__attribute__((target("avx512f"))) static int64_t hs_stream_lines(float *dst, const float *src, int64_t n)
{
    int64_t e = 0;
    for (; e + 16 <= n; e += 16)
        _mm512_stream_ps(dst + e, _mm512_loadu_ps(src + e));
    return e;
}
#endif

/* dst[0, n) = src[0, n) (n a multiple of 4, both 16-byte aligned) with stores that bypass the
 * caches where the CPU has them; hs_stream_fence makes them visible before a barrier. */
static inline void hs_stream_copy(float *dst, const float *src, int64_t n)
{
#if defined(__SSE__)
    int64_t e = 0;
#if defined(HS_STREAM_512)
    if (hs_gemm_isa_best() == HS_GEMM_ISA_AVX512) {
        for (; e < n && ((uintptr_t)(dst + e) & 63); e += 4)
            _mm_stream_ps(dst + e, _mm_load_ps(src + e));
        e += hs_stream_lines(dst + e, src + e, n - e);
    }
#endif
    for (; e < n; e += 4)
        _mm_stream_ps(dst + e, _mm_load_ps(src + e));
#else
    memcpy(dst, src, (size_t)n * sizeof *dst);
#endif
}

static inline void hs_stream_fence(void)
{
#if defined(__SSE__)
    _mm_sfence();
#endif
}

/* Layer l over rows [b0, b1) of model n, step by step: the input projection, the recurrence and
 * the gate math of a step run back to back on the chunk's rows, so its gates stay in cache:
 * gates_t (nb, 4H) = b_ih + b_hh + X_t (nb, F_l) W_ih^T + h_{t-1} (nb, H) W_hh^T, activated. */
HS_CLONES
static void hs_lstm_layer_chunk(hs_lstm *m, int64_t n, const float *x, int B, int l, int b0, int b1, int stream)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, F = c->features, G4 = 4 * H, nb = b1 - b0;
    int64_t Bmax = c->batch;
    const float *p = m->params + n * m->P;
    const float *w_ih = p + m->lay.w_ih[l], *w_hh = p + m->lay.w_hh[l];
    const float *b_ih = p + m->lay.b_ih[l], *b_hh = p + m->lay.b_hh[l];
    const float *in = l ? HS_WS(m)->hid + ((n * L + l - 1) * W) * Bmax * H : x + (int64_t)n * W * B * F; /* (W, B, F_l) */
    int Fl = l ? H : F;
    float *gates = HS_WS(m)->gates + ((n * L + l) * W) * Bmax * G4; /* (W, B, 4H) */
    float *cell = HS_WS(m)->cell + ((n * L + l) * W) * Bmax * H;    /* (W, B, H) */
    float *hid = HS_WS(m)->hid + ((n * L + l) * W) * Bmax * H;
    /* W_ih^T and W_hh^T, packed once for the W steps */
    _Alignas(64) float pack_ih[HS_LSTM_PACK_MAX], pack_hh[HS_LSTM_PACK_MAX];
    /* when streaming: a step's gates, and the last two steps' states, built in stack slabs (in
     * cache) and streamed out past the caches, as the backward reads them much later */
    _Alignas(64) float gslab[HS_LSTM_DG_MAX], cslab[2][HS_LSTM_DG_MAX / 4], hslab[2][HS_LSTM_DG_MAX / 4];
    const float *w_ih_p = hs_gemm_nt_pack(G4, Fl, w_ih, Fl, pack_ih), *w_hh_p = hs_gemm_nt_pack(G4, H, w_hh, H, pack_hh);
    int slab = stream && (int64_t)nb * G4 <= HS_LSTM_DG_MAX && !(H & 3) && !((int64_t)B * H & 3) &&
               !((int64_t)b0 * H & 3) && !((uintptr_t)gates & 15) && !((uintptr_t)cell & 15) && !((uintptr_t)hid & 15);
    const float *hprev = NULL, *cprev = HS_WS(m)->zeros;
    for (int t = 0; t < W; t++) {
        int64_t r0 = (int64_t)t * B + b0; /* first row of the chunk at step t */
        float *gt = slab ? gslab : gates + r0 * G4;
        float *ct = slab ? cslab[t & 1] : cell + r0 * H, *ht = slab ? hslab[t & 1] : hid + r0 * H;
        if (Fl == 1) { /* one feature: the input projection is an outer product, done here */
            for (int b = 0; b < nb; b++) {
                float xb = in[r0 + b];
#pragma omp simd
                for (int j = 0; j < G4; j++)
                    gt[(int64_t)b * G4 + j] = b_ih[j] + b_hh[j] + xb * w_ih[j];
            }
        } else {
            for (int b = 0; b < nb; b++)
                for (int j = 0; j < G4; j++)
                    gt[(int64_t)b * G4 + j] = b_ih[j] + b_hh[j];
            hs_gemm_nt(nb, G4, Fl, in + r0 * Fl, Fl, w_ih, Fl, w_ih_p, 1.0f, gt, G4);
        }
        if (t)
            hs_gemm_nt(nb, G4, H, hprev, H, w_hh, H, w_hh_p, 1.0f, gt, G4);
        for (int b = 0; b < nb; b++) {
            float *g = gt + (int64_t)b * G4;
#pragma omp simd
            for (int j = 0; j < H; j++)
                hs_lstm_cell_fwd(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], cprev[(int64_t)b * H + j],
                                 &ct[(int64_t)b * H + j], &ht[(int64_t)b * H + j]);
        }
        if (slab) {
            float *go = gates + r0 * G4, *co = cell + r0 * H, *ho = hid + r0 * H;
            hs_stream_copy(go, gt, (int64_t)nb * G4);
            hs_stream_copy(co, ct, (int64_t)nb * H);
            hs_stream_copy(ho, ht, (int64_t)nb * H);
        }
        hprev = ht;
        cprev = ct;
    }
    if (slab)
        hs_stream_fence(); /* the streamed stores are seen before the barrier */
}

/* The head of model n on the last step of the top layer: y (B, K) = h (B, H) W_out^T + b. */
static void hs_lstm_head(hs_lstm *m, int64_t n, int B)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon;
    const float *p = m->params + n * m->P;
    /* rows of step t start at t * B (the batch of this call), inside a buffer sized for c->batch */
    const float *hlast = HS_WS(m)->hid + ((n * L + (L - 1)) * W) * (int64_t)c->batch * H + (int64_t)(W - 1) * B * H;
    float *y = m->y + n * B * K;
    for (int b = 0; b < B; b++)
        memcpy(y + (int64_t)b * K, p + m->lay.b_out, (size_t)K * sizeof *y);
    hs_gemm_nt(B, K, H, hlast, H, p + m->lay.w_out, H, NULL, 1.0f, y, K);
}

/* Layer l's pre-activation gradients of model n, (W, B, 4H). BPTT writes them over the activated
 * gates it has just read, unit by unit (a backward consumes its forward: HS_WS(m)->x is cleared), so a
 * step streams one (W, B, 4H) buffer per layer through memory instead of two. */
static float *hs_lstm_dgates(hs_lstm *m, int64_t n, int l)
{
    return HS_WS(m)->gates + ((n * m->cfg.layers + l) * m->cfg.window) * (int64_t)m->cfg.batch * 4 * m->cfg.hidden;
}

/* Layer l's backward through time over rows [b0, b1) of model n: its pre-activation gradients
 * (hs_lstm_dgates) from dL/dh coming from the head (top layer) or from the layer above (HS_WS(m)->dx). */
HS_CLONES
static void hs_lstm_bptt_chunk(hs_lstm *m, int64_t n, const float *dy_all, int B, int l, int b0, int b1)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon, G4 = 4 * H, nb = b1 - b0;
    int64_t Bmax = c->batch;
    const float *p = m->params + n * m->P;
    const float *dx = HS_WS(m)->dx + n * W * Bmax * H; /* (W, B, H): dL/dh from the layer above */
    float *dh = HS_WS(m)->dh + (n * Bmax + b0) * H, *dc = HS_WS(m)->dc + (n * Bmax + b0) * H;
    const float *gates = HS_WS(m)->gates + ((n * L + l) * W) * Bmax * G4;
    const float *cell = HS_WS(m)->cell + ((n * L + l) * W) * Bmax * H;
    float *dG = hs_lstm_dgates(m, n, l); /* the same memory as gates */
    const float *w_hh = p + m->lay.w_hh[l];
    memset(dc, 0, (size_t)nb * H * sizeof *dc);
    if (l == L - 1) /* the head reads only the last step: dL/dh = dy W_out */
        hs_gemm_nn(nb, H, K, dy_all + (n * B + b0) * K, K, p + m->lay.w_out, H, 0.0f, dh, H);
    else
        memset(dh, 0, (size_t)nb * H * sizeof *dh);
    for (int t = W - 1; t >= 0; t--) {
        int64_t r0 = (int64_t)t * B + b0;
        const float *gt = gates + r0 * G4, *ct = cell + r0 * H;
        const float *cprev = t ? cell + (r0 - B) * H : HS_WS(m)->zeros;
        float *dgt = dG + r0 * G4;
        /* the top layer has no gradient from above: read zeros, so the loop has no branch */
        const float *from_above = l < L - 1 ? dx + r0 * H : HS_WS(m)->zeros;
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
            hs_gemm_nn(nb, H, G4, dgt, G4, w_hh, H, 0.0f, dh, H);
    }
}

/* dL/dh of layer l-1 for rows [b0, b1) of model n at every step:
 * dx_t (nb, H) = dG_l,t (nb, 4H) W_ih_l. */
static void hs_lstm_down_chunk(hs_lstm *m, int64_t n, int B, int l, int b0, int b1)
{
    const hs_lstm_config *c = &m->cfg;
    int H = c->hidden, W = c->window, G4 = 4 * H;
    int64_t Bmax = c->batch;
    const float *dG = hs_lstm_dgates(m, n, l), *w_ih = m->params + n * m->P + m->lay.w_ih[l];
    float *dx = HS_WS(m)->dx + n * W * Bmax * H;
    for (int t = 0; t < W; t++) {
        int64_t r0 = (int64_t)t * B + b0;
        hs_gemm_nn(b1 - b0, H, G4, dG + r0 * G4, G4, w_ih, H, 0.0f, dx + r0 * H, H);
    }
}

/* The head's gradients of model n: dW_out (K, H) = dy^T h_last, db_out = sum dy. */
static void hs_lstm_head_grads(hs_lstm *m, int64_t n, const float *dy_all, int B)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon;
    float *g = m->grads + n * m->P;
    const float *dy = dy_all + n * B * K;
    const float *htop = HS_WS(m)->hid + ((n * L + (L - 1)) * W) * (int64_t)c->batch * H + (int64_t)(W - 1) * B * H;
    hs_gemm_tn(K, H, B, dy, K, htop, H, 0.0f, g + m->lay.w_out, H);
    for (int k = 0; k < K; k++) {
        float s = 0;
        for (int b = 0; b < B; b++)
            s += dy[(int64_t)b * K + k];
        g[m->lay.b_out + k] = s;
    }
}

/* Weight gradients of model n, gate rows of part `part` (and the head in part 0), from the
 * pre-activation gradients of all rows and steps. */
static void hs_lstm_weight_grads(hs_lstm *m, int64_t n, const float *dy_all, int B, int part, int nparts)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, F = c->features, G4 = 4 * H;
    int64_t Bmax = c->batch;
    float *g = m->grads + n * m->P;
    int q0 = (int)((int64_t)G4 * part / nparts), q1 = (int)((int64_t)G4 * (part + 1) / nparts);
    if (part == 0)
        hs_lstm_head_grads(m, n, dy_all, B);
    if (q1 <= q0)
        return;
    for (int l = 0; l < L; l++) {
        const float *dG = hs_lstm_dgates(m, n, l);
        const float *hid = HS_WS(m)->hid + ((n * L + l) * W) * Bmax * H;
        const float *in = l ? HS_WS(m)->hid + ((n * L + l - 1) * W) * Bmax * H : HS_WS(m)->x + n * W * B * F;
        int Fl = l ? H : F, Q = q1 - q0;
        float *gwi = g + m->lay.w_ih[l] + (int64_t)q0 * Fl, *gwh = g + m->lay.w_hh[l] + (int64_t)q0 * H;
        float *gbi = g + m->lay.b_ih[l], *gbh = g + m->lay.b_hh[l];
        if (W == 1)
            memset(gwh, 0, (size_t)Q * H * sizeof *g);
        for (int j = q0; j < q1; j++)
            gbi[j] = 0;
        /* over blocks of the W*B (step, row) rows, each block's gate gradients read once from
         * memory for the three sums:
         * dW_ih[q0:q1] = dG[:, q0:q1]^T X, dW_hh[q0:q1] = dG[B:, q0:q1]^T h[:-B], db = sum dG */
        int64_t R = (int64_t)W * B;
        for (int64_t r0 = 0; r0 < R; r0 += HS_LSTM_WG_ROWS) {
            int64_t r1 = r0 + HS_LSTM_WG_ROWS < R ? r0 + HS_LSTM_WG_ROWS : R;
            hs_gemm_tn(Q, Fl, (int)(r1 - r0), dG + r0 * G4 + q0, G4, in + r0 * Fl, Fl, r0 ? 1.0f : 0.0f, gwi, Fl);
            int64_t h0 = r0 > B ? r0 : B; /* dG row r pairs with h row r - B */
            if (h0 < r1)
                hs_gemm_tn(Q, H, (int)(r1 - h0), dG + h0 * G4 + q0, G4, hid + (h0 - B) * H, H, h0 > B ? 1.0f : 0.0f,
                           gwh, H);
            for (int64_t r = r0; r < r1; r++)
                for (int j = q0; j < q1; j++)
                    gbi[j] += dG[r * G4 + j];
        }
        memcpy(gbh + q0, gbi + q0, (size_t)Q * sizeof *gbh);
    }
}

/* Rows [b0, b1) of model n down every layer, as forward took them up: BPTT, then the gradient
 * into the layer below. */
static void hs_lstm_bptt_model(hs_lstm *m, int64_t n, const float *dy, int B, int b0, int b1)
{
    for (int l = m->cfg.layers - 1; l >= 0; l--) {
        hs_lstm_bptt_chunk(m, n, dy, B, l, b0, b1);
        if (l > 0)
            hs_lstm_down_chunk(m, n, B, l, b0, b1);
    }
}


/* A one-chunk model n (B <= HS_LSTM_CHUNK) down every layer with its weight gradients summed
 * step by step: each step's gate gradients dG_t (B, 4H) are used while still in cache (the
 * recurrence, the layer below, dW_ih += dG_t^T x_t, dW_hh += dG_t^T h_{t-1}, db += sum dG_t) and
 * never stored, so backward reads the forward's activations once and writes no (W, B, 4H)
 * buffer. One task owns the model, so the sums (over t = W-1 .. 0) are the same on any thread
 * count, alone or in a batch of models. */
HS_CLONES
static void hs_lstm_backward_model(hs_lstm *m, int64_t n, const float *dy_all, int B)
{
    const hs_lstm_config *c = &m->cfg;
    int L = c->layers, H = c->hidden, W = c->window, K = c->horizon, F = c->features, G4 = 4 * H;
    int64_t Bmax = c->batch;
    const float *p = m->params + n * m->P;
    float *g = m->grads + n * m->P;
    float *dx = HS_WS(m)->dx + n * W * Bmax * H; /* (W, B, H): dL/dh between layers */
    float *dh = HS_WS(m)->dh + n * Bmax * H, *dc = HS_WS(m)->dc + n * Bmax * H;
    _Alignas(64) float dg_stack[HS_LSTM_DG_MAX];
    hs_lstm_head_grads(m, n, dy_all, B);
    for (int l = L - 1; l >= 0; l--) {
        const float *gates = HS_WS(m)->gates + ((n * L + l) * W) * Bmax * G4;
        const float *cell = HS_WS(m)->cell + ((n * L + l) * W) * Bmax * H;
        const float *hid = HS_WS(m)->hid + ((n * L + l) * W) * Bmax * H;
        const float *in = l ? HS_WS(m)->hid + ((n * L + l - 1) * W) * Bmax * H : HS_WS(m)->x + n * W * B * F; /* (W, B, F_l) */
        const float *w_hh = p + m->lay.w_hh[l], *w_ih = p + m->lay.w_ih[l];
        int Fl = l ? H : F;
        float *gwi = g + m->lay.w_ih[l], *gwh = g + m->lay.w_hh[l], *gbi = g + m->lay.b_ih[l];
        memset(gwi, 0, (size_t)G4 * Fl * sizeof *g);
        memset(gwh, 0, (size_t)G4 * H * sizeof *g);
        memset(gbi, 0, (size_t)G4 * sizeof *g);
        memset(dc, 0, (size_t)B * H * sizeof *dc);
        if (l == L - 1) /* the head reads only the last step: dL/dh = dy W_out */
            hs_gemm_nn(B, H, K, dy_all + n * B * K, K, p + m->lay.w_out, H, 0.0f, dh, H);
        else
            memset(dh, 0, (size_t)B * H * sizeof *dh);
        for (int t = W - 1; t >= 0; t--) {
            int64_t r0 = (int64_t)t * B;
            const float *gt = gates + r0 * G4, *ct = cell + r0 * H;
            const float *cprev = t ? cell + (r0 - B) * H : HS_WS(m)->zeros;
            float *dgt = (int64_t)B * G4 <= HS_LSTM_DG_MAX ? dg_stack : (float *)gt;
            const float *from_above = l < L - 1 ? dx + r0 * H : HS_WS(m)->zeros;
            for (int b = 0; b < B; b++) {
                const float *gg = gt + (int64_t)b * G4;
                float *dgg = dgt + (int64_t)b * G4;
                if (t) { /* the step before's gates and cells, and the state h_{t-2} that its dW_hh reads:
                          * fetched from memory while this one computes */
                    for (int k = 0; k < G4; k += 16)
                        __builtin_prefetch(gg - (int64_t)B * G4 + k);
                    for (int k = 0; k < H; k += 16)
                        __builtin_prefetch(cprev - (int64_t)B * H + (int64_t)b * H + k);
                    if (t > 1)
                        for (int k = 0; k < H; k += 16)
                            __builtin_prefetch(hid + (r0 - 2 * (int64_t)B + b) * H + k);
                }
#pragma omp simd
                for (int j = 0; j < H; j++) {
                    int64_t e = (int64_t)b * H + j;
                    float dht = dh[e] + from_above[e];
                    dc[e] = hs_lstm_cell_bwd(gg[j], gg[H + j], gg[2 * H + j], gg[3 * H + j], ct[e], cprev[e], dht,
                                             dc[e], &dgg[j], &dgg[H + j], &dgg[2 * H + j], &dgg[3 * H + j]);
                }
            }
            if (Fl == 1) { /* one feature: dW_ih (4H, 1) and db in one pass over dG_t */
                for (int b = 0; b < B; b++) {
                    const float *dgg = dgt + (int64_t)b * G4;
                    float xb = in[r0 + b];
#pragma omp simd
                    for (int j = 0; j < G4; j++) {
                        gwi[j] += xb * dgg[j];
                        gbi[j] += dgg[j];
                    }
                }
            } else {
                hs_gemm_tn(G4, Fl, B, dgt, G4, in + r0 * Fl, Fl, 1.0f, gwi, Fl);
                for (int b = 0; b < B; b++) {
                    const float *dgg = dgt + (int64_t)b * G4;
#pragma omp simd
                    for (int j = 0; j < G4; j++)
                        gbi[j] += dgg[j];
                }
            }
            if (t) {
                hs_gemm_tn(G4, H, B, dgt, G4, hid + (r0 - B) * H, H, 1.0f, gwh, H);
                hs_gemm_nn(B, H, G4, dgt, G4, w_hh, H, 0.0f, dh, H); /* dL/dh_{t-1}: dG_t W_hh */
            }
            if (l > 0) /* dL/dh of the layer below at step t: dG_t W_ih */
                hs_gemm_nn(B, H, G4, dgt, G4, w_ih, H, 0.0f, dx + r0 * H, H);
        }
        memcpy(g + m->lay.b_hh[l], gbi, (size_t)G4 * sizeof *g);
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

static hs_status hs_lstm_cpu_forward(hs_lstm *m, const float *x, int B)
{
    if (B < 1 || B > m->cfg.batch)
        return hs_error_set(HS_ERR_USAGE, "lstm: batch %d outside 1..%d", B, m->cfg.batch);
    HS_TRY(hs_lstm_cpu_ws_get(m, NULL));
    HS_WS(m)->x = x;
    HS_WS(m)->B = B;
    int64_t N = m->cfg.models, nch = (B + HS_LSTM_CHUNK - 1) / HS_LSTM_CHUNK;
    /* many one-chunk models: their activations outgrow the caches, so forward streams them
     * past; a model of many chunks keeps its own in cache for the backward. Stores alone differ:
     * the results are the same either way. */
    int stream = N > 1 && nch == 1;
    int prev = hs_blas_single_begin();
    /* a chunk's rows depend on no other rows: each task runs them up through every layer */
#pragma omp parallel for schedule(dynamic) if (N * nch > 1)
    for (int64_t task = 0; task < N * nch; task++) {
        int ch = (int)(task % nch), b0 = ch * HS_LSTM_CHUNK;
        int b1 = b0 + HS_LSTM_CHUNK < B ? b0 + HS_LSTM_CHUNK : B;
        for (int l = 0; l < m->cfg.layers; l++)
            hs_lstm_layer_chunk(m, task / nch, x, B, l, b0, b1, stream);
    }
#pragma omp parallel for schedule(dynamic) if (N > 1)
    for (int64_t n = 0; n < N; n++)
        hs_lstm_head(m, n, B);
    openblas_set_num_threads(prev);
    return HS_OK;
}

static hs_status hs_lstm_cpu_backward(hs_lstm *m, const float *dy, int B)
{
    if (m->ws_free != hs_lstm_cpu_ws_free || B != HS_WS(m)->B || !HS_WS(m)->x)
        return hs_error_set(HS_ERR_USAGE, "lstm: backward needs the forward of the same batch first");
    int64_t N = m->cfg.models, nch = (B + HS_LSTM_CHUNK - 1) / HS_LSTM_CHUNK;
    int prev = hs_blas_single_begin();
    if (nch == 1) {
        /* models of one chunk each (one, or many as the parallel work): a task per model */
#pragma omp parallel for schedule(dynamic) if (N > 1)
        for (int64_t n = 0; n < N; n++)
            hs_lstm_backward_model(m, n, dy, B);
    } else {
#pragma omp parallel for schedule(dynamic) if (N * nch > 1)
        for (int64_t task = 0; task < N * nch; task++) {
            int ch = (int)(task % nch), b0 = ch * HS_LSTM_CHUNK;
            hs_lstm_bptt_model(m, task / nch, dy, B, b0, b0 + HS_LSTM_CHUNK < B ? b0 + HS_LSTM_CHUNK : B);
        }
        int np = HS_LSTM_NPARTS(B);
#pragma omp parallel for schedule(dynamic)
        for (int64_t task = 0; task < N * np; task++)
            hs_lstm_weight_grads(m, task / np, dy, B, (int)(task % np), np);
    }
    HS_WS(m)->x = NULL; /* the gates are gradients now */
    openblas_set_num_threads(prev);
    return HS_OK;
}

const hs_lstm_backend *hs_lstm_backend_cpu(void)
{
    static const hs_lstm_backend be = {"cpu", HS_DEVICE_CPU, hs_lstm_cpu_forward, hs_lstm_cpu_backward,
                                       &hs_lstm_cpu_resident, NULL};
    return &be;
}
