/* mlp_cpu.c: the CPU reference of PPO's two MLPs (O -> H -> H -> out, tanh): forward over a
 * batch and the loss gradient by backpropagation, each layer one GEMM over the rows; the
 * per-sample loss math is math/ppo_loss.h.
 *
 * A batch is cut into a fixed number of row parts (it depends on the batch size only), one
 * OpenMP task each, every GEMM inside single-threaded: the small SGEMM of gemm_cpu.h where it has
 * kernels for this CPU (Debian's OpenBLAS runs newer CPUs on generic SSE kernels), else OpenBLAS.
 * Each part writes its own weight gradient and the parts are added in order, so the result is
 * the same bits on any number of threads. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ppo_act.h"
#include "cpu_clones.h"
#include "gemm_cpu.h"
#include "hyscale/ppo.h"

#define HS_MLP_PARTS_MAX 8
#define HS_MLP_PART_ROWS 128 /* rows a part takes at least */

/* One part's scratch. */
typedef struct hs_mlp_part {
    float *pack;  /* (H, max(H, O)) a transposed B packed for the small GEMM */
    float *dw1t;  /* (O, H) the first layer's gradient, transposed */
    float *grad;  /* (total) this part's gradient */
    double pg, vl, ent, kl, cf;
} hs_mlp_part;

struct hs_mlp_work {
    int64_t max_b;
    float *h1[2], *h2[2]; /* (B, H) activations of the actor [0] and critic [1] */
    float *logits;        /* (B, A) */
    float *values;        /* (B) */
    float *dout[2];       /* (B, A) and (B) gradients into the heads */
    float *dh, *dh2;      /* (B, H) scratch of the backward pass */
    float *head;          /* (B, 32) a head's outputs padded to one panel */
    float *adv;           /* (B) normalised advantages */
    float *logp;          /* (B, A) scratch of the loss */
    hs_mlp_part part[HS_MLP_PARTS_MAX];
    void *buf;
};

hs_status hs_mlp_work_create(hs_mlp_work **out, const hs_mlp_layout *l, int64_t max_b)
{
    *out = NULL;
    int64_t B = max_b, H = l->hidden, A = l->actions, O = l->obs, KM = H > O ? H : O;
    size_t floats = (size_t)(4 * B * H + B * A + B + B * A + B + 2 * B * H + B * HS_GEMM_NR + B + B * A) +
                    (size_t)HS_MLP_PARTS_MAX * (size_t)(H * KM + O * H + l->total);
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
    w->head = q, q += B * HS_GEMM_NR;
    w->adv = q, q += B;
    w->logp = q, q += B * A;
    for (int p = 0; p < HS_MLP_PARTS_MAX; p++) {
        w->part[p].pack = q, q += H * KM;
        w->part[p].dw1t = q, q += O * H;
        w->part[p].grad = q, q += l->total;
    }
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

/* Row parts of a batch of B: a function of B alone. */
static int hs_mlp_parts(int64_t B)
{
    int64_t p = B / HS_MLP_PART_ROWS;
    return p < 1 ? 1 : p > HS_MLP_PARTS_MAX ? HS_MLP_PARTS_MAX : (int)p;
}

/* C (M, N) = op(A) op(B) with BLAS's meaning (row-major, beta 0), on one thread. pack holds
 * N * K floats. */
static void hs_mm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                  int ldc, float *pack)
{
    if (N % HS_GEMM_NR == 0 && hs_gemm_isa_best() != HS_GEMM_ISA_NONE) {
        hs_gemm_b b = HS_GEMM_B_ROWS(B, ldb);
        if (tb) {
            hs_gemm_pack_t(N, K, B, ldb, pack);
            b = HS_GEMM_B_PACKED(pack, K);
        }
        if (hs_gemm(M, N, K, A, ta ? 1 : lda, ta ? lda : 1, b, 0, C, ldc))
            return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda,
                B, ldb, 0.0f, C, ldc);
}

/* y (B, n) += b, then tanh when act. Vectorised per instruction set (libmvec's tanhf). */
static HS_CLONES void hs_bias_act(float *y, int64_t B, int64_t n, const float *b, int act)
{
    for (int64_t i = 0; i < B; i++) {
        float *yi = y + i * n;
        if (act)
            for (int64_t j = 0; j < n; j++)
                yi[j] = tanhf(yi[j] + b[j]);
        else
            for (int64_t j = 0; j < n; j++)
                yi[j] += b[j];
    }
}

