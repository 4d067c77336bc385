/* lstm_recursive.cu: the recursive LSTM forecast of hs_lstm_predict_cuda (lstm.h) in one
 * persistent launch: for N models from one end e, `steps` forecasts, K at a time, each window of
 * W inputs run from a zero state through L layers and the head; the CPU twin is hs_lstm_predict
 * (src/forecast/lstm_train.c).
 *
 * The wavefront. Window s (s = 0 .. S-1, S = ceil(steps / K)) reads the inputs at position
 * indices s*K .. s*K + W - 1, where index i is time e - W + i: the first W are known (the host
 * gathers them, pad before the series start), index W + f is forecast f. Window s runs its depth j
 * at tick T = s*K + j, so at tick T every window in flight reads the same index i = T, and
 * window s's forecasts s*K .. s*K + K-1 (head after its last depth, tick s*K + W - 1) are the
 * inputs of ticks s*K + W .. : they are ready one tick before they are needed. The critical path is
 * ticks = (S - 1) * K + W steps of one cell instead of S * W, with ceil(W / K) windows in flight.
 *
 * The grid: one thread-block cluster of C blocks (C SMs, C <= 8, the portable maximum) per
 * model. Window s lives in block s mod C, slot (s / C) mod NS; a slot is reused by window
 * s + C*NS, which starts after s has finished because C*NS*K >= W, or never, when C*NS >= S
 * (few steps: the plan sizes the slots by min(ceil(W / K), S)). Each block holds every
 * weight of its model (packed, below), the h (double-buffered by tick parity) and c of its slots,
 * a ring of the input values (Rv = W + (C + 4) K slots, one mbarrier each) and a ring of the
 * calendar inputs. The block that finishes a window sends each of its K forecasts into the value
 * ring of every block of the cluster with st.async, which completes 4 bytes on the receiving
 * slot's mbarrier (distributed shared memory; only forecasts that a later tick reads). A tick
 * waits on its slot's barrier (phase parity = the slot's delivery count) just before it reads its
 * input value, after the recurrent product, so the delivery's latency hides behind the largest
 * part of the work; nothing else crosses blocks, so there is no cluster-wide barrier per tick
 * (an earlier version's barrier.cluster arrive/wait cost a GPU-scope membar per thread and tick:
 * 5.0 ms for the 1440-step case; now 4.6 ms, and 4.1 ms with the schedule's counters kept
 * incrementally instead of divided each tick). Blocks can run apart by at most
 * C K + 1 ticks (each tick needs a forecast that every block produces in turn): the ring's
 * (C + 4) K spare slots keep a delivery from landing on a value not yet read.
 *
 * The product. Block of 512 threads: thread (u, s), u = tid / 8 the unit of a pass of 64 units,
 * s = tid % 8 a slice of the k range (float4 chunks c = s, s + 8, ...). For a group of 8 slots it
 * sums the 4 gates of unit u over its slice for all 8 slots (32 accumulators: each weight it
 * loads serves 8 slots, each h float4 is a broadcast among the warp's 4 units), then a
 * reduce-scatter over the unit's 8 lanes (28 shuffles) leaves lane s with slot s's 4 complete
 * gates, so it does the cell update (math/lstm_cell.h) with no other exchange. Passes over units
 * (H > 64) and groups of 8 slots (NS > 8) loop. Layer 0 adds b_ih + b_hh + W_ih x after the
 * reduce (x is one input vector per tick, shared by every window); layer 1 sums W_hh1 h1(t-1) and
 * W_ih1 h0(t) in the same accumulators. A window's first depth starts from h = c = 0: its
 * recurrent sums are replaced by 0 (a select) and its c_prev by 0. FP32 FMA throughout, fixed
 * summation order: deterministic.
 *
 * Packed weights per model (float4 = the gates i, f, g, o of one unit at one k):
 *   whh0, wih1, whh1: (H, 4, NC) float4, element (u, i, c) = W[g*H + u][4c + i] (0 for k >= H),
 *     NC = HP / 4, HP = H rounded up to 4; (u, i, c) lets a unit's 8 slices read 128 contiguous
 *     bytes per load;
 *   wih0: (H, F) float4; b0, b1: (H) float4 = b_ih + b_hh; wout (K, H), bout (K) floats.
 *
 * Measured (H100 SXM, 1.98 GHz): H = 64, L = 1, W = 60, K = 1, 1440 steps (1499 ticks, C = 8):
 * 4.14 ms, 2.8 us a tick; K = 8, 100 steps (156 ticks, one block): 0.44 ms, the same per tick. A
 * tick is latency-bound inside a block (product, the 3 dependent shuffle levels, the cell's
 * chain of expf/division/tanhf, a block barrier, the head), not by the cross-SM delivery.
 *
 * What limits each path (512 threads, one block per SM: 120-122 registers a thread, no spills):
 *   - the wavefront with the weights in shared memory: 16 H HP bytes per (4H, H) matrix (one for
 *     L = 1, three for L = 2) plus the small ones and the state below must fit the opt-in maximum
 *     per block (227 KiB on sm_90). With W = 60, K = 1 (8 slots a block): H <= 115 for L = 1
 *     (H = 64: 74 KiB) and H <= 64 for L = 2 (H = 64: 209 KiB; 213 KiB with the calendar);
 *   - the fallback, the same kernel with the weights packed into global memory (scratch, N x PK
 *     floats, read through L1/L2: slower, every block of the cluster reads them each tick) when they
 *     do not fit: only the state must, 4 (3 L NS HP + 3 Rv + 256 + 2 NS) bytes: with 8 slots,
 *     H <= ~2400 for L = 1 and ~1200 for L = 2;
 *   - beyond that the plan refuses (cudaErrorInvalidConfiguration) and the caller keeps the CPU.
 *   Slots: NS = 8 ceil(ceil(W / K) / (8 C)) with C <= 8, so long windows at K = 1 (W > 64) run
 *   several groups of 8 slots a tick: the time per tick grows with W / C.
 * On a GPU without clusters (sm_80) C = 1: the forecasts are plain stores, read after a block
 * barrier.
 */
