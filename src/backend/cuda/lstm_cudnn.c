/* lstm_cudnn.c: the cuDNN v9 RNN path of the LSTM (lstm_cudnn.h), the reference a user knows,
 * for the LSTM layers only (the head stays in lstm_cuda.c).
 *
 * The mapping. cuDNN keeps one model's weights in an opaque weight space. At create,
 * cudnnGetRNNWeightParams tells where each matrix and bias of layer l (the pseudo-layer of a
 * unidirectional network) lives: linear-layer ids 0..3 are the input matrices and b_ih of the
 * gates i, f, g, o (PyTorch's order, cuDNN's too), ids 4..7 the recurrent ones and b_hh. Each
 * matrix is reported as (1, H, F_l) or (1, H, H) with unit column stride, i.e. row-major, the
 * same as rows [id * H, (id + 1) * H) of our w_ih (4H, F_l) / w_hh (4H, H); create checks those
 * dimensions and strides and fails rather than copy into a layout it does not understand. The
 * result is a list of (offset in our P floats, offset in the weight space, count) copies,
 * merged where both sides are contiguous; forward and backward copy model n's parameters in,
 * backward copies the weight gradients out through the same list (dweight space = weight
 * space layout), leaving w_out and b_out alone.
 *
 * Semantics: zero initial h and c (hx, cx NULL), no dropout, double bias (b_ih and b_hh apart,
 * as PyTorch), float data and math, CUDNN_FMA_MATH so no TF32 or tensor-op rounding: results
 * match the CPU path within float32 summation-order differences, not bitwise.
 *
 * Limits. cuDNN has no model dimension: N models run one after the other, each with its own
 * reserve space and y (both needed by backward), so memory grows as N * (reserve(batch) +
 * W * batch * H) floats and the launch count as N. The input of the last forward is copied
 * (N, W, B, F) because backward-weights needs it and the interface does not pass it again.
 * Backward runs for the batch of the last forward. Sizes come from cuDNN at cfg->batch; a
 * smaller B that asked for more workspace or reserve than that would fail with HS_ERR_DEVICE.
 */
#include <cudnn.h>
#include <stdlib.h>

#include "backend/cuda/cuda_check.h"
#include "lstm_cudnn.h"

#define HS_CUDNN_CHECK(expr)                                                                                  \
    do {                                                                                                      \
        cudnnStatus_t hs_cs_ = (expr);                                                                        \
        if (hs_cs_ != CUDNN_STATUS_SUCCESS)                                                                   \
            return hs_error_set(HS_ERR_DEVICE, "cuDNN error %d (%s) in %s at %s:%d: %s", (int)hs_cs_,          \
                                cudnnGetErrorString(hs_cs_), #expr, __FILE__, __LINE__, __func__);            \
    } while (0)

enum { HS_CUDNN_MAX_COPIES = 32 }; /* 2 layers x 8 linear layers x (matrix, bias), before merging */

typedef struct hs_cudnn_copy {
    int64_t src;   /* floats into one model's P parameters (hyscale's layout) */
    int64_t dst;   /* floats into the weight space (and the dweight space) */
    int64_t count; /* floats */
} hs_cudnn_copy;

struct hs_lstm_cudnn {
    hs_lstm_config cfg;
    int64_t P;
    cudaStream_t stream;
    cudnnHandle_t handle;
    cudnnRNNDescriptor_t rnn;
    cudnnDropoutDescriptor_t drop;         /* dropout 0: none between layers */
    cudnnRNNDataDescriptor_t x_desc;       /* (W, B, F), set for the B of each forward */
    cudnnRNNDataDescriptor_t y_desc;       /* (W, B, H) */
    cudnnTensorDescriptor_t h_desc;        /* (L, B, H): h and c */
    cudnnTensorDescriptor_t m_desc, b_desc; /* what cudnnGetRNNWeightParams reports */
    size_t w_bytes, work_bytes, reserve_bytes; /* reserve_bytes per model, 256-aligned */
    float *w;                /* weight space, one model at a time */
    float *dw;               /* dweight space, same layout */
    void *work;              /* workspace, shared by all calls */
    unsigned char *reserve;  /* (N, reserve_bytes) */
    float *x;                /* (N, W, B, F): the input of the last forward */
    float *y;                /* (N, W, batch, H): model n's (W, B, H) at n * W * batch * H */
    float *dy;               /* (W, batch, H): zero but the last step */
    float *dx;               /* (W, batch, F): discarded */
    int *seq_host;           /* (batch) = W */
    int32_t *seq_dev;        /* (batch) = W, device */
    hs_cudnn_copy map[HS_CUDNN_MAX_COPIES];
    int nmap;
    int B; /* batch of the last forward, 0 before one succeeded */
};

/* The data and state descriptors for batch B; the workspace and reserve sizes cuDNN needs. */
static hs_status cudnn_set_batch(hs_lstm_cudnn *c, int B, size_t *work, size_t *reserve)
{
    const hs_lstm_config *g = &c->cfg;
    HS_CUDNN_CHECK(cudnnSetRNNDataDescriptor(c->x_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                             g->window, B, g->features, c->seq_host, NULL));
    HS_CUDNN_CHECK(cudnnSetRNNDataDescriptor(c->y_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                             g->window, B, g->hidden, c->seq_host, NULL));
    int dims[3] = {g->layers, B, g->hidden}, strides[3] = {B * g->hidden, g->hidden, 1};
    HS_CUDNN_CHECK(cudnnSetTensorNdDescriptor(c->h_desc, CUDNN_DATA_FLOAT, 3, dims, strides));
    HS_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(c->handle, c->rnn, CUDNN_FWD_MODE_TRAINING, c->x_desc, work, reserve));
    return HS_OK;
}