/* d (B*H) *= 1 - h^2: back through tanh. */
static HS_CLONES void hs_tanh_back(float *d, const float *h, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        d[i] *= 1.0f - h[i] * h[i];
}

/* y (B, n) = act(x (B, k) W^T + b), W (n, k). A head narrower than a panel (9 logits, 1 value)
 * runs as one zero-padded panel into head (B, 32). */
static void hs_dense(const float *x, int64_t B, int64_t k, const float *W, const float *b, int64_t n, float *y, int act,
                     float *pack, float *head)
{
    if (n < HS_GEMM_NR && hs_gemm_isa_best() != HS_GEMM_ISA_NONE) {
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t j = 0; j < HS_GEMM_NR; j++)
                pack[kk * HS_GEMM_NR + j] = j < n ? W[j * k + kk] : 0.0f;
        if (hs_gemm((int)B, HS_GEMM_NR, (int)k, x, k, 1, HS_GEMM_B_PACKED(pack, k), 0, head, HS_GEMM_NR)) {
            for (int64_t i = 0; i < B; i++)
                for (int64_t j = 0; j < n; j++)
                    y[i * n + j] = head[i * HS_GEMM_NR + j];
            hs_bias_act(y, B, n, b, act);
            return;
        }
    }
    hs_mm(0, 1, (int)B, (int)n, (int)k, x, (int)k, W, (int)k, y, (int)n, pack);
    hs_bias_act(y, B, n, b, act);
}

/* Rows [r0, r1) of one MLP's forward: activations into h1, h2 and the head's outputs into out. */
static void hs_net_forward(const hs_mlp_layout *l, const float *params, int critic, const float *obs, int64_t r0,
                           int64_t r1, float *h1, float *h2, float *out, float *pack, float *head)
{
    hs_mlp_row_net n = hs_mlp_row_net_of(l, critic); /* one MLP's offsets (backend/ppo_act.h) */
    int64_t O = l->obs, H = l->hidden, B = r1 - r0;
    hs_dense(obs + r0 * O, B, O, params + n.w1, params + n.b1, H, h1 + r0 * H, 1, pack, head + r0 * HS_GEMM_NR);
    hs_dense(h1 + r0 * H, B, H, params + n.w2, params + n.b2, H, h2 + r0 * H, 1, pack, head + r0 * HS_GEMM_NR);
    hs_dense(h2 + r0 * H, B, H, params + n.w3, params + n.b3, n.n_out, out + r0 * n.n_out, 0, pack,
             head + r0 * HS_GEMM_NR);
}

/* Column sums of d (B, n) into g (n). */
static void hs_colsum(const float *d, int64_t B, int64_t n, float *g)
{
    memset(g, 0, (size_t)n * sizeof *g);
    for (int64_t i = 0; i < B; i++)
        for (int64_t j = 0; j < n; j++)
            g[j] += d[i * n + j];
}

/* Rows [r0, r1) of one MLP's backward from dout into the part's gradient. */
static void hs_net_backward(const hs_mlp_layout *l, const float *params, int critic, const float *obs, int64_t r0,
                            int64_t r1, const float *h1, const float *h2, const float *dout, float *dh, float *dh2,
                            hs_mlp_part *pt)
{
    hs_mlp_row_net n = hs_mlp_row_net_of(l, critic); /* one MLP's offsets (backend/ppo_act.h) */
    int O = (int)l->obs, H = (int)l->hidden, no = (int)n.n_out, b = (int)(r1 - r0);
    float *g = pt->grad;
    obs += r0 * O, h1 += r0 * H, h2 += r0 * H, dout += r0 * no, dh += r0 * H, dh2 += r0 * H;
    /* head: dW3 (n_out, H) = dout^T h2; dh2 = dout W3 */
    hs_mm(1, 0, no, H, b, dout, no, h2, H, g + n.w3, H, pt->pack);
    hs_colsum(dout, b, no, g + n.b3);
    hs_mm(0, 0, b, H, no, dout, no, params + n.w3, H, dh2, H, pt->pack);
    hs_tanh_back(dh2, h2, (int64_t)b * H);
    /* layer 2: dW2 (H, H) = dz2^T h1; dh1 = dz2 W2 */
    hs_mm(1, 0, H, H, b, dh2, H, h1, H, g + n.w2, H, pt->pack);
    hs_colsum(dh2, b, H, g + n.b2);
    hs_mm(0, 0, b, H, H, dh2, H, params + n.w2, H, dh, H, pt->pack);
    hs_tanh_back(dh, h1, (int64_t)b * H);
    /* layer 1: dW1^T (O, H) = obs^T dz1 (whole panels), then transposed into dW1 (H, O) */
    hs_mm(1, 0, O, H, b, obs, O, dh, H, pt->dw1t, H, pt->pack);
    for (int j = 0; j < H; j++)
        for (int i = 0; i < O; i++)
            g[n.w1 + (int64_t)j * O + i] = pt->dw1t[(int64_t)i * H + j];
    hs_colsum(dh, b, H, g + n.b1);
}