#include <cooperative_groups.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "backend/cuda/kernels.h"
#include "launch.cuh"
#include "hyscale/math/lstm_calendar.h"
#include "hyscale/math/lstm_cell.h"

namespace cg = cooperative_groups;

#define HS_REC_THREADS 512
#define HS_REC_SLICES 8                                /* lanes per unit; also slots per group */
#define HS_REC_UNITS (HS_REC_THREADS / HS_REC_SLICES) /* units per pass: 64 */
#define HS_REC_MAX_CLUSTER 8                           /* the portable cluster size */
#define HS_REC_FMAX 5                                  /* value + 4 calendar inputs */
#define HS_REC_CAL_RING 64                             /* ticks of calendar inputs kept */
#define HS_REC_CAL_CHUNK 32                            /* computed at a time, 32 ticks ahead */

/* Everything the kernel needs, derived once on the host (hs_rec_make_dims). */
struct hs_rec_dims {
    int L, H, HP, NC, F, W, K, steps, S, ticks, C, NS, Rv, npass;
    int64_t P, PK;                                         /* params per model, packed floats per model */
    int64_t w_ih[2], w_hh[2], b_ih[2], b_hh[2], w_out, b_out; /* offsets in the P params */
    int64_t o_whh0, o_wih0, o_b0, o_wih1, o_whh1, o_b1;   /* packed, in float4 */
    int64_t o_wout, o_bout;                                /* packed, in floats */
    int64_t start_unix, step_seconds, t0;                  /* calendar: time of index 0 is t0 */
    int s_h, s_c, s_v, s_cal, s_dep, s_bar;                /* shared-memory offsets, floats */
    int64_t smem_bytes;
};

/* ---- cluster helpers: a cluster on sm_90, a lone block below ------------------------------- */

static __device__ __forceinline__ int hs_rec_rank(int C)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    (void)C;
    return (int)cg::this_cluster().block_rank();
#else
    return (int)(blockIdx.x % (unsigned)C);
#endif
}

/* ---- crossing blocks: on sm_90 a cluster barrier at the start and the end, and the forecasts'
 * delivery by st.async into every block's value ring with an mbarrier per ring slot; below
 * sm_90 (C = 1, one block per model) block barriers and plain stores. ----------------------- */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900

static __device__ __forceinline__ uint32_t hs_rec_saddr(const void *p)
{
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* barrier.cluster.arrive releases and .wait acquires by default (PTX ISA); the forms without
 * .aligned tolerate any convergence state. */
static __device__ __forceinline__ void hs_rec_cluster_sync(void)
{
    asm volatile("barrier.cluster.arrive;\n" ::: "memory");
    asm volatile("barrier.cluster.wait;\n" ::: "memory");
}

/* Arms a slot's barrier for its next delivery: its one arrival, expecting 4 bytes. */
static __device__ __forceinline__ void hs_rec_bar_arm(uint64_t *bar)
{
    asm volatile("{\n\t.reg .b64 st;\n\t"
                 "mbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], 4;\n}\n" ::"r"(hs_rec_saddr(bar))
                 : "memory");
}

/* Every slot's barrier: one arrival a phase; the fence makes the inits visible to the other
 * blocks' st.async (with the cluster barrier that follows). */
static __device__ void hs_rec_bars_init(uint64_t *bars, int Rv, int tid, int nthreads)
{
    for (int i = tid; i < Rv; i += nthreads)
        asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\n" ::"r"(hs_rec_saddr(bars + i)) : "memory");
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

/* After a block barrier that follows the inits: every slot armed for its first delivery. */
static __device__ void hs_rec_bars_arm(uint64_t *bars, int Rv, int tid, int nthreads)
{
    for (int i = tid; i < Rv; i += nthreads)
        hs_rec_bar_arm(bars + i);
}

/* Before tick T reads index T of the ring (slot q = T % Rv, wrap = T / Rv): a forecast (T >= W)
 * has landed once the phase of its slot's barrier numbered by the slot's deliveries so far
 * (wrap, less one for a slot that began with a window value) has completed; acquire at cluster
 * scope, as the sender's complete_tx releases at cluster scope. Thread 0 then arms the slot for
 * index T + Rv. */
static __device__ __forceinline__ void hs_rec_await(uint64_t *bars, int T, int q, int wrap, int W, int tid)
{
    if (T < W)
        return;
    const unsigned parity = (unsigned)((wrap - (q < W ? 1 : 0)) & 1);
    asm volatile("{\n\t.reg .pred done;\n"
                 "HS_REC_WAIT_%=:\n\t"
                 "mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 done, [%0], %1;\n\t"
                 "@!done bra HS_REC_WAIT_%=;\n}\n" ::"r"(hs_rec_saddr(bars + q)),
                 "r"(parity)
                 : "memory");
    if (tid == 0)
        hs_rec_bar_arm(bars + q);
}

/* y into a value-ring slot of block `rank` (slot, bar: this block's addresses of the slot and of
 * its barrier), completing 4 bytes on that block's barrier. */
static __device__ __forceinline__ void hs_rec_deliver(float *slot, uint64_t *bar, int rank, float y)
{
    uint32_t a, b;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(a) : "r"(hs_rec_saddr(slot)), "r"(rank));
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(b) : "r"(hs_rec_saddr(bar)), "r"(rank));
    asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [%0], %1, [%2];\n" ::"r"(a),
                 "r"(__float_as_uint(y)), "r"(b)
                 : "memory");
}