/* Fails unless d describes a (1, rows, cols) float block with unit column stride (row-major). */
static hs_status cudnn_check_block(cudnnTensorDescriptor_t d, int rows, int cols, const char *what, int layer, int id)
{
    cudnnDataType_t dt = CUDNN_DATA_FLOAT;
    int nb = 0, dims[3] = {0, 0, 0}, strides[3] = {0, 0, 0};
    HS_CUDNN_CHECK(cudnnGetTensorNdDescriptor(d, 3, &dt, &nb, dims, strides));
    if (nb != 3 || dt != CUDNN_DATA_FLOAT || dims[0] != 1 || dims[1] != rows || dims[2] != cols || strides[2] != 1 ||
        strides[1] != cols)
        return hs_error_set(HS_ERR_DEVICE,
                            "%s:%d: cuDNN reports the %s of layer %d, linear layer %d as %d dims (%d, %d, %d) "
                            "strides (%d, %d, %d); expected row-major (1, %d, %d) floats",
                            __FILE__, __LINE__, what, layer, id, nb, dims[0], dims[1], dims[2], strides[0], strides[1],
                            strides[2], rows, cols);
    return HS_OK;
}

/* Appends one copy (addr: where cuDNN put it in c->w), merged with the last when both sides run on. */
static hs_status cudnn_map_add(hs_lstm_cudnn *c, int64_t src, const void *addr, int64_t count)
{
    int64_t dst = (const float *)addr - c->w;
    if (!addr || dst < 0 || (size_t)(dst + count) * sizeof(float) > c->w_bytes)
        return hs_error_set(HS_ERR_DEVICE, "%s:%d: cuDNN places a block of %lld floats outside its %zu-byte weight space",
                            __FILE__, __LINE__, (long long)count, c->w_bytes);
    hs_cudnn_copy *last = c->nmap > 0 ? &c->map[c->nmap - 1] : NULL;
    if (last && last->src + last->count == src && last->dst + last->count == dst) {
        last->count += count;
        return HS_OK;
    }
    HS_ASSERT(c->nmap < HS_CUDNN_MAX_COPIES);
    c->map[c->nmap++] = (hs_cudnn_copy){src, dst, count};
    return HS_OK;
}