void hs_mlp_forward_cpu(const hs_mlp_layout *l, const float *params, const float *obs, int64_t B, float *logits,
                        float *values, hs_mlp_work *w)
{
    HS_ASSERT(B <= w->max_b);
    int P = hs_mlp_parts(B);
#pragma omp parallel for schedule(static) if (P > 1)
    for (int p = 0; p < P; p++) {
        int64_t r0 = B * p / P, r1 = B * (p + 1) / P;
        if (logits)
            hs_net_forward(l, params, 0, obs, r0, r1, w->h1[0], w->h2[0], logits, w->part[p].pack, w->head);
        if (values)
            hs_net_forward(l, params, 1, obs, r0, r1, w->h1[1], w->h2[1], values, w->part[p].pack, w->head);
    }
}

double hs_ppo_loss_grad_cpu(const hs_mlp_layout *l, const float *params, const hs_ppo_minibatch *mb, hs_ppo_coefs k,
                            float *grad, hs_ppo_stats *st, hs_mlp_work *w)
{
    int64_t B = mb->B, A = l->actions;
    HS_ASSERT(B >= 2 && B <= w->max_b);
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
    int P = hs_mlp_parts(B);
#pragma omp parallel for schedule(static) if (P > 1)
    for (int p = 0; p < P; p++) {
        hs_mlp_part *pt = &w->part[p];
        int64_t r0 = B * p / P, r1 = B * (p + 1) / P;
        hs_net_forward(l, params, 0, mb->obs, r0, r1, w->h1[0], w->h2[0], w->logits, pt->pack, w->head);
        hs_net_forward(l, params, 1, mb->obs, r0, r1, w->h1[1], w->h2[1], w->values, pt->pack, w->head);
        pt->pg = pt->vl = pt->ent = pt->kl = pt->cf = 0.0;
        for (int64_t i = r0; i < r1; i++) {
            hs_ppo_terms o = hs_ppo_sample_grad(w->logits + i * A, (int)A, mb->action[i], mb->logp[i], w->adv[i],
                                                w->values[i], mb->ret[i], k, inv_b, w->logp + i * A,
                                                w->dout[0] + i * A, w->dout[1] + i);
            pt->pg += o.pg;
            pt->vl += o.value;
            pt->ent += o.entropy;
            pt->kl += o.kl;
            pt->cf += o.clipped;
        }
        hs_net_backward(l, params, 0, mb->obs, r0, r1, w->h1[0], w->h2[0], w->dout[0], w->dh, w->dh2, pt);
        hs_net_backward(l, params, 1, mb->obs, r0, r1, w->h1[1], w->h2[1], w->dout[1], w->dh, w->dh2, pt);
    }
    /* the parts' gradients added in part order */
    int64_t total = l->total;
#pragma omp parallel for schedule(static) if (P > 1)
    for (int64_t i = 0; i < total; i++) {
        float s = w->part[0].grad[i];
        for (int p = 1; p < P; p++)
            s += w->part[p].grad[i];
        grad[i] = s;
    }
    double pg = 0.0, vl = 0.0, ent = 0.0, kl = 0.0, cf = 0.0;
    for (int p = 0; p < P; p++) {
        pg += w->part[p].pg;
        vl += w->part[p].vl;
        ent += w->part[p].ent;
        kl += w->part[p].kl;
        cf += w->part[p].cf;
    }
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