#else

static __device__ __forceinline__ void hs_rec_cluster_sync(void) { __syncthreads(); }

static __device__ void hs_rec_bars_init(uint64_t *bars, int Rv, int tid, int nthreads)
{
    (void)bars;
    (void)Rv;
    (void)tid;
    (void)nthreads;
}

static __device__ void hs_rec_bars_arm(uint64_t *bars, int Rv, int tid, int nthreads)
{
    (void)bars;
    (void)Rv;
    (void)tid;
    (void)nthreads;
}

/* The head of tick T-1 stored the value with a plain store. */
static __device__ __forceinline__ void hs_rec_await(uint64_t *bars, int T, int q, int wrap, int W, int tid)
{
    (void)bars;
    (void)T;
    (void)q;
    (void)wrap;
    (void)W;
    (void)tid;
    __syncthreads();
}

static __device__ __forceinline__ void hs_rec_deliver(float *slot, uint64_t *bar, int rank, float y)
{
    (void)bar;
    (void)rank;
    *slot = y;
}

#endif

/* ---- the schedule ------------------------------------------------------------------------- */

/* Slot l of block q, followed tick by tick with no division in the loop: the depth of its
 * window at the current tick (-1: idle) and the next window to start there (q + C l + C NS m,
 * below S). A slot holds one window at a time, as C NS K >= W, or one in all, as C NS >= S
 * (the plan), so a start never cuts a window short. */
struct hs_rec_slot {
    int depth, next_sw, next_start;
};

static __device__ __forceinline__ void hs_rec_slot_start(hs_rec_slot &sl, int T, const hs_rec_dims &d)
{
    if (sl.next_start == T && sl.next_sw < d.S) {
        sl.depth = 0;
        sl.next_sw += d.C * d.NS;
        sl.next_start += d.C * d.NS * d.K;
    }
}

/* At tick 0. */
static __device__ void hs_rec_slot_begin(hs_rec_slot &sl, int q, int l, const hs_rec_dims &d)
{
    sl.depth = -1;
    sl.next_sw = q + d.C * l;
    sl.next_start = sl.next_sw * d.K;
    hs_rec_slot_start(sl, 0, d);
}

/* From tick T to T + 1. */
static __device__ __forceinline__ void hs_rec_slot_step(hs_rec_slot &sl, int T, const hs_rec_dims &d)
{
    sl.depth = sl.depth >= 0 && sl.depth + 1 < d.W ? sl.depth + 1 : -1;
    hs_rec_slot_start(sl, T + 1, d);
}

/* The calendar inputs of tick t into the ring (4 floats a tick). */
static __device__ void hs_rec_calendar(const hs_rec_dims &d, float *cal, int t)
{
    if (t < 0 || t >= d.ticks)
        return;
    float f[HS_REC_FMAX];
    hs_lstm_calendar_at(d.start_unix, d.step_seconds, d.t0 + t, f);
    float *dst = cal + (t % HS_REC_CAL_RING) * 4;
    dst[0] = f[1];
    dst[1] = f[2];
    dst[2] = f[3];
    dst[3] = f[4];
}

/* ---- packing ------------------------------------------------------------------------------ */

/* (4H, H) row-major gate rows -> (H, 4, NC) float4, items i0, i0 + stride, ... */
static __device__ void hs_rec_pack_rows(const float *__restrict__ src, int H, int HP, int NC, float4 *dst, int i0,
                                        int stride)
{
    const int n4 = H * HP;
    for (int e = i0; e < n4; e += stride) {
        const int u = e / HP, rem = e - u * HP, i = rem / NC, c = rem - i * NC, k = 4 * c + i;
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (k < H) {
            v.x = src[(int64_t)(0 * H + u) * H + k];
            v.y = src[(int64_t)(1 * H + u) * H + k];
            v.z = src[(int64_t)(2 * H + u) * H + k];
            v.w = src[(int64_t)(3 * H + u) * H + k];
        }
        dst[e] = v;
    }
}

