/* mlp_cpu.c: the CPU reference of PPO's two MLPs (O -> H -> H -> out, tanh): forward over a
 * batch and the loss gradient by backpropagation, each layer one GEMM over the batch; the
 * per-sample loss math is math/ppo_loss.h. The GEMMs go to the small SGEMM of gemm_cpu.h where it
 * has kernels for this CPU (Debian's OpenBLAS runs newer CPUs on generic SSE kernels), split
 * between threads by rows or by 32-column panels, so every element is summed in the same order
 * on any thread count; elsewhere to OpenBLAS. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm_cpu.h"
#include "hyscale/ppo.h"

struct hs_mlp_work {
    int64_t max_b;
    float *h1[2], *h2[2]; /* (B, H) activations of the actor [0] and critic [1] */
    float *logits;        /* (B, A) */
    float *values;        /* (B) */
    float *dout[2];       /* (B, A) and (B) gradients into the heads */
    float *dh, *dh2;      /* (B, H) scratch of the backward pass */
    float *adv;           /* (B) normalised advantages */
    float *logp;          /* (A) */
    float *pack;          /* (H, max(H, O)) a transposed B packed for the small GEMM */
    float *head;          /* (B, 32) a head's outputs padded to one panel */
    float *dw1t;          /* (O, H) the first layer's gradient, transposed */
    void *buf;
};

static int hs_mm_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* C (M, N) = op(A) op(B) with BLAS's meaning (row-major, beta 0). pack holds N * K floats. */
static void hs_mm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                  int ldc, float *pack)
{
    if (N % HS_GEMM_NR || hs_gemm_isa_best() == HS_GEMM_ISA_NONE) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
                    lda, B, ldb, 0.0f, C, ldc);
        return;
    }
    hs_gemm_b b = HS_GEMM_B_ROWS(B, ldb);
    if (tb) {
        hs_gemm_pack_t(N, K, B, ldb, pack);
        b = HS_GEMM_B_PACKED(pack, K);
    }
    ptrdiff_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
    int nth = hs_mm_threads(), np = N / HS_GEMM_NR;
    if (nth > 1 && M >= 96) { /* by rows */
#pragma omp parallel num_threads(nth)
        {
#ifdef _OPENMP
            int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
            int t = 0, T = 1;
#endif
            int m0 = (int)((int64_t)M * t / T), m1 = (int)((int64_t)M * (t + 1) / T);
            if (m1 > m0)
                hs_gemm(m1 - m0, N, K, A + m0 * ars, ars, acs, b, 0, C + (ptrdiff_t)m0 * ldc, ldc);
        }
    } else if (nth > 1 && np > 1 && K >= 256) { /* a weight gradient: by panels of columns */
#pragma omp parallel for num_threads(nth < np ? nth : np) schedule(static)
        for (int p = 0; p < np; p++) {
            hs_gemm_b bp = {b.b + p * b.ps, b.ps, b.rs};
            hs_gemm(M, HS_GEMM_NR, K, A, ars, acs, bp, 0, C + p * HS_GEMM_NR, ldc);
        }
    } else {
        hs_gemm(M, N, K, A, ars, acs, b, 0, C, ldc);
    }
}

hs_status hs_mlp_work_create(hs_mlp_work **out, const hs_mlp_layout *l, int64_t max_b)
{
    *out = NULL;
    int64_t B = max_b, H = l->hidden, A = l->actions;
    int64_t O = l->obs, KM = H > O ? H : O;
    size_t floats = (size_t)(4 * B * H + B * A + B + B * A + B + 2 * B * H + B + A + H * KM + B * HS_GEMM_NR + O * H);
    hs_mlp_work *w = calloc(1, sizeof *w);
    float *buf = malloc(floats * sizeof *buf);
    if (!w || !buf) {
        free(w);
        free(buf);
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for a workspace of %lld samples", (long long)max_b);
    }
    w->max_b = B;
    w->buf = buf;
    float *q = buf;
    for (int i = 0; i < 2; i++) {
        w->h1[i] = q, q += B * H;
        w->h2[i] = q, q += B * H;
    }
    w->logits = q, q += B * A;
    w->values = q, q += B;
    w->dout[0] = q, q += B * A;
    w->dout[1] = q, q += B;
    w->dh = q, q += B * H;
    w->dh2 = q, q += B * H;
    w->adv = q, q += B;
    w->logp = q, q += A;
    w->pack = q, q += H * KM;
    w->head = q, q += B * HS_GEMM_NR;
    w->dw1t = q;
    *out = w;
    return HS_OK;
}