/* The copy list: per layer the 8 matrices (ids 0..7), then the 8 biases, so runs can merge. */
static hs_status cudnn_build_map(hs_lstm_cudnn *c)
{
    const hs_lstm_config *g = &c->cfg;
    int H = g->hidden;
    hs_lstm_layout lay;
    hs_lstm_get_layout(g, &lay);
    c->nmap = 0;
    for (int l = 0; l < g->layers; l++)
        for (int pass = 0; pass < 2; pass++)
            for (int id = 0; id < 8; id++) {
                void *m = NULL, *b = NULL;
                HS_CUDNN_CHECK(cudnnGetRNNWeightParams(c->handle, c->rnn, l, c->w_bytes, c->w, id, c->m_desc, &m,
                                                       c->b_desc, &b));
                int rec = id >= 4, gate = id % 4, cols = rec ? H : (l == 0 ? g->features : H);
                if (pass == 0) {
                    HS_TRY(cudnn_check_block(c->m_desc, H, cols, "matrix", l, id));
                    int64_t base = rec ? lay.w_hh[l] : lay.w_ih[l];
                    HS_TRY(cudnn_map_add(c, base + (int64_t)gate * H * cols, m, (int64_t)H * cols));
                } else {
                    HS_TRY(cudnn_check_block(c->b_desc, H, 1, "bias", l, id));
                    int64_t base = rec ? lay.b_hh[l] : lay.b_ih[l];
                    HS_TRY(cudnn_map_add(c, base + (int64_t)gate * H, b, H));
                }
            }
    return HS_OK;
}

static hs_status cudnn_alloc(void **p, size_t bytes)
{
    HS_CUDA_CHECK(cudaMalloc(p, bytes > 0 ? bytes : 1));
    return HS_OK;
}

static hs_status cudnn_setup(hs_lstm_cudnn *c)
{
    const hs_lstm_config *g = &c->cfg;
    int64_t N = g->models, W = g->window, Bm = g->batch, F = g->features, H = g->hidden;
    HS_CUDNN_CHECK(cudnnCreate(&c->handle));
    HS_CUDNN_CHECK(cudnnSetStream(c->handle, c->stream));
    HS_CUDNN_CHECK(cudnnCreateRNNDescriptor(&c->rnn));
    HS_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&c->drop));
    HS_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&c->x_desc));
    HS_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&c->y_desc));
    HS_CUDNN_CHECK(cudnnCreateTensorDescriptor(&c->h_desc));
    HS_CUDNN_CHECK(cudnnCreateTensorDescriptor(&c->m_desc));
    HS_CUDNN_CHECK(cudnnCreateTensorDescriptor(&c->b_desc));
    /* dropout 0 needs no state buffer (PyTorch's set_no_dropout does the same) */
    HS_CUDNN_CHECK(cudnnSetDropoutDescriptor(c->drop, c->handle, 0.0f, NULL, 0, 0));
    /* projSize = hiddenSize: no projection; padded I/O lets the data descriptors be unpacked */
    HS_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(c->rnn, CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS,
                                            CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT,
                                            CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, g->features, g->hidden, g->hidden,
                                            g->layers, c->drop, CUDNN_RNN_PADDED_IO_ENABLED));
    HS_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(c->handle, c->rnn, &c->w_bytes));

    c->seq_host = malloc((size_t)Bm * sizeof *c->seq_host);
    if (!c->seq_host)
        return hs_error_set(HS_ERR_NOMEM, "%s:%d: lstm cudnn: out of memory for %lld sequence lengths", __FILE__,
                            __LINE__, (long long)Bm);
    for (int64_t b = 0; b < Bm; b++)
        c->seq_host[b] = g->window;
    HS_TRY(cudnn_set_batch(c, g->batch, &c->work_bytes, &c->reserve_bytes));
    c->reserve_bytes = (c->reserve_bytes + 255) & ~(size_t)255;

    HS_TRY(cudnn_alloc((void **)&c->w, c->w_bytes));
    HS_TRY(cudnn_alloc((void **)&c->dw, c->w_bytes));
    HS_TRY(cudnn_alloc(&c->work, c->work_bytes));
    HS_TRY(cudnn_alloc((void **)&c->reserve, (size_t)N * c->reserve_bytes));
    HS_TRY(cudnn_alloc((void **)&c->x, (size_t)(N * W * Bm * F) * sizeof(float)));
    HS_TRY(cudnn_alloc((void **)&c->y, (size_t)(N * W * Bm * H) * sizeof(float)));
    HS_TRY(cudnn_alloc((void **)&c->dy, (size_t)(W * Bm * H) * sizeof(float)));
    HS_TRY(cudnn_alloc((void **)&c->dx, (size_t)(W * Bm * F) * sizeof(float)));
    HS_TRY(cudnn_alloc((void **)&c->seq_dev, (size_t)Bm * sizeof *c->seq_dev));
    HS_CUDA_CHECK(cudaMemcpy(c->seq_dev, c->seq_host, (size_t)Bm * sizeof *c->seq_dev, cudaMemcpyHostToDevice));
    HS_CUDA_CHECK(cudaMemsetAsync(c->w, 0, c->w_bytes, c->stream)); /* any padding between blocks */
    return cudnn_build_map(c);
}