/* Model p's parameters (PyTorch layout) into the packed block wb (16-byte aligned). */
static __device__ void hs_rec_pack(const float *__restrict__ p, const hs_rec_dims &d, float *wb, int i0, int stride)
{
    const int H = d.H, F = d.F;
    float4 *w4 = reinterpret_cast<float4 *>(wb);
    hs_rec_pack_rows(p + d.w_hh[0], H, d.HP, d.NC, w4 + d.o_whh0, i0, stride);
    for (int e = i0; e < H * F; e += stride) {
        const int u = e / F, f = e - u * F;
        w4[d.o_wih0 + e] = make_float4(p[d.w_ih[0] + (int64_t)(0 * H + u) * F + f],
                                       p[d.w_ih[0] + (int64_t)(1 * H + u) * F + f],
                                       p[d.w_ih[0] + (int64_t)(2 * H + u) * F + f],
                                       p[d.w_ih[0] + (int64_t)(3 * H + u) * F + f]);
    }
    for (int l = 0; l < d.L; l++) {
        const int64_t ob = l ? d.o_b1 : d.o_b0;
        for (int u = i0; u < H; u += stride)
            w4[ob + u] = make_float4(p[d.b_ih[l] + 0 * H + u] + p[d.b_hh[l] + 0 * H + u],
                                     p[d.b_ih[l] + 1 * H + u] + p[d.b_hh[l] + 1 * H + u],
                                     p[d.b_ih[l] + 2 * H + u] + p[d.b_hh[l] + 2 * H + u],
                                     p[d.b_ih[l] + 3 * H + u] + p[d.b_hh[l] + 3 * H + u]);
    }
    if (d.L == 2) {
        hs_rec_pack_rows(p + d.w_ih[1], H, d.HP, d.NC, w4 + d.o_wih1, i0, stride);
        hs_rec_pack_rows(p + d.w_hh[1], H, d.HP, d.NC, w4 + d.o_whh1, i0, stride);
    }
    for (int e = i0; e < d.K * H; e += stride)
        wb[d.o_wout + e] = p[d.w_out + e];
    for (int e = i0; e < d.K; e += stride)
        wb[d.o_bout + e] = p[d.b_out + e];
}

/* ---- the product -------------------------------------------------------------------------- */

/* acc[r][g] += sum over this lane's slice of w (one unit's (4, NC) float4) times h (8 slots of HP). */
static __device__ __forceinline__ void hs_rec_matvec(const float4 *w, const float *h, int HP, int NC, int s,
                                                     float (&acc)[HS_REC_SLICES][4])
{
    for (int c = s; c < NC; c += HS_REC_SLICES) {
        const float4 w0 = w[c], w1 = w[NC + c], w2 = w[2 * NC + c], w3 = w[3 * NC + c]; /* k = 4c + 0..3 */
#pragma unroll
        for (int r = 0; r < HS_REC_SLICES; r++) {
            const float4 hv = *reinterpret_cast<const float4 *>(h + r * HP + 4 * c);
            acc[r][0] = fmaf(w0.x, hv.x, acc[r][0]);
            acc[r][1] = fmaf(w0.y, hv.x, acc[r][1]);
            acc[r][2] = fmaf(w0.z, hv.x, acc[r][2]);
            acc[r][3] = fmaf(w0.w, hv.x, acc[r][3]);
            acc[r][0] = fmaf(w1.x, hv.y, acc[r][0]);
            acc[r][1] = fmaf(w1.y, hv.y, acc[r][1]);
            acc[r][2] = fmaf(w1.z, hv.y, acc[r][2]);
            acc[r][3] = fmaf(w1.w, hv.y, acc[r][3]);
            acc[r][0] = fmaf(w2.x, hv.z, acc[r][0]);
            acc[r][1] = fmaf(w2.y, hv.z, acc[r][1]);
            acc[r][2] = fmaf(w2.z, hv.z, acc[r][2]);
            acc[r][3] = fmaf(w2.w, hv.z, acc[r][3]);
            acc[r][0] = fmaf(w3.x, hv.w, acc[r][0]);
            acc[r][1] = fmaf(w3.y, hv.w, acc[r][1]);
            acc[r][2] = fmaf(w3.z, hv.w, acc[r][2]);
            acc[r][3] = fmaf(w3.w, hv.w, acc[r][3]);
        }
    }
}

/* Reduce-scatter over the 8 lanes of a unit (lanes 8q .. 8q+7 of the warp, s = lane % 8): lane s
 * gets the sums of acc[s][0..3] over the 8 lanes. Halving by 4, 2, 1: at each level a lane keeps
 * the half of the slots whose bit matches its own and adds its partner's copy of that half. */