void hs_mlp_work_free(hs_mlp_work *w)
{
    if (!w)
        return;
    free(w->buf);
    free(w);
}

/* y (B, n) = act(x (B, k) * W^T + b), W (n, k); tanh when act. A head narrower than a panel
 * (n < 32: 9 logits, 1 value) runs as one zero-padded panel into w->head. */
static void hs_dense(const float *x, int64_t B, int64_t k, const float *W, const float *b, int64_t n, float *y, int act,
                     hs_mlp_work *w)
{
    if (n < HS_GEMM_NR && hs_gemm_isa_best() != HS_GEMM_ISA_NONE) {
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t j = 0; j < HS_GEMM_NR; j++)
                w->pack[kk * HS_GEMM_NR + j] = j < n ? W[j * k + kk] : 0.0f;
        hs_gemm_b pb = HS_GEMM_B_PACKED(w->pack, k);
        int nth = hs_mm_threads();
#pragma omp parallel num_threads(nth) if (B >= 96)
        {
#ifdef _OPENMP
            int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
            int t = 0, T = 1;
#endif
            int64_t m0 = B * t / T, m1 = B * (t + 1) / T;
            if (m1 > m0)
                hs_gemm((int)(m1 - m0), HS_GEMM_NR, (int)k, x + m0 * k, k, 1, pb, 0, w->head + m0 * HS_GEMM_NR,
                        HS_GEMM_NR);
        }
        for (int64_t i = 0; i < B; i++)
            for (int64_t j = 0; j < n; j++)
                y[i * n + j] = w->head[i * HS_GEMM_NR + j];
    } else {
        hs_mm(0, 1, (int)B, (int)n, (int)k, x, (int)k, W, (int)k, y, (int)n, w->pack);
    }
    for (int64_t i = 0; i < B; i++) {
        float *yi = y + i * n;
        if (act)
            for (int64_t j = 0; j < n; j++) /* vectorised (libmvec) under -ffast-math */
                yi[j] = tanhf(yi[j] + b[j]);
        else
            for (int64_t j = 0; j < n; j++)
                yi[j] += b[j];
    }
}

/* One MLP's forward: hidden activations into h1, h2 and the head's outputs into out (B, n_out). */
static void hs_mlp_net_forward(const hs_mlp_layout *l, const float *params, int critic, const float *obs, int64_t B,
                               float *h1, float *h2, float *out, hs_mlp_work *w)
{
    int64_t O = l->obs, H = l->hidden, n_out = critic ? 1 : l->actions;
    int64_t w1 = critic ? l->c_w1 : l->a_w1, b1 = critic ? l->c_b1 : l->a_b1;
    int64_t w2 = critic ? l->c_w2 : l->a_w2, b2 = critic ? l->c_b2 : l->a_b2;
    int64_t w3 = critic ? l->c_w3 : l->a_w3, b3 = critic ? l->c_b3 : l->a_b3;
    hs_dense(obs, B, O, params + w1, params + b1, H, h1, 1, w);
    hs_dense(h1, B, H, params + w2, params + b2, H, h2, 1, w);
    hs_dense(h2, B, H, params + w3, params + b3, n_out, out, 0, w);
}

/* Column sums of d (B, n) into g (n). */
static void hs_colsum(const float *d, int64_t B, int64_t n, float *g)
{
    memset(g, 0, (size_t)n * sizeof *g);
    for (int64_t i = 0; i < B; i++)
        for (int64_t j = 0; j < n; j++)
            g[j] += d[i * n + j];
}