hs_status hs_lstm_cudnn_create(const hs_lstm_config *cfg, cudaStream_t stream, hs_lstm_cudnn **out)
{
    HS_ASSERT(cfg && out);
    HS_ASSERT(cfg->models >= 1 && cfg->layers >= 1 && cfg->layers <= 2 && cfg->hidden >= 1 && cfg->features >= 1 &&
              cfg->window >= 1 && cfg->batch >= 1);
    *out = NULL;
    hs_lstm_cudnn *c = calloc(1, sizeof *c);
    if (!c)
        return hs_error_set(HS_ERR_NOMEM, "%s:%d: lstm cudnn: out of memory", __FILE__, __LINE__);
    c->cfg = *cfg;
    c->P = hs_lstm_param_count(cfg);
    c->stream = stream;
    hs_status st = cudnn_setup(c);
    if (st != HS_OK) {
        hs_lstm_cudnn_free(c);
        return st;
    }
    *out = c;
    return HS_OK;
}

void hs_lstm_cudnn_free(hs_lstm_cudnn *c)
{
    if (!c)
        return;
    cudaFree(c->w);
    cudaFree(c->dw);
    cudaFree(c->work);
    cudaFree(c->reserve);
    cudaFree(c->x);
    cudaFree(c->y);
    cudaFree(c->dy);
    cudaFree(c->dx);
    cudaFree(c->seq_dev);
    if (c->m_desc)
        cudnnDestroyTensorDescriptor(c->m_desc);
    if (c->b_desc)
        cudnnDestroyTensorDescriptor(c->b_desc);
    if (c->h_desc)
        cudnnDestroyTensorDescriptor(c->h_desc);
    if (c->x_desc)
        cudnnDestroyRNNDataDescriptor(c->x_desc);
    if (c->y_desc)
        cudnnDestroyRNNDataDescriptor(c->y_desc);
    if (c->rnn)
        cudnnDestroyRNNDescriptor(c->rnn);
    if (c->drop)
        cudnnDestroyDropoutDescriptor(c->drop);
    if (c->handle)
        cudnnDestroy(c->handle);
    free(c->seq_host);
    free(c);
}

/* Model parameters p (P floats, hyscale's layout) -> the weight space. */
static hs_status cudnn_load_weights(hs_lstm_cudnn *c, const float *p)
{
    for (int i = 0; i < c->nmap; i++) {
        const hs_cudnn_copy *e = &c->map[i];
        HS_CUDA_CHECK(cudaMemcpyAsync(c->w + e->dst, p + e->src, (size_t)e->count * sizeof(float),
                                      cudaMemcpyDeviceToDevice, c->stream));
    }
    return HS_OK;
}

/* The dweight space -> the LSTM part of model gradients g (P floats, hyscale's layout). */
static hs_status cudnn_store_grads(hs_lstm_cudnn *c, float *g)
{
    for (int i = 0; i < c->nmap; i++) {
        const hs_cudnn_copy *e = &c->map[i];
        HS_CUDA_CHECK(cudaMemcpyAsync(g + e->src, c->dw + e->dst, (size_t)e->count * sizeof(float),
                                      cudaMemcpyDeviceToDevice, c->stream));
    }
    return HS_OK;
}