static __device__ __forceinline__ void hs_rec_reduce8(const float (&acc)[HS_REC_SLICES][4], int s, float (&a)[4])
{
    const unsigned full = 0xffffffffu;
    const bool b4 = (s & 4) != 0, b2 = (s & 2) != 0, b1 = (s & 1) != 0;
    float t1[4][4]; /* slot i + 4*b4 */
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const float keep = b4 ? acc[i + 4][q] : acc[i][q], send = b4 ? acc[i][q] : acc[i + 4][q];
            t1[i][q] = keep + __shfl_xor_sync(full, send, 4);
        }
    float t2[2][4]; /* slot i + 2*b2 + 4*b4 */
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const float keep = b2 ? t1[i + 2][q] : t1[i][q], send = b2 ? t1[i][q] : t1[i + 2][q];
            t2[i][q] = keep + __shfl_xor_sync(full, send, 2);
        }
#pragma unroll
    for (int q = 0; q < 4; q++) { /* slot b1 + 2*b2 + 4*b4 = s */
        const float keep = b1 ? t2[1][q] : t2[0][q], send = b1 ? t2[0][q] : t2[1][q];
        a[q] = keep + __shfl_xor_sync(full, send, 1);
    }
}

/* ---- the kernel --------------------------------------------------------------------------- */

/* Grid: N * C blocks of HS_REC_THREADS, clusters of C (model n = blockIdx.x / C).
 * params (N, P); win (N, W) the first window's values; out (N, steps); scratch (N, PK) when
 * !WSMEM (the packed weights), else unused. */