/* One MLP's backward from dout (B, n_out) into grad; dh and dh2 are (B, H) scratch. */
static void hs_mlp_net_backward(const hs_mlp_layout *l, const float *params, int critic, const float *obs, int64_t B,
                                const float *h1, const float *h2, const float *dout, float *dh, float *dh2,
                                float *grad, hs_mlp_work *w)
{
    int O = (int)l->obs, H = (int)l->hidden, n_out = critic ? 1 : (int)l->actions, b = (int)B;
    int64_t w1 = critic ? l->c_w1 : l->a_w1, b1 = critic ? l->c_b1 : l->a_b1;
    int64_t w2 = critic ? l->c_w2 : l->a_w2, b2 = critic ? l->c_b2 : l->a_b2;
    int64_t w3 = critic ? l->c_w3 : l->a_w3, b3 = critic ? l->c_b3 : l->a_b3;
    /* head: dW3 (n_out, H) = dout^T h2; dh2 = dout W3 */
    hs_mm(1, 0, n_out, H, b, dout, n_out, h2, H, grad + w3, H, w->pack);
    hs_colsum(dout, B, n_out, grad + b3);
    hs_mm(0, 0, b, H, n_out, dout, n_out, params + w3, H, dh2, H, w->pack);
    for (int64_t i = 0; i < B * H; i++)
        dh2[i] *= 1.0f - h2[i] * h2[i];
    /* layer 2: dW2 (H, H) = dz2^T h1; dh1 = dz2 W2 */
    hs_mm(1, 0, H, H, b, dh2, H, h1, H, grad + w2, H, w->pack);
    hs_colsum(dh2, B, H, grad + b2);
    hs_mm(0, 0, b, H, H, dh2, H, params + w2, H, dh, H, w->pack);
    for (int64_t i = 0; i < B * H; i++)
        dh[i] *= 1.0f - h1[i] * h1[i];
    /* layer 1: dW1^T (O, H) = obs^T dz1 (H columns: whole panels), then transposed into dW1 (H, O) */
    hs_mm(1, 0, O, H, b, obs, O, dh, H, w->dw1t, H, w->pack);
    for (int j = 0; j < H; j++)
        for (int i = 0; i < O; i++)
            grad[w1 + (int64_t)j * O + i] = w->dw1t[(int64_t)i * H + j];
    hs_colsum(dh, B, H, grad + b1);
}

void hs_mlp_forward_cpu(const hs_mlp_layout *l, const float *params, const float *obs, int64_t B, float *logits,
                        float *values, hs_mlp_work *w)
{
    HS_ASSERT(B <= w->max_b);
    if (logits)
        hs_mlp_net_forward(l, params, 0, obs, B, w->h1[0], w->h2[0], logits, w);
    if (values)
        hs_mlp_net_forward(l, params, 1, obs, B, w->h1[1], w->h2[1], values, w);
}

double hs_ppo_loss_grad_cpu(const hs_mlp_layout *l, const float *params, const hs_ppo_minibatch *mb, hs_ppo_coefs k,
                            float *grad, hs_ppo_stats *st, hs_mlp_work *w)
{
    int64_t B = mb->B, A = l->actions;
    HS_ASSERT(B >= 2 && B <= w->max_b);
    hs_mlp_forward_cpu(l, params, mb->obs, B, w->logits, w->values, w);
    /* advantages normalised per minibatch with the unbiased standard deviation (torch's std) */
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < B; i++)
        mean += mb->adv[i];
    mean /= (double)B;
    for (int64_t i = 0; i < B; i++)
        var += (mb->adv[i] - mean) * (mb->adv[i] - mean);
    float sd = (float)sqrt(var / (double)(B - 1));
    for (int64_t i = 0; i < B; i++)
        w->adv[i] = (mb->adv[i] - (float)mean) / (sd + 1e-8f);
    float inv_b = 1.0f / (float)B;
    double pg = 0.0, vl = 0.0, ent = 0.0, kl = 0.0, cf = 0.0;
    for (int64_t i = 0; i < B; i++) {
        hs_ppo_terms o = hs_ppo_sample_grad(w->logits + i * A, (int)A, mb->action[i], mb->logp[i], w->adv[i],
                                            w->values[i], mb->ret[i], k, inv_b, w->logp, w->dout[0] + i * A,
                                            w->dout[1] + i);
        pg += o.pg;
        vl += o.value;
        ent += o.entropy;
        kl += o.kl;
        cf += o.clipped;
    }
    hs_mlp_net_backward(l, params, 0, mb->obs, B, w->h1[0], w->h2[0], w->dout[0], w->dh, w->dh2, grad, w);
    hs_mlp_net_backward(l, params, 1, mb->obs, B, w->h1[1], w->h2[1], w->dout[1], w->dh, w->dh2, grad, w);
    double n = (double)B;
    double loss = pg / n - k.c_entropy * ent / n + k.c_value * vl / n;
    if (st) {
        st->loss = loss;
        st->pg_loss = pg / n;
        st->value_loss = vl / n;
        st->entropy = ent / n;
        st->approx_kl = kl / n;
        st->clip_frac = cf / n;
    }
    return loss;
}