hs_status hs_lstm_cudnn_forward(hs_lstm_cudnn *c, const float *params, const float *x, int B, float *h_last,
                                int64_t hl_stride)
{
    HS_ASSERT(c && params && x && h_last);
    HS_ASSERT(B >= 1 && B <= c->cfg.batch);
    const hs_lstm_config *g = &c->cfg;
    int64_t W = g->window, xs = W * B * g->features, ys = W * g->batch * g->hidden, bh = (int64_t)B * g->hidden;
    size_t work = 0, reserve = 0;
    c->B = 0;
    HS_TRY(cudnn_set_batch(c, B, &work, &reserve));
    if (work > c->work_bytes || reserve > c->reserve_bytes)
        return hs_error_set(HS_ERR_DEVICE,
                            "%s:%d: cuDNN asks for %zu workspace and %zu reserve bytes at B = %d, more than the %zu "
                            "and %zu it asked for at B = %d",
                            __FILE__, __LINE__, work, reserve, B, c->work_bytes, c->reserve_bytes, g->batch);
    HS_CUDA_CHECK(cudaMemcpyAsync(c->x, x, (size_t)(g->models * xs) * sizeof(float), cudaMemcpyDeviceToDevice,
                                  c->stream));
    for (int n = 0; n < g->models; n++) {
        float *y = c->y + n * ys;
        HS_TRY(cudnn_load_weights(c, params + n * c->P));
        HS_CUDNN_CHECK(cudnnRNNForward(c->handle, c->rnn, CUDNN_FWD_MODE_TRAINING, c->seq_dev, c->x_desc,
                                       c->x + n * xs, c->y_desc, y, c->h_desc, NULL, NULL, c->h_desc, NULL, NULL,
                                       c->w_bytes, c->w, c->work_bytes, c->work, c->reserve_bytes,
                                       c->reserve + (size_t)n * c->reserve_bytes));
        HS_CUDA_CHECK(cudaMemcpyAsync(h_last + n * hl_stride, y + (W - 1) * bh, (size_t)bh * sizeof(float),
                                      cudaMemcpyDeviceToDevice, c->stream));
    }
    c->B = B;
    return HS_OK;
}

hs_status hs_lstm_cudnn_backward(hs_lstm_cudnn *c, const float *params, const float *dh_last, int64_t dl_stride,
                                 float *grads)
{
    HS_ASSERT(c && params && dh_last && grads);
    HS_ASSERT(c->B >= 1); /* a forward has run (and succeeded) first */
    const hs_lstm_config *g = &c->cfg;
    int B = c->B; /* the descriptors are still those of that forward */
    int64_t W = g->window, xs = W * B * g->features, ys = W * g->batch * g->hidden, bh = (int64_t)B * g->hidden;
    /* dy (W, B, H): only the last step carries a gradient; cuDNN reads dy and does not write it */
    HS_CUDA_CHECK(cudaMemsetAsync(c->dy, 0, (size_t)((W - 1) * bh) * sizeof(float), c->stream));
    for (int n = 0; n < g->models; n++) {
        float *y = c->y + n * ys;
        void *res = c->reserve + (size_t)n * c->reserve_bytes;
        HS_CUDA_CHECK(cudaMemcpyAsync(c->dy + (W - 1) * bh, dh_last + n * dl_stride, (size_t)bh * sizeof(float),
                                      cudaMemcpyDeviceToDevice, c->stream));
        HS_TRY(cudnn_load_weights(c, params + n * c->P));
        HS_CUDNN_CHECK(cudnnRNNBackwardData_v8(c->handle, c->rnn, c->seq_dev, c->y_desc, y, c->dy, c->x_desc, c->dx,
                                               c->h_desc, NULL, NULL, NULL, c->h_desc, NULL, NULL, NULL, c->w_bytes,
                                               c->w, c->work_bytes, c->work, c->reserve_bytes, res));
        /* zero, then CUDNN_WGRAD_MODE_ADD: the mode PyTorch and Paddle use with the v8 call */
        HS_CUDA_CHECK(cudaMemsetAsync(c->dw, 0, c->w_bytes, c->stream));
        HS_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(c->handle, c->rnn, CUDNN_WGRAD_MODE_ADD, c->seq_dev, c->x_desc,
                                                  c->x + n * xs, c->h_desc, NULL, c->y_desc, y, c->w_bytes, c->dw,
                                                  c->work_bytes, c->work, c->reserve_bytes, res));
        HS_TRY(cudnn_store_grads(c, grads + n * c->P));
    }
    return HS_OK;
}