template <bool WSMEM>
static __global__ void __launch_bounds__(HS_REC_THREADS, 1)
    hs_rec_kernel(const float *__restrict__ params, const float *__restrict__ win, float *__restrict__ out,
                  float *scratch, const hs_rec_dims d)
{
    extern __shared__ float4 hs_rec_smem[];
    float *const sm = reinterpret_cast<float *>(hs_rec_smem);
    const int C = d.C, NS = d.NS, H = d.H, HP = d.HP, NC = d.NC, L = d.L, F = d.F;
    const int rank = hs_rec_rank(C);
    const int n = (int)(blockIdx.x / (unsigned)C);
    const int tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5, nwarps = (int)(blockDim.x >> 5);

    /* the packed weights: this block's shared memory, or the model's scratch packed by the
     * cluster's blocks together */
    float *const wbf = WSMEM ? sm : scratch + (int64_t)n * d.PK;
    const float4 *const wb4 = reinterpret_cast<const float4 *>(wbf);
    float *const hb = sm + d.s_h;  /* (L, 2, NS, HP): h by layer and tick parity */
    float *const cs = sm + d.s_c;  /* (L, NS, HP) */
    float *const vr = sm + d.s_v;  /* (Rv): input value of index i at i % Rv */
    float *const cal = sm + d.s_cal; /* (64, 4): calendar inputs of tick t at t % 64 */
    int *const dep = reinterpret_cast<int *>(sm + d.s_dep); /* (2, NS): slot depths by tick parity */
    uint64_t *const bars = reinterpret_cast<uint64_t *>(sm + d.s_bar); /* (Rv): the value ring's barriers */

    /* prologue */
    if (WSMEM)
        hs_rec_pack(params + (int64_t)n * d.P, d, wbf, tid, (int)blockDim.x);
    else
        hs_rec_pack(params + (int64_t)n * d.P, d, wbf, rank * (int)blockDim.x + tid, C * (int)blockDim.x);
    for (int i = tid; i < 3 * L * NS * HP; i += (int)blockDim.x)
        hb[i] = 0.f; /* h and c, contiguous: finite everywhere, zero in the padding k >= H */
    for (int i = tid; i < d.Rv; i += (int)blockDim.x)
        vr[i] = i < d.W ? win[(int64_t)n * d.W + i] : 0.f;
    if (F > 1)
        for (int t = tid; t < HS_REC_CAL_RING; t += (int)blockDim.x)
            hs_rec_calendar(d, cal, t);
    hs_rec_slot sl; /* thread tid < NS follows slot tid */
    if (tid < NS) {
        hs_rec_slot_begin(sl, rank, tid, d);
        dep[tid] = sl.depth;
    }
    hs_rec_bars_init(bars, d.Rv, tid, (int)blockDim.x);
    __syncthreads();
    hs_rec_bars_arm(bars, d.Rv, tid, (int)blockDim.x);
    hs_rec_cluster_sync(); /* every block has started, packed and set its barriers */

    const int ul = tid / HS_REC_SLICES, s = tid % HS_REC_SLICES;
    const int NG = NS / HS_REC_SLICES;
    int qv = 0, wv = 0;                       /* T % Rv, T / Rv */
    int hsw = 0, htick = d.W - 1, hown = 0, hslot = 0; /* the next window to finish: at tick htick,
                                                        * in block hown (= hsw % C), slot hslot */
    for (int T = 0; T < d.ticks; T++) {
        const int cur = T & 1, nxt = cur ^ 1;
        if (tid < NS) {
            hs_rec_slot_step(sl, T, d);
            dep[nxt * NS + tid] = sl.depth;
        }
        if (F > 1 && warp == nwarps - 1 && T >= HS_REC_CAL_CHUNK && T % HS_REC_CAL_CHUNK == 0)
            hs_rec_calendar(d, cal, T + HS_REC_CAL_CHUNK + lane); /* ticks T+32 .. T+63 */
        const int *dc = dep + cur * NS;
        float x[HS_REC_FMAX] = {0.f, 0.f, 0.f, 0.f, 0.f};
        for (int l = 0; l < L; l++) {
            if (l)
                __syncthreads(); /* layer 0's h of this tick is complete */
            const float *hprev = hb + (l * 2 + nxt) * NS * HP; /* h_l(T-1) */
            const float *hin = hb + cur * NS * HP;             /* h_0(T): layer 1's input */
            float *hcur = hb + (l * 2 + cur) * NS * HP;
            float *cl = cs + l * NS * HP;
            const float4 *whh = wb4 + (l ? d.o_whh1 : d.o_whh0), *wih = wb4 + d.o_wih1;
            const float4 *bias = wb4 + (l ? d.o_b1 : d.o_b0);
            for (int p = 0; p < d.npass; p++) {
                const bool wact = p * HS_REC_UNITS + warp * 4 < H; /* the warp's 4 units, uniform */
                const int uu = p * HS_REC_UNITS + ul, u = uu < H ? uu : H - 1;
                for (int g = 0; g < NG; g++) {
                    const int *dg = dc + g * HS_REC_SLICES;
                    bool any = false;
#pragma unroll
                    for (int r = 0; r < HS_REC_SLICES; r++)
                        any = any || dg[r] >= 0;
                    float a[4] = {0.f, 0.f, 0.f, 0.f};
                    if (wact && any) { /* uniform over the warp: the shuffles see all 32 lanes */
                        float acc[HS_REC_SLICES][4];
#pragma unroll
                        for (int r = 0; r < HS_REC_SLICES; r++)
                            acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = 0.f;
                        hs_rec_matvec(whh + (int64_t)u * HP, hprev + g * HS_REC_SLICES * HP, HP, NC, s, acc);
#pragma unroll
                        for (int r = 0; r < HS_REC_SLICES; r++)
                            if (dg[r] <= 0) /* first depth (h_prev = 0) or idle */
                                acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = 0.f;
                        if (l)
                            hs_rec_matvec(wih + (int64_t)u * HP, hin + g * HS_REC_SLICES * HP, HP, NC, s, acc);
                        hs_rec_reduce8(acc, s, a);
                    }
                    if (l == 0 && p == 0 && g == 0) { /* every thread, once a tick */
                        hs_rec_await(bars, T, qv, wv, d.W, tid); /* index T has landed */
                        x[0] = vr[qv];
                        if (F > 1) {
                            const float *ct = cal + (T % HS_REC_CAL_RING) * 4;
                            x[1] = ct[0];
                            x[2] = ct[1];
                            x[3] = ct[2];
                            x[4] = ct[3];
                        }
                    }
                    const int slot = g * HS_REC_SLICES + s, ds = dc[slot];
                    if (wact && uu < H && ds >= 0) {
                        const float4 b = bias[u];
                        float ai = a[0] + b.x, af = a[1] + b.y, ag = a[2] + b.z, ao = a[3] + b.w;
                        if (l == 0) {
#pragma unroll
                            for (int f = 0; f < HS_REC_FMAX; f++)
                                if (f < F) {
                                    const float4 w = wb4[d.o_wih0 + (int64_t)u * F + f];
                                    ai = fmaf(w.x, x[f], ai);
                                    af = fmaf(w.y, x[f], af);
                                    ag = fmaf(w.z, x[f], ag);
                                    ao = fmaf(w.w, x[f], ao);
                                }
                        }
                        const float cp = ds > 0 ? cl[slot * HP + u] : 0.f;
                        float c, h;
                        hs_lstm_cell_fwd(&ai, &af, &ag, &ao, cp, &c, &h);
                        cl[slot * HP + u] = c;
                        hcur[slot * HP + u] = h;
                    }
                }
            }
        }
        __syncthreads(); /* the top layer's h of this tick is complete */
        /* the head of the window that finished at this tick, in the block that holds it */
        if (T == htick && hsw < d.S) {
            const int sw = hsw;
            if (hown == rank) {
                const float *ht = hb + ((L - 1) * 2 + cur) * NS * HP + hslot * HP;
                const float *wout = wbf + d.o_wout, *bout = wbf + d.o_bout;
                for (int k = warp; k < d.K; k += nwarps) {
                    float y = 0.f;
                    for (int j = lane; j < H; j += 32)
                        y = fmaf(wout[(int64_t)k * H + j], ht[j], y);
#pragma unroll
                    for (int o = 16; o > 0; o >>= 1)
                        y += __shfl_xor_sync(0xffffffffu, y, o); /* every lane ends with the same sum */
                    y += bout[k];
                    const int f = sw * d.K + k;
                    if (f < d.steps) {
                        int q = qv + 1 + k; /* index W + f = T + 1 + k */
                        while (q >= d.Rv)
                            q -= d.Rv;
                        if (lane < C && d.W + f < d.ticks) /* a later tick reads it */
                            hs_rec_deliver(vr + q, bars + q, lane, y);
                        if (lane == 0)
                            out[(int64_t)n * d.steps + f] = y;
                    }
                }
            }
            hsw++;
            htick += d.K;
            if (++hown == C) {
                hown = 0;
                if (++hslot == NS)
                    hslot = 0;
            }
        }
        if (++qv == d.Rv) {
            qv = 0;
            wv++;
        }
    }
    hs_rec_cluster_sync(); /* every delivery was awaited; no block leaves before the others */
}

/* ---- host side ---------------------------------------------------------------------------- */

static int64_t hs_rec_up4(int64_t x) { return (x + 3) & ~(int64_t)3; }

static void hs_rec_make_dims(const hs_lstm_rec_shape *sh, int C, int NS, int wsmem, hs_rec_dims *d)
{
    const int H = sh->H, L = sh->L, K = sh->K, W = sh->W, F = sh->F;
    d->L = L;
    d->H = H;
    d->HP = (H + 3) & ~3;
    d->NC = d->HP / 4;
    d->F = F;
    d->W = W;
    d->K = K;
    d->steps = sh->steps;
    d->S = (sh->steps + K - 1) / K;
    d->ticks = (d->S - 1) * K + W;
    d->C = C;
    d->NS = NS;
    d->Rv = W + (C + 4) * K; /* see the ring in the comment on top */
    d->npass = (H + HS_REC_UNITS - 1) / HS_REC_UNITS;
    d->P = sh->P;
    for (int l = 0; l < 2; l++) {
        d->w_ih[l] = sh->lay.w_ih[l];
        d->w_hh[l] = sh->lay.w_hh[l];
        d->b_ih[l] = sh->lay.b_ih[l];
        d->b_hh[l] = sh->lay.b_hh[l];
    }
    d->w_out = sh->lay.w_out;
    d->b_out = sh->lay.b_out;
    int64_t hp = d->HP, rows = (int64_t)H * hp; /* float4 per packed (4H, H) matrix */
    d->o_whh0 = 0;
    d->o_wih0 = rows;
    d->o_b0 = d->o_wih0 + (int64_t)H * F;
    d->o_wih1 = d->o_b0 + H;
    d->o_whh1 = d->o_wih1 + (L == 2 ? rows : 0);
    d->o_b1 = d->o_whh1 + (L == 2 ? rows : 0);
    int64_t end4 = d->o_b1 + (L == 2 ? H : 0);
    d->o_wout = 4 * end4;
    d->o_bout = d->o_wout + (int64_t)K * H;
    d->PK = hs_rec_up4(d->o_bout + K);
    d->start_unix = sh->start_unix;
    d->step_seconds = sh->step_seconds;
    d->t0 = sh->t0;
    int64_t base = wsmem ? d->PK : 0;
    int64_t s_h = base, s_c = s_h + (int64_t)L * 2 * NS * hp, s_v = s_c + (int64_t)L * NS * hp;
    int64_t s_cal = s_v + hs_rec_up4(d->Rv), s_dep = s_cal + 4 * HS_REC_CAL_RING;
    int64_t s_bar = s_dep + hs_rec_up4(2 * (int64_t)NS); /* 16-byte aligned, 8 bytes a slot */
    d->smem_bytes = 4 * (s_bar + 2 * (int64_t)d->Rv);
    /* offsets are used only once smem_bytes fits the device (< 2^31) */
    d->s_h = (int)(s_h < INT32_MAX ? s_h : 0);
    d->s_c = (int)(s_c < INT32_MAX ? s_c : 0);
    d->s_v = (int)(s_v < INT32_MAX ? s_v : 0);
    d->s_cal = (int)(s_cal < INT32_MAX ? s_cal : 0);
    d->s_dep = (int)(s_dep < INT32_MAX ? s_dep : 0);
    d->s_bar = (int)(s_bar < INT32_MAX ? s_bar : 0);
}

static cudaError_t hs_rec_set_smem(int wsmem, int64_t bytes)
{
    return wsmem ? cudaFuncSetAttribute(hs_rec_kernel<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes)
                 : cudaFuncSetAttribute(hs_rec_kernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
}

/* Clusters of C blocks with `bytes` of shared memory that the device can run at once (0: none). */
static cudaError_t hs_rec_clusters_fit(int wsmem, int C, int64_t bytes, int *count)
{
    cudaLaunchConfig_t cfg = {};
    cudaLaunchAttribute attr[1];
    cfg.gridDim = dim3((unsigned)C, 1, 1);
    cfg.blockDim = dim3(HS_REC_THREADS, 1, 1);
    cfg.dynamicSmemBytes = (size_t)bytes;
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = (unsigned)C;
    attr[0].val.clusterDim.y = 1;
    attr[0].val.clusterDim.z = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    return wsmem ? cudaOccupancyMaxActiveClusters(count, hs_rec_kernel<true>, &cfg)
                 : cudaOccupancyMaxActiveClusters(count, hs_rec_kernel<false>, &cfg);
}

extern "C" int hs_kernel_lstm_recursive_plan(const hs_lstm_rec_shape *sh, hs_lstm_rec_plan *plan)
{
    if (!sh || !plan || sh->N < 1 || sh->L < 1 || sh->L > 2 || sh->H < 1 || (sh->F != 1 && sh->F != HS_REC_FMAX) ||
        sh->W < 1 || sh->K < 1 || sh->steps < 1 || (int64_t)sh->steps + 3 * (int64_t)sh->K + sh->W > INT32_MAX / 2)
        return (int)cudaErrorInvalidValue;
    int dev = 0, optin = 0, sms = 0, major = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    if (e != cudaSuccess)
        return (int)e;
    const int S = (sh->steps + sh->K - 1) / sh->K, inflight = (sh->W + sh->K - 1) / sh->K;
    const int NW = inflight < S ? inflight : S; /* slots the whole cluster needs */
    int C = (NW + HS_REC_SLICES - 1) / HS_REC_SLICES;
    if (C > HS_REC_MAX_CLUSTER)
        C = HS_REC_MAX_CLUSTER;
    const int per_model = sms / sh->N > 1 ? sms / sh->N : 1; /* many models: fewer SMs each */
    if (C > per_model)
        C = per_model;
    if (major < 9)
        C = 1;
    for (; C >= 1; C--) {
        const int per = (NW + C - 1) / C, NS = (per + HS_REC_SLICES - 1) / HS_REC_SLICES * HS_REC_SLICES;
        hs_rec_dims d;
        int wsmem = 1;
        hs_rec_make_dims(sh, C, NS, 1, &d);
        if (d.smem_bytes > optin) {
            wsmem = 0;
            hs_rec_make_dims(sh, C, NS, 0, &d);
            if (d.smem_bytes > optin)
                return (int)cudaErrorInvalidConfiguration; /* fewer blocks only need more slots */
        }
        e = hs_rec_set_smem(wsmem, d.smem_bytes);
        if (e != cudaSuccess)
            return (int)e;
        if (major >= 9) {
            int count = 0;
            e = hs_rec_clusters_fit(wsmem, C, d.smem_bytes, &count);
            if (e != cudaSuccess || count < 1) {
                (void)cudaGetLastError(); /* not sticky; try a smaller cluster */
                if (C > 1)
                    continue;
                return (int)(e != cudaSuccess ? e : cudaErrorInvalidConfiguration);
            }
        } else {
            int blocks = 0;
            e = wsmem ? cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, hs_rec_kernel<true>, HS_REC_THREADS,
                                                                      (size_t)d.smem_bytes)
                      : cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, hs_rec_kernel<false>, HS_REC_THREADS,
                                                                      (size_t)d.smem_bytes);
            if (e != cudaSuccess)
                return (int)e;
            if (blocks < 1)
                return (int)cudaErrorInvalidConfiguration;
        }
        plan->cluster = C;
        plan->slots = NS;
        plan->weights_smem = wsmem;
        plan->use_cluster = major >= 9;
        plan->smem_bytes = d.smem_bytes;
        plan->scratch_floats = wsmem ? 0 : (int64_t)sh->N * d.PK;
        return (int)cudaSuccess;
    }
    return (int)cudaErrorInvalidConfiguration;
}

extern "C" int hs_kernel_lstm_recursive(const float *params, const float *win, float *out, float *scratch,
                                        const hs_lstm_rec_shape *sh, const hs_lstm_rec_plan *plan, void *stream)
{
    if (!sh || !plan || plan->cluster < 1 || plan->cluster > HS_REC_MAX_CLUSTER || plan->slots < HS_REC_SLICES ||
        plan->slots % HS_REC_SLICES || (!plan->weights_smem && !scratch) || (plan->cluster > 1 && !plan->use_cluster))
        return (int)cudaErrorInvalidValue;
    hs_rec_dims d;
    hs_rec_make_dims(sh, plan->cluster, plan->slots, plan->weights_smem, &d);
    const int inflight = (sh->W + sh->K - 1) / sh->K, need = inflight < d.S ? inflight : d.S;
    if (d.smem_bytes != plan->smem_bytes || plan->cluster * plan->slots < need)
        return (int)cudaErrorInvalidValue; /* not this shape's plan */
    cudaError_t e = hs_rec_set_smem(plan->weights_smem, d.smem_bytes);
    if (e != cudaSuccess)
        return (int)e;
    cudaLaunchConfig_t cfg = {};
    cudaLaunchAttribute attr[1];
    cfg.gridDim = dim3((unsigned)(sh->N * plan->cluster), 1, 1);
    cfg.blockDim = dim3(HS_REC_THREADS, 1, 1);
    cfg.dynamicSmemBytes = (size_t)d.smem_bytes;
    cfg.stream = (cudaStream_t)stream;
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = (unsigned)plan->cluster;
    attr[0].val.clusterDim.y = 1;
    attr[0].val.clusterDim.z = 1;
    cfg.attrs = attr;
    cfg.numAttrs = plan->use_cluster ? 1 : 0;
    e = plan->weights_smem ? cudaLaunchKernelEx(&cfg, hs_rec_kernel<true>, params, win, out, scratch, d)
                           : cudaLaunchKernelEx(&cfg, hs_rec_kernel<false>, params, win, out, scratch, d);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return (int)e;
    }
    return (int)hs_launched((cudaStream_t)stream);
}
